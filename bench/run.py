#!/usr/bin/python3
"""digitnet against NumPy (float32, and the seed's own float64 code), PyTorch (1 and 2 threads),
scikit-learn's MLPClassifier, FANN and ONNX Runtime: same network (784-128-64-10 ReLU, softmax +
cross-entropy), same data, same machine, one after another, RUNS times over. Prints per-epoch
seconds, GFLOP/s and % of the FMA peak measured in the same run, the ratios, peak RSS, and
inference: all 10,000 test images at once and one at a time, float32 and int8, against ONNX
Runtime. Speed is a benchmark, not a test: read the ratios.

  bench/run.py [--epochs N] [--runs N] [--data DIR] [--smoke] [--write]

--write rewrites bench/results.json, docs/performance.svg, the table between the
<!-- bench:begin --> and <!-- bench:end --> lines of docs/performance.md, and the README's
speed line between <!-- speed:begin --> and <!-- speed:end -->.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import blas_core

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PER_EXAMPLE_TRAIN = 2 * (784 * 128 + 128 * 64 + 64 * 10) * 2 + 2 * (128 * 64 + 64 * 10)  # forward, dW, dX (layers 2-3)
PER_EXAMPLE_INFER = 2 * (784 * 128 + 128 * 64 + 64 * 10)
ORT_MODULES = os.path.join(ROOT, "tests", "data", "onnx")


def run_json(cmd, env=None, cwd=None):
    """Runs cmd, returns its last JSON line."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
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
    # The peers run OpenBLAS's fastest correct kernels on this CPU, measured (bench/blas_core.py).
    env = blas_core.peer_env(**extra)
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


def one_run(args, epochs, limit):
    """Every program once, one after another: {key: its JSON}."""
    ours = run_json([os.path.join(args.build, "digitnet_bench"), args.data, str(epochs), "0"])
    results = {"digitnet": ours}
    if has_module("numpy"):
        results["numpy32"] = run_json(["/usr/bin/python3", os.path.join(HERE, "numpy_seed.py"), args.data, str(epochs),
                                       "float32"], env=python_env(**limit))
        results["numpy"] = run_json(["/usr/bin/python3", os.path.join(HERE, "numpy_seed.py"), args.data, str(epochs)],
                                    env=python_env(**limit))
    if has_module("torch"):
        # PyTorch's own threads and OpenBLAS's compete for the 2 cores: both settings are rows.
        for t, b in ((1, 2), (2, 1)):
            r = run_json(["/usr/bin/python3", os.path.join(HERE, "torch_seed.py"), args.data, str(epochs), str(t)],
                         env=python_env(OPENBLAS_NUM_THREADS=b, **limit))
            r["name"] = f"{r['name']}, {t} thread{'s' if t > 1 else ''}"
            results[f"pytorch{t}"] = r
    if has_module("sklearn"):
        results["sklearn"] = run_json(["/usr/bin/python3", os.path.join(HERE, "sklearn_seed.py"), args.data,
                                       str(epochs)], env=python_env(**limit))
    fann = os.path.join(args.build, "fann_seed")
    if os.path.exists(fann):  # built when Debian's libfann-dev is installed
        results["fann"] = run_fann(fann, args.data, min(epochs, 2), limit.get("LIMIT", 0))
    # Inference of the trained seed network, float32 and int8, and the same model in ONNX Runtime.
    with tempfile.TemporaryDirectory() as tmp:
        serving = {"digitnet": run_json([os.path.join(args.build, "digitnet_bench"), args.data, str(epochs), "0",
                                         "--serving", tmp])}
        if shutil.which("node") and os.path.isdir(os.path.join(ORT_MODULES, "node_modules", "onnxruntime-node")):
            serving["onnxruntime"] = run_json(["node", os.path.join(HERE, "onnx_bench.mjs"), tmp])
            try:
                import numpy as np
                ours_p = np.fromfile(os.path.join(tmp, "float32.f32"), np.float32)
                theirs = np.fromfile(os.path.join(tmp, "onnxruntime.f32"), np.float32)
                serving["onnxruntime"]["max_probability_difference"] = float(np.abs(ours_p - theirs).max())
            except ImportError:
                pass
    results["serving"] = serving
    return results


def seconds(r):
    return statistics.median(r["epoch_seconds"])


def spread(values, fmt="{:.1f}"):
    """'median (low-high)' of a list, or the one value."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def tables(runs, n_train):
    """The training and inference tables as rows of strings, over every run (ratios per run)."""
    first = runs[0]
    ours = [r["digitnet"] for r in runs]
    peaks = [o["fma_peak_gflops"] for o in ours]
    train = []
    for key in first:
        if key == "serving":
            continue
        rows = [r[key] for r in runs]
        scale = 60000 / (60000 if key == "digitnet" else n_train)
        secs = [seconds(x) * scale for x in rows]
        gf = [PER_EXAMPLE_TRAIN * 60000 / s / 1e9 for s in secs]
        pct = [100 * g / p for g, p in zip(gf, peaks)]
        ratio = "" if key == "digitnet" else spread([s / seconds(o) for s, o in zip(secs, ours)], "{:.1f}x")
        rss = rows[0].get("cli_peak_rss_mb", rows[0]["peak_rss_mb"])
        train.append([rows[0]["name"], spread(secs, "{:.3f}"), spread(gf, "{:.0f}"), spread(pct, "{:.0f}%"), ratio,
                      f"{rss:.0f}"])
    for key, label in (("every_term", "digitnet, no zero skipping"), ("batch128", "digitnet, batch 128"),
                       ("full_batch", "digitnet, full batch")):
        if key in ours[0]:
            secs = [seconds(o[key]) for o in ours]
            gf = [PER_EXAMPLE_TRAIN * 60000 / s / 1e9 for s in secs]
            train.append([label, spread(secs, "{:.3f}"), spread(gf, "{:.0f}"),
                          spread([100 * g / p for g, p in zip(gf, peaks)], "{:.0f}%"), "", ""])
    serve = []
    servings = [r["serving"] for r in runs]
    ort = [s.get("onnxruntime") for s in servings]
    for name, get in (("digitnet float32", lambda s: s["digitnet"]["float32"]),
                      ("digitnet int8", lambda s: s["digitnet"]["int8"]),
                      ("ONNX Runtime", lambda s: s.get("onnxruntime"))):
        rows = [get(s) for s in servings]
        if rows[0] is None:
            continue
        ips = [10000 / x["batch10000_seconds"] for x in rows]
        b1 = [x["batch1_seconds"] / 10000 * 1e6 for x in rows]
        lat = [x["latency_us"]["median"] for x in rows]
        first_call = [x["latency_us"]["first"] for x in rows]
        vs = ["", "", ""]
        if ort[0] and name != "ONNX Runtime":
            vs = [spread([i * o["batch10000_seconds"] / 10000 for i, o in zip(ips, ort)], "{:.2f}x"),
                  spread([o["batch1_seconds"] / 10000 * 1e6 / b for b, o in zip(b1, ort)], "{:.1f}x"),
                  spread([o["latency_us"]["median"] / x for x, o in zip(lat, ort)], "{:.1f}x")]
        acc = rows[0].get("accuracy")
        serve.append([name, spread([i / 1e3 for i in ips], "{:.0f}k"), vs[0], spread(b1, "{:.1f}"), vs[1],
                      spread(lat, "{:.1f}"), vs[2], spread(first_call, "{:.0f}"),
                      f"{100 * acc:.2f}%" if acc is not None else ""])
    return train, serve


TRAIN_HEAD = ["training, batch 32", "s/epoch", "GFLOP/s", "% of peak", "digitnet is", "peak RSS MB"]
SERVE_HEAD = ["inference, seed network", "images/s, 10,000 at once", "vs ONNX RT", "us/image, one at a time",
              "vs ONNX RT", "us, one image 2 ms apart", "vs ONNX RT", "us, first call", "accuracy"]


def print_table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in [head] + rows:
        print("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths))))


def markdown(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_block(path, tag, text):
    """Rewrites what lies between <!-- tag:begin --> and <!-- tag:end --> in path; False if absent."""
    with open(path) as f:
        old = f.read()
    pattern = re.compile(f"(<!-- {tag}:begin -->)(.*?)(<!-- {tag}:end -->)", re.S)
    if not pattern.search(old):
        return False
    with open(path, "w") as f:
        f.write(pattern.sub(lambda m: m.group(1) + text + m.group(3), old, count=1))
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--runs", type=int, default=1, help="repeat everything; tables give median (low-high)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--smoke", action="store_true", help="seconds-long check that every part runs")
    ap.add_argument("--write", action="store_true",
                    help="write bench/results.json, docs/performance.svg, and the tables into the docs")
    args = ap.parse_args()
    epochs = 1 if args.smoke else args.epochs
    limit = {"LIMIT": 3000} if args.smoke else {}
    n_train = 3000 if args.smoke else 60000

    started = time.strftime("%Y-%m-%d %H:%M")
    print(f"digitnet benchmark on {args.data}, {epochs} epoch(s) each, {args.runs} run(s), started {started}")
    runs = []
    for i in range(args.runs):
        runs.append(one_run(args, epochs, limit))
        print(f"run {i + 1} of {args.runs} done", flush=True)
    ours = runs[0]["digitnet"]
    ours["cli_peak_rss_mb"] = peak_rss_mb([os.path.join(args.build, "digitnet"), "train", "--data", args.data,
                                           "--preset", "relu-128-64", "--epochs", "1", "--json"])
    peaks = [r["digitnet"]["fma_peak_gflops"] for r in runs]
    machine = (f"FMA peak measured in each run: {spread(peaks, '{:.0f}')} GFLOP/s ({ours['threads']} threads), "
               f"{ours['fma_peak_gflops_1thread']:.0f} GFLOP/s on 1 thread; digitnet kernels: {ours['simd']}, "
               f"int8: {runs[0]['serving']['digitnet']['name']}")
    print(machine)
    if "numpy" in runs[0]:
        print(f"NumPy BLAS: {blas_info()}")
        print(blas_core.describe())
    train, serve = tables(runs, n_train)
    print()
    print_table(TRAIN_HEAD, train)
    print()
    print_table(SERVE_HEAD, serve)
    ort = runs[0]["serving"].get("onnxruntime")
    if ort and "max_probability_difference" in ort:
        print(f"\nONNX Runtime's probabilities differ from digitnet's float32 ones by at most "
              f"{ort['max_probability_difference']:.1e}")
    print(f"\nGFLOP/s count the network's FLOPs ({PER_EXAMPLE_TRAIN:,} per training example, {PER_EXAMPLE_INFER:,}"
          " per image).\ndigitnet leaves out terms whose input is exactly zero (background pixels, inactive"
          " ReLUs),\nso it does less arithmetic than that; 'no zero skipping' computes every term.")
    print(f"\ndigitnet test accuracy after {epochs} epoch(s): {ours['test_accuracy']:.4f}"
          f"; peak RSS of 'digitnet train' on 60,000 images: {ours['cli_peak_rss_mb']:.0f} MB")
    if args.write and not args.smoke:
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump({"started": started, "openblas": blas_core.choose(), "runs": runs}, f, indent=1)
        write_svg(runs[0], os.path.join(ROOT, "docs", "performance.svg"))
        block = (f"\n`bash bench/run.sh --write --runs {args.runs}`, {started}, {epochs} epochs each; {machine}; {blas_core.describe()}. "
                 f"Each cell: the median of the runs (lowest-highest); ratios are taken within each run.\n\n"
                 f"{markdown(TRAIN_HEAD, train)}\n\n{markdown(SERVE_HEAD, serve)}\n")
        if not replace_block(os.path.join(ROOT, "docs", "performance.md"), "bench", block):
            print("bench: docs/performance.md has no <!-- bench:begin --> ... <!-- bench:end --> block")
        line = speed_line(runs, started)
        if not replace_block(os.path.join(ROOT, "README.md"), "speed", line):
            print("bench: README.md has no <!-- speed:begin --> ... <!-- speed:end --> block; the line is:\n" + line)
    print("bench: 1 passed, 0 failed" if args.smoke else "")


def speed_line(runs, started):
    """The README's one line on speed, from this run."""
    def ratio(key):
        vals = [seconds(r[key]) / seconds(r["digitnet"]) for r in runs if key in r]
        return spread(vals, "{:.1f}x") if vals else "?"
    best_torch = [min(seconds(r["pytorch1"]), seconds(r["pytorch2"])) / seconds(r["digitnet"])
                  for r in runs if "pytorch1" in r]
    secs = [seconds(r["digitnet"]) for r in runs]
    pct = [100 * PER_EXAMPLE_TRAIN * 60000 / s / 1e9 / r["digitnet"]["fma_peak_gflops"] for s, r in zip(secs, runs)]
    s = [r["serving"] for r in runs]
    text = (f"\nOn the 2-core development machine (`bash bench/run.sh`, {started}, {len(runs)} run(s)), an epoch of "
            f"the seed network at batch 32 takes {spread(secs, '{:.3f}')} s ({spread(pct, '{:.0f}%')} of the FMA "
            f"peak measured in the same run): {ratio('numpy32')} NumPy float32, {ratio('numpy')} the seed's NumPy "
            f"float64 code, {spread(best_torch, '{:.1f}x') if best_torch else '?'} PyTorch's faster thread setting.")
    if all("onnxruntime" in x for x in s):
        f32 = [x["onnxruntime"]["batch10000_seconds"] / x["digitnet"]["float32"]["batch10000_seconds"] for x in s]
        i8 = [x["onnxruntime"]["batch10000_seconds"] / x["digitnet"]["int8"]["batch10000_seconds"] for x in s]
        one = [x["digitnet"]["float32"]["latency_us"]["median"] for x in s]
        ort_one = [x["onnxruntime"]["latency_us"]["median"] for x in s]
        text += (f" Inference on all 10,000 test images runs {spread(f32, '{:.1f}x')} as many images per second as ONNX "
                 f"Runtime ({spread(i8, '{:.1f}x')} with `--quantize int8`); one image takes "
                 f"{spread(one, '{:.0f}')} us against ONNX Runtime's {spread(ort_one, '{:.0f}')} us.")
    return text + "\n"


def write_svg(results, path):
    """Horizontal bars of training seconds per epoch (log-free: the numbers are written on them)."""
    rows = [(r["name"], seconds(r)) for k, r in results.items() if k != "serving"]
    ours = results["digitnet"]
    for key, label in (("every_term", "digitnet, no zero skipping"), ("batch128", "digitnet, batch 128"),
                       ("full_batch", "digitnet, full batch")):
        if key in ours:
            rows.append((label, seconds(ours[key])))
    width, bar_h, left = 860, 26, 400
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
