#!/usr/bin/python3
"""Seed 000's NumPy training loop (float64, batch 32, as the notebook wrote it), timed.

Usage: numpy_seed.py DATA_DIR EPOCHS [float32]   -> one JSON object on stdout
(float32: the same loop with every array in float32, as a NumPy user who wants speed writes it)
"""
import gzip
import json
import os
import resource
import sys
import time

import numpy as np


def load(data, prefix):
    def read(name, offset):
        path = os.path.join(data, name)
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    ext = ".gz" if os.path.exists(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz")) else ""
    x = read(f"{prefix}-images-idx3-ubyte{ext}", 16).reshape(-1, 784)
    y = read(f"{prefix}-labels-idx1-ubyte{ext}", 8)
    return x, y.astype(np.int32)


def ReLU(z):
    return np.maximum(0, z)


def ReLU_deriv(z):
    if z.dtype == np.float32:  # an int array would make every product after it float64
        return (z > 0).astype(np.float32)
    return np.where(z > 0, 1, 0)


def softmax(Z):
    Z = Z - np.max(Z, axis=1, keepdims=True)
    exp_Z = np.exp(Z)
    return exp_Z / np.sum(exp_Z, axis=1, keepdims=True)


def CrossEntropy(yhat, y, eps=1e-15):
    yhat = np.clip(yhat, eps, 1 - eps)
    return -np.mean(np.sum(y * np.log(yhat), axis=1))


def forward(X, w1, b1, w2, b2, w3, b3):
    a1 = ReLU(np.dot(X, w1.T) + b1)
    a2 = ReLU(np.dot(a1, w2.T) + b2)
    return softmax(np.dot(a2, w3.T) + b3)


def main():
    data, epochs = sys.argv[1], int(sys.argv[2])
    dtype = np.float32 if sys.argv[3:4] == ["float32"] else np.float64
    X_train, y_train = load(data, "train")
    X_test, y_test = load(data, "t10k")
    limit = int(os.environ.get("LIMIT", "0"))  # a quick smoke run on the first LIMIT examples
    if limit:
        X_train, y_train = X_train[:limit], y_train[:limit]
    X_train, X_test = (X_train / 255.0).astype(dtype), (X_test / 255.0).astype(dtype)
    np.random.seed(1)
    w1 = (np.random.randn(128, 784) * np.sqrt(2 / 784)).astype(dtype); b1 = np.zeros(128, dtype)
    w2 = (np.random.randn(64, 128) * np.sqrt(2 / 128)).astype(dtype); b2 = np.zeros(64, dtype)
    w3 = (np.random.randn(10, 64) * np.sqrt(2 / 64)).astype(dtype); b3 = np.zeros(10, dtype)
    batch_size, lr = 32, dtype(0.01)
    epoch_seconds = []
    for epoch in range(epochs):
        start = time.perf_counter()
        total_loss = 0
        perm = np.random.permutation(X_train.shape[0])
        X_train = X_train[perm]
        y_train = y_train[perm]
        for batch in range(0, X_train.shape[0], 32):
            X_train_batch = X_train[batch: batch + batch_size]
            y_train_batch = y_train[batch: batch + batch_size]
            batch_len = X_train_batch.shape[0]
            z1 = np.dot(X_train_batch, w1.T) + b1
            a1 = ReLU(z1)
            z2 = np.dot(a1, w2.T) + b2
            a2 = ReLU(z2)
            z3 = np.dot(a2, w3.T) + b3
            yhat = softmax(z3)
            y_onehot = np.zeros((batch_len, 10), dtype)
            y_onehot[np.arange(batch_len), y_train_batch] = 1
            total_loss += CrossEntropy(yhat, y_onehot)
            dz3 = yhat - y_onehot
            da2 = np.dot(dz3, w3)
            dz2 = da2 * ReLU_deriv(z2)
            da1 = np.dot(dz2, w2)
            dz1 = da1 * ReLU_deriv(z1)
            dw3 = np.dot(dz3.T, a2); db3 = dz3.sum(axis=0)
            dw2 = np.dot(dz2.T, a1); db2 = dz2.sum(axis=0)
            dw1 = np.dot(dz1.T, X_train_batch); db1 = dz1.sum(axis=0)
            w3 -= lr * dw3; b3 -= lr * db3
            w2 -= lr * dw2; b2 -= lr * db2
            w1 -= lr * dw1; b1 -= lr * db1
        epoch_seconds.append(time.perf_counter() - start)
    accuracy = float((forward(X_test, w1, b1, w2, b2, w3, b3).argmax(axis=1) == y_test).mean())
    # Inference over the test set: one image at a time, then all at once.
    start = time.perf_counter()
    for i in range(len(X_test)):
        forward(X_test[i:i + 1], w1, b1, w2, b2, w3, b3)
    batch1 = time.perf_counter() - start
    big = []
    for _ in range(5):
        start = time.perf_counter()
        forward(X_test, w1, b1, w2, b2, w3, b3)
        big.append(time.perf_counter() - start)
    print(json.dumps({"name": f"NumPy {np.__version__} (seed 000's code, {np.dtype(dtype).name})", "epoch_seconds": epoch_seconds,
                      "test_accuracy": accuracy, "infer_batch1_seconds": batch1,
                      "infer_batch10000_seconds": min(big),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
