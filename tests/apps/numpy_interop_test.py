#!/usr/bin/python3
"""Models move between digitnet and NumPy in both directions.

Usage: numpy_interop_test.py path/to/digitnet   (exit 77 = skipped: no NumPy)
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy_interop: skipped, NumPy is not installed (apt-get install python3-numpy)")
    sys.exit(77)

DIGITNET = sys.argv[1]


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def synthetic(n, rng, protos):
    labels = np.arange(n) % 10
    images = protos[labels] + rng.normal(0, 40, size=(n, 8, 8))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def run(*args):
    r = subprocess.run([DIGITNET, *args], capture_output=True, text=True)
    assert r.returncode == 0, f"digitnet {' '.join(args)} failed: {r.stderr}"
    return r.stdout


def numpy_forward(z, arrays, config):
    """The network's forward pass written with NumPy, from the file alone."""
    x = z.reshape(len(z), -1).astype(np.float64) / config["pixel_max"]
    if config["normalization"] == "zscore":
        x = (x - arrays["input_mean"]) / arrays["input_std"]
    depth = len(config["layers"]) - 1
    for i in range(1, depth + 1):
        x = x @ arrays[f"w{i}"].T.astype(np.float64) + arrays[f"b{i}"]
        if i < depth:
            x = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
                 "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[config["hidden_activation"]](x)
    return x.argmax(axis=1)


def main():
    rng = np.random.default_rng(0)
    protos = np.where(rng.random((10, 8, 8)) < 0.3, 200.0, 20.0)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        for prefix, n in (("train", 400), ("t10k", 100)):
            images, labels = synthetic(n, rng, protos)
            write_idx(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz"), images)
            write_idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz"), labels)
        test_images, test_labels = images, labels
        checks = 0
        for norm, act in (("scale", "relu"), ("zscore", "tanh")):
            model = os.path.join(tmp, f"{norm}.npz")
            run("train", "--data", data, "--layers", "64,16,10", "--epochs", "3", "--lr", "0.1",
                "--normalize", norm, "--activation", act, "--save", model, "--json")
            # 1. NumPy reads what digitnet wrote.
            with np.load(model) as f:
                arrays = {k: f[k] for k in f.files}
            config = json.loads(arrays["config"].item())
            for key in ("layers", "hidden_activation", "loss", "normalization", "dataset", "recipe", "history"):
                assert key in config, key
            assert config["layers"] == [64, 16, 10]
            assert arrays["w1"].dtype == np.float32 and arrays["w1"].shape == (16, 64)
            assert arrays["b2"].dtype == np.float32 and arrays["b2"].shape == (10,)
            assert ("input_mean" in arrays) == (norm == "zscore")
            ours = json.loads(run("eval", model, "--data", data, "--json"))
            pred = numpy_forward(test_images, arrays, config)
            numpy_acc = float((pred == test_labels).mean())
            assert abs(numpy_acc - ours["accuracy"]) <= 0.011, (numpy_acc, ours["accuracy"])
            checks += 1
            # 2. digitnet reads what NumPy wrote (float64 weights, plain and compressed zip).
            arrays2 = dict(arrays)
            arrays2["w1"] = arrays["w1"].astype(np.float64) * 0.5
            for save in (np.savez, np.savez_compressed):
                path = os.path.join(tmp, f"numpy-{save.__name__}.npz")
                save(path, **arrays2)
                theirs = json.loads(run("eval", path, "--data", data, "--json"))
                acc2 = float((numpy_forward(test_images, arrays2, config) == test_labels).mean())
                assert abs(acc2 - theirs["accuracy"]) <= 0.011, (save.__name__, acc2, theirs["accuracy"])
                checks += 1
            # 3. A plain np.savez of the weights alone, without digitnet's config: a ReLU network
            # with softmax outputs on pixels scaled to [0, 1], z-scored when input_mean and
            # input_std are there, its input square (8x8 here).
            if act == "relu":
                plain = {k: v.astype(np.float64) for k, v in arrays.items() if k != "config"}
                path = os.path.join(tmp, "plain.npz")
                np.savez(path, **plain)
                theirs = json.loads(run("eval", path, "--data", data, "--split", "official", "--json"))
                acc3 = float((numpy_forward(test_images, plain, config) == test_labels).mean())
                assert abs(acc3 - theirs["accuracy"]) <= 0.011, ("plain np.savez", acc3, theirs["accuracy"])
                checks += 1
                # Weight arrays that do not chain are named, in one line.
                bad = dict(plain, w2=np.ascontiguousarray(plain["w2"].T))
                np.savez(path, **bad)
                r = subprocess.run([DIGITNET, "eval", path, "--data", data], capture_output=True, text=True)
                assert r.returncode == 1 and "'w2' has shape (16, 10)" in r.stderr, r.stderr
                checks += 1
        print(f"numpy_interop: {checks} passed, 0 failed")


if __name__ == "__main__":
    main()
