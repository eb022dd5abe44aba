#!/usr/bin/python3
"""The default thread count against a count given by hand, on a busy machine: another process
spins on one core while digitnet_bench trains with the default, with --threads 1 and with
--threads 2, in turns, ROUNDS times (the default must not lose to one thread: the adaptive pool,
src/core/parallel.cpp). With --idle nothing else runs: the default against the faster of the two.

Usage: /usr/bin/python3 bench/busy.py [--idle] [BUILD_DIR [ROUNDS]]   (Fashion-MNIST from Debian; build first)
Prints each run's seconds per epoch and, over the rounds, the median and range of each round's
default / --threads 1, default / (the faster of --threads 1 and 2), and --threads 2 / --threads 1
(what a busy core costs two threads that split every job).
"""
import json, statistics, subprocess, sys

args = sys.argv[1:]
idle = "--idle" in args
args = [a for a in args if a != "--idle"]
build = args[0] if args else "build"
rounds = int(args[1]) if len(args) > 1 else 3
data = "/usr/share/datasets/fashion-mnist"
kinds = ("b32", "b128", "full")
vs_one = {k: [] for k in kinds}
vs_best = {k: [] for k in kinds}
two_vs_one = {k: [] for k in kinds}
names = {"0": "default", "1": "--threads 1", "2": "--threads 2"}
spinner = None if idle else subprocess.Popen([sys.executable, "-c", "while True: pass"])  # one core busy
try:
    for r in range(rounds):
        got = {}
        order = ("0", "1", "2")[r % 3:] + ("0", "1", "2")[:r % 3]  # each count first in turn
        for threads in order:
            out = subprocess.run([build + "/digitnet_bench", data, "3", threads], capture_output=True, text=True,
                                 check=True).stdout
            j = json.loads(out.strip().splitlines()[-1])
            got[threads] = {"b32": statistics.median(j["epoch_seconds"]),
                            "b128": statistics.median(j["batch128"]["epoch_seconds"]),
                            "full": statistics.median(j["full_batch"]["epoch_seconds"])}
            print(r, names[threads], {k: round(v, 3) for k, v in got[threads].items()}, flush=True)
        for k in kinds:
            vs_one[k].append(got["0"][k] / got["1"][k])
            vs_best[k].append(got["0"][k] / min(got["1"][k], got["2"][k]))
            two_vs_one[k].append(got["2"][k] / got["1"][k])
finally:
    if spinner:
        spinner.kill()
print()
state = "nothing else running" if idle else "a core busy"
for k in kinds:
    a, b, c = sorted(vs_one[k]), sorted(vs_best[k]), sorted(two_vs_one[k])
    print(f"{k:5} {state}: default / --threads 1 median {statistics.median(a):.2f} ({a[0]:.2f}-{a[-1]:.2f}); "
          f"default / the faster of 1 and 2 threads median {statistics.median(b):.2f} ({b[0]:.2f}-{b[-1]:.2f}); "
          f"--threads 2 / --threads 1 median {statistics.median(c):.2f} ({c[0]:.2f}-{c[-1]:.2f})")
