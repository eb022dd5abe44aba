#!/usr/bin/python3
"""Load benchmark for `digitnet serve` (run it with `bash bench/serve_load.sh`).

Trains a 784-128-64-10 model (mnist-10k, else Fashion-MNIST), starts the server, and measures:
  keep-alive   wrk POSTing one digit to /api/predict (JSON, and PNG) at concurrency 1, 16, 64,
               and at 64 with a new connection per request; the server's CPU per thread
  slow         1,000 connections at once (a third each: silent, half a header, a body at
               1 byte/s) while a normal request is timed every 100 ms; then which of them the
               server has closed after the idle timeout
  oversized    chunked and unframed bodies far over the limit, 4 MB bodies of nested JSON:
               the answers, how long they took, the server's peak memory
  mix          wrk at concurrency 64 while all of the above run at once; peak memory, and
               memory after, against the baseline
Prints one table (markdown) and the machine's load. The client shares the machine with the
server: on 2 cores, wrk and the attackers take CPU the server would otherwise use.
"""
import argparse
import asyncio
import gzip
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def loadavg():
    return open('/proc/loadavg').read().split()[:3]


def status_kb(pid, field):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1])
    return -1


def reset_peak(pid):
    with open(f'/proc/{pid}/clear_refs', 'w') as f:
        f.write('5')


def thread_cpu(pid):
    """{(tid, name): CPU seconds} for each thread of the process."""
    tick = os.sysconf('SC_CLK_TCK')
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            stat = open(f'/proc/{pid}/task/{tid}/stat').read()
            name = stat[stat.index('(') + 1:stat.rindex(')')]
            fields = stat[stat.rindex(')') + 2:].split()
            out[(tid, name)] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return out


def png_gray(pixels, w, h):
    """A minimal 8-bit grayscale PNG."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    rows = b''.join(b'\0' + bytes(pixels[y * w:(y + 1) * w]) for y in range(h))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def prepare(digitnet, work):
    dataset = 'mnist-10k'
    if subprocess.run([digitnet, 'data', 'fetch', dataset], capture_output=True).returncode != 0:
        dataset = 'fashion-mnist'
    model = os.path.join(work, 'model.npz')
    subprocess.run([digitnet, 'train', '--data', dataset, '--preset', 'relu-128-64', '--epochs', '1',
                    '--save', model], check=True, capture_output=True)
    # The first test image, as the page's JSON (3 decimals) and as a PNG (dark ink on white).
    cache = os.environ.get('DIGITNET_DATA', os.path.expanduser('~/.cache/digitnet'))
    candidates = [os.path.join(cache, dataset, 't10k-images-idx3-ubyte'),
                  '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz']
    path = next(p for p in candidates if os.path.exists(p))
    raw = (gzip.open if path.endswith('.gz') else open)(path, 'rb').read()
    img = raw[16:16 + 784]
    body_json = os.path.join(work, 'digit.json')
    with open(body_json, 'w') as f:
        json.dump({'pixels': [round(b / 255, 3) for b in img]}, f, separators=(',', ':'))
    body_png = os.path.join(work, 'digit.png')
    with open(body_png, 'wb') as f:
        f.write(png_gray([255 - b for b in img], 28, 28))
    return dataset, model, body_json, body_png


class Server:
    def __init__(self, digitnet, model, extra):
        self.proc = subprocess.Popen([digitnet, 'serve', model, '--port', '0'] + extra,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit('/ (', 1)[0].rsplit(':', 1)[1])
        self.pid = self.proc.pid

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(timeout=30)


def wrk(port, body, content_type, conns, threads, seconds, close=False):
    env = dict(os.environ, BODY=body, CONTENT_TYPE=content_type, CLOSE='1' if close else '0')
    out = subprocess.run(['wrk', f'-t{threads}', f'-c{conns}', f'-d{seconds}s', '--timeout', '5s',
                          '-s', os.path.join(HERE, 'serve_post.lua'), f'http://127.0.0.1:{port}/api/predict'],
                         env=env, capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    r['rps'] = r['requests'] / r['seconds']
    r['errors'] = r['connect_errors'] + r['read_errors'] + r['write_errors'] + r['timeouts'] + r['non_2xx']
    return r


def one_request(port, body, content_type='application/json', timeout=10):
    """(status, milliseconds) of one request on a new connection; status 0 on failure."""
    t0 = time.perf_counter()
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
            s.sendall(b'POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n'
                      % (content_type.encode(), len(body)) + body)
            data = b''
            while b'\r\n\r\n' not in data:
                d = s.recv(65536)
                if not d:
                    return 0, 0.0
                data += d
            head, rest = data.split(b'\r\n\r\n', 1)
            length = int([l for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')][0].split(b':')[1])
            while len(rest) < length:
                d = s.recv(65536)
                if not d:
                    return 0, 0.0
                rest += d
            return int(head.split(b' ')[1]), (time.perf_counter() - t0) * 1000
    except OSError:
        return 0, 0.0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float('nan')


# --- 1,000 idle or slow connections ---------------------------------------------------------

async def slow_client(port, kind, stop, closed_at, t0):
    try:
        r, w = await asyncio.open_connection('127.0.0.1', port)
    except OSError:
        return 'refused'
    try:
        if kind == 'half header':
            w.write(b'POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Ty')
        elif kind == 'body at 1 B/s':
            w.write(b'POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                    b'Content-Length: 100000\r\n\r\n')
        await w.drain()
        while not stop.is_set():
            if kind == 'body at 1 B/s':
                w.write(b' ')
                await w.drain()
            try:
                d = await asyncio.wait_for(r.read(4096), 1.0)
                if not d:
                    closed_at.append(time.time() - t0)
                    return 'closed'
                return 'answered'
            except asyncio.TimeoutError:
                pass
        return 'open'
    except OSError:
        closed_at.append(time.time() - t0)
        return 'closed'
    finally:
        w.close()


async def slow_phase(port, body, n, hold, idle_timeout, pid):
    kinds = ['silent', 'half header', 'body at 1 B/s']
    stop = asyncio.Event()
    closed = {k: [] for k in kinds}
    t0 = time.time()
    tasks = []
    for i in range(n):
        k = kinds[i % 3]
        tasks.append((k, asyncio.create_task(slow_client(port, k, stop, closed[k], t0))))
        if i % 100 == 99:
            await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)
    lat, failed = [], 0
    loop = asyncio.get_running_loop()
    while time.time() - t0 < hold:
        status, ms = await loop.run_in_executor(None, one_request, port, body)
        if status == 200:
            lat.append(ms)
        else:
            failed += 1
        await asyncio.sleep(0.1)
    rss = status_kb(pid, 'VmRSS')
    # Past the idle timeout: the silent and half-header ones should be gone, the trickling not.
    await asyncio.sleep(max(0.0, idle_timeout + 3 - (time.time() - t0)))
    stop.set()
    outcomes = {}
    for k, t in tasks:
        res = await t
        outcomes.setdefault(k, {}).setdefault(res, 0)
        outcomes[k][res] += 1
    return {'connections': n, 'probes': len(lat), 'failed_probes': failed, 'p50_ms': pct(lat, 50),
            'p99_ms': pct(lat, 99), 'max_ms': max(lat) if lat else float('nan'), 'rss_kb': rss,
            'outcomes': outcomes, 'closed_after_s': {k: (min(v), max(v)) if v else None for k, v in closed.items()}}


# --- bodies over the limit ------------------------------------------------------------------

def flood(port, head, total, piece):
    """Sends head, then pieces until the server answers or total bytes are sent:
    (status, seconds to the answer, bytes of body sent when it came)."""
    t0 = time.perf_counter()
    sent = 0
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
            s.sendall(head)
            try:
                while sent < total and not select.select([s], [], [], 0)[0]:
                    s.sendall(piece)
                    sent += len(piece)
            except OSError:
                pass
            data = b''
            try:
                while b'\r\n' not in data:
                    d = s.recv(4096)
                    if not d:
                        break
                    data += d
            except OSError:
                pass
            status = int(data.split(b' ')[1]) if data.startswith(b'HTTP/') else 0
            return status, time.perf_counter() - t0, sent
    except OSError:
        return 0, time.perf_counter() - t0, sent


def attacks(port, rounds):
    """Each kind of oversized body, `rounds` times: {kind: (statuses, max seconds)}."""
    json_head = b'POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
    chunk = b'10000\r\n' + b'0' * 0x10000 + b'\r\n'
    nested = b'{"pixels": ' + b'[' * (4000000 - 20)
    kinds = {
        'chunked, 40 MB': (json_head + b'Transfer-Encoding: chunked\r\n\r\n', 40 << 20, chunk),
        'no length, 20 MB': (json_head + b'\r\n', 20 << 20, b'0' * 0x10000),
        'Content-Length 500 MB': (json_head + b'Content-Length: 500000000\r\n\r\n', 8 << 20, b'0' * 0x10000),
        'nested JSON, 4 MB': (json_head + b'Content-Length: %d\r\n\r\n' % len(nested) + nested, 0, b''),
    }
    out = {}
    for name, (head, total, piece) in kinds.items():
        results = []
        threads = [threading.Thread(target=lambda: results.append(flood(port, head, total, piece)))
                   for _ in range(rounds)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out[name] = (sorted({r[0] for r in results}), max(r[1] for r in results), max(r[2] for r in results))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('digitnet')
    ap.add_argument('--seconds', type=int, default=10, help='length of each wrk run')
    ap.add_argument('--slow', type=int, default=1000, help='idle or slow connections held at once')
    ap.add_argument('--idle-timeout', type=int, default=10)
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix='serve_load_')
    load_before = loadavg()
    dataset, model, body_json, body_png = prepare(args.digitnet, work)
    server = Server(args.digitnet, model, ['--idle-timeout', str(args.idle_timeout)])
    pid, port = server.pid, server.port
    json_bytes = open(body_json, 'rb').read()
    for _ in range(50):
        one_request(port, json_bytes)
    base_rss = status_kb(pid, 'VmRSS')
    rows = []
    print(f'# digitnet serve under load: {os.cpu_count()} cores, load average {" ".join(load_before)} '
          f'before; model 784-128-64-10 ({dataset}); JSON body {len(json_bytes)} bytes', flush=True)

    # Keep-alive requests, and per-thread CPU during the largest run.
    s = args.seconds
    for label, body, ctype, c, t, close in [
            ('JSON, keep-alive, c1', body_json, 'application/json', 1, 1, False),
            ('JSON, keep-alive, c16', body_json, 'application/json', 16, 2, False),
            ('JSON, keep-alive, c64', body_json, 'application/json', 64, 2, False),
            ('PNG, keep-alive, c64', body_png, 'image/png', 64, 2, False),
            ('JSON, new connection each, c64', body_json, 'application/json', 64, 2, True)]:
        before = thread_cpu(pid)
        r = wrk(port, body, ctype, c, t, s, close)
        after = thread_cpu(pid)
        busy = sorted(((after[k] - before.get(k, 0)) / r['seconds'] * 100, k[1]) for k in after)[::-1]
        cpu = ', '.join(f'{name} {share:.0f}%' for share, name in busy if share >= 5)
        rows.append((label, f"{r['rps']:,.0f}/s", f"p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms",
                     f"{r['errors']} errors; server threads: {cpu}"))
        print('|', ' | '.join(rows[-1]), '|', flush=True)

    # 1,000 idle or slow connections.
    sl = asyncio.run(slow_phase(port, json_bytes, args.slow, 6, args.idle_timeout, pid))
    rows.append((f"normal requests while {sl['connections']} idle/slow connections are held", f"{sl['probes']} timed",
                 f"p50 {sl['p50_ms']:.2f} ms, p99 {sl['p99_ms']:.2f} ms, max {sl['max_ms']:.2f} ms",
                 f"{sl['failed_probes']} failed; server RSS {sl['rss_kb'] / 1024:.0f} MB"))
    print('|', ' | '.join(rows[-1]), '|', flush=True)
    closed = '; '.join(f"{k}: " + ', '.join(f'{n} {o}' for o, n in sorted(v.items()))
                       + (f" (closed at {sl['closed_after_s'][k][0]:.1f}-{sl['closed_after_s'][k][1]:.1f} s)"
                          if sl['closed_after_s'][k] else '') for k, v in sl['outcomes'].items())
    rows.append((f'the same connections {args.idle_timeout + 3} s after they opened '
                 f'(--idle-timeout {args.idle_timeout})', '', '', closed))
    print('|', ' | '.join(rows[-1]), '|', flush=True)

    # Bodies over the limit, 8 of each kind at once.
    reset_peak(pid)
    before = status_kb(pid, 'VmRSS')
    at = attacks(port, 8)
    peak = status_kb(pid, 'VmHWM')
    for name, (statuses, worst, sent) in at.items():
        rows.append((f'8 x {name}, at once', '', f'answered within {worst * 1000:.0f} ms',
                     f'status {statuses}' + (f'; at most {sent / 2**20:.1f} MB of body sent by then' if sent else '')))
        print('|', ' | '.join(rows[-1]), '|', flush=True)
    rows.append(('server memory through the oversized bodies', '', '',
                 f'peak {peak / 1024:.0f} MB (from {before / 1024:.0f} MB)'))
    print('|', ' | '.join(rows[-1]), '|', flush=True)

    # Everything at once: wrk at c64 with slow connections and oversized bodies.
    reset_peak(pid)
    stop = threading.Event()

    def keep_attacking():
        while not stop.is_set():
            attacks(port, 4)
    slow = threading.Thread(target=lambda: asyncio.run(slow_phase(port, json_bytes, args.slow, s, 0, pid)))
    hostile = threading.Thread(target=keep_attacking)
    slow.start()
    hostile.start()
    time.sleep(1.5)
    r = wrk(port, body_json, 'application/json', 64, 2, s)
    peak = status_kb(pid, 'VmHWM')
    stop.set()
    hostile.join()
    slow.join()
    time.sleep(2)
    after = status_kb(pid, 'VmRSS')
    rows.append(('JSON, keep-alive, c64, during all of the above at once', f"{r['rps']:,.0f}/s",
                 f"p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms",
                 f"{r['errors']} errors; server RSS peak {peak / 1024:.0f} MB, after {after / 1024:.0f} MB "
                 f"(baseline {base_rss / 1024:.0f} MB)"))
    print('|', ' | '.join(rows[-1]), '|', flush=True)
    code = server.stop()
    print(f'# server exit code after SIGTERM: {code}; load average {" ".join(loadavg())} after')


if __name__ == '__main__':
    main()
