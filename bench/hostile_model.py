#!/usr/bin/python3
"""Writes the two hostile model files of issue #21 from a real digitnet model, about 1 MB each:

  DIR/deflated.npz  its w1 deflated, the .npy header declaring (4000000, 64) float32: 1 GB of
                    zeros, honestly inflatable from 1 MB (deflate packs up to ~1,032 to 1)
  DIR/stored.npz    its w1 a real 1 MB stored member, whose zip headers claim it holds 1 GB

Usage: python3 bench/hostile_model.py MODEL.npz DIR
then:  /usr/bin/time -v digitnet eval DIR/deflated.npz --data DATA   (and DIR/stored.npz)
docs/reliability.md has what digitnet took to refuse them, before and after.
"""
import io
import os
import struct
import sys
import zipfile


def npy_header(shape):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(map(str, shape))
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()


def set_sizes(data, name, claimed):
    """Sets the uncompressed size of member `name` in its local and central headers."""
    for signature, name_length_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        i = data.find(signature)
        while i >= 0:
            n = struct.unpack_from("<H", data, i + name_length_at)[0]
            if data[i + name_at:i + name_at + n] == name:
                struct.pack_into("<I", data, i + size_at, claimed)
            i = data.find(signature, i + 4)


def main():
    model, out = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(model) as src:
        members = {n: src.read(n) for n in src.namelist()}
    with zipfile.ZipFile(os.path.join(out, "deflated.npz"), "w") as z:
        for name, data in members.items():
            if name != "w1.npy":
                z.writestr(name, data)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                f.write(npy_header((4000000, 64)))
                zeros = bytes(1 << 20)
                for _ in range(4000000 * 64 * 4 // len(zeros)):
                    f.write(zeros)
                f.write(bytes(4000000 * 64 * 4 % len(zeros)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, npy_header((4096, 64)) + bytes(4096 * 64 * 4) if name == "w1.npy" else data)
    data = bytearray(buf.getvalue())
    set_sizes(data, b"w1.npy", 1 << 30)
    with open(os.path.join(out, "stored.npz"), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
