"""Shared fixtures: the package from the build tree, the CLI binary, and small real data."""
import os
import shutil
import subprocess

import pytest

np = pytest.importorskip("numpy", reason="NumPy is missing (apt-get install python3-numpy)")
pytest.importorskip("sklearn", reason="scikit-learn is missing (apt-get install python3-sklearn)")

import digitnet  # noqa: E402  (the build tree's python/, put on the path by run_pytest.py)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: whole datasets or subprocesses; the sanitizer build leaves them out")


@pytest.fixture(scope="session")
def cli():
    """Runs the digitnet command: cli("train", ...) -> stdout; fails the test on a non-zero exit."""
    binary = os.environ.get("DIGITNET_BINARY") or shutil.which("digitnet")
    if not binary:
        pytest.skip("no digitnet binary (set DIGITNET_BINARY)")

    def run(*args, check=True):
        r = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        if check:
            assert r.returncode == 0, f"digitnet {' '.join(map(str, args))}: {r.stderr}"
        return r if not check else r.stdout
    run.binary = binary
    return run


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, split as the CLI splits them (random 20%, seed 1)."""
    return digitnet.datasets.load("digits")


@pytest.fixture(scope="session")
def fashion():
    """Fashion-MNIST (Debian's dataset-fashion-mnist): uint8 (60000, 784) and (10000, 784)."""
    try:
        return digitnet.datasets.load("fashion-mnist")
    except ValueError as e:
        pytest.skip(f"Fashion-MNIST is not here: {e}")


@pytest.fixture(scope="session")
def fashion_small(fashion):
    """The first 6,000 training images and the full test set: seconds-long fits."""
    return fashion.X_train[:6000], fashion.y_train[:6000], fashion.X_test, fashion.y_test
