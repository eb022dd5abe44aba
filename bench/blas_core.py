"""Which OpenBLAS kernel the Python peers (NumPy, PyTorch, scikit-learn) run with: the fastest
correct one, measured here.

OpenBLAS picks its kernels by the CPU's model number, and a model it does not know gets its
oldest x86-64 kernels: OpenBLAS 0.3.21 runs "Prescott" (SSE3) on an Intel Xeon of family 6,
model 207, a batch-32 product 2.6x slower than with its AVX-512 kernels. A benchmark that left
the peers there would flatter digitnet. So every kernel set the CPU's flags allow is tried on
the products a batch-32 step of the seed network does, checked against float64, and timed;
the peers run with the fastest (OPENBLAS_CORETYPE), and the table says which and why.
"""
import json
import os
import subprocess

# OpenBLAS core names, newest first, with the CPU flags each one's kernels use.
CANDIDATES = (
    ("SapphireRapids", ("avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile")),
    ("CooperLake", ("avx512f", "avx512bw", "avx512vl", "avx512_bf16")),
    ("SkylakeX", ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd")),
    ("Haswell", ("avx2", "fma")),
    ("Sandybridge", ("avx",)),
)

PROBE = r"""
import json, time, numpy as np, threadpoolctl
info = threadpoolctl.threadpool_info()
arch = next((i.get("architecture", "") for i in info if i.get("internal_api") == "openblas"), "")
rng = np.random.default_rng(0)
worst, best = 0.0, float("inf")
for dtype in (np.float32, np.float64):
    # the seed network's batch-32 products: X W1, dZ1^T X, dZ2 W2 (and their shapes' neighbours)
    for m, k, n in ((32, 784, 128), (784, 32, 128), (32, 128, 64), (32, 64, 128), (128, 32, 64)):
        a, b = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
        exact = a.astype(np.float64) @ b.astype(np.float64)
        worst = max(worst, float(np.abs(a @ b - exact).max() / np.abs(exact).max()))
a, b = rng.random((32, 784)).astype(np.float32), rng.random((784, 128)).astype(np.float32)
for _ in range(5):
    t = time.perf_counter()
    for _ in range(2000):
        a @ b
    best = min(best, (time.perf_counter() - t) / 2000)
print(json.dumps({"arch": arch, "relative_error": worst, "seconds": best}))
"""


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def base_env():
    """The environment without the machine's OpenBLAS overrides (see the env notes: some machines
    set them for old OpenBLAS builds, and they slow a current one down)."""
    return {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def probe(core):
    env = base_env()
    env["OPENBLAS_NUM_THREADS"] = "1"
    if core:
        env["OPENBLAS_CORETYPE"] = core
    r = subprocess.run(["/usr/bin/python3", "-c", PROBE], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


_choice = None


def choose():
    """{"core": name to set or None, "detected": what OpenBLAS picked itself, "trials": {name: result}}."""
    global _choice
    if _choice is not None:
        return _choice
    detected = probe(None)
    if detected is None:  # no NumPy or no threadpoolctl: nothing to choose between
        _choice = {"core": None, "detected": "?", "trials": {}}
        return _choice
    flags = cpu_flags()
    trials = {detected["arch"]: detected}
    for name, needs in CANDIDATES:
        if name.lower() == detected["arch"].lower() or not all(f in flags for f in needs):
            continue
        r = probe(name)
        # a name this OpenBLAS does not know falls back to detection: keep only what it really ran
        if r is not None and r["arch"].lower() == name.lower():
            trials[name] = r
    correct = {k: v for k, v in trials.items() if v["relative_error"] < 1e-4}
    fastest = min(correct, key=lambda k: correct[k]["seconds"]) if correct else detected["arch"]
    _choice = {"core": None if fastest == detected["arch"] else fastest, "detected": detected["arch"],
               "trials": trials}
    return _choice


def peer_env(**extra):
    """The environment the Python peers run in: the fastest correct OpenBLAS kernels."""
    env = base_env()
    core = choose()["core"]
    if core:
        env["OPENBLAS_CORETYPE"] = core
    env.update({k: str(v) for k, v in extra.items()})
    return env


def describe():
    """One line for the benchmark's header."""
    c = choose()
    trials = c["trials"]
    if not trials:
        return "OpenBLAS kernels: not measured (NumPy or threadpoolctl missing)"
    times = ", ".join(f"{k} {v['seconds'] * 1e6:.0f} us" for k, v in sorted(trials.items(), key=lambda kv: kv[1]["seconds"]))
    if c["core"]:
        return (f"OpenBLAS kernels: {c['core']} (OPENBLAS_CORETYPE; OpenBLAS picked {c['detected']} itself on this "
                f"CPU), the fastest correct of: {times} for a 32x784 by 784x128 float32 product")
    return f"OpenBLAS kernels: {c['detected']} (its own choice, the fastest correct of: {times} for a 32x784 by 784x128 float32 product)"


if __name__ == "__main__":
    print(describe())
