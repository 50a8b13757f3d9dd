#!/usr/bin/env python3
"""The Process stage's per-image work done with Pillow, for `lorabake bench process` comparison.

Same steps on the same files: decode, exif_transpose, RGB, resize to kohya's bucket cover size with LANCZOS,
centre crop, PNG (zlib level 3). One process, one thread. Usage: process_pillow.py DIR [RESOLUTION]
"""
import math, os, sys, time, io
from PIL import Image, ImageOps

def buckets(res, lo, hi, step=64):
    area = res * res
    s = {(int(math.sqrt(area) // step) * step,) * 2}
    w = lo
    while w <= hi:
        h = min(hi, int((area // w) // step) * step)
        if h >= lo:
            s.add((w, h)); s.add((h, w))
        w += step
    return sorted(s)

def assign(bs, w, h):
    ar = w / h
    if (w, h) in bs: b = (w, h)
    else: b = min(bs, key=lambda r: abs(r[0] / r[1] - ar))  # min() keeps the first on ties, like argmin
    s = b[1] / h if ar > b[0] / b[1] else b[0] / w
    return b, (int(w * s + 0.5), int(h * s + 0.5))

def main():
    d = sys.argv[1]; res = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    bs = buckets(res, 320 if res > 640 else 256, 1280 if res > 640 else 1024)
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jpg"))
    t = time.perf_counter(); total = 0
    for f in files:
        with open(f, "rb") as fh: data = fh.read()
        im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        b, r = assign(bs, *im.size)
        im = im.resize(r, Image.LANCZOS)
        l, tp = (r[0] - b[0]) // 2, (r[1] - b[1]) // 2
        im = im.crop((l, tp, l + b[0], tp + b[1]))
        out = io.BytesIO(); im.save(out, "PNG", compress_level=3); total += out.tell()
    dt = time.perf_counter() - t
    print(f"pillow: {len(files)} images in {dt:.2f} s with 1 thread = {len(files)/dt:.1f} images/s ({total//len(files)//1024} KiB PNG each)")

main()
