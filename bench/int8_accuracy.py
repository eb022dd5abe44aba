#!/usr/bin/python3
"""int8 against float32 accuracy on every shipped preset: trains each preset as it ships
(digitnet train --preset P --save), then evaluates the model on its test part in float32 and with
--quantize int8 (docs/performance.md, "int8 inference"). Presets on a dataset this machine does not
have (mnist, when it cannot be downloaded) train on FALLBACK instead, said in the table.

  bench/int8_accuracy.py [--build DIR] [--fallback mnist-10k] [--presets a,b] [--epochs N] [--write]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cli(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"int8_accuracy: {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def preset_data(model):
    """The dataset a model was trained on: its config's "dataset"."""
    import numpy
    return json.loads(numpy.load(model)["config"].item())["dataset"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--fallback", default="mnist-10k")
    ap.add_argument("--presets", default="")
    ap.add_argument("--epochs", type=int, default=0, help="fewer epochs than the preset's (a quick check)")
    ap.add_argument("--write", action="store_true", help="write bench/int8_accuracy.json")
    args = ap.parse_args()
    binary = os.path.join(args.build, "digitnet")
    names = [p for p in args.presets.split(",") if p] or [
        "relu-128-64", "digits-relu-32", "digits-softmax", "sigmoid-mse-20x3", "relu-10-dev", "relu-128-fullbatch",
        "best-fashion-mnist", "best-digits", "best-mnist-10k", "best-mnist"]
    rows = []
    print(f"{'preset':<22}{'data':<16}{'float32':>9}{'int8':>9}{'change':>9}   seconds to train")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model = os.path.join(tmp, name + ".npz")
            extra = ["--epochs", str(args.epochs)] if args.epochs else []
            t = time.time()
            # the preset's own dataset (the seeds' is mnist), or the fallback when it is not here
            data = None
            for attempt in ([], ["--data", "mnist"], ["--data", args.fallback]):
                run = subprocess.run([binary, "train", "--preset", name, *attempt, "--save", model, "--json", *extra],
                                     capture_output=True, text=True)
                if run.returncode == 0:
                    data = attempt[1] if attempt else None
                    break
                if "--data" not in run.stderr and "not cached" not in run.stderr:
                    sys.exit(f"int8_accuracy: training {name} failed:\n{run.stderr}")
            secs = time.time() - t
            data = data or preset_data(model)
            acc = {}
            for precision in ("float32", "int8"):
                r = json.loads(cli(binary, "eval", model, "--data", data, "--json", "--quantize", precision).splitlines()[-1])
                acc[precision] = r["accuracy"]
            change = 100 * (acc["int8"] - acc["float32"])
            rows.append({"preset": name, "data": data,
                         "float32": acc["float32"], "int8": acc["int8"], "train_seconds": secs})
            print(f"{name:<22}{data:<16}{100 * acc['float32']:>8.2f}%{100 * acc['int8']:>8.2f}%{change:>+8.2f}    {secs:.0f}",
                  flush=True)
    worst = min(100 * (r["int8"] - r["float32"]) for r in rows)
    print(f"\nlargest loss: {-worst:.2f} points (target: at most 0.30)")
    if args.write:
        with open(os.path.join(HERE, "int8_accuracy.json"), "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
