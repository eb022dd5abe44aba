#!/usr/bin/python3
"""How fast Debian's PyTorch runs one training step of best-fashion-mnist's network (batch 128,
AdamW, dropout, with and without batch normalization) on random data; docs/accuracy.md quotes it.

Usage: bench/torch_step.py [THREADS]
"""
import sys
import time

import torch


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    print(torch.__config__.show().split("Build settings:")[1].split(",")[0].strip())  # BLAS_INFO=...
    X, y = torch.rand(60000, 784), torch.randint(0, 10, (60000,))
    for bn in (False, True):
        norm = (lambda n: [torch.nn.BatchNorm1d(n)]) if bn else (lambda n: [])
        model = torch.nn.Sequential(torch.nn.Linear(784, 1024), *norm(1024), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                    torch.nn.Linear(1024, 256), *norm(256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                    torch.nn.Linear(256, 10))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        steps, start = 50, time.perf_counter()
        for _ in range(steps):
            idx = torch.randint(0, 60000, (128,))
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
        step = (time.perf_counter() - start) / steps
        flops = 6 * 128 * (784 * 1024 + 1024 * 256 + 256 * 10)
        print(f"batch norm {'on ' if bn else 'off'}: {step * 1000:.0f} ms a step, {flops / step / 1e9:.1f} GFLOP/s, "
              f"{step * 469:.0f} s an epoch of 60,000")


if __name__ == "__main__":
    main()
