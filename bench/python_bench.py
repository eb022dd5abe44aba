#!/usr/bin/python3
"""digitnet.MLPClassifier.fit against scikit-learn's MLPClassifier, PyTorch and the CLI, in one
run: the seed network (784-128-64-10 ReLU, softmax + CE), plain SGD, batch 32, lr 0.32, the same
epochs, on Fashion-MNIST's 60,000 training images. Every run is a fresh process (data loading is
not timed); digitnet's Python and CLI runs alternate, so that a slow phase of the machine hits
both. Prints seconds per epoch, the ratios, and what the Python call adds to the CLI's time.

  bench/python_bench.py [--epochs N] [--repeats R] [--build DIR] [--write]    (bash bench/python.sh)

On a machine that others share, single runs swing by tens of percent: the fastest runs of each
(the least disturbed) compare what the code costs; the run-for-run ratios show the noise.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import blas_core

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = "/usr/share/datasets/fashion-mnist"


def worker(epochs):
    """One timed fit in this process: {fit_seconds, epoch_seconds, test_accuracy}."""
    import digitnet
    X, y, Xt, yt = digitnet.datasets.load("fashion-mnist")
    clf = digitnet.MLPClassifier(hidden_layer_sizes=(128, 64), optimizer="sgd", learning_rate=0.32, batch_size=32,
                                 epochs=epochs)
    start = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - start
    print(json.dumps({"fit_seconds": fit_seconds, "epoch_seconds": [r["seconds"] for r in clf.history_],
                      "test_accuracy": clf.score(Xt, yt)}))


def last_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"python_bench: {' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def env_with(build, **extra):
    # OpenBLAS's fastest correct kernels on this CPU, as bench/run.py gives its peers (bench/blas_core.py).
    env = blas_core.peer_env(**extra)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(build, "python"), HERE])
    return env


def cli_run(build, epochs):
    """`digitnet train --json`: the seconds each epoch trained (its test evaluation excluded)."""
    r = subprocess.run([os.path.join(build, "digitnet"), "train", "--data", "fashion-mnist", "--preset", "relu-128-64",
                        "--epochs", str(epochs), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"python_bench: digitnet train failed:\n{r.stderr}")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    return {"epoch_seconds": [j["seconds"] for j in lines if "epoch" in j], "test_accuracy": lines[-1]["test_accuracy"]}


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5, help="alternating CLI / Python runs")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--write", action="store_true", help="write bench/python_results.json")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.epochs)

    E = args.epochs
    start_load = loadavg()
    print(f"digitnet.MLPClassifier benchmark: 784-128-64-10 ReLU, SGD lr 0.32, batch 32, {E} epochs on "
          f"Fashion-MNIST (60,000), {os.cpu_count()} cores; started {time.strftime('%Y-%m-%d %H:%M')}, "
          f"load average {start_load}")
    print(blas_core.describe())
    me = [sys.executable, os.path.abspath(__file__), "--worker", "--epochs", str(E)]
    cli, py = [], []
    for _ in range(args.repeats):
        cli.append(cli_run(args.build, E))
        py.append(last_json(me, env=env_with(args.build)))
    peers = {"sklearn": last_json(["/usr/bin/python3", os.path.join(HERE, "sklearn_seed.py"), DATA, str(E)],
                                  env=env_with(args.build))}
    try:
        import torch  # noqa: F401
        runs = [last_json(["/usr/bin/python3", os.path.join(HERE, "torch_seed.py"), DATA, str(E), str(t)],
                          env=env_with(args.build, OPENBLAS_NUM_THREADS=b)) for t, b in ((1, 2), (2, 1))]
        peers["pytorch"] = min(runs, key=lambda r: statistics.median(r["epoch_seconds"]))
    except ImportError:
        print("(PyTorch is not installed: apt-get install python3-torch)")
    end_load = loadavg()

    # Per epoch: digitnet's median over every epoch of every run; the peers' median epoch.
    cli_epoch = statistics.median(s for r in cli for s in r["epoch_seconds"])
    py_epoch = statistics.median(r["fit_seconds"] / E for r in py)  # the whole fit() call, per epoch
    py_inner = statistics.median(s for r in py for s in r["epoch_seconds"])
    rows = [("digitnet.MLPClassifier.fit (Python)", py_epoch, py[0]["test_accuracy"]),
            ("digitnet train (CLI)", cli_epoch, cli[0]["test_accuracy"])]
    rows += [(r["name"], statistics.median(r["epoch_seconds"]), r["test_accuracy"]) for r in peers.values()]
    print(f"\n{'training, batch 32':<46}{'s/epoch':>9}{'MLPClassifier is':>18}{'test acc.':>11}")
    for name, secs, acc in rows:
        ratio = "" if name.startswith("digitnet.MLP") else f"{secs / py_epoch:.1f}x faster"
        print(f"{name[:45]:<46}{secs:>9.3f}{ratio:>18}{acc:>11.4f}")
    # What the Python call adds: the whole fit() (validation, set-up, every epoch) against the
    # CLI's training seconds for as many epochs, run for run.
    overheads = [p["fit_seconds"] / sum(c["epoch_seconds"]) - 1 for p, c in zip(py, cli)]
    best = min(p["fit_seconds"] for p in py) / min(sum(c["epoch_seconds"]) for c in cli) - 1
    print(f"\nfit() against the CLI's training time, run for run: "
          f"{', '.join(f'{100 * o:+.1f}%' for o in overheads)} (median {100 * statistics.median(overheads):+.1f}%); "
          f"fastest against fastest: {100 * best:+.1f}% (target under +5%)")
    # The same, measured inside each fit(): time outside Trainer::train_epoch (validation, labels,
    # set-up, the state kept for Ctrl-C each epoch) against the epochs' own. Immune to the
    # machine's phases, which move whole runs.
    outside = [p["fit_seconds"] - sum(p["epoch_seconds"]) for p in py]
    share = [o / sum(p["epoch_seconds"]) for o, p in zip(outside, py)]
    print(f"fit() outside digitnet's epochs: median {1000 * statistics.median(outside):.1f} ms, "
          f"{100 * statistics.median(share):.2f}% of the epochs' time (runs: "
          f"{', '.join(f'{100 * x:.2f}%' for x in share)})")
    print(f"inside fit(), digitnet's own epochs: {py_inner:.3f} s (CLI {cli_epoch:.3f} s); "
          f"scikit-learn / MLPClassifier: {statistics.median(peers['sklearn']['epoch_seconds']) / py_epoch:.1f}x "
          "(target at least 5x)")
    print(f"load average at the end: {end_load}")
    if args.write:
        with open(os.path.join(HERE, "python_results.json"), "w") as f:
            json.dump({"epochs": E, "cli": cli, "python": py, "peers": peers, "load": [start_load, end_load]}, f,
                      indent=1)


if __name__ == "__main__":
    main()
