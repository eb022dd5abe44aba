"""Model files move between the CLI and Python both ways (digitnet.load, MLPClassifier.save)."""
import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

import digitnet
from digitnet import MLPClassifier


def test_cli_model_in_python(cli, digits, tmp_path):
    """`digitnet train --save` -> digitnet.load: the parameters it was trained with, and the
    predictions `digitnet eval` makes."""
    model = tmp_path / "cli.npz"
    cli("train", "--data", "digits", "--preset", "digits-relu-32", "--epochs", 200, "--save", model, "--json")
    evaluation = json.loads(cli("eval", model, "--data", "digits", "--json"))
    clf = digitnet.load(model)
    assert clf.hidden_layer_sizes == (32,) and clf.normalize == "zscore" and clf.batch_size == "full"
    assert clf.epochs == 200 and clf.random_state == 42 and clf.init == "normal:0.1" and clf.image_shape == (8, 8)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert clf.n_iter_ == 2 and clf.history_[-1]["epoch"] == 200  # report every 100 epochs
    # the preset holds out a seeded 20% with seed 42: the same test part from digitnet.datasets
    test = digitnet.datasets.load("digits", split="random:0.2", seed=42)
    predicted = clf.predict(test.X_test)
    assert clf.score(test.X_test, test.y_test) == pytest.approx(evaluation["accuracy"], abs=1e-12)
    np.testing.assert_array_equal(confusion_matrix(test.y_test, predicted), np.array(evaluation["confusion"]))
    # and the network trains on: partial_fit continues from the loaded weights
    clf.partial_fit(test.X_train, test.y_train)
    assert clf.n_iter_ == 3


def test_python_model_in_the_cli(cli, fashion_small, fashion, tmp_path):
    """MLPClassifier.save -> `digitnet eval` agrees with the estimator's own score."""
    X, y, X_test, y_test = fashion_small
    clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=2).fit(X, y)
    model = tmp_path / "py.npz"
    clf.save(model)
    evaluation = json.loads(cli("eval", model, "--data", "fashion-mnist", "--json"))
    assert evaluation["accuracy"] == pytest.approx(clf.score(X_test, y_test), abs=1e-12)
    np.testing.assert_array_equal(np.array(evaluation["confusion"]),
                                  confusion_matrix(y_test, clf.predict(X_test)))
    config = json.loads(np.load(model)["config"].item())
    assert config["classes"] == list(range(10)) and config["layers"] == [784, 64, 10]
    assert len(config["history"]) == 2 and config["recipe"]["epochs"] == 2
    # the CLI reads the float model of the 8x8 digits too (values 0..16, scaled by 16 as recorded)
    digits = digitnet.datasets.load("digits")
    small = MLPClassifier(preset="digits-softmax", epochs=100).fit(digits.X_train, digits.y_train)
    small.save(tmp_path / "d.npz")
    # (the package does not know its data came from digits: the CLI is told the split to test on)
    evaluation = json.loads(cli("eval", tmp_path / "d.npz", "--data", "digits", "--split", "random:0.2", "--seed", 1,
                                "--json"))
    assert evaluation["accuracy"] == pytest.approx(small.score(digits.X_test, digits.y_test), abs=1e-12)


def test_save_and_load_keep_everything(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = np.array(["cat", "dog", "emu"])[np.arange(120) % 3]
    X += (np.arange(120) % 3)[:, None]
    clf = MLPClassifier(hidden_layer_sizes=(8, 5), activation="tanh", loss="mse", normalize="zscore",
                        optimizer="adam", learning_rate=0.01, epochs=12, dropout=(0.1, 0.0), random_state=3)
    clf.fit(X, y)
    clf.save(tmp_path / "m.npz")
    back = digitnet.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    for a, b in zip(back.coefs_ + back.intercepts_, clf.coefs_ + clf.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert back.history_ == clf.history_
    params = back.get_params()
    for name in ("hidden_layer_sizes", "activation", "loss", "normalize", "optimizer", "learning_rate", "epochs",
                 "random_state"):
        assert params[name] == clf.get_params()[name], name
    assert params["dropout"] == (0.1, 0.0) and params["image_shape"] == (1, 6)
    # writing is atomic: a failed save leaves no file, and an existing one intact
    with pytest.raises(ValueError, match="no-such-dir"):
        clf.save(tmp_path / "no-such-dir" / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_labels_that_json_cannot_hold():
    X = np.zeros((4, 2), np.float32)
    y = np.array([b"a", b"b", b"a", b"b"])
    with pytest.raises(ValueError, match="classes_: the label b'a' cannot be saved"):
        MLPClassifier(epochs=1).fit(X, y).save("unused.npz")
