"""digitnet.MLPClassifier as a user of scikit-learn uses it."""
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
import tracemalloc

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import digitnet
from digitnet import MLPClassifier


def weights(clf):
    return [a for W, b in clf._learner.weights() for a in (W, b)]


def assert_same_weights(a, b):
    for x, y in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(x, y)


def blobs(n, classes, features=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(classes, features))
    y = np.arange(n) % classes
    return (centres[y] + rng.normal(0, 1, size=(n, features))).astype(np.float32), y


def test_fit_predict_score_on_digits(digits):
    clf = MLPClassifier(preset="digits-relu-32", epochs=300)
    assert clf.fit(digits.X_train, digits.y_train) is clf
    assert clf.score(digits.X_test, digits.y_test) > 0.95
    p = clf.predict_proba(digits.X_test)
    assert p.shape == (len(digits.X_test), 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(digits.X_test), p.argmax(axis=1))
    np.testing.assert_allclose(clf.predict_log_proba(digits.X_test[:5]), np.log(p[:5]), rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert clf.n_features_in_ == 64


def test_history_attributes(digits):
    clf = MLPClassifier(hidden_layer_sizes=(32,), epochs=5, normalize="zscore").fit(digits.X_train, digits.y_train)
    assert clf.n_iter_ == 5 and len(clf.history_) == 5 and [r["epoch"] for r in clf.history_] == [1, 2, 3, 4, 5]
    assert clf.loss_curve_ == [r["loss"] for r in clf.history_]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert all(0 <= a <= 1 for a in clf.accuracy_curve_)
    assert all(r["seconds"] >= 0 and r["lr"] == 0.32 for r in clf.history_)
    # scikit-learn's layout for the weights: coefs_[i] is (fan_in, fan_out)
    assert [c.shape for c in clf.coefs_] == [(64, 32), (32, 10)]
    assert [b.shape for b in clf.intercepts_] == [(32,), (10,)]


def test_string_labels_and_any_class_count():
    for classes in (3, 50):
        X, y = blobs(40 * classes, classes, seed=classes)
        names = np.array([f"class-{c:02d}" for c in range(classes)])[y]
        clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=20, normalize="zscore").fit(X, names)
        assert list(clf.classes_) == sorted(set(names))
        assert clf.predict_proba(X).shape == (len(X), classes)
        assert set(clf.predict(X)) <= set(names)
        assert clf.score(X, names) > 0.9
    # labels that are not 0..k-1: negative numbers, floats, booleans
    X, y = blobs(200, 2)
    for labels in (np.where(y, -7, 12), np.where(y, 1.0, 3.0), y.astype(bool)):
        clf = MLPClassifier(epochs=10).fit(X, labels)
        np.testing.assert_array_equal(clf.classes_, np.unique(labels))
        assert clf.score(X, labels) > 0.9


def test_too_many_classes_and_one_class():
    X, y = blobs(300, 3)
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="at most 256"):
        MLPClassifier().fit(np.zeros((300, 2), np.float32), np.arange(300))


def test_uint8_is_scaled_as_the_cli_scales_it(fashion_small):
    X, y, _, _ = fashion_small
    a = MLPClassifier(epochs=1).fit(X[:2000], y[:2000])
    # the same pixels as float32 values / 255 go in as given: the same network, bit for bit
    b = MLPClassifier(epochs=1).fit(X[:2000].astype(np.float32) * np.float32(1 / 255), y[:2000])
    assert_same_weights(a, b)
    # every other numeric dtype works too (converted to float32 once)
    for dtype in (np.float64, np.int64, np.int32, np.uint16, np.int8, bool):
        Xd = (X[:300] > 100).astype(dtype)
        clf = MLPClassifier(epochs=2).fit(Xd, y[:300])
        assert clf.predict(Xd).shape == (300,)


@pytest.mark.slow
def test_same_as_the_cli_bit_for_bit(cli, fashion, tmp_path):
    """fit on the arrays digitnet.datasets gives = `digitnet train` on the same dataset."""
    cli("train", "--data", "fashion-mnist", "--epochs", 1, "--optimizer", "momentum", "--lr", 0.05,
        "--dropout", 0.1, "--save", tmp_path / "cli.npz", "--json")
    clf = MLPClassifier(epochs=1, optimizer="momentum", learning_rate=0.05, dropout=0.1)
    clf.fit(fashion.X_train, fashion.y_train)
    clf.save(tmp_path / "py.npz")
    a, b = np.load(tmp_path / "cli.npz"), np.load(tmp_path / "py.npz")
    for key in ("w1", "b1", "w2", "b2", "w3", "b3"):
        np.testing.assert_array_equal(a[key], b[key])


def test_presets_and_parameters_override_them(digits):
    names = [p["name"] for p in digitnet.presets()]
    assert "relu-128-64" in names and "best-digits" in names
    clf = MLPClassifier(preset="seed001", epochs=3)  # the seed names work too
    clf.fit(digits.X_train, digits.y_train)
    assert [c.shape for c in clf.coefs_] == [(64, 32), (32, 10)]  # the preset's network
    assert clf._fit_settings["normalize"] == "zscore" and clf._fit_settings["batch"] == "full"
    assert clf._fit_settings["seed"] == 42 and clf.n_iter_ == 3  # its seed; epochs overridden
    with pytest.raises(ValueError, match=r"^preset: 'nope' is not a preset \(known: relu-128-64"):
        MLPClassifier(preset="nope").fit(digits.X_train, digits.y_train)


def test_learning_options(digits):
    X, y = digits.X_train, digits.y_train
    for params in (dict(optimizer="adamw", learning_rate=1e-3, weight_decay=0.01, schedule="cosine", warmup=1),
                   dict(optimizer="nesterov", learning_rate=0.05, momentum=0.8, l2=1e-4, clip_norm=5),
                   dict(dropout=(0.2, 0.1), label_smoothing=0.1, batch_size="full", learning_rate=0.5),
                   dict(activation="tanh", init="xavier"),
                   dict(activation="sigmoid", loss="mse", init="normal:1", learning_rate=1.5, batch_size=10)):
        clf = MLPClassifier(normalize="zscore", epochs=15, **params).fit(X, y)
        assert clf.score(digits.X_test, digits.y_test) > 0.8, params
        p = clf.predict_proba(digits.X_test)
        np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)  # mse outputs are normalised too
    # augmentation distorts images with values in [0, 1]
    clf = MLPClassifier(augment="shift:1,rotate:10", epochs=30).fit(X / np.float32(16), y)
    assert clf.score(digits.X_test / np.float32(16), digits.y_test) > 0.8
    # intensities above 1 are scaled by their largest value, as the model records: 0..16 works too
    clf = MLPClassifier(augment="shift:1,rotate:10", epochs=30).fit(X, y)
    assert clf.score(digits.X_test, digits.y_test) > 0.8
    with pytest.raises(ValueError, match=r"augment: needs images of intensities .* X holds -8 to 8"):
        MLPClassifier(augment="shift:1").fit(X - np.float32(8), y)


def test_same_weights_for_any_thread_count_and_reproducible(digits):
    runs = [MLPClassifier(epochs=3, n_threads=n, random_state=5).fit(digits.X_train, digits.y_train)
            for n in (1, 2, 1)]
    assert_same_weights(runs[0], runs[1])
    assert_same_weights(runs[0], runs[2])
    other = MLPClassifier(epochs=3, random_state=6).fit(digits.X_train, digits.y_train)
    assert not np.array_equal(weights(other)[0], weights(runs[0])[0])
    # a RandomState draws a seed, as scikit-learn's estimators do
    MLPClassifier(epochs=1, random_state=np.random.RandomState(0)).fit(digits.X_train, digits.y_train)


def test_partial_fit_continues_where_fit_stopped(digits):
    X, y = digits.X_train, digits.y_train
    whole = MLPClassifier(epochs=5).fit(X, y)
    parts = MLPClassifier(epochs=5)  # epochs is also the schedule's length for partial_fit
    parts.partial_fit(X, y, classes=np.arange(10))
    for _ in range(4):
        parts.partial_fit(X, y)
    assert_same_weights(whole, parts)
    assert parts.n_iter_ == 5
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not one of the classes"):
        MLPClassifier().partial_fit(X, y, classes=np.arange(5))
    with pytest.raises(ValueError, match="X has 63 features, but MLPClassifier is expecting 64"):
        parts.partial_fit(X[:, :63], y)


def test_pipeline_grid_search_cross_val_score(digits):
    X, y = digits.X_train, digits.y_train
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), epochs=10))
    assert pipe.fit(X, y).score(digits.X_test, digits.y_test) > 0.9
    scores = cross_val_score(MLPClassifier(hidden_layer_sizes=(32,), epochs=10, normalize="zscore"), X, y, cv=3)
    assert len(scores) == 3 and min(scores) > 0.85
    # n_jobs=2: the estimator goes to joblib's worker processes, the data memory-mapped
    grid = GridSearchCV(MLPClassifier(epochs=10, normalize="zscore"),
                        {"hidden_layer_sizes": [(16,), (64,)], "learning_rate": [0.05, 0.3]}, cv=2, n_jobs=2,
                        pre_dispatch=4)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"hidden_layer_sizes", "learning_rate"} and grid.best_score_ > 0.85


def test_pickle_round_trip(digits):
    clf = MLPClassifier(epochs=3, normalize="zscore").fit(digits.X_train, digits.y_train)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(digits.X_test), clf.predict_proba(digits.X_test))
    copy.partial_fit(digits.X_train, digits.y_train)  # a new trainer for the unpickled weights
    assert copy.n_iter_ == 4


@pytest.mark.slow
def test_arrays_are_not_copied(fashion):
    """C-contiguous uint8 and float32 arrays are read in place: tracemalloc sees every NumPy
    allocation, and none the size of X happens while fitting or predicting."""
    X, y = fashion.X_train, fashion.y_train
    clf = MLPClassifier(epochs=1)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        fit_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        clf.predict_proba(X)
        predict_peak = tracemalloc.get_traced_memory()[1]
        X32 = np.ascontiguousarray(X[:20000], dtype=np.float32)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        clf.predict(X32)
        float_peak = tracemalloc.get_traced_memory()[1] - base
        Xt = np.asfortranarray(X[:20000])  # another layout is converted once, as scikit-learn does
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        clf.predict(Xt)
        fortran_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert fit_peak < X.nbytes / 20, fit_peak           # 47 MB of pixels; labels and history only
    assert predict_peak < X.nbytes / 10, predict_peak   # the (60000, 10) probabilities: 2.4 MB
    assert float_peak < X32.nbytes / 10, float_peak
    assert fortran_peak >= Xt.nbytes, fortran_peak


@pytest.mark.slow
def test_gil_is_released_while_fitting(fashion):
    """A Python thread keeps running while another one fits. With the GIL held through each
    epoch, it could only run in the moments between epochs: a handful of ticks."""
    X, y = fashion.X_train, fashion.y_train
    clf = MLPClassifier(epochs=3, n_threads=1)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (clf.fit(X, y), done.set()))
    ticks = 0
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert clf.n_iter_ == 3 and min(r["seconds"] for r in clf.history_) > 0.05
    assert ticks > 30, ticks


def test_two_threads_fit_at_once(digits):
    """Python threads that train at the same time take turns in the engine: same results."""
    X, y = digits.X_train, digits.y_train
    alone = MLPClassifier(epochs=20).fit(X, y)
    clfs = [MLPClassifier(epochs=20) for _ in range(3)]
    threads = [threading.Thread(target=c.fit, args=(X, y)) for c in clfs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clfs:
        assert_same_weights(alone, c)


CTRL_C = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    import numpy as np
    import digitnet
    X, y, _, _ = digitnet.datasets.load("fashion-mnist")
    X, y = X[:20000], y[:20000]
    start = time.perf_counter()
    digitnet.MLPClassifier(epochs=1).fit(X, y)
    epoch = time.perf_counter() - start
    clf = digitnet.MLPClassifier(epochs=10000)
    sent = []
    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(max(1.0, 2.5 * epoch), interrupt).start()  # in the third epoch or so
    try:
        clf.fit(X, y)
        print(json.dumps({"interrupted": False}))
        sys.exit(0)
    except KeyboardInterrupt:
        latency = time.perf_counter() - sent[0]
    done = clf.n_iter_
    # the estimator kept its last complete epoch: a fresh fit of that many epochs is the same
    again = digitnet.MLPClassifier(epochs=done).fit(X, y)
    same = all(np.array_equal(a, b) for (a, _), (b, _) in zip(clf._learner.weights(), again._learner.weights()))
    clf.partial_fit(X, y)  # and it goes on from there
    print(json.dumps({"interrupted": True, "latency": latency, "epochs": done, "same": same,
                      "after": clf.n_iter_, "score": clf.score(X[:2000], y[:2000])}))
""")


@pytest.mark.slow
def test_ctrl_c_stops_a_fit_cleanly():
    import json
    r = subprocess.run([sys.executable, "-c", CTRL_C], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(digitnet.__file__))})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["interrupted"]
    assert out["latency"] < 1, out  # signals are looked at every 0.1 s during an epoch (slack for a busy machine)
    assert out["epochs"] >= 1 and out["same"] and out["after"] == out["epochs"] + 1, out
    assert out["score"] > 0.7


def test_divergence_keeps_the_last_good_epoch(digits):
    # One full batch an epoch and a warmup of 2 epochs: epoch 1's step has lr 0 (t = 0), the
    # later ones 500 and more: a later epoch diverges.
    X, y = digits.X_train / np.float32(16), digits.y_train
    params = dict(batch_size="full", warmup=2, learning_rate=1000)
    clf = MLPClassifier(epochs=5, **params)
    with pytest.raises(ValueError, match=r"^learning_rate: training diverged in epoch \d: .* try a smaller "
                                         r"learning_rate") as e:
        clf.fit(X, y)
    failed = int(re.search(r"in epoch (\d+)", str(e.value)).group(1))
    assert failed >= 2 and clf.n_iter_ == failed - 1
    assert_same_weights(clf, MLPClassifier(epochs=failed - 1, **params).fit(X, y))
    # partial_fit too: data that overflows the network leaves the weights it had
    good = MLPClassifier(epochs=2).fit(X, y)
    before = weights(good)
    with pytest.raises(ValueError, match="diverged"):
        good.partial_fit(X * np.float32(1e30), y)
    for a, b in zip(before, weights(good)):
        np.testing.assert_array_equal(a, b)
    assert good.n_iter_ == 2


def test_verbose_prints_a_line_per_epoch(digits, capsys):
    MLPClassifier(epochs=2, verbose=True).fit(digits.X_train, digits.y_train)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch    1  loss ")


def test_dataframes_keep_their_feature_names(digits):
    pd = pytest.importorskip("pandas", reason="pandas is missing (apt-get install python3-pandas)")
    df = pd.DataFrame(digits.X_train, columns=[f"px{i}" for i in range(64)])
    clf = MLPClassifier(epochs=2).fit(df, digits.y_train)
    assert list(clf.feature_names_in_) == list(df.columns)
    assert clf.predict(df).shape == (len(df),)


def test_low_level_learner_refuses_what_it_cannot_borrow():
    """The compiled module takes only what it can read in place; the estimator converts first."""
    def recipe(layers):
        return json.dumps({"layers": layers, "batch": 2, "epochs": 1, "lr": 0.1})
    for sizes in ([4], [4, 0, 3], [4, -5, 3], [4, 2_000_000, 3], [4, 2.5, 3]):
        with pytest.raises(digitnet.SettingError, match="layers"):
            digitnet._digitnet.Learner(recipe(sizes), 2, 2)
    with pytest.raises(ValueError, match="image_shape: 3x2 does not hold the network's 4 inputs"):
        digitnet._digitnet.Learner(recipe([4, 3]), 3, 2)
    learner = digitnet._digitnet.Learner(recipe([4, 3]), 2, 2)
    good = np.zeros((5, 4), np.float32)
    with pytest.raises(ValueError, match="not C-contiguous"):
        learner.predict_proba(np.zeros((4, 5), np.float32).T)
    with pytest.raises(TypeError, match="dtype float64 is not supported here"):
        learner.predict_proba(good.astype(np.float64))
    with pytest.raises(TypeError, match="dtype >f4 is not supported here"):
        learner.predict_proba(good.astype(">f4"))
    with pytest.raises(ValueError, match="expected a 2-D array"):
        learner.predict_proba(good[0])
    with pytest.raises(ValueError, match="empty"):
        learner.predict_proba(good[:0])
    with pytest.raises(ValueError, match="has 3 values per example but the network's input size is 4"):
        learner.predict_proba(good[:, :3].copy())
    with pytest.raises(ValueError, match="no trainer"):
        learner.train_epoch(good, np.zeros(5, np.uint8))
    learner.start(recipe([4, 3]))
    with pytest.raises(ValueError, match="label 7 at index 2 is not below the network's 3 classes"):
        learner.train_epoch(good, np.array([0, 1, 7, 0, 0], np.uint8))
    with pytest.raises(ValueError, match="y has 4 labels but X has 5 examples"):
        learner.train_epoch(good, np.zeros(4, np.uint8))


def test_defaults_hold_on_scikit_learns_digits(digits):
    """MLPClassifier() as it comes, on the 8x8 digits as scikit-learn gives them (floats 0..16):
    at least scikit-learn's own MLPClassifier() on the same split (its values are scaled by
    their largest, 16, as the model records; it used to score 8% on them as given)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SklearnMLP
    X, y = load_digits(return_X_y=True)  # float64 0..16
    ours, theirs = [], []
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed)
        ours.append(MLPClassifier().fit(X_train, y_train).score(X_test, y_test))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its convergence warning
            theirs.append(SklearnMLP(random_state=0).fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs), (ours, theirs)
    # and on digitnet's own split of the same digits
    clf = MLPClassifier().fit(digits.X_train, digits.y_train)
    assert clf.score(digits.X_test, digits.y_test) >= 0.97
    assert clf._learner.normalizer["pixel_max"] == 16


def test_pickle_keeps_batch_norm_and_the_average(digits, tmp_path):
    # batch normalization's parameters and running statistics travel with the weights
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), epochs=3, normalize="zscore", batch_norm="on",
                        ema=0.9).fit(digits.X_train, digits.y_train)
    assert clf._learner.batch_norm
    copy = pickle.loads(pickle.dumps(clf))
    assert copy._learner.batch_norm
    np.testing.assert_array_equal(copy._learner.values(), clf._learner.values())
    np.testing.assert_array_equal(copy.predict_proba(digits.X_test), clf.predict_proba(digits.X_test))
    clf.save(tmp_path / "bn.npz")
    np.testing.assert_array_equal(digitnet.load(tmp_path / "bn.npz").predict_proba(digits.X_test),
                                  clf.predict_proba(digits.X_test))
    with pytest.raises(ValueError, match="values: expected 2976 numbers"):
        copy._learner.set_values(np.zeros(3, np.float32))
