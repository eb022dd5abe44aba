#!/usr/bin/python3
"""The seed network (784-128-64-10 ReLU, softmax + CE, batch 32) in PyTorch on the CPU, timed.

Usage: torch_seed.py DATA_DIR EPOCHS THREADS   -> one JSON object on stdout
"""
import json
import os
import resource
import sys
import time

import numpy as np
import torch

from numpy_seed import load


def main():
    data, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    X_train, y_train = load(data, "train")
    X_test, y_test = load(data, "t10k")
    limit = int(os.environ.get("LIMIT", "0"))  # a quick smoke run on the first LIMIT examples
    if limit:
        X_train, y_train = X_train[:limit], y_train[:limit]
    # Like digitnet: the images stay bytes, each batch is converted to float32.
    X_train = torch.from_numpy(X_train.copy())
    y_train = torch.from_numpy(y_train.astype(np.int64))
    X_test = torch.from_numpy(X_test.copy()).float() / 255
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.32)
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(X_train))
        for i in range(0, len(X_train), 32):
            idx = perm[i:i + 32]
            x = X_train[idx].float() / 255
            loss = loss_fn(model(x), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - start)
    with torch.inference_mode():
        accuracy = float((model(X_test).argmax(1).numpy() == y_test).mean())
        start = time.perf_counter()
        for i in range(len(X_test)):
            model(X_test[i:i + 1]).softmax(1)
        batch1 = time.perf_counter() - start
        big = []
        for _ in range(5):
            start = time.perf_counter()
            model(X_test).softmax(1)
            big.append(time.perf_counter() - start)
    print(json.dumps({"name": f"pytorch {torch.__version__} (float32, {threads} threads)",
                      "epoch_seconds": epoch_seconds, "test_accuracy": accuracy,
                      "infer_batch1_seconds": batch1, "infer_batch10000_seconds": min(big),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
