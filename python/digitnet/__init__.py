"""digitnet from Python: fully-connected networks trained by digitnet's C++ core.

    import digitnet
    X_train, y_train, X_test, y_test = digitnet.datasets.load("mnist-10k")
    clf = digitnet.MLPClassifier(preset="relu-128-64", epochs=10).fit(X_train, y_train)
    clf.score(X_test, y_test)
    clf.save("model.npz")           # the CLI's model file: digitnet eval/predict/serve read it
    clf.to_onnx("model.onnx")       # an ONNX graph for inference runtimes
    digitnet.load("model.npz")      # a model the CLI or this package saved, as an MLPClassifier
"""
from . import _digitnet, datasets
from .classifier import MLPClassifier, load

__version__ = "0.1.0"
ONNX_OPSET = _digitnet.onnx_opset


def presets():
    """The presets (`digitnet presets`): dicts of name, seed, summary and recipe (every setting)."""
    return _digitnet.presets()


def settings():
    """The recipe's settings, one dict each (name, group, kind, default, range, choices, help):
    the table the CLI's flags and MLPClassifier's parameters are made from."""
    return _digitnet.settings()


SettingError = _digitnet.SettingError

__all__ = ["MLPClassifier", "load", "datasets", "presets", "settings", "SettingError", "ONNX_OPSET"]
