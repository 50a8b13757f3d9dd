#!/usr/bin/env bash
# Screenshots an HTML report with headless Chromium and fails when the picture is blank.
# Usage: build/check-report.sh REPORT.html OUT.png [MIN_NONWHITE_FRACTION]
# Needs chromium (Debian: apt-get install -y chromium) and python3 (standard library only).
set -euo pipefail

report="${1:?usage: check-report.sh REPORT.html OUT.png [MIN_NONWHITE_FRACTION]}"
out="${2:?usage: check-report.sh REPORT.html OUT.png [MIN_NONWHITE_FRACTION]}"
min_fraction="${3:-0.01}"

browser="${CHROMIUM:-}"
if [[ -z "$browser" ]]; then
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser="$(command -v "$b")"; break; fi
  done
fi
if [[ -z "$browser" ]]; then
  echo "check-report: no chromium found; install it with: apt-get install -y chromium" >&2
  exit 3
fi
[[ -f "$report" ]] || { echo "check-report: $report does not exist" >&2; exit 2; }

abs="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
rm -f "$out"
# A throwaway profile so runs do not share state; no network is needed (the report is self-contained).
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
timeout 120 "$browser" --headless --disable-gpu --no-sandbox --disable-dev-shm-usage --hide-scrollbars \
  --user-data-dir="$profile" --no-first-run --screenshot="$out" --window-size=1280,2000 "file://$abs" >/dev/null 2>&1 || true
[[ -s "$out" ]] || { echo "check-report: chromium wrote no screenshot to $out" >&2; exit 4; }

python3 - "$out" "$min_fraction" <<'PY'
import struct, sys, zlib

path, min_fraction = sys.argv[1], float(sys.argv[2])
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT": idat += body
    pos += 12 + length
width, height, depth, ctype, _, _, interlace = ihdr
channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
if depth != 8 or channels is None or interlace:
    sys.exit(f"check-report: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
raw, stride = zlib.decompress(idat), width * channels
prev, nonwhite, colours = bytearray(stride), 0, set()
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):  # PNG filters: None, Sub, Up, Average, Paeth
        a = line[i - channels] if i >= channels else 0
        b, c = prev[i], (prev[i - channels] if i >= channels else 0)
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, channels * 2):  # every other pixel is plenty
        px = bytes(line[x:x + min(channels, 3)])
        colours.add(px)
        if min(px) < 240: nonwhite += 1
    prev = line
fraction = nonwhite / (height * ((width + 1) // 2))
print(f"check-report: {width}x{height}, non-white {fraction:.3%}, {len(colours)} colours")
if fraction < min_fraction or len(colours) < 16:
    sys.exit(f"check-report: the screenshot looks blank (non-white {fraction:.3%} < {min_fraction:.1%} or < 16 colours)")
PY
