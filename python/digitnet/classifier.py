"""digitnet.MLPClassifier: digitnet's trainer as a scikit-learn estimator.

The network, its training and its model file are the CLI's (`digitnet train`): the same
settings give the same weights, bit for bit, on the same data. Inputs:
  uint8 arrays       pixels, read as pixel / 255 like the CLI reads its images
  any other dtype    converted to float32 once and used as given (normalize="zscore"
                     standardises each feature with the training data's mean and spread)
C-contiguous uint8 and float32 arrays are trained on and predicted from in place (no copy).
"""
import json
import re
import threading

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

from . import _digitnet

# The CLI's messages name its flags; from Python they name the parameters.
_PARAMETER_OF_FLAG = {
    "--layers": "hidden_layer_sizes", "--activation": "activation", "--loss": "loss", "--init": "init",
    "--normalize": "normalize", "--optimizer": "optimizer", "--lr": "learning_rate", "--momentum": "momentum",
    "--beta1": "beta1", "--beta2": "beta2", "--eps": "eps", "--weight-decay": "weight_decay",
    "--batch": "batch_size", "--epochs": "epochs", "--schedule": "schedule", "--warmup": "warmup",
    "--dropout": "dropout", "--label-smoothing": "label_smoothing", "--l2": "l2", "--clip-norm": "clip_norm",
    "--augment": "augment", "--preset": "preset", "--seed": "random_state",
}
_MAX_CLASSES = 256  # class indices travel as bytes
_NO_VALIDATION = object()


def _rename_flags(message):
    return re.sub(r"--[a-z0-9-]+", lambda m: _PARAMETER_OF_FLAG.get(m.group(0), m.group(0)), message)


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


def _call(function, *args, **kwargs):
    """Calls into the compiled module; its one-line errors name parameters, not flags."""
    try:
        return function(*args, **kwargs)
    except ValueError as e:
        raise ValueError(_rename_flags(str(e))) from None


def _number(name, value, kind=float, low=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    if kind is int and float(value) != int(value):
        raise ValueError(f"{name}: expected a whole number, got {value!r}")
    v = kind(value)
    if low is not None and not v >= low:
        raise ValueError(f"{name}: must be at least {low}, got {value!r}")
    return v


def _text(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string, got {value!r}")
    return value


def _dropout(value):
    """0.2, (0.3, 0.2) or the CLI's '0.3,0.2' -> a list of probabilities."""
    if isinstance(value, str):
        try:
            return [float(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(f"dropout: '{value}' is not a probability in [0, 1) or a list of them") from None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_number("dropout", v) for v in value]
    return [_number("dropout", value)]


def _image_shape(value, features):
    if value is None:  # square images when the count allows (784 -> 28x28, 64 -> 8x8), else a row
        side = int(round(features ** 0.5))
        return (side, side) if side * side == features else (1, features)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"image_shape: expected (height, width), got {value!r}")
    h, w = (_number("image_shape", v, int, 1) for v in value)
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


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A fully-connected network trained by digitnet (C++; the GIL is released while it works).

    Every parameter left at None takes the preset's value (``preset="relu-128-64"``, ...;
    ``digitnet.presets()`` lists them), or without a preset the CLI's default, given here in
    brackets. The presets' data settings (split, validation share) do not apply: an estimator
    trains on what it is given.

    hidden_layer_sizes  tuple of ints, the hidden layers [(128, 64)]; inputs and outputs come
                        from the data
    activation          "relu" | "sigmoid" | "tanh" ["relu"]
    loss                "ce" (softmax + cross-entropy) | "mse" (sigmoid outputs + squared error) ["ce"]
    init                "he" | "xavier" | "lecun" | "normal:SIGMA" | "uniform:A" ["he"]
    normalize           "scale" (uint8 / 255, other inputs as given) | "zscore" ["scale"]
    optimizer           "sgd" | "momentum" | "nesterov" | "adam" | "adamw" ["sgd"]
    learning_rate       for the batch-mean gradient, PyTorch's convention [0.32]
    momentum, weight_decay   [0.9, 0]
    batch_size          int or "full" [32]
    epochs              passes over the data in fit; the schedule's length [10]
    schedule            "constant" | "step:EPOCHS:GAMMA" | "cosine" | "onecycle" ["constant"]
    warmup              epochs of linear learning-rate warmup [0]
    dropout             probability for the hidden layers, or one per layer [0]
    label_smoothing     [0]
    l2, clip_norm       [0, 0]
    augment             "shift:PIXELS,rotate:DEGREES,elastic,flip" for image data ["none"]
    image_shape         (height, width) of the images [square if the feature count is, else (1, n)]
    preset              a preset's name [None]
    random_state        int seed, a RandomState to draw one from, or None for the preset's
                        seed (else 1): like the CLI, a fit is reproducible by default
    n_threads           cores to use [None: every core]; results do not depend on it
    verbose             print a line per epoch

    Attributes after fit: classes_, n_features_in_, history_ (one dict per epoch: epoch, loss,
    train_accuracy, lr, seconds), loss_curve_, accuracy_curve_, n_iter_, coefs_ and
    intercepts_ (scikit-learn's layout: coefs_[i] is (fan_in, fan_out)).
    """

    def __init__(self, hidden_layer_sizes=None, activation=None, loss=None, init=None, normalize=None,
                 optimizer=None, learning_rate=None, momentum=None, weight_decay=None, batch_size=None,
                 epochs=None, schedule=None, warmup=None, dropout=None, label_smoothing=None, l2=None,
                 clip_norm=None, augment=None, image_shape=None, preset=None, random_state=None,
                 n_threads=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.init = init
        self.normalize = normalize
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.schedule = schedule
        self.warmup = warmup
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.l2 = l2
        self.clip_norm = clip_norm
        self.augment = augment
        self.image_shape = image_shape
        self.preset = preset
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    # -- settings: the preset's (or the CLI's defaults), then every parameter given ----------
    def _settings(self):
        if self.preset is None:
            base = _digitnet.default_settings()
        else:
            name = _call(_digitnet.find_preset, _text("preset", self.preset))
            base = next(p["settings"] for p in _digitnet.presets() if p["name"] == name)
        s = dict(base)
        if self.hidden_layer_sizes is not None:
            sizes = self.hidden_layer_sizes
            sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
            s["hidden"] = tuple(_number("hidden_layer_sizes", v, int, 1) for v in sizes)
        else:
            s["hidden"] = tuple(base["layers"][1:-1])
        for param, key, convert in (
                ("activation", "activation", _text), ("loss", "loss", _text), ("init", "init", _text),
                ("normalize", "normalize", _text), ("optimizer", "optimizer", _text),
                ("learning_rate", "lr", _number), ("momentum", "momentum", _number),
                ("weight_decay", "weight_decay", _number), ("schedule", "schedule", _text),
                ("warmup", "warmup", _number), ("label_smoothing", "label_smoothing", _number),
                ("l2", "l2", _number), ("clip_norm", "clip_norm", _number), ("augment", "augment", _text)):
            value = getattr(self, param)
            if value is not None:
                s[key] = convert(param, value)
        if self.epochs is not None:
            s["epochs"] = _number("epochs", self.epochs, int, 1)
        if self.batch_size is not None:
            s["batch"] = 0 if self.batch_size == "full" else _number("batch_size", self.batch_size, int, 1)
        s["dropout"] = _dropout(self.dropout if self.dropout is not None else base["dropout"])
        if self.random_state is None:
            s["seed"] = int(base["seed"])
        elif isinstance(self.random_state, (int, np.integer)):
            s["seed"] = _number("random_state", self.random_state, int, 0)
        else:
            s["seed"] = int(check_random_state(self.random_state).randint(2 ** 31 - 1))
        if self.n_threads is not None:
            _number("n_threads", self.n_threads, int, 0)
        return s

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
        layers = [X.shape[1], *s["hidden"], len(classes)]
        learner = _call(_digitnet.Learner, layers, s["activation"], s["loss"], *shape)
        _call(learner.init, s["init"], s["seed"])
        _call(learner.fit_normalizer, s["normalize"], X)
        self._start(learner, s)  # checks the augmentation against the images' shape
        if s["augment"] != "none" and X.dtype != np.uint8 and len(X) and not (X.min() >= 0 and X.max() <= 1):
            raise ValueError(f"augment: needs images with values in [0, 1] (uint8 pixels, or floats scaled "
                             f"to [0, 1]); X holds {X.min():g} to {X.max():g}")
        return learner

    def _start(self, learner, s):
        learner.threads = int(self.n_threads or 0)
        _call(learner.start, epochs=s["epochs"], batch=s["batch"], lr=s["lr"], seed=s["seed"],
              optimizer=s["optimizer"], momentum=s["momentum"], weight_decay=s["weight_decay"],
              schedule=s["schedule"], warmup=s["warmup"], l2=s["l2"], clip_norm=s["clip_norm"],
              label_smoothing=s["label_smoothing"], augment=s["augment"], dropout=s["dropout"])

    def _epoch(self, X, y_idx):
        self._learner.threads = int(self.n_threads or 0)
        main = threading.current_thread() is threading.main_thread()
        report = _call(self._learner.train_epoch, X, y_idx, main)  # the learner records it
        if self.verbose:
            print(f"epoch {report['epoch']:>4}  loss {report['loss']:.4f}  train {100 * report['train_accuracy']:.2f}%"
                  f"  {report['seconds']:.2f}s", flush=True)

    def _begin(self, X, classes):
        s = self._settings()
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
                self._fit_settings = self._settings()
                self._start(self._learner, self._fit_settings)
        self._epoch(X, y_idx)
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_learner")

    # -- prediction --------------------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities, float32 (n, classes): the softmax, or for the mse loss the
        sigmoid outputs divided by their sum (so that each row sums to 1)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        self._learner.threads = int(self.n_threads or 0)
        p = _call(self._learner.predict_proba, X)
        if self._learner.loss == "mse":
            p /= np.maximum(p.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)
        return p

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        p = self.predict_proba(X)
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
        atomically. The labels are kept in its config as "classes"."""
        check_is_fitted(self)
        s = getattr(self, "_fit_settings", None) or self._settings()
        history = [{k: v for k, v in r.items()} for r in self.history_]
        extra = {
            "dataset": "numpy",
            "preset": self.preset,
            "classes": [_json_label(c) for c in self.classes_],
            "training": {"init": s["init"], "batch": "full" if s["batch"] == 0 else s["batch"],
                         "epochs": s["epochs"], "lr": s["lr"], "seed": s["seed"], "optimizer": s["optimizer"],
                         "momentum": s["momentum"], "weight_decay": s["weight_decay"], "schedule": s["schedule"],
                         "warmup": s["warmup"], "dropout": ",".join(str(p) for p in s["dropout"]),
                         "label_smoothing": s["label_smoothing"], "l2": s["l2"], "clip_norm": s["clip_norm"],
                         "augment": s["augment"]},
            "history": history,
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
    learner = _digitnet.Learner(saved["layers"], saved["activation"], saved["loss"], *saved["image_shape"])
    n = saved["normalizer"]
    learner.set_normalizer(n["kind"], n["pixel_max"], n["mean"], n["std"])
    learner.set_weights(saved["weights"])
    learner.history = saved["history"]
    return learner


def load(path):
    """A model file the CLI (`digitnet train --save`) or MLPClassifier.save wrote, as a fitted
    MLPClassifier: its parameters are the ones it was trained with, classes_ its labels
    (0..classes-1 for the CLI's models), history_ its training history."""
    learner, config_text = _call(_digitnet.load_model, str(path))
    config = json.loads(config_text)
    t = config.get("training", {})
    layers = config["layers"]
    params = {"hidden_layer_sizes": tuple(layers[1:-1]), "activation": config["hidden_activation"],
              "loss": config["loss"], "normalize": config["normalization"],
              "image_shape": tuple(config["input_shape"])}
    for key, param in (("init", "init"), ("epochs", "epochs"), ("lr", "learning_rate"), ("seed", "random_state"),
                       ("optimizer", "optimizer"), ("momentum", "momentum"), ("weight_decay", "weight_decay"),
                       ("schedule", "schedule"), ("warmup", "warmup"), ("label_smoothing", "label_smoothing"),
                       ("l2", "l2"), ("clip_norm", "clip_norm"), ("augment", "augment"), ("batch", "batch_size")):
        if key in t:
            params[param] = t[key]
    if "dropout" in t:
        p = _dropout(t["dropout"])
        params["dropout"] = p[0] if len(p) == 1 else tuple(p)
    model = MLPClassifier(**params)
    classes = config.get("classes")
    if not isinstance(classes, list) or len(classes) != layers[-1]:
        classes = list(range(layers[-1]))
    model.classes_ = np.array(classes)
    model.n_features_in_ = layers[0]
    learner.history = [r for r in config.get("history", []) if isinstance(r, dict)]
    model._learner = learner
    return model
