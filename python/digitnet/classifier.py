"""digitnet.MLPClassifier: digitnet's trainer as a scikit-learn estimator.

The network, its training and its model file are the CLI's (`digitnet train`): the same
recipe gives the same weights, bit for bit, on the same data. The estimator's parameters are
the recipe's settings (`digitnet.settings()`, the table the CLI's flags come from too), under
scikit-learn's names where it has one (hidden_layer_sizes, learning_rate, batch_size,
random_state, n_threads). Inputs:
  uint8 arrays       pixels, read as pixel / 255 like the CLI reads its images
  any other dtype    converted to float32 once and used as given (normalize="zscore"
                     standardises each feature with the training data's mean and spread)
C-contiguous uint8 and float32 arrays are trained on and predicted from in place (no copy).
"""
import inspect
import json
import numbers
import re
import threading

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

from . import _digitnet

# The recipe's settings the estimator takes, and the parameter each is (scikit-learn's name
# where it has one). The one table is the C++ library's: a setting added there is a parameter here.
_SETTINGS = [s for s in _digitnet.settings() if s["estimator"]]
_RENAMED = {"layers": "hidden_layer_sizes", "lr": "learning_rate", "batch": "batch_size", "seed": "random_state",
            "threads": "n_threads"}
_PARAMETER_OF = {s["name"]: _RENAMED.get(s["name"], s["name"]) for s in _SETTINGS}
_SETTING_OF = {p: s for s, p in _PARAMETER_OF.items()}
_OWN = {"image_shape": None, "preset": None, "verbose": False}  # the estimator's own parameters
_MAX_CLASSES = 256  # class indices travel as bytes
_NO_VALIDATION = object()


def _one_line(message):
    """scikit-learn's validation messages, as one line: without the arrays they quote or
    their paragraphs of advice. (Feature-name mismatches keep scikit-learn's form, a name a
    line: its own check_dataframe_column_names_consistency expects exactly that.)"""
    if message.startswith("The feature names should match"):
        return message
    message = re.sub(r"\s*array=\[.*?\]\.?", "", message, flags=re.S)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("[")] or [message.strip()]
    if re.match(r"Input (X |y )?contains", lines[0]):  # NaN or infinity: the rest is advice
        return f"{lines[0]} digitnet needs finite values: drop or impute the missing ones first."
    return " ".join(lines)


def _validated(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (ValueError, TypeError) as e:
        raise type(e)(_one_line(str(e))) from None


def _parameter_message(e):
    """A SettingError from the library, said with the estimator's parameter name."""
    name = _PARAMETER_OF.get(e.setting, e.setting)
    index = e.index
    if e.setting == "layers" and index >= 0:  # hidden_layer_sizes leaves out the input size
        index -= 1
    reason = re.sub(r"`(\w+)`", lambda m: _PARAMETER_OF.get(m.group(1), m.group(1)), e.reason)
    return f"{name}{f'[{index}]' if index >= 0 else ''}: {reason}"


def _call(function, *args, **kwargs):
    """Calls into the compiled module; its errors name parameters, not the recipe's settings."""
    try:
        return function(*args, **kwargs)
    except _digitnet.SettingError as e:
        raise ValueError(_parameter_message(e)) from None


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _typed(setting, value):
    """A parameter's value as the recipe's JSON takes it; TypeError for a value of the wrong type
    (the ranges are the library's to check)."""
    kind, param = setting["kind"], _PARAMETER_OF[setting["name"]]
    if kind in ("whole", "seed", "number"):
        if not _is_number(value):
            raise TypeError(f"{param}: expected a number, got {value!r}")
        if kind != "number":
            if float(value) != int(value):
                raise ValueError(f"{param}: expected a whole number, got {value!r}")
            return int(value)
        return float(value)
    if kind == "batch":
        if value == "full":
            return "full"
        if not _is_number(value):
            raise TypeError(f"{param}: expected a number or 'full', got {value!r}")
        if float(value) != int(value):
            raise ValueError(f"{param}: expected a whole number, got {value!r}")
        return int(value)
    if kind == "numbers":  # 0.2, (0.3, 0.2) or the CLI's "0.3,0.2"
        if isinstance(value, str):
            try:
                return [float(v) for v in value.split(",")]
            except ValueError:
                raise ValueError(f"{param}: '{value}' is not a number or a list of them") from None
        items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
        for v in items:
            if not _is_number(v):
                raise TypeError(f"{param}: expected numbers, got {v!r}")
        return [float(v) for v in items]
    if not isinstance(value, str):
        raise TypeError(f"{param}: expected a string, got {value!r}")
    return value


def _hidden_sizes(value):
    sizes = (value,) if _is_number(value) else tuple(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if sizes is None:
        raise TypeError(f"hidden_layer_sizes: expected a tuple of whole numbers, got {value!r}")
    for i, v in enumerate(sizes):
        if not _is_number(v) or float(v) != int(v):
            raise ValueError(f"hidden_layer_sizes[{i}]: {v!r} is not a whole number")
    return [int(v) for v in sizes]


def _image_shape(value, features):
    if value is None:  # square images when the count allows (784 -> 28x28, 64 -> 8x8), else a row
        side = int(round(features ** 0.5))
        return (side, side) if side * side == features else (1, features)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"image_shape: expected (height, width), got {value!r}")
    for v in value:
        if not _is_number(v) or float(v) != int(v) or v < 1:
            raise ValueError(f"image_shape: expected two whole numbers of at least 1, got {value!r}")
    h, w = (int(v) for v in value)
    if h * w != features:
        raise ValueError(f"image_shape: {h}x{w} does not match the data's {features} features")
    return h, w


def _encode(classes, y):
    """Labels -> indices into classes, as bytes."""
    idx = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
    unknown = classes[idx] != y
    if np.any(unknown):
        raise ValueError(f"y: label {y[np.argmax(unknown)]!r} is not one of the classes {list(classes)}")
    return idx.astype(np.uint8)


def _json_label(c):
    value = c.item() if isinstance(c, np.generic) else c
    if isinstance(value, (str, bool, int, float)):
        return value
    raise ValueError(f"classes_: the label {value!r} cannot be saved (numbers and strings can)")


def _parameters_doc():
    lines = []
    for s in _SETTINGS:
        param = _PARAMETER_OF[s["name"]]
        default = "hidden sizes of the preset or (128, 64)" if s["name"] == "layers" else repr(s["default"])
        choices = f": {', '.join(s['choices'])}" if s["choices"] else ""
        lines.append(f"    {param:<18}  {s['help']}{choices} [{default}]")
    return "\n".join(lines)


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A fully-connected network trained by digitnet (C++; the GIL is released while it works).

    Every parameter left at None takes the preset's value (``preset="relu-128-64"``, ...;
    ``digitnet.presets()`` lists them), or without a preset the recipe's default, given here in
    brackets. The presets' data settings (dataset, split, validation share) do not apply: an
    estimator trains on what it is given.

{settings}
    image_shape         (height, width) of the images [square if the feature count is, else (1, n)]
    preset              a preset's name [None]
    verbose             print a line per epoch [False]

    hidden_layer_sizes holds the hidden layers only: inputs and outputs come from the data.
    random_state may also be a RandomState to draw a seed from; None takes the preset's seed
    (else 1), so that a fit is reproducible by default, like the CLI's.

    Attributes after fit: classes_, n_features_in_, history_ (one dict per epoch: epoch, loss,
    train_accuracy, lr, seconds), loss_curve_, accuracy_curve_, n_iter_, coefs_ and
    intercepts_ (scikit-learn's layout: coefs_[i] is (fan_in, fan_out)).
    """

    def __init__(self, **params):
        unknown = sorted(set(params) - set(_SETTING_OF) - set(_OWN))
        if unknown:
            raise TypeError(f"MLPClassifier() got an unexpected keyword argument {unknown[0]!r}")
        for name in [*_SETTING_OF, *_OWN]:
            setattr(self, name, params.get(name, _OWN.get(name)))

    # -- the recipe: the preset's (or the defaults), then every parameter given --------------
    def _recipe(self, features, classes):
        if self.preset is None:
            base = {s["name"]: s["default"] for s in _digitnet.settings()}
        else:
            if not isinstance(self.preset, str):
                raise TypeError(f"preset: expected a string, got {self.preset!r}")
            name = _call(_digitnet.find_preset, self.preset)
            base = next(p["recipe"] for p in _digitnet.presets() if p["name"] == name)
        r = dict(base, data="", split="auto", val=0, early_stop=0, report_every=1)
        for s in _SETTINGS:
            value = getattr(self, _PARAMETER_OF[s["name"]])
            if s["name"] == "layers":
                hidden = base["layers"][1:-1] if value is None else _hidden_sizes(value)
                r["layers"] = [features, *hidden, classes]
            elif s["name"] == "seed":
                if value is None:
                    continue
                if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
                    r["seed"] = int(value)
                elif isinstance(value, np.random.RandomState):
                    r["seed"] = int(check_random_state(value).randint(2 ** 31 - 1))
                else:
                    raise TypeError(f"random_state: expected an int or a RandomState, got {value!r}")
            elif s["name"] == "threads":
                r["threads"] = 0 if value is None else _typed(s, value)
            elif value is not None:
                r[s["name"]] = _typed(s, value)
        if not isinstance(self.verbose, (bool, np.bool_)) and not (
                isinstance(self.verbose, numbers.Integral) and self.verbose in (0, 1)):
            raise TypeError(f"verbose: expected True or False, got {self.verbose!r}")
        return json.loads(_call(_digitnet.check_recipe, json.dumps(r)))

    # -- data --------------------------------------------------------------------------------
    def _check_X(self, X, reset, y=_NO_VALIDATION):
        # uint8 and float32 stay as they are (no copy when C-contiguous); the rest becomes float32.
        kwargs = dict(dtype=[np.float32, np.uint8], order="C", accept_sparse=False)
        if y is _NO_VALIDATION:
            return _validated(self._validate_data, X, reset=reset, **kwargs)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X, y = _validated(self._validate_data, X, y, reset=reset, **kwargs)
        _validated(check_classification_targets, y)
        return X, y

    @staticmethod
    def _classes_of(labels):
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueError(f"y: only one class ({classes[0]!r}) in the data; a classifier needs at least two")
        if len(classes) > _MAX_CLASSES:
            raise ValueError(f"y: {len(classes)} classes; digitnet takes at most {_MAX_CLASSES}")
        return classes

    # -- training ----------------------------------------------------------------------------
    def _new_learner(self, X, classes, s):
        """A fresh network (seeded) with its normaliser fitted on X, and a trainer."""
        shape = _image_shape(self.image_shape, X.shape[1])
        text = json.dumps(s)
        learner = _call(_digitnet.Learner, text, *shape)
        _call(learner.init, text)
        _call(learner.fit_normalizer, s["normalize"], X)
        self._start(learner, s)  # checks the augmentation against the images' shape
        if s["augment"] != "none" and X.dtype != np.uint8 and len(X) and X.min() < 0:
            raise ValueError(f"augment: needs images of intensities (uint8 pixels, or floats from 0 up); X holds "
                             f"{X.min():g} to {X.max():g}")
        return learner

    def _start(self, learner, s):
        learner.threads = s["threads"]
        _call(learner.start, json.dumps(s))

    def _epoch(self, X, y_idx):
        self._learner.threads = self._fit_settings["threads"]
        main = threading.current_thread() is threading.main_thread()
        report = _call(self._learner.train_epoch, X, y_idx, main)  # the learner records it
        if self.verbose:
            print(f"epoch {report['epoch']:>4}  loss {report['loss']:.4f}  train {100 * report['train_accuracy']:.2f}%"
                  f"  {report['seconds']:.2f}s", flush=True)

    def _begin(self, X, classes):
        s = self._recipe(X.shape[1], len(classes))
        learner = self._new_learner(X, classes, s)
        # Only now that everything checked out: the new model replaces what there was.
        self.classes_, self._learner, self._fit_settings = classes, learner, s
        return s

    def fit(self, X, y):
        """Trains a new network for `epochs` epochs. Ctrl-C stops it within about 0.1 s with
        KeyboardInterrupt; the estimator keeps the network of its last complete epoch."""
        X, y = self._check_X(X, reset=True, y=y)
        classes = self._classes_of(y)
        y_idx = _encode(classes, y)
        s = self._begin(X, classes)
        for _ in range(s["epochs"]):
            self._epoch(X, y_idx)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y). The first call needs `classes` (every label there will be) and
        starts a network, z-scoring (if asked for) from this first X; later calls continue it,
        optimizer state and schedule included."""
        first = not self.__sklearn_is_fitted__()
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        X, y = self._check_X(X, reset=first, y=y)
        if first:
            classes = self._classes_of(classes)
            y_idx = _encode(classes, y)
            self._begin(X, classes)
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"classes: {list(np.unique(classes))} differs from classes_ {list(self.classes_)} "
                                 "of the first partial_fit")
            y_idx = _encode(self.classes_, y)
            if not self._learner.started:  # loaded or unpickled: a new trainer for these weights
                self._fit_settings = self._recipe(self.n_features_in_, len(self.classes_))
                self._start(self._learner, self._fit_settings)
        self._epoch(X, y_idx)
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_learner")

    # -- prediction --------------------------------------------------------------------------
    def predict_proba(self, X, quantize="float32"):
        """Class probabilities, float32 (n, classes): the softmax, or for the mse loss the
        sigmoid outputs divided by their sum (so that each row sums to 1). quantize="int8"
        computes them with int8 weights and activations (faster; docs/performance.md)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        threads = getattr(self, "_fit_settings", None)
        self._learner.threads = threads["threads"] if threads else 0
        p = _call(self._learner.predict_proba, X, quantize)
        if self._learner.loss == "mse":
            p /= np.maximum(p.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)
        return p

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X, quantize="float32"):
        p = self.predict_proba(X, quantize)
        return self.classes_[np.argmax(p, axis=1)]

    # -- what training left ------------------------------------------------------------------
    @property
    def history_(self):
        check_is_fitted(self)
        return self._learner.history

    @property
    def loss_curve_(self):
        check_is_fitted(self)
        return [r["loss"] for r in self.history_]

    @property
    def accuracy_curve_(self):
        check_is_fitted(self)
        return [r["train_accuracy"] for r in self.history_]

    @property
    def n_iter_(self):
        check_is_fitted(self)
        return len(self.history_)

    @property
    def coefs_(self):
        check_is_fitted(self)
        return [W.T.copy() for W, _ in self._learner.weights()]

    @property
    def intercepts_(self):
        check_is_fitted(self)
        return [b for _, b in self._learner.weights()]

    # -- files -------------------------------------------------------------------------------
    def save(self, path):
        """Writes the CLI's model file (.npz; `digitnet eval`, `predict`, `serve` read it),
        atomically, with the recipe it was trained with. The labels are kept in its config as
        "classes"."""
        check_is_fitted(self)
        s = getattr(self, "_fit_settings", None) or self._recipe(self.n_features_in_, len(self.classes_))
        extra = {
            "recipe": s,
            "dataset": "numpy",
            "split": "none",
            "preset": self.preset,
            "classes": [_json_label(c) for c in self.classes_],
            "history": [dict(r) for r in self.history_],
        }
        _call(self._learner.save, str(path), json.dumps(extra))

    def to_onnx(self, path):
        """Writes the network as an ONNX graph (opset digitnet.ONNX_OPSET), normalisation
        included: input "input" float32 (N, features) holding what X holds (pixels 0..255 for
        uint8 data), outputs "probabilities" (softmax, or sigmoid for mse) and "label" (the
        index into classes_)."""
        check_is_fitted(self)
        meta = {"classes": json.dumps([_json_label(c) for c in self.classes_]),
                "input_shape": json.dumps(list(self._learner.image_shape)),
                "normalization": self._learner.normalizer["kind"],
                "pixel_max": repr(self._learner.normalizer["pixel_max"])}
        doc = (f"digitnet {','.join(map(str, self._learner.layers))} {self._learner.activation}/{self._learner.loss} "
               "network from Python")
        _call(self._learner.to_onnx, str(path), doc, meta)

    # -- pickling: the weights and normaliser as arrays; a loaded copy has no trainer --------
    def __getstate__(self):
        state = dict(super().__getstate__())  # Python 3.11's object.__getstate__ returns __dict__ itself
        learner = state.pop("_learner", None)
        if learner is not None:
            state["_learner_state"] = {"layers": learner.layers, "activation": learner.activation,
                                       "loss": learner.loss, "image_shape": learner.image_shape,
                                       "normalizer": learner.normalizer, "weights": learner.weights(),
                                       "batch_norm": learner.batch_norm, "values": learner.values(),
                                       "history": learner.history}
        return state

    def __setstate__(self, state):
        saved = state.pop("_learner_state", None)
        super().__setstate__(state)
        if saved is not None:
            self._learner = _learner_from(saved)

    def _more_tags(self):
        return {"requires_y": True}


def _learner_from(saved):
    recipe = dict(json.loads(_digitnet.check_recipe("{}")), layers=list(saved["layers"]),
                  activation=saved["activation"], loss=saved["loss"],
                  batch_norm="on" if saved.get("batch_norm") else "off")
    learner = _digitnet.Learner(json.dumps(recipe), *saved["image_shape"])
    n = saved["normalizer"]
    learner.set_normalizer(n["kind"], n["pixel_max"], n["mean"], n["std"])
    if "values" in saved:  # batch normalization's values too
        learner.set_values(saved["values"])
    else:  # a pickle of an earlier version
        learner.set_weights(saved["weights"])
    learner.history = saved["history"]
    return learner


def load(path):
    """A model file the CLI (`digitnet train --save`) or MLPClassifier.save wrote, as a fitted
    MLPClassifier: its parameters are the recipe it was trained with, classes_ its labels
    (0..classes-1 for the CLI's models), history_ its training history."""
    learner, config_text = _call(_digitnet.load_model, str(path))
    config = json.loads(config_text)
    layers = config["layers"]
    # The recipe it records; files from before recipes kept some settings under "training".
    recipe = config.get("recipe") or {
        key: value for key, value in config.get("training", {}).items() if key in _PARAMETER_OF}
    if "dropout" in recipe and isinstance(recipe["dropout"], str):
        recipe["dropout"] = [float(v) for v in recipe["dropout"].split(",")]
    params = {_PARAMETER_OF[key]: value for key, value in recipe.items() if key in _PARAMETER_OF}
    params.update(hidden_layer_sizes=tuple(layers[1:-1]), activation=config["hidden_activation"],
                  loss=config["loss"], normalize=config["normalization"], image_shape=tuple(config["input_shape"]))
    if isinstance(params.get("dropout"), list):
        params["dropout"] = params["dropout"][0] if len(params["dropout"]) == 1 else tuple(params["dropout"])
    model = MLPClassifier(**params)
    classes = config.get("classes")
    if not isinstance(classes, list) or len(classes) != layers[-1]:
        classes = list(range(layers[-1]))
    model.classes_ = np.array(classes)
    model.n_features_in_ = layers[0]
    learner.history = [r for r in config.get("history", []) if isinstance(r, dict)]
    model._learner = learner
    return model


def _signature():
    """__init__'s signature, made from the recipe's table: scikit-learn reads the parameters
    (get_params, clone) from it."""
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=_OWN.get(name))
              for name in [*_SETTING_OF, *_OWN]]
    return inspect.Signature([self, *params])


MLPClassifier.__init__.__signature__ = _signature()
MLPClassifier.__doc__ = MLPClassifier.__doc__.format(settings=_parameters_doc())
