#!/usr/bin/python3
"""The seed network (784-128-64-10 ReLU, softmax + CE) in scikit-learn's MLPClassifier, timed:
plain SGD (no momentum, no L2), batch 32, lr 0.32 on the batch-mean loss as digitnet's, float32.

Usage: sklearn_seed.py DATA_DIR EPOCHS   -> one JSON object on stdout
"""
import json
import os
import resource
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier

from numpy_seed import load


def main():
    data, epochs = sys.argv[1], int(sys.argv[2])
    X_train, y_train = load(data, "train")
    X_test, y_test = load(data, "t10k")
    limit = int(os.environ.get("LIMIT", "0"))  # a quick smoke run on the first LIMIT examples
    if limit:
        X_train, y_train = X_train[:limit], y_train[:limit]
    # float32 in [0, 1]: scikit-learn's MLP keeps float32 (uint8 it would turn into float64)
    X_train = X_train.astype(np.float32) / np.float32(255)
    X_test = X_test.astype(np.float32) / np.float32(255)
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), activation="relu", solver="sgd", batch_size=32,
                        learning_rate_init=0.32, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                        shuffle=True, random_state=1, max_iter=1, tol=0, n_iter_no_change=10 ** 9)
    classes = np.arange(10)
    epoch_seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):  # partial_fit is one epoch over the data, as fit's iterations are
            start = time.perf_counter()
            clf.partial_fit(X_train, y_train, classes=classes)
            epoch_seconds.append(time.perf_counter() - start)
    accuracy = float((clf.predict(X_test) == y_test).mean())
    start = time.perf_counter()
    for i in range(len(X_test)):
        clf.predict_proba(X_test[i:i + 1])
    batch1 = time.perf_counter() - start
    big = []
    for _ in range(5):
        start = time.perf_counter()
        clf.predict_proba(X_test)
        big.append(time.perf_counter() - start)
    print(json.dumps({"name": f"scikit-learn {sklearn.__version__} MLPClassifier (float32)",
                      "epoch_seconds": epoch_seconds, "test_accuracy": accuracy,
                      "infer_batch1_seconds": batch1, "infer_batch10000_seconds": min(big),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
