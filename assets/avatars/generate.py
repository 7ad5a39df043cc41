#!/usr/bin/env python3
"""Generate Plaza's project-made avatar sprite sheet (deterministic; no third-party packages).

Run with: python3 assets/avatars/generate.py

Writes assets/avatars/plaza-avatars.png: 8 avatars (rows) x 4 facings (columns: north, east,
south, west), 32x32 px each, RGBA. Avatar id N uses row N % 8.
"""
import os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
S = 32
# (shirt, hair) colours per avatar
PALETTE = [
    ((220, 80, 70), (60, 40, 30)),
    ((70, 130, 220), (30, 30, 30)),
    ((80, 170, 90), (150, 90, 40)),
    ((230, 170, 50), (90, 60, 30)),
    ((160, 90, 200), (20, 20, 20)),
    ((40, 170, 170), (200, 160, 60)),
    ((230, 110, 160), (70, 40, 20)),
    ((120, 120, 130), (230, 220, 200)),
]
SKIN = (240, 200, 160)
OUTLINE = (30, 30, 40)
EYE = (25, 25, 35)
DIRS = [(0, -1), (1, 0), (0, 1), (-1, 0)]  # N E S W


def png(width, height, rgba_rows):
    raw = b"".join(b"\x00" + bytes(row) for row in rgba_rows)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def sprite(shirt, hair, facing):
    dx, dy = DIRS[facing]
    px = [[None] * S for _ in range(S)]
    def disc(cx, cy, r, c):
        for y in range(S):
            for x in range(S):
                if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r:
                    px[y][x] = c
    # shadow
    for y in range(27, 31):
        for x in range(8, 24):
            if ((x + 0.5 - 16) / 8) ** 2 + ((y + 0.5 - 29) / 2) ** 2 <= 1:
                px[y][x] = (0, 0, 0, 70)
    # body: outline then shirt
    for y in range(16, 29):
        for x in range(8, 24):
            edge = x in (8, 23) or y == 28
            px[y][x] = OUTLINE + (255,) if edge else shirt + (255,)
    # arms
    for y in range(18, 25):
        for x in (6, 7, 24, 25):
            if (dx == 1 and x < 8) or (dx == -1 and x > 23):
                continue
            px[y][x] = SKIN + (255,)
    # head
    disc(16, 11, 8.5, OUTLINE + (255,))
    disc(16, 11, 7.5, SKIN + (255,))
    # hair: the back of the head faces away from `facing`
    for y in range(S):
        for x in range(S):
            if px[y][x] != SKIN + (255,):
                continue
            rx, ry = x + 0.5 - 16, y + 0.5 - 11
            if facing == 0:
                hairy = ry < 5
            else:
                hairy = ry < -2.5 or (rx * dx + ry * dy) < -3.5
            if hairy:
                px[y][x] = hair + (255,)
    # eyes (none when facing north)
    if facing != 0:
        for ex in ((-3, 3) if facing == 2 else (dx * 3 - 1, dx * 3 + 2) if dx else ()):
            for y in (11, 12):
                x = 16 + ex if facing == 2 else 16 + ex
                if 0 <= x < S:
                    px[y][x] = EYE + (255,)
    return [[c if c else (0, 0, 0, 0) for c in row] for row in px]


def main():
    w, h = 4 * S, len(PALETTE) * S
    rows = [[0] * (w * 4) for _ in range(h)]
    for a, (shirt, hair) in enumerate(PALETTE):
        for f in range(4):
            spr = sprite(shirt, hair, f)
            for y in range(S):
                for x in range(S):
                    o = (f * S + x) * 4
                    rows[a * S + y][o:o + 4] = list(spr[y][x])
    with open(os.path.join(HERE, "plaza-avatars.png"), "wb") as f:
        f.write(png(w, h, rows))


if __name__ == "__main__":
    main()
