import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deflateSync, gzipSync } from 'node:zlib';
import { loadTiledMap, type TiledMap } from '../src/map';
import { findPath } from '../src/pathfind';

const assets = new URL('../../assets/maps/', import.meta.url);
const readMap = (name: string) => JSON.parse(readFileSync(new URL(name, assets), 'utf8')) as TiledMap;

function tiny(layerData: Partial<TiledMap['layers'][number]>, extraLayers: TiledMap['layers'] = []): TiledMap {
  return {
    width: 3,
    height: 2,
    tilewidth: 32,
    tileheight: 32,
    orientation: 'orthogonal',
    tilesets: [
      {
        firstgid: 1,
        image: '../tiles/t.png',
        imagewidth: 64,
        imageheight: 32,
        tilewidth: 32,
        tileheight: 32,
        columns: 2,
        tiles: [{ id: 1, properties: [{ name: 'blocked', type: 'bool', value: true }] }],
      },
    ],
    layers: [
      { type: 'tilelayer', name: 'ground', ...layerData },
      ...extraLayers,
      { type: 'objectgroup', name: 'spawns', objects: [{ x: 40, y: 8 }] },
    ],
  };
}

function b64(gids: number[]): Uint8Array {
  const buf = new Uint8Array(gids.length * 4);
  const v = new DataView(buf.buffer);
  gids.forEach((g, i) => v.setUint32(i * 4, g, true));
  return buf;
}

describe('loadTiledMap', () => {
  const gids = [1, 2, 1, 1, 1, 0x80000002]; // a flipped blocked tile at (2,1)
  const expected = [0, 1, 0, 0, 0, 1];

  it('decodes CSV arrays and blocked tile properties (flip bits masked)', async () => {
    const m = await loadTiledMap(tiny({ data: gids }));
    expect(Array.from(m.blocked)).toEqual(expected);
    expect(m.spawns).toEqual([{ x: 1, y: 0 }]);
    expect(m.tilesets[0].image).toBe('t.png');
  });

  it('decodes base64, base64+zlib and base64+gzip layers', async () => {
    const raw = b64(gids);
    for (const [compression, bytes] of [
      [undefined, raw],
      ['zlib', deflateSync(raw)],
      ['gzip', gzipSync(raw)],
    ] as const) {
      const data = Buffer.from(bytes).toString('base64');
      const m = await loadTiledMap(tiny({ data, encoding: 'base64', compression }));
      expect(Array.from(m.blocked)).toEqual(expected);
      expect(Array.from(m.layers[0].gids)).toEqual(gids);
    }
  });

  it('treats every tile of a layer named collision as blocked and does not draw it', async () => {
    const m = await loadTiledMap(
      tiny({ data: [1, 1, 1, 1, 1, 1] }, [{ type: 'tilelayer', name: 'Collision', data: [0, 0, 0, 5, 0, 0] }]),
    );
    expect(Array.from(m.blocked)).toEqual([0, 0, 0, 1, 0, 0]);
    expect(m.layers.map((l) => l.name)).toEqual(['ground']);
  });

  it('rejects a layer of the wrong size', async () => {
    await expect(loadTiledMap(tiny({ data: [1, 1] }))).rejects.toThrow(/expected 6 tiles/);
  });

  it('loads the office map (CSV) with walls around and a path between spawns', async () => {
    const m = await loadTiledMap(readMap('office.json'));
    expect([m.width, m.height]).toEqual([40, 30]);
    expect(m.isBlocked(0, 0)).toBe(true);
    expect(m.spawns.length).toBeGreaterThan(1);
    const [a, b] = m.spawns;
    expect(m.isBlocked(a.x, a.y)).toBe(false);
    expect(findPath(m, a, b)).not.toBeNull();
  });

  it('loads the campus map (base64 + zlib, 512x512)', async () => {
    const m = await loadTiledMap(readMap('campus.json'));
    expect([m.width, m.height]).toEqual([512, 512]);
    const blocked = m.blocked.reduce((n, b) => n + b, 0);
    expect(blocked).toBeGreaterThan(1000);
    expect(blocked).toBeLessThan(512 * 512 / 2);
    for (const s of m.spawns) expect(m.isBlocked(s.x, s.y)).toBe(false);
  });
});
