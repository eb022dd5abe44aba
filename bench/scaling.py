#!/usr/bin/env python3
"""Data-parallel training on one machine, and a model of it on many (docs/scaling.md).

Measures, on Fashion-MNIST, one epoch of the seed network (784-128-64-10, preset relu-128-64)
and of best-fashion-mnist's (784-1024-256-10) at batch 32, 256 and 1024:
  - one process with 1 and with 2 threads,
  - mpirun -np 2 with one thread each (shared memory), --reduce ordered and exact,
  - the time of one gradient sum (allreduce_bench: digitnet's ring, and MPI_Allreduce),
    over shared memory and over TCP on loopback;
then fits the time of a step on one machine (a fixed part plus a part per example) and models
N machines: step = fixed + per_example * B / N + ring, with the ring's
2 (N-1)/N * 4P bytes over the bandwidth plus 2 (N-1) latencies.

  python3 bench/scaling.py                  measure (about 5 minutes) and print the tables
  python3 bench/scaling.py --emulate        also hosts emulated by network namespaces (root)
  python3 bench/scaling.py --model FILE     the model from measurements saved with --save FILE
bench/scaling.sh builds what it needs first.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
DIGITNET = os.path.join(BUILD, "digitnet")
ALLREDUCE = os.path.join(BUILD, "allreduce_bench")
DATA = "fashion-mnist"
MPIRUN = ["mpirun", "-q"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
NETS = {
    "seed": {"name": "seed 784-128-64-10", "args": ["--preset", "relu-128-64"], "params": 109_386},
    "best": {"name": "best-fashion-mnist 784-1024-256-10", "args": ["--preset", "best-fashion-mnist"],
             "params": 1_068_554},
}
BATCHES = [32, 256, 1024]
TRAIN_EXAMPLES = 60_000


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def epoch(net, batch, threads=1, ranks=1, reduce="ordered", tcp=False):
    """Seconds of one training epoch (without scoring), and the mean time of a gradient sum."""
    args = [DIGITNET, "train", "--data", DATA, *NETS[net]["args"], "--batch", str(batch), "--epochs", "1",
            "--json", "--threads", str(threads)]
    env = dict(os.environ, DIGITNET_MPI_STATS="1")
    if ranks > 1 or reduce != "ordered":
        args += ["--reduce", reduce]
        args = MPIRUN + ["-x", "DIGITNET_MPI_STATS", "-np", str(ranks)] + \
            (["--mca", "btl", "tcp,self"] if tcp else []) + args
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stderr}")
    seconds = next(json.loads(l)["seconds"] for l in r.stdout.splitlines() if '"epoch"' in l)
    m = re.search(r"mpi: (\d+) sums of (\d+) values each, ([0-9.]+) ms", r.stderr)
    return seconds, (float(m.group(3)) if m else None)


def allreduce(ranks=2, tcp=False, prefix=None, extra=()):
    args = MPIRUN + ["-np", str(ranks)] + (["--mca", "btl", "tcp,self"] if tcp else []) + list(extra) + \
        [ALLREDUCE, str(NETS["seed"]["params"]), str(NETS["best"]["params"])]
    if prefix:
        args = prefix + args
    r = subprocess.run(args, capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.split("\n"):
        if line.strip():
            n, ring, mpi = line.split()
            out[int(n)] = {"ring_ms": float(ring), "mpi_ms": float(mpi)}
    return out


def measure(quick):
    m = {"load_before": load(), "started": time.strftime("%Y-%m-%d %H:%M"), "runs": []}
    batches = [256] if quick else BATCHES
    for net in NETS:
        for batch in batches:
            row = {"net": net, "batch": batch}
            row["one_1t"], _ = epoch(net, batch, threads=1)
            row["one_2t"], _ = epoch(net, batch, threads=2)
            row["mpi2"], row["sum_ms"] = epoch(net, batch, ranks=2)
            row["mpi2_exact"], row["exact_sum_ms"] = epoch(net, batch, ranks=2, reduce="exact")
            m["runs"].append(row)
            print(f"  {NETS[net]['name']}, batch {batch}: {row}  (load {load()})", flush=True)
    m["allreduce_shm"] = allreduce()
    m["allreduce_tcp"] = allreduce(tcp=True)
    m["load_after"] = load()
    return m


def fit(points):
    """Least squares t = a + b x."""
    n = len(points)
    sx = sum(x for x, _ in points)
    sy = sum(y for _, y in points)
    sxx = sum(x * x for x, _ in points)
    sxy = sum(x * y for x, y in points)
    b = (n * sxy - sx * sy) / (n * sxx - sx * sx) if n > 1 else sy / sx
    return (sy - b * sx) / n, b


def ring_seconds(params, n, gbit, latency):
    return 2 * (n - 1) / n * 4 * params * 8 / (gbit * 1e9) + 2 * (n - 1) * latency


def tables(m):
    out = []
    out.append(f"Measured {m['started']}, load average {m['load_before']} before, {m['load_after']} after.\n")
    out.append("| network | batch | 1 process, 1 thread | 1 process, 2 threads | mpirun -np 2, 1 thread each | "
               "sum per step | -np 2, --reduce exact | exact sum per step |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in m["runs"]:
        out.append(f"| {NETS[r['net']]['name']} | {r['batch']} | {r['one_1t']:.2f} s | {r['one_2t']:.2f} s | "
                   f"{r['mpi2']:.2f} s | {r['sum_ms']:.3f} ms | {r['mpi2_exact']:.2f} s | {r['exact_sum_ms']:.3f} ms |")
    out.append("\nOne gradient sum alone (allreduce_bench, median), 2 processes:\n")
    out.append("| values | digitnet's ring, shared memory | MPI_Allreduce, shared memory | ring, TCP loopback | "
               "MPI_Allreduce, TCP loopback |")
    out.append("|---|---|---|---|---|")
    for n in sorted(m["allreduce_shm"], key=int):
        s, t = m["allreduce_shm"][n], m["allreduce_tcp"][n]
        out.append(f"| {int(n):,} | {s['ring_ms']:.3f} ms | {s['mpi_ms']:.3f} ms | {t['ring_ms']:.3f} ms | "
                   f"{t['mpi_ms']:.3f} ms |")
    return "\n".join(out)


def model(m):
    """N machines like this one (2 threads each): the speedup of a step over one machine."""
    out = ["\nModel: step(N) = fixed + per_example B/N + ring(N), from the 2-thread steps measured above "
           "(fixed: the update and everything a step does once, whatever its rows).\n"]
    links = [(10, 20e-6, "10 Gb/s, 20 us"), (100, 3e-6, "100 Gb/s, 3 us")]
    ns = [2, 4, 8, 16, 32, 64]
    for net in NETS:
        steps = [(r["batch"], r["one_2t"] / (TRAIN_EXAMPLES / r["batch"])) for r in m["runs"] if r["net"] == net]
        if len(steps) < 2:
            continue
        fixed, per = fit(steps)
        fixed = max(fixed, 0.0)
        P = NETS[net]["params"]
        out.append(f"{NETS[net]['name']}: fixed {fixed * 1e3:.3f} ms a step, {per * 1e6:.2f} us an example, "
                   f"{4 * P / 1e6:.2f} MB of gradients\n")
        out.append("| link | batch | " + " | ".join(f"N={n}" for n in ns) + " | best N |")
        out.append("|---|---|" + "---|" * len(ns) + "---|")
        for gbit, lat, label in links:
            for batch in BATCHES:
                one = fixed + per * batch
                speed = {n: one / (fixed + per * batch / n + ring_seconds(P, n, gbit, lat)) for n in range(1, 65)}
                best = max(speed, key=speed.get)
                cells = " | ".join(f"{speed[n]:.2f}x" for n in ns)
                out.append(f"| {label} | {batch} | {cells} | {best} ({speed[best]:.2f}x) |")
        out.append("")
    return "\n".join(out)


NS = ["dn0", "dn1"]


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def emulate(rates):
    """Two hosts as network namespaces on a bridge, each link limited by tbf (this kernel has no
    netem, so no added delay): the gradient sum's time against the model's."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tc"):
        return "(emulation skipped: needs root, ip and tc)"
    agent = os.path.join(BUILD, "netns-agent.sh")
    with open(agent, "w") as f:
        f.write('#!/bin/sh\n# mpirun\'s rsh agent: host 10.77.0.N is network namespace dn(N-1)\n'
                'host=$1; shift\nns=dn$(( ${host##*.} - 1 ))\n'
                'exec ip netns exec "$ns" unshare --uts /bin/sh -c "hostname $ns; $*"\n')
    os.chmod(agent, 0o755)
    hosts = os.path.join(BUILD, "netns-hosts")
    with open(hosts, "w") as f:
        f.write("10.77.0.1 slots=1\n10.77.0.2 slots=1\n")
    out = ["\nEmulated hosts (2 network namespaces, veth + bridge, tbf rate limit on each link):\n",
           "| link | values | measured ring | model (bandwidth + 2 latencies of 35 us) |", "|---|---|---|---|"]
    try:
        subprocess.run(["ip", "link", "del", "dnbr"], capture_output=True)
        for i, ns in enumerate(NS):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "dnbr", "type", "bridge")
        sh("ip", "addr", "add", "10.77.0.254/24", "dev", "dnbr")
        sh("ip", "link", "set", "dnbr", "up")
        for i, ns in enumerate(NS):
            sh("ip", "link", "add", f"dnh{i}", "type", "veth", "peer", "name", f"dnv{i}")
            sh("ip", "link", "set", f"dnv{i}", "netns", ns)
            sh("ip", "link", "set", f"dnh{i}", "master", "dnbr")
            sh("ip", "link", "set", f"dnh{i}", "up")
            sh("ip", "-n", ns, "addr", "add", f"10.77.0.{i + 1}/24", "dev", f"dnv{i}")
            sh("ip", "-n", ns, "link", "set", f"dnv{i}", "up")
        extra = ["--bind-to", "none", "--hostfile", hosts, "--mca", "plm_rsh_agent", agent, "--mca", "btl", "tcp,self",
                 "--mca", "btl_tcp_if_include", "10.77.0.0/24", "--mca", "oob_tcp_if_include", "10.77.0.0/24"]
        for mbit in rates:
            for i, ns in enumerate(NS):
                subprocess.run(["tc", "-n", ns, "qdisc", "del", "dev", f"dnv{i}", "root"], capture_output=True)
                if mbit:
                    sh("tc", "-n", ns, "qdisc", "add", "dev", f"dnv{i}", "root", "tbf", "rate", f"{mbit}mbit",
                       "burst", "64kb", "latency", "400ms")
            res = allreduce(extra=extra)
            for n, t in sorted(res.items()):
                label = f"{mbit} Mb/s" if mbit else "unlimited veth"
                predicted = ring_seconds(n, 2, mbit / 1000, 35e-6) * 1e3 if mbit else float("nan")
                out.append(f"| {label} | {n:,} | {t['ring_ms']:.2f} ms | {predicted:.2f} ms |")
    finally:
        for ns in NS:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", "dnbr"], capture_output=True)
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="batch 256 only")
    p.add_argument("--save", help="write the measurements to this JSON file")
    p.add_argument("--model", help="print the tables and the model of measurements saved with --save")
    p.add_argument("--emulate", action="store_true", help="also emulate 2 hosts with network namespaces (root)")
    a = p.parse_args()
    if a.model:
        with open(a.model) as f:
            m = json.load(f)
    else:
        print(f"measuring (load average {load()})", flush=True)
        m = measure(a.quick)
        if a.emulate:
            m["emulation"] = emulate([0, 1000, 300, 100])
        if a.save:
            with open(a.save, "w") as f:
                json.dump(m, f, indent=1)
    print(tables(m))
    print(model(m))
    if "emulation" in m:
        print(m["emulation"])


if __name__ == "__main__":
    main()
