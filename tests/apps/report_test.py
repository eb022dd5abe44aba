#!/usr/bin/python3
"""digitnet report: every section is there, every SVG parses as XML, the numbers equal
`digitnet eval --json`, and --png writes each figure.

Usage: report_test.py path/to/digitnet
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

DIGITNET = sys.argv[1]


def run(*args):
    r = subprocess.run([DIGITNET, *args], capture_output=True, text=True)
    assert r.returncode == 0, f"digitnet {' '.join(args)}: {r.stderr}"
    return r.stdout


def write_idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data))


def main():
    import random
    rnd = random.Random(0)
    protos = [[200 if rnd.random() < 0.3 else 20 for _ in range(64)] for _ in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        for prefix, n in (("train", 400), ("t10k", 100)):
            labels = [i % 10 for i in range(n)]
            pixels = [max(0, min(255, int(protos[l][k] + rnd.gauss(0, 60)))) for l in labels for k in range(64)]
            write_idx(os.path.join(data, f"{prefix}-images-idx3-ubyte"), (n, 8, 8), pixels)
            write_idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte"), (n,), labels)
        model = os.path.join(tmp, "m.npz")
        run("train", "--data", data, "--layers", "64,16,10", "--epochs", "4", "--lr", "0.05", "--val", "0.1",
            "--save", model)
        html_path, figs = os.path.join(tmp, "report.html"), os.path.join(tmp, "figs")
        run("report", model, "--data", data, "-o", html_path, "--png", figs)
        html = open(html_path).read()
        checks = 0
        for section in ("curves", "confusion", "per-class", "mistakes", "weights"):
            assert f'<section id="{section}">' in html, section
            checks += 1
        svgs = re.findall(r"<svg.*?</svg>", html, re.S)
        assert len(svgs) == 4, len(svgs)
        for svg in svgs:
            ET.fromstring(svg)  # raises if not well-formed XML
            checks += 1
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", ""), "the page must not fetch anything"
        assert html.count("data:image/png;base64,") >= 16  # weight tiles (and mistakes)
        embedded = json.loads(re.search(r'<script type="application/json" id="metrics">(.*?)</script>', html, re.S).group(1))
        evaluated = json.loads(run("eval", model, "--data", data, "--json"))
        for key in ("accuracy", "confusion", "per_class", "examples"):
            assert embedded[key] == evaluated[key], key
            checks += 1
        assert f"accuracy {100 * evaluated['accuracy']:.2f}%" in html
        for name in ("loss", "accuracy", "confusion", "per_class", "mistakes", "weights"):
            with open(os.path.join(figs, f"{name}.png"), "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
            checks += 1
        print(f"report: {checks} passed, 0 failed")


if __name__ == "__main__":
    main()
