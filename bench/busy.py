#!/usr/bin/python3
"""digitnet on a busy machine: another process spins on one core while digitnet_bench trains, with
the default thread count and with --threads 1, alternated, ROUNDS times (the default must not lose
to one thread: the adaptive pool, src/core/parallel.cpp).

Usage: /usr/bin/python3 bench/busy.py [BUILD_DIR [ROUNDS]]   (Fashion-MNIST from Debian; build first)
Prints each run's seconds per epoch and the medians of the rounds' default/one-thread ratios.
"""
import json, statistics, subprocess, sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
data = "/usr/share/datasets/fashion-mnist"
rows = {"b32": [], "b128": [], "full": []}
spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # the other process: one core
try:
    for r in range(rounds):
        got = {}
        for threads in ("0", "1") if r % 2 == 0 else ("1", "0"):
            out = subprocess.run([build + "/digitnet_bench", data, "3", threads], capture_output=True, text=True,
                                 check=True).stdout
            j = json.loads(out.strip().splitlines()[-1])
            got[threads] = {"b32": statistics.median(j["epoch_seconds"]),
                            "b128": statistics.median(j["batch128"]["epoch_seconds"]),
                            "full": statistics.median(j["full_batch"]["epoch_seconds"])}
            print(r, "default" if threads == "0" else "--threads 1", {k: round(v, 3) for k, v in got[threads].items()},
                  flush=True)
        for k in rows:
            rows[k].append(got["0"][k] / got["1"][k])
finally:
    spinner.kill()
print()
for k, v in rows.items():
    v.sort()
    print(f"{k:5} default / --threads 1 with a core busy: median {statistics.median(v):.2f}, range {v[0]:.2f}-{v[-1]:.2f}")
