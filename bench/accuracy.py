#!/usr/bin/python3
"""Time to accuracy: for each dataset, the test accuracy reached after 1, 5, 15, 30 and 60 seconds of
training and at the end, for digitnet's seed network and best preset, scikit-learn's
MLPClassifier, and PyTorch running the best preset's recipe, on this machine in one run.

Usage: bench/accuracy.py [--build DIR] [--quick] [--write] [--only DATASET]
  --quick   a few seconds per contender (a smoke run: CI's)
  --write   rewrite bench/accuracy.json, docs/accuracy.svg and the table in docs/accuracy.md

Each contender's clock counts training only (the test set is scored after every epoch, off the
clock). The data and its split are digitnet's own (the Python module's load_dataset), so every
contender sees the same examples. PyTorch runs the same network, optimizer, schedule, dropout,
batch normalization and label smoothing as the preset, on 1 thread (its fastest setting here:
docs/performance.md), without augmentation (torchvision is not packaged); scikit-learn's
MLPClassifier has the preset's hidden layers, Adam and batch size, and no dropout, batch
normalization or augmentation (it has none).
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKS = (1, 5, 15, 30, 60)
DATASETS = {  # dataset: its best preset, and how long the Python peers may train at most
    "fashion-mnist": ("best-fashion-mnist", 120),
    "mnist-10k": ("best-mnist-10k", 150),
    "digits": ("best-digits", 60),
}
SEEDS = (1, 2, 3, 4, 5)
BEGIN, END = "<!-- accuracy table: bench/accuracy.py --write -->", "<!-- end of accuracy table -->"


def digitnet_curve(build, data, preset, quick, split=None, seed=None):
    """(training seconds, test accuracy) after every epoch of `digitnet train`."""
    args = [os.path.join(build, "digitnet"), "train", "--data", data, "--preset", preset, "--report-every", "1",
            "--json"]
    if split:
        args += ["--split", split]
    if seed is not None:
        args += ["--seed", str(seed)]
    if quick:
        args += ["--epochs", "2"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    curve, t = [], 0.0
    for line in out.splitlines():
        r = json.loads(line)
        if "epoch" in r:
            t += r["seconds"]
            curve.append((t, r["test_accuracy"]))
    return curve


def features(X, recipe, pixel_max, mean=None, std=None):
    import numpy as np
    if recipe["normalize"] == "zscore":
        return ((X - mean) / std).astype(np.float32)
    return (X / pixel_max).astype(np.float32)


def lr_at(recipe, t):
    """The preset's schedule at t epochs done (fractional): docs/math.md §11."""
    lr, T, kind = recipe["lr"], recipe["epochs"], recipe["schedule"]
    if kind == "cosine":
        return lr * (1 + math.cos(math.pi * t / T)) / 2
    if kind == "onecycle":
        peak, low, end = lr, lr / 25, lr / 25 * 1e-4
        rise = 0.3 * T
        if t < rise:
            return low + (peak - low) * (1 - math.cos(math.pi * t / rise)) / 2
        return end + (peak - end) * (1 + math.cos(math.pi * (t - rise) / (T - rise))) / 2
    return lr


def torch_curve(d, recipe, cap, quick):
    import numpy as np
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(recipe["seed"])
    Xtr, Xte, mean, std = d["train"]["X"], d["test"]["X"], None, None
    if recipe["normalize"] == "zscore":
        mean, std = Xtr.mean(0), Xtr.std(0) + 1e-6
    Xtr = torch.from_numpy(features(Xtr, recipe, d["pixel_max"], mean, std))
    Xte = torch.from_numpy(features(Xte, recipe, d["pixel_max"], mean, std))
    ytr, yte = torch.from_numpy(d["train"]["y"].astype(np.int64)), d["test"]["y"]
    sizes, layers = [Xtr.shape[1]] + recipe["layers"][1:], []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            if recipe["batch_norm"] == "on":
                layers.append(torch.nn.BatchNorm1d(sizes[i + 1]))
            layers.append(torch.nn.ReLU())
            p = recipe["dropout"][min(i, len(recipe["dropout"]) - 1)]
            if p > 0:
                layers.append(torch.nn.Dropout(p))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe["label_smoothing"])
    n, B = len(Xtr), recipe["batch"]
    steps = (n + B - 1) // B
    curve, t = [], 0.0
    for epoch in range(2 if quick else recipe["epochs"]):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(n)
        for s in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(recipe, epoch + s / steps)
            idx = perm[s * B:(s + 1) * B]
            opt.zero_grad()
            loss_fn(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()
        t += time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            curve.append((t, float((model(Xte).argmax(1).numpy() == yte).mean())))
        if t > cap:
            break
    return curve


def sklearn_curve(d, recipe, cap, quick):
    import warnings
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    Xtr, Xte, mean, std = d["train"]["X"], d["test"]["X"], None, None
    if recipe["normalize"] == "zscore":
        mean, std = Xtr.mean(0), Xtr.std(0) + 1e-6
    Xtr = features(Xtr, recipe, d["pixel_max"], mean, std)
    Xte = features(Xte, recipe, d["pixel_max"], mean, std)
    clf = MLPClassifier(hidden_layer_sizes=tuple(recipe["layers"][1:-1]), batch_size=recipe["batch"],
                        learning_rate_init=recipe["lr"], random_state=recipe["seed"])
    classes = np.unique(d["train"]["y"])
    curve, t = [], 0.0
    for _ in range(2 if quick else recipe["epochs"]):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(Xtr, d["train"]["y"], classes=classes)
        t += time.perf_counter() - start
        curve.append((t, float((clf.predict(Xte) == d["test"]["y"]).mean())))
        if t > cap:
            break
    return curve


def at(curve, seconds):
    """The accuracy of the last epoch finished within `seconds` of training (None: none was)."""
    done = [a for t, a in curve if t <= seconds]
    return done[-1] if done else None


def run(build, quick, only):
    sys.path.insert(0, os.path.join(build, "python"))
    import digitnet
    presets = {p["name"]: p["recipe"] for p in digitnet._digitnet.presets()}
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.machine())
    results = {"machine": f"{model}, {os.cpu_count()} cores",
               "date": time.strftime("%Y-%m-%d"), "quick": quick, "datasets": {}}
    for data, (best, cap) in DATASETS.items():
        if only and data != only:
            continue
        recipe = presets[best]
        d = digitnet._digitnet.load_dataset(data, recipe["split"], recipe["seed"])
        split, seed = recipe["split"], recipe["seed"]
        rows = {}
        # the seed network on the best preset's split, so that every row scores the same test set
        rows["digitnet seed network (relu-128-64)"] = digitnet_curve(build, data, "relu-128-64", quick, split, seed)
        rows[f"digitnet {best}"] = digitnet_curve(build, data, best, quick)
        try:
            import torch  # noqa: F401
            rows[f"PyTorch, {best}'s recipe"] = torch_curve(d, recipe, 5 if quick else cap, quick)
        except ImportError:  # a --quick run without python3-torch (bench/accuracy.sh installs it)
            print("bench: PyTorch is not installed; its row is left out", file=sys.stderr)
        rows["scikit-learn MLPClassifier"] = sklearn_curve(d, recipe, 5 if quick else cap, quick)
        results["datasets"][data] = {"test_examples": len(d["test"]["y"]), "rows": rows}
        if data == "digits":  # small enough to repeat: the preset over 5 more seeds (each its own split)
            results["digits_seeds"] = {s: digitnet_curve(build, data, best, quick, seed=s)[-1][1] for s in SEEDS}
        for name, curve in rows.items():
            print(f"{data:14} {name:40} end {curve[-1][1] * 100:6.2f}% after {curve[-1][0]:6.1f} s", flush=True)
    return results


def pct(a):
    return "–" if a is None else f"{a * 100:.2f}%"


def table(results):
    lines = [f"Measured by `bench/accuracy.py --write` on {results['machine']}, {results['date']}. "
             "Test accuracy after that many seconds of training (the last epoch finished by then; "
             "– none was), and at the end.", ""]
    for data, r in results["datasets"].items():
        lines += [f"**{data}** ({r['test_examples']} test examples)", "",
                  "| | " + " | ".join(f"{s} s" for s in MARKS) + " | end | training time |",
                  "|---|" + "---|" * (len(MARKS) + 2)]
        for name, curve in r["rows"].items():
            lines.append(f"| {name} | " + " | ".join(pct(at(curve, s)) for s in MARKS) +
                         f" | {pct(curve[-1][1])} | {curve[-1][0]:.1f} s |")
        lines.append("")
    if "digits_seeds" in results:
        accs = list(results["digits_seeds"].values())
        lines += [f"best-digits over seeds {', '.join(map(str, results['digits_seeds']))} (each seed draws its own "
                  f"20% split, weights and order): mean {pct(sum(accs) / len(accs))}, range {pct(min(accs))} to "
                  f"{pct(max(accs))}.", ""]
    return "\n".join(lines)


def write_svg(results, path):
    """Accuracy against training seconds (log scale), one panel per dataset."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    W, H, pad = 330, 260, 45
    sets = list(results["datasets"].items())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(sets)}" height="{H + 70}" '
             'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    for k, (data, r) in enumerate(sets):
        x0 = k * W + pad
        accs = [a for c in r["rows"].values() for _, a in c]
        lo = max(0.0, math.floor(min(sorted(accs)[len(accs) // 10:] or accs) * 50) / 50)
        tmax = max(t for c in r["rows"].values() for t, _ in c)
        lt0, lt1 = math.log10(0.05), math.log10(max(tmax, 1))
        px = lambda t: x0 + (math.log10(max(t, 0.05)) - lt0) / (lt1 - lt0) * (W - pad - 15)
        py = lambda a: 20 + (1 - (max(a, lo) - lo) / (1 - lo)) * (H - 40)
        parts.append(f'<text x="{x0}" y="14" font-weight="bold">{data}</text>')
        parts.append(f'<rect x="{x0}" y="20" width="{W - pad - 15}" height="{H - 40}" fill="none" stroke="#999"/>')
        for a in [lo + (1 - lo) * i / 4 for i in range(5)]:
            parts.append(f'<text x="{x0 - 4}" y="{py(a) + 4:.1f}" text-anchor="end">{a * 100:.1f}%</text>')
        for t in (0.1, 1, 5, 15, 30, 60, 120):
            if t <= 10 ** lt1:
                parts.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="20" y2="{H - 20}" stroke="#eee"/>')
                parts.append(f'<text x="{px(t):.1f}" y="{H - 6}" text-anchor="middle">{t:g} s</text>')
        for (name, curve), colour in zip(r["rows"].items(), colours):
            pts = " ".join(f"{px(t):.1f},{py(a):.1f}" for t, a in curve)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    for i, (name, colour) in enumerate(zip(next(iter(results["datasets"].values()))["rows"], colours)):
        label = name.split(",")[0].replace("best-fashion-mnist", "best preset")
        parts.append(f'<rect x="{pad + i * 240}" y="{H + 20}" width="12" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{pad + i * 240 + 16}" y="{H + 25}">{label}</text>')
    parts.append(f'<text x="{pad}" y="{H + 50}" fill="#555">test accuracy against seconds of training '
                 f'(log scale); {results["machine"]}, {results["date"]}</text></svg>')
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--only", choices=list(DATASETS))
    a = ap.parse_args()
    results = run(a.build, a.quick, a.only)
    text = table(results)
    print(text)
    if a.write:
        with open(os.path.join(ROOT, "bench", "accuracy.json"), "w") as f:
            json.dump(results, f, indent=1)
        write_svg(results, os.path.join(ROOT, "docs", "accuracy.svg"))
        path = os.path.join(ROOT, "docs", "accuracy.md")
        doc = open(path).read()
        if BEGIN not in doc or END not in doc:
            sys.exit(f"{path}: the table's markers are missing")
        head, rest = doc.split(BEGIN, 1)
        with open(path + ".tmp", "w") as f:
            f.write(head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1])
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
