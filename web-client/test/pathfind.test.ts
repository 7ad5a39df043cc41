import { describe, expect, it } from 'vitest';
import { findPath, pathDirections, type Grid } from '../src/pathfind';
import { EAST, NORTH, SOUTH } from '../src/types';

/** A grid from ASCII art: '#' blocked, '.' free. */
function grid(rows: string[]): Grid {
  return {
    width: rows[0].length,
    height: rows.length,
    isBlocked: (x, y) => y < 0 || y >= rows.length || x < 0 || x >= rows[0].length || rows[y][x] === '#',
  };
}

/** Brute-force BFS distance, the reference for A*'s optimality. */
function bfs(g: Grid, s: { x: number; y: number }, t: { x: number; y: number }): number | null {
  const dist = new Map<string, number>([[`${s.x},${s.y}`, 0]]);
  const q = [s];
  while (q.length) {
    const c = q.shift()!;
    const d = dist.get(`${c.x},${c.y}`)!;
    if (c.x === t.x && c.y === t.y) return d;
    for (const [dx, dy] of [[0, -1], [1, 0], [0, 1], [-1, 0]]) {
      const n = { x: c.x + dx, y: c.y + dy };
      if (n.x < 0 || n.y < 0 || n.x >= g.width || n.y >= g.height || g.isBlocked(n.x, n.y)) continue;
      if (!dist.has(`${n.x},${n.y}`)) {
        dist.set(`${n.x},${n.y}`, d + 1);
        q.push(n);
      }
    }
  }
  return null;
}

describe('findPath', () => {
  it('walks a straight line on open floor', () => {
    const g = grid(['.....', '.....']);
    const p = findPath(g, { x: 0, y: 0 }, { x: 3, y: 0 })!;
    expect(p).toEqual([{ x: 1, y: 0 }, { x: 2, y: 0 }, { x: 3, y: 0 }]);
    expect(pathDirections({ x: 0, y: 0 }, p)).toEqual([EAST, EAST, EAST]);
  });

  it('goes around a wall', () => {
    const g = grid(['..#..', '..#..', '.....']);
    const p = findPath(g, { x: 0, y: 0 }, { x: 4, y: 0 })!;
    expect(p.length).toBe(8);
    expect(p.every((t) => !g.isBlocked(t.x, t.y))).toBe(true);
    const dirs = pathDirections({ x: 0, y: 0 }, p);
    expect(dirs.filter((d) => d === SOUTH).length).toBe(2);
    expect(dirs.filter((d) => d === NORTH).length).toBe(2);
  });

  it('returns [] when already there and null when unreachable or blocked', () => {
    const g = grid(['.#.', '.#.', '.#.']);
    expect(findPath(g, { x: 0, y: 0 }, { x: 0, y: 0 })).toEqual([]);
    expect(findPath(g, { x: 0, y: 0 }, { x: 2, y: 2 })).toBeNull();
    expect(findPath(g, { x: 0, y: 0 }, { x: 1, y: 1 })).toBeNull();
    expect(findPath(g, { x: 0, y: 0 }, { x: 9, y: 9 })).toBeNull();
  });

  it('avoids other avatars but may end on the goal', () => {
    const g = grid(['...', '...', '...']);
    const avoid = new Set([0 * 3 + 1, 1 * 3 + 1]); // (1,0) and (1,1)
    const p = findPath(g, { x: 0, y: 0 }, { x: 2, y: 0 }, { avoid })!;
    expect(p.some((t) => t.x === 1 && t.y < 2)).toBe(false);
    expect(p.length).toBe(6);
    const q = findPath(g, { x: 0, y: 0 }, { x: 1, y: 0 }, { avoid })!;
    expect(q).toEqual([{ x: 1, y: 0 }]);
  });

  it('is as short as breadth-first search on random mazes', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 200; n++) {
      const w = 4 + Math.floor(rnd() * 12);
      const h = 4 + Math.floor(rnd() * 12);
      const rows = Array.from({ length: h }, () => Array.from({ length: w }, () => (rnd() < 0.3 ? '#' : '.')).join(''));
      const g = grid(rows);
      const s = { x: Math.floor(rnd() * w), y: Math.floor(rnd() * h) };
      const t = { x: Math.floor(rnd() * w), y: Math.floor(rnd() * h) };
      if (g.isBlocked(s.x, s.y)) continue;
      const p = findPath(g, s, t);
      const d = bfs(g, s, t);
      expect(p === null ? null : p.length).toBe(d);
      if (p) expect(() => pathDirections(s, p)).not.toThrow();
    }
  });
});
