"""digitnet from Python: fully-connected networks trained by digitnet's C++ core.

    import digitnet
    X_train, y_train, X_test, y_test = digitnet.datasets.load("mnist-10k")
    clf = digitnet.MLPClassifier(preset="relu-128-64", epochs=10).fit(X_train, y_train)
    clf.score(X_test, y_test)
    clf.save("model.npz")           # the CLI's model file: digitnet eval/predict/serve read it
    clf.to_onnx("model.onnx")       # an ONNX graph for inference runtimes
    digitnet.load("model.npz")      # a model the CLI or this package saved, as an MLPClassifier
"""
import sys as _sys

__version__ = "0.1.0"

try:
    import numpy as _numpy  # noqa: F401
    import sklearn as _sklearn  # noqa: F401
except ImportError as _error:
    # `python -m digitnet` (__main__.py) runs the command line, which needs neither; while Python
    # finds that module, sys.argv[0] is "-m".
    if _sys.argv[:1] != ["-m"]:
        raise ImportError(
            f"digitnet needs NumPy and scikit-learn, and {_error.name} is missing for {_sys.executable}: "
            "apt-get install python3-numpy python3-sklearn (a venv sees them when made with "
            "/usr/bin/python3 -m venv --system-site-packages), or pip install numpy scikit-learn",
            name=_error.name) from _error
else:
    from . import _digitnet, datasets
    from .classifier import MLPClassifier, load

    ONNX_OPSET = _digitnet.onnx_opset
    SettingError = _digitnet.SettingError  # a ValueError naming the recipe's setting


def presets():
    """The presets (`digitnet presets`): dicts of name, seed, summary and recipe (every setting)."""
    return _digitnet.presets()


def settings():
    """The recipe's settings, one dict each (name, group, kind, default, range, choices, help):
    the table the CLI's flags and MLPClassifier's parameters are made from."""
    return _digitnet.settings()


__all__ = ["MLPClassifier", "load", "datasets", "presets", "settings", "SettingError", "ONNX_OPSET"]
