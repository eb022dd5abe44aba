#!/usr/bin/python3
"""A/B of two builds: digitnet_bench of each, alternated, N rounds; after/before of medians and bests.

Usage: /usr/bin/python3 bench/ab.py BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS [THREADS]] [--before ARGS] [--after ARGS]
(Fashion-MNIST from Debian; THREADS 0, the default, takes every core; --before and --after add digitnet_bench's
options to one side, e.g. the same build twice: build build 6 2 --before "--rows split" --after "--rows one").
Each round also prints after/before of that round's pair: on a machine whose speed drifts, the pairs' ratios
are steadier than the medians of the times.
"""
import json, shlex, subprocess, statistics, sys
argv, extra = [], {"before": [], "after": []}
args = iter(sys.argv[1:])
for a in args:
    if a in ("--before", "--after"):
        extra[a[2:]] = shlex.split(next(args))
    else:
        argv.append(a)
before, after = argv[0], argv[1]
rounds = int(argv[2]) if len(argv) > 2 else 4
threads = argv[3] if len(argv) > 3 else "0"
data = "/usr/share/datasets/fashion-mnist"
res = {"before": [], "after": []}
for r in range(rounds):
    for name, build in (("before", before), ("after", after)) if r % 2 == 0 else (("after", after), ("before", before)):
        out = subprocess.run([build + "/digitnet_bench", data, "3", threads] + extra[name], capture_output=True, text=True,
                             check=True).stdout
        j = json.loads(out.strip().splitlines()[-1])
        row = {"b32": statistics.median(j["epoch_seconds"]), "b128": statistics.median(j["batch128"]["epoch_seconds"]),
               "full": statistics.median(j["full_batch"]["epoch_seconds"]), "inf1": j["infer_batch1_seconds"],
               "inf10k": j["infer_batch10000_seconds"], "peak": j["fma_peak_gflops"], "w1": j["w1_checksum"]}
        res[name].append(row)
        print(r, name, {k: round(v, 4) for k, v in row.items()}, flush=True)
print()
for k in ("b32", "b128", "full", "inf1", "inf10k"):
    b = statistics.median(x[k] for x in res["before"]); a = statistics.median(x[k] for x in res["after"])
    # noise only adds time: the best of the runs is the steadiest figure of each build
    bb = min(x[k] for x in res["before"]); ba = min(x[k] for x in res["after"])
    print(f"{k:7} median before {b:.4f} after {a:.4f}: {a/b:.3f}; best before {bb:.4f} after {ba:.4f}: {ba/bb:.3f}")
pairs = {k: sorted(x[k] / y[k] for x, y in zip(res["after"], res["before"])) for k in ("b32", "b128", "full", "inf1", "inf10k")}
for k, r in pairs.items():
    lo, hi = r[len(r) // 4], r[-1 - len(r) // 4]  # the middle half of the pairs
    print(f"{k:7} pairs' after/before: median {statistics.median(r):.3f}, middle half {lo:.3f}-{hi:.3f}")
print("same weights:", {x["w1"] for x in res["before"]} == {x["w1"] for x in res["after"]})
