"""Draws the app's icon source, icons/source.png: a white house on an ember-orange rounded
square, 1024 x 1024 RGBA, with nothing but the standard library (2x supersampled edges).
`python3 icons/make.py && (cd ui && npx tauri icon ../icons/source.png -o ../icons)`
derives the sizes the bundle uses."""

import struct
import zlib
from pathlib import Path

N = 1024
S = 2  # samples per pixel per axis
EMBER = (217, 72, 15)
WHITE = (255, 255, 255)
GLOW = (255, 216, 168)


def inside_rounded(x, y, x0, y0, x1, y1, r):
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def inside_house(x, y):
    # Roof: a triangle from (192,492) to (832,492) with its apex at (512,214).
    if 214 <= y <= 492:
        half = (y - 214) / (492 - 214) * 320
        if abs(x - 512) <= half:
            return True
    return 276 <= x <= 748 and 480 <= y <= 806


def colour(x, y):
    if not inside_rounded(x, y, 64, 64, 960, 960, 190):
        return None
    if inside_rounded(x, y, 446, 600, 578, 806, 22):
        return EMBER
    if (x - 512) ** 2 + (y - 420) ** 2 <= 50 * 50:
        return GLOW
    if inside_house(x, y):
        return WHITE
    return EMBER


def main():
    rows = []
    for py in range(N):
        row = bytearray([0])
        for px in range(N):
            acc = [0, 0, 0, 0]
            for sy in range(S):
                for sx in range(S):
                    c = colour(px + (sx + 0.5) / S, py + (sy + 0.5) / S)
                    if c:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 255
            n = acc[3] // 255
            if n:
                row += bytes([acc[0] // n, acc[1] // n, acc[2] // n, acc[3] // (S * S)])
            else:
                row += b"\0\0\0\0"
        rows.append(bytes(row))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
    png += chunk(b"IEND", b"")
    Path(__file__).with_name("source.png").write_bytes(png)


if __name__ == "__main__":
    main()
