#!/usr/bin/env bash
# Regenerates the JPEG fixtures with Debian's libjpeg-turbo-progs 2.1.5 (cjpeg, djpeg), an
# encoder and decoder independent of Hybrid's own code path.
#   pattern.ppm     16x12 RGB source: r = 16x, g = 21y, b = 255 - 8(x + y)
#   pattern_q90.jpg cjpeg -quality 90 pattern.ppm
#   pattern_q90.ppm djpeg -ppm pattern_q90.jpg (the reference decode)
#   palette_2bit.png 5x2 palette PNG at bit depth 2 (written with Python's zlib), indices
#                    0 1 2 3 3 / 2 1 0 1 1, colours black, red, green, blue
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
PY
cjpeg -quality 90 pattern.ppm > pattern_q90.jpg
djpeg -ppm pattern_q90.jpg > pattern_q90.ppm
rm pattern.ppm
# PIL references for the strong photometric ops (Debian python3-pil 9.4.0; set PYTHON to an
# interpreter that has it).
${PYTHON:-python3} pil_ops.py > pil_ops.txt
