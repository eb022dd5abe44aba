"""Every kind of bad input gives one line in a ValueError or TypeError, never a crash."""
import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from digitnet import MLPClassifier


@pytest.fixture(scope="module")
def fitted(digits):
    return MLPClassifier(epochs=2).fit(digits.X_train, digits.y_train)


def one_line(excinfo):
    message = str(excinfo.value)
    assert message and "\n" not in message, message
    return message


@pytest.mark.parametrize("X, error, pattern", [
    (np.zeros(64, np.float32), ValueError, "Expected 2D array, got 1D array"),
    (np.zeros((3, 8, 8), np.float32), ValueError, "Found array with dim 3"),
    (np.zeros((0, 64), np.float32), ValueError, "0 sample"),
    (np.zeros((5, 0), np.float32), ValueError, "0 feature"),
    (np.full((5, 64), np.nan, np.float32), ValueError, "Input X contains NaN"),
    (np.full((5, 64), np.inf), ValueError, "Input X contains infinity"),
    (np.array([["a"] * 64] * 5), ValueError, "could not convert string to float"),
    (np.zeros((5, 64), complex), ValueError, "Complex data not supported"),
    (np.zeros((5, 63), np.float32), ValueError, "X has 63 features, but MLPClassifier is expecting 64 features"),
])
def test_bad_X_to_predict(fitted, X, error, pattern):
    with pytest.raises(error, match=pattern) as e:
        fitted.predict(X)
    one_line(e)


def test_bad_data_to_fit(digits):
    X, y = digits.X_train, digits.y_train
    cases = [
        ((X, y[:-1]), ValueError, "inconsistent numbers of samples"),
        ((X, None), ValueError, "requires y to be passed"),
        ((X, np.where(y > 0, np.nan, 1.0)), ValueError, "Input y contains NaN"),
        ((X, y + 0.5), ValueError, "Unknown label type: 'continuous'"),
        ((X, np.stack([y, y], axis=1)), ValueError, "y should be a 1d array"),
        ((np.zeros((0, 64)), y[:0]), ValueError, "0 sample"),
        ((X.astype(object).tolist() + [[{"a": 1}] * 64], list(y) + [0]), TypeError, "must be a string or a"),
    ]
    for args, error, pattern in cases:
        with pytest.raises(error, match=pattern) as e:
            MLPClassifier(epochs=1).fit(*args)
        one_line(e)


def test_non_contiguous_and_read_only_arrays_work(digits, fitted):
    """Strided views, Fortran order and read-only buffers are read (converted where needed)."""
    X = np.asfortranarray(digits.X_test)
    expected = fitted.predict_proba(np.ascontiguousarray(X))
    np.testing.assert_array_equal(fitted.predict_proba(X), expected)
    wide = np.zeros((len(X), 128), np.float32)
    wide[:, ::2] = X
    np.testing.assert_array_equal(fitted.predict_proba(wide[:, ::2]), expected)
    ro = np.ascontiguousarray(X)
    ro.setflags(write=False)
    np.testing.assert_array_equal(fitted.predict_proba(ro), expected)
    np.testing.assert_array_equal(fitted.predict_proba(ro[::-1])[::-1], expected)
    np.testing.assert_array_equal(fitted.predict_proba(X.astype(">f4")), expected)  # big-endian


@pytest.mark.parametrize("params, error, message", [
    (dict(learning_rate=-1), ValueError, "learning_rate: -1 is not in (0, 1000]"),
    (dict(learning_rate="fast"), TypeError, "learning_rate: expected a number, got 'fast'"),
    (dict(epochs=0), ValueError, "epochs: 0 is not a whole number from 1 to 1000000"),
    (dict(epochs=2.5), ValueError, "epochs: expected a whole number, got 2.5"),
    (dict(batch_size=0), ValueError, "batch_size: 0 is not a whole number from 1 to 1000000"),
    (dict(batch_size="half"), TypeError, "batch_size: expected a number or 'full', got 'half'"),
    (dict(activation="gelu"), ValueError, "gelu"),
    (dict(loss="hinge"), ValueError, "hinge"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer: 'lbfgs' is not one of sgd, momentum, nesterov, adam, adamw"),
    (dict(init="zeros"), ValueError, "init"),
    (dict(normalize="minmax"), ValueError, "normalize: 'minmax' is not one of scale, zscore"),
    (dict(schedule="sometimes"), ValueError, "schedule"),
    (dict(dropout=1.5), ValueError, "dropout[0]: 1.5 is not in [0, 1)"),
    (dict(dropout=(0.1, 0.2, 0.3)), ValueError, "dropout: 3 values for 2 hidden layers"),
    (dict(label_smoothing=0.1, loss="mse"), ValueError, "label_smoothing"),
    (dict(augment="shift:2"), ValueError, "augment: needs image data"),
    (dict(augment="wobble"), ValueError, "augment: 'wobble' is not one of none, shift:PIXELS"),
    (dict(augment="shift:2,shift:2"), ValueError, "augment: 'shift' is given twice"),
    (dict(momentum=1.5, optimizer="momentum"), ValueError, "momentum"),
    (dict(hidden_layer_sizes=(0,)), ValueError, "hidden_layer_sizes[0]: 0 is not a whole number from 1 to 1000000"),
    (dict(hidden_layer_sizes=(64.5,)), ValueError, "hidden_layer_sizes[0]: 64.5 is not a whole number"),
    (dict(random_state=2 ** 64), ValueError, "random_state: 1.8446744073709552e+19 is not a whole number"),
    (dict(random_state="seven"), TypeError, "random_state: expected an int or a RandomState"),
    (dict(verbose="yes"), TypeError, "verbose: expected True or False, got 'yes'"),
    (dict(label_smoothing=0.1, loss="mse"), ValueError, "label_smoothing: only applies to the ce loss"),
    (dict(image_shape=(4, 4)), ValueError, "image_shape: 4x4 does not match the data's 20 features"),
    (dict(n_threads=-1), ValueError, "n_threads: -1 is not a whole number from 0 to 1024"),
    (dict(preset=3), TypeError, "preset: expected a string, got 3"),
])
def test_bad_parameters_name_the_parameter(params, error, message):
    X = np.random.default_rng(0).normal(size=(40, 20)).astype(np.float32)
    y = np.arange(40) % 3
    with pytest.raises(error) as e:
        MLPClassifier(**{"epochs": 1, **params}).fit(X, y)
    assert message in one_line(e)
    assert "--" not in str(e.value), "a flag name leaked through"


def test_unfitted_and_missing_files(tmp_path):
    clf = MLPClassifier()
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(NotFittedError):
            method(np.zeros((2, 4)))
    with pytest.raises(NotFittedError):
        clf.save(tmp_path / "m.npz")
    import digitnet
    with pytest.raises(ValueError, match="nothing.npz: cannot open") as e:
        digitnet.load(tmp_path / "nothing.npz")
    one_line(e)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="junk.npz") as e:
        digitnet.load(tmp_path / "junk.npz")
    one_line(e)
    with pytest.raises(ValueError, match="no-such-data. is neither a file, a directory nor a known dataset"):
        digitnet.datasets.load(tmp_path / "no-such-data")


def test_a_deeply_nested_config_is_one_line(tmp_path, digits):
    """A model file whose config nests 100,000 deep: a ValueError, not a crash of Python."""
    clf = MLPClassifier(epochs=1).fit(digits.X_train, digits.y_train)
    clf.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["config"] = np.array("[" * 100_000 + "]" * 100_000)
    np.savez(tmp_path / "deep.npz", **arrays)
    import digitnet
    with pytest.raises(ValueError, match="JSON nested 100000 deep; at most 64 levels are read") as e:
        digitnet.load(tmp_path / "deep.npz")
    one_line(e)


def test_parameters_are_the_recipes_settings(digits, tmp_path):
    """Every setting the estimator takes is a parameter (scikit-learn's name where it has one),
    and what fit trains with is the recipe those parameters make."""
    import digitnet
    params = MLPClassifier().get_params()
    renamed = {"layers": "hidden_layer_sizes", "lr": "learning_rate", "batch": "batch_size", "seed": "random_state",
               "threads": "n_threads"}
    for s in digitnet.settings():
        assert (renamed.get(s["name"], s["name"]) in params) == s["estimator"], s["name"]
    clf = MLPClassifier(hidden_layer_sizes=(24,), learning_rate=0.05, batch_size="full", random_state=9,
                        optimizer="momentum", dropout=0.1, epochs=2).fit(digits.X_train, digits.y_train)
    r = clf._fit_settings
    assert r["layers"] == [64, 24, 10] and r["lr"] == 0.05 and r["batch"] == "full" and r["seed"] == 9
    assert r["optimizer"] == "momentum" and r["dropout"] == [0.1] and r["epochs"] == 2
    # the library's own check of that recipe agrees
    assert json.loads(digitnet._digitnet.check_recipe(json.dumps(r))) == r
    # and a saved model gives the same recipe back, as its parameters
    clf.save(tmp_path / "r.npz")
    back = digitnet.load(tmp_path / "r.npz")
    assert back.get_params()["learning_rate"] == 0.05 and back.get_params()["hidden_layer_sizes"] == (24,)
    assert back._recipe(64, 10) == r
