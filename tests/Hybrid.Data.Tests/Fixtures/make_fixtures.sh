#!/usr/bin/env bash
# Regenerates the JPEG fixtures with Debian's libjpeg-turbo-progs 2.1.5 (cjpeg, djpeg), an
# encoder and decoder independent of Hybrid's own code path.
#   pattern.ppm     16x12 RGB source: r = 16x, g = 21y, b = 255 - 8(x + y)
#   pattern_q90.jpg cjpeg -quality 90 pattern.ppm
#   pattern_q90.ppm djpeg -ppm pattern_q90.jpg (the reference decode)
#   palette_2bit.png 5x2 palette PNG at bit depth 2 (written with Python's zlib), indices
#                    0 1 2 3 3 / 2 1 0 1 1, colours black, red, green, blue
#   palette_adam7_4bit.png 13x9 palette PNG at bit depth 4, Adam7-interlaced, index (3x + 5y) mod 11,
#                    colour i = (23i, 255 - 20i, 7i); the scanlines use the filter types 0..4 in turn
#                    (filtered here in Python, independently of Hybrid's writer)
#   gray_alpha.png   3x2 gray + alpha PNG at bit depth 8: gray 10 200 77 / 0 255 128,
#                    alpha 255 0 128 / 10 255 64
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
w, h = 16, 12
px = bytearray()
for y in range(h):
    for x in range(w):
        px += bytes([16 * x, 21 * y, 255 - 8 * (x + y)])
open("pattern.ppm", "wb").write(b"P6\n%d %d\n255\n" % (w, h) + bytes(px))

import struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = [[0, 1, 2, 3, 3], [2, 1, 0, 1, 1]]
raw = b""
for r in rows:
    r = r + [0] * 3  # pad to a whole byte: 4 pixels per byte at 2 bits
    raw += b"\x00" + bytes([(r[0] << 6) | (r[1] << 4) | (r[2] << 2) | r[3], (r[4] << 6) | (r[5] << 4) | (r[6] << 2) | r[7]])
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 2, 2, 3, 0, 0, 0))
png += chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("palette_2bit.png", "wb").write(png)

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
def filtered(kind, row, prior):  # one byte per pixel (palette images)
    out = []
    for i, x in enumerate(row):
        a = row[i - 1] if i else 0
        b = prior[i]
        c = prior[i - 1] if i else 0
        out.append((x - [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]) & 255)
    return bytes([kind] + out)
w, h = 13, 9
raw, kind = b"", 0
for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
    xs, ys = range(x0, w, dx), range(y0, h, dy)
    if not xs or not ys:
        continue
    prior = [0] * ((len(xs) + 1) // 2)
    for y in ys:
        v = [(3 * x + 5 * y) % 11 for x in xs] + [0]
        row = [(v[2 * i] << 4) | v[2 * i + 1] for i in range(len(prior))]
        raw += filtered(kind % 5, row, prior)
        kind, prior = kind + 1, row
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 4, 3, 0, 0, 1))
png += chunk(b"PLTE", bytes(c for i in range(11) for c in (23 * i, 255 - 20 * i, 7 * i)))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("palette_adam7_4bit.png", "wb").write(png)

ga = [[(10, 255), (200, 0), (77, 128)], [(0, 10), (255, 255), (128, 64)]]
raw = b"".join(b"\x00" + bytes(v for p in r for v in p) for r in ga)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 4, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("gray_alpha.png", "wb").write(png)
PY
cjpeg -quality 90 pattern.ppm > pattern_q90.jpg
djpeg -ppm pattern_q90.jpg > pattern_q90.ppm
rm pattern.ppm
# PIL references for the strong photometric ops (Debian python3-pil 9.4.0; set PYTHON to an
# interpreter that has it).
${PYTHON:-python3} pil_ops.py > pil_ops.txt
