#!/usr/bin/python3
"""A/B of two builds: digitnet_bench of each, alternated, N rounds; medians and after/before.

Usage: /usr/bin/python3 bench/ab.py BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS]  (Fashion-MNIST from Debian)
"""
import json, subprocess, statistics, sys
before, after, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 4
data = "/usr/share/datasets/fashion-mnist"
res = {"before": [], "after": []}
for r in range(rounds):
    for name, build in (("before", before), ("after", after)) if r % 2 == 0 else (("after", after), ("before", before)):
        out = subprocess.run([build + "/digitnet_bench", data, "3", "0"], capture_output=True, text=True, check=True).stdout
        j = json.loads(out.strip().splitlines()[-1])
        row = {"b32": statistics.median(j["epoch_seconds"]), "b128": statistics.median(j["batch128"]["epoch_seconds"]),
               "full": statistics.median(j["full_batch"]["epoch_seconds"]), "inf1": j["infer_batch1_seconds"],
               "inf10k": j["infer_batch10000_seconds"], "peak": j["fma_peak_gflops"], "w1": j["w1_checksum"]}
        res[name].append(row)
        print(r, name, {k: round(v, 4) for k, v in row.items()}, flush=True)
print()
for k in ("b32", "b128", "full", "inf1", "inf10k"):
    b = statistics.median(x[k] for x in res["before"]); a = statistics.median(x[k] for x in res["after"])
    print(f"{k:7} before {b:.4f}  after {a:.4f}  after/before {a/b:.3f}")
print("same weights:", {x["w1"] for x in res["before"]} == {x["w1"] for x in res["after"]})
