#!/usr/bin/env python3
"""Generate Plaza's project-made maps and tileset (deterministic; no third-party packages).

Run with: python3 assets/maps/generate.py

Writes:
  assets/tiles/plaza-tiles.png   a 8x2 tileset of 32x32 px tiles
  assets/maps/office.json        a 40x30 office (Tiled JSON, CSV-style data arrays)
  assets/maps/campus.json        a 512x512 campus (Tiled JSON, base64 + zlib layers)
  assets/maps/arena.json         a 100x100 open square (a dense crowd for load runs)
"""
import base64, json, os, random, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TILE = 32
COLUMNS = 8
# local tile id -> (name, rgb, blocked, accent rgb)
TILES = [
    ("floor", (222, 205, 170), False, (205, 186, 150)),
    ("carpet", (120, 150, 200), False, (110, 138, 188)),
    ("wall", (70, 72, 84), True, (95, 98, 112)),
    ("desk", (150, 105, 60), True, (120, 80, 40)),
    ("plant", (222, 205, 170), True, (60, 150, 70)),
    ("grass", (110, 175, 90), False, (100, 162, 80)),
    ("path", (190, 190, 180), False, (172, 172, 162)),
    ("water", (70, 130, 200), True, (90, 150, 215)),
    ("tree", (110, 175, 90), True, (40, 110, 50)),
    ("roof", (170, 80, 70), True, (150, 65, 58)),
    ("doormat", (160, 120, 90), False, (140, 100, 75)),
    ("bench", (110, 175, 90), True, (130, 90, 50)),
]
T = {name: i + 1 for i, (name, *_rest) in enumerate(TILES)}  # global ids, firstgid = 1


def png(width, height, rgb_rows):
    raw = b"".join(b"\x00" + bytes(row) for row in rgb_rows)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def tileset_png():
    rows_count = (len(TILES) + COLUMNS - 1) // COLUMNS
    w, h = COLUMNS * TILE, rows_count * TILE
    pixels = [[0] * (w * 3) for _ in range(h)]
    for i, (name, base, _blocked, accent) in enumerate(TILES):
        ox, oy = (i % COLUMNS) * TILE, (i // COLUMNS) * TILE
        for y in range(TILE):
            for x in range(TILE):
                c = base
                cx, cy = x - 16, y - 16
                if name in ("plant", "tree") and cx * cx + cy * cy < 110:
                    c = accent
                elif name in ("desk", "bench") and 4 <= y < 26 and 2 <= x < 30:
                    c = accent if (y < 8 or name == "bench") else base
                elif name == "wall" and (y % 8 == 0 or (x + (y // 8) * 8) % 16 == 0):
                    c = accent
                elif name in ("floor", "path") and (x % 16 == 0 or y % 16 == 0):
                    c = accent
                elif name in ("grass", "water", "carpet", "roof", "doormat") and (x * 7 + y * 13) % 23 == 0:
                    c = accent
                if x == 0 or y == 0:
                    c = tuple(max(0, v - 12) for v in c)
                p = pixels[oy + y]
                p[(ox + x) * 3:(ox + x) * 3 + 3] = list(c)
    return w, h, png(w, h, pixels)


def tileset_json(img_w, img_h):
    return {
        "firstgid": 1, "name": "plaza-tiles", "image": "../tiles/plaza-tiles.png",
        "imagewidth": img_w, "imageheight": img_h, "tilewidth": TILE, "tileheight": TILE,
        "tilecount": len(TILES), "columns": COLUMNS, "margin": 0, "spacing": 0,
        "tiles": [
            {"id": i, "type": name, "properties": [{"name": "blocked", "type": "bool", "value": True}]}
            for i, (name, _c, blocked, _a) in enumerate(TILES) if blocked
        ],
    }


def layer(lid, name, w, h, data, compressed):
    out = {"id": lid, "name": name, "type": "tilelayer", "x": 0, "y": 0, "width": w, "height": h,
           "opacity": 1, "visible": True}
    if compressed:
        out["encoding"] = "base64"
        out["compression"] = "zlib"
        out["data"] = base64.b64encode(zlib.compress(struct.pack("<%dI" % len(data), *data), 9)).decode()
    else:
        out["data"] = data
    return out


def spawn_layer(lid, points):
    objs = [{"id": i + 1, "name": "spawn", "type": "spawn", "point": True, "x": x * TILE + TILE / 2,
             "y": y * TILE + TILE / 2, "width": 0, "height": 0, "rotation": 0, "visible": True}
            for i, (x, y) in enumerate(points)]
    return {"id": lid, "name": "spawns", "type": "objectgroup", "draworder": "topdown", "objects": objs,
            "opacity": 1, "visible": True, "x": 0, "y": 0}


def tiled_map(w, h, layers, img_w, img_h, next_object):
    return {"type": "map", "version": "1.10", "tiledversion": "1.10.2", "orientation": "orthogonal",
            "renderorder": "right-down", "infinite": False, "width": w, "height": h,
            "tilewidth": TILE, "tileheight": TILE, "nextlayerid": len(layers) + 1,
            "nextobjectid": next_object, "layers": layers, "tilesets": [tileset_json(img_w, img_h)]}


def office(img_w, img_h):
    w, h = 40, 30
    ground = [T["floor"]] * (w * h)
    objects = [0] * (w * h)
    def put(x, y, gid, grid=objects):
        grid[y * w + x] = gid
    for x in range(w):
        put(x, 0, T["wall"]); put(x, h - 1, T["wall"])
    for y in range(h):
        put(0, y, T["wall"]); put(w - 1, y, T["wall"])
    # meeting rooms along the top, separated by walls, each with a door
    for y in range(1, 10):
        for x in (10, 20, 30):
            put(x, y, T["wall"])
    for x in range(1, w - 1):
        if x not in (5, 15, 25, 35):
            put(x, 10, T["wall"])
    for y in range(1, 10):
        for x in range(1, w - 1):
            if x not in (10, 20, 30):
                ground[y * w + x] = T["carpet"]
    for room in range(4):
        x0 = room * 10 + 3
        for x in range(x0, x0 + 5):
            put(x, 4, T["desk"]); put(x, 5, T["desk"])
    # open-plan desks
    for by in (14, 19):
        for bx in (4, 12, 20, 28):
            for x in range(bx, bx + 4):
                put(x, by, T["desk"])
    for x, y in ((2, 12), (37, 12), (2, 27), (37, 27), (19, 24)):
        put(x, y, T["plant"])
    # lobby with doormat near the south entrance
    for x in range(17, 23):
        put(x, 28, 0, ground); ground[28 * w + x] = T["doormat"]
    spawns = [(x, y) for y in (25, 26, 27) for x in (14, 16, 18, 21, 23, 25)]
    layers = [layer(1, "ground", w, h, ground, False), layer(2, "furniture", w, h, objects, False),
              spawn_layer(3, spawns)]
    return tiled_map(w, h, layers, img_w, img_h, len(spawns) + 1)


def campus(img_w, img_h):
    w = h = 512
    rng = random.Random(20261125)
    ground = [T["grass"]] * (w * h)
    objects = [0] * (w * h)
    # a path grid every 32 tiles, 2 tiles wide
    for y in range(h):
        for x in range(w):
            if x % 32 in (15, 16) or y % 32 in (15, 16):
                ground[y * w + x] = T["path"]
    blocks = []
    for by in range(0, h, 32):
        for bx in range(0, w, 32):
            kind = rng.random()
            if kind < 0.35:  # a building: roof inside walls, door on the south side
                bw, bh = rng.randint(6, 11), rng.randint(5, 9)
                x0, y0 = bx + 2 + rng.randint(0, 12 - bw + 2), by + 2 + rng.randint(0, 11 - bh + 2)
                for y in range(y0, y0 + bh):
                    for x in range(x0, x0 + bw):
                        objects[y * w + x] = T["roof"]
                door = x0 + bw // 2
                objects[(y0 + bh - 1) * w + door] = 0
                ground[(y0 + bh - 1) * w + door] = T["doormat"]
            elif kind < 0.45:  # a pond
                cx, cy, r = bx + 7, by + 7, rng.randint(3, 5)
                for y in range(cy - r, cy + r + 1):
                    for x in range(cx - r, cx + r + 1):
                        if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                            objects[y * w + x] = T["water"]
            blocks.append((bx, by))
    # scattered trees and benches on grass
    for _ in range(6000):
        x, y = rng.randrange(w), rng.randrange(h)
        if ground[y * w + x] == T["grass"] and objects[y * w + x] == 0:
            objects[y * w + x] = T["tree"] if rng.random() < 0.8 else T["bench"]
    # spawn points, one per 16x16 block
    spawns = []
    for y in range(0, h, 16):
        for x in range(0, w, 16):
            px, py = x + 5, y + 5
            for cx, cy in ((px, py), (px, 15 + (py // 32) * 32), (15 + (px // 32) * 32, py)):
                if 0 <= cx < w and 0 <= cy < h and objects[cy * w + cx] == 0:
                    spawns.append((cx, cy))
                    break
    layers = [layer(1, "ground", w, h, ground, True), layer(2, "objects", w, h, objects, True),
              spawn_layer(3, spawns)]
    return tiled_map(w, h, layers, img_w, img_h, len(spawns) + 1)


def arena(img_w, img_h):
    """An open 100x100 square inside a wall, spawn points every third tile: a crowd in which
    everyone sees dozens of others (the load workload of `plaza bots --map arena`)."""
    w = h = 100
    ground = [T["grass"]] * (w * h)
    objects = [0] * (w * h)
    for i in range(w):
        objects[i] = objects[(h - 1) * w + i] = T["wall"]
        objects[i * w] = objects[i * w + w - 1] = T["wall"]
    spawns = [(x, y) for y in range(2, h - 1, 3) for x in range(2, w - 1, 3)]
    layers = [layer(1, "ground", w, h, ground, True), layer(2, "objects", w, h, objects, True),
              spawn_layer(3, spawns)]
    return tiled_map(w, h, layers, img_w, img_h, len(spawns) + 1)


def main():
    img_w, img_h, data = tileset_png()
    with open(os.path.join(HERE, "..", "tiles", "plaza-tiles.png"), "wb") as f:
        f.write(data)
    for name, build in (("office", office), ("campus", campus), ("arena", arena)):
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(build(img_w, img_h), f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
