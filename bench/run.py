#!/usr/bin/python3
"""digitnet against the seed's NumPy code, PyTorch, scikit-learn's MLPClassifier and FANN: same network (784-128-64-10 ReLU,
softmax + cross-entropy), same data, same machine, one after another. Prints per-epoch
median seconds, GFLOP/s and % of the FMA peak measured in this run, the ratios, peak RSS,
and the same for inference. Speed is a benchmark, not a test: read the ratios.

  bench/run.py [--epochs N] [--data DIR] [--smoke] [--write]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PER_EXAMPLE_TRAIN = 2 * (784 * 128 + 128 * 64 + 64 * 10) * 2 + 2 * (128 * 64 + 64 * 10)  # forward, dW, dX (layers 2-3)
PER_EXAMPLE_INFER = 2 * (784 * 128 + 128 * 64 + 64 * 10)


def run_json(cmd, env=None):
    """Runs cmd, returns (its last JSON line, its peak RSS in MB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mb(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return usage.ru_maxrss / 1024


def python_env(**extra):
    # Debian's OpenBLAS settings for old CPUs slow a current NumPy down (see the env notes).
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update({k: str(v) for k, v in extra.items()})
    env["PYTHONPATH"] = HERE
    return env


def blas_info():
    try:
        code = "import numpy, threadpoolctl, json; print(json.dumps(threadpoolctl.threadpool_info()))"
        info = json.loads(subprocess.check_output(["/usr/bin/python3", "-c", code], env=python_env(), text=True))
        return ", ".join(f"{i['internal_api']} {i.get('version', '')} ({i.get('architecture', '')})" for i in info) or "?"
    except Exception:  # threadpoolctl missing: say so rather than guess
        return "unknown (install python3-threadpoolctl to see)"


def has_module(name):
    return subprocess.run(["/usr/bin/python3", "-c", f"import {name}"], capture_output=True).returncode == 0


def run_fann(binary, data, epochs, limit):
    """FANN's program reads raw bytes (bench/fann_seed.c): written here from the IDX files.
    At about 10 s an epoch, it runs at most 2 epochs: the table gives seconds per epoch."""
    import tempfile
    sys.path.insert(0, HERE)
    import numpy as np
    from numpy_seed import load
    X, y = load(data, "train")
    Xt, yt = load(data, "t10k")
    if limit:
        X, y = X[:limit], y[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in (("train.u8", X), ("train.labels.u8", y), ("test.u8", Xt), ("test.labels.u8", yt)):
            np.ascontiguousarray(a, dtype=np.uint8).tofile(os.path.join(tmp, name))
        return run_json([binary, tmp, str(len(X)), str(len(Xt)), str(epochs)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--smoke", action="store_true", help="seconds-long check that every part runs")
    ap.add_argument("--write", action="store_true", help="write bench/results.json and docs/performance.svg")
    args = ap.parse_args()
    epochs = 1 if args.smoke else args.epochs
    limit = {"LIMIT": 3000} if args.smoke else {}

    print(f"digitnet benchmark on {args.data}, {epochs} epoch(s) each, started {time.strftime('%Y-%m-%d %H:%M')}")
    ours = run_json([os.path.join(args.build, "digitnet_bench"), args.data, str(epochs), "0"])
    ours["cli_peak_rss_mb"] = peak_rss_mb([os.path.join(args.build, "digitnet"), "train", "--data", args.data,
                                           "--preset", "relu-128-64", "--epochs", "1", "--json"])
    results = {"digitnet": ours}
    if has_module("numpy"):
        results["numpy"] = run_json(["/usr/bin/python3", os.path.join(HERE, "numpy_seed.py"), args.data, str(epochs)],
                                    env=python_env(**limit))
        results["numpy"]["blas"] = blas_info()
    if has_module("torch"):
        # PyTorch's own threads and OpenBLAS's compete for the 2 cores; keep its faster setting.
        runs = [run_json(["/usr/bin/python3", os.path.join(HERE, "torch_seed.py"), args.data, str(epochs), str(t)],
                         env=python_env(OPENBLAS_NUM_THREADS=b, **limit)) for t, b in ((1, 2), (2, 1))]
        results["pytorch"] = min(runs, key=lambda r: statistics.median(r["epoch_seconds"]))
    if has_module("sklearn"):
        results["sklearn"] = run_json(["/usr/bin/python3", os.path.join(HERE, "sklearn_seed.py"), args.data,
                                       str(epochs)], env=python_env(**limit))
    fann = os.path.join(args.build, "fann_seed")
    if os.path.exists(fann):  # built when Debian's libfann-dev is installed
        results["fann"] = run_fann(fann, args.data, min(epochs, 2), limit.get("LIMIT", 0))

    peak = ours["fma_peak_gflops"]
    n_train = 3000 if args.smoke else 60000
    print(f"FMA peak measured: {peak:.0f} GFLOP/s ({ours['threads']} threads), "
          f"{ours['fma_peak_gflops_1thread']:.0f} GFLOP/s (1 thread); digitnet kernels: {ours['simd']}")
    if "numpy" in results:
        print(f"NumPy BLAS: {results['numpy']['blas']}")
    print(f"\n{'training, batch 32':<34}{'s/epoch':>9}{'GFLOP/s':>9}{'% peak':>8}{'digitnet is':>13}{'RSS MB':>8}")
    base = statistics.median(ours["epoch_seconds"])
    for key, r in results.items():
        n = 60000 if key == "digitnet" else n_train
        med = statistics.median(r["epoch_seconds"]) * 60000 / n
        gf = PER_EXAMPLE_TRAIN * 60000 / med / 1e9
        ratio = "" if key == "digitnet" else f"{med / base:.1f}x faster"
        rss = r.get("cli_peak_rss_mb", r["peak_rss_mb"])
        print(f"{r['name'][:33]:<34}{med:>9.3f}{gf:>9.1f}{100 * gf / peak:>7.1f}%{ratio:>13}{rss:>8.0f}")
    labels = {"every_term": "digitnet, b32, no zero skipping", "batch128": "digitnet, batch 128",
              "full_batch": "digitnet, full batch"}
    for key, label in labels.items():
        r = ours.get(key)
        if r:
            med = statistics.median(r["epoch_seconds"])
            gf = PER_EXAMPLE_TRAIN * 60000 / med / 1e9
            print(f"{label:<34}{med:>9.3f}{gf:>9.1f}{100 * gf / peak:>7.1f}%")

    print(f"\n{'inference, 10,000 test images':<34}{'batch 1 s':>10}{'ratio':>8}{'batch 10000 s':>15}{'GFLOP/s':>9}{'% peak':>8}{'ratio':>8}")
    for key, r in results.items():
        b1, big = r["infer_batch1_seconds"], r["infer_batch10000_seconds"]
        gf = PER_EXAMPLE_INFER * 10000 / big / 1e9
        r1 = "" if key == "digitnet" else f"{b1 / ours['infer_batch1_seconds']:.1f}x"
        r2 = "" if key == "digitnet" else f"{big / ours['infer_batch10000_seconds']:.1f}x"
        print(f"{r['name'][:33]:<34}{b1:>10.4f}{r1:>8}{big:>15.4f}{gf:>9.1f}{100 * gf / peak:>7.1f}%{r2:>8}")
        dense = r.get("every_term", {})
        if "infer_batch1_seconds" in dense:
            b1, big = dense["infer_batch1_seconds"], dense["infer_batch10000_seconds"]
            gf = PER_EXAMPLE_INFER * 10000 / big / 1e9
            print(f"{'digitnet, no zero skipping':<34}{b1:>10.4f}{'':>8}{big:>15.4f}{gf:>9.1f}{100 * gf / peak:>7.1f}%")
    print(f"\nGFLOP/s count the network's FLOPs ({PER_EXAMPLE_TRAIN:,} per training example, {PER_EXAMPLE_INFER:,}"
          " per image).\ndigitnet leaves out terms whose input is exactly zero (background pixels, inactive"
          " ReLUs),\nso it does less arithmetic than that; 'no zero skipping' computes every term.")
    print(f"\ndigitnet test accuracy after {epochs} epoch(s): {ours['test_accuracy']:.4f}"
          f"; peak RSS of 'digitnet train' on 60,000 images: {ours['cli_peak_rss_mb']:.0f} MB")
    if args.write:
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        write_svg(results, os.path.join(ROOT, "docs", "performance.svg"))
    print("bench: 1 passed, 0 failed" if args.smoke else "")


def write_svg(results, path):
    """Horizontal bars of training seconds per epoch (log-free: the numbers are written on them)."""
    rows = [(r["name"], statistics.median(r["epoch_seconds"])) for r in results.values()]
    ours = results["digitnet"]
    for key, label in (("every_term", "digitnet, no zero skipping"), ("batch128", "digitnet, batch 128"),
                       ("full_batch", "digitnet, full batch")):
        if key in ours:
            rows.append((label, statistics.median(ours[key]["epoch_seconds"])))
    width, bar_h, left = 760, 26, 300
    scale = (width - left - 80) / max(s for _, s in rows)
    height = 40 + len(rows) * (bar_h + 10)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
             '<text x="10" y="20" font-weight="bold">Seconds per training epoch, 784-128-64-10, 60,000 images (shorter is faster)</text>']
    for i, (name, secs) in enumerate(rows):
        y = 35 + i * (bar_h + 10)
        colour = "#2a7ab9" if name.startswith("digitnet") else "#aaaaaa"
        parts.append(f'<text x="10" y="{y + 17}">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{max(1, secs * scale):.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{left + secs * scale + 6:.1f}" y="{y + 17}">{secs:.3f} s</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
