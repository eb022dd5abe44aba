"""Datasets by name, from the CLI's cache ($DIGITNET_DATA, else $XDG_CACHE_HOME/digitnet, else
~/.cache/digitnet), fetched and verified on first use like `digitnet data fetch` does.

    X_train, y_train, X_test, y_test = digitnet.datasets.load("fashion-mnist")

X is (examples, features), row-major: uint8 pixels 0..255 for the 28x28 sets (mnist,
fashion-mnist, mnist-10k; MLPClassifier reads them as pixel / 255, as the CLI does), float32
values 0..16 for the 8x8 digits (as scikit-learn's load_digits has them). y is int64. The split
is the CLI's: the official test set where there is one, else a seeded random 20%.
"""
from collections import namedtuple

from . import _digitnet

Split = namedtuple("Split", "X_train y_train X_test y_test")


def load(name, split="auto", seed=1):
    """A dataset by name (names()) or a path the CLI's --data takes (IDX directory, CSV,
    digits.csv.gz, image folders), split as `digitnet train --split SPLIT --seed SEED` splits it."""
    try:
        d = _digitnet.load_dataset(str(name), str(split), int(seed))
    except ValueError as e:
        raise ValueError(str(e).replace("--data", "name").replace("--split", "split")) from None
    return Split(d["train"]["X"], d["train"]["y"], d["test"]["X"], d["test"]["y"])


def names():
    """The datasets known by name."""
    return [d["name"] for d in _digitnet.known_datasets()]


def info():
    """Each known dataset: name, examples, shape, source, licence, and whether it is cached."""
    return _digitnet.known_datasets()


def cache_dir():
    return _digitnet.cache_dir()
