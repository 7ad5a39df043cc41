// Client-side A* on the tile grid, 4-connected like the server's movement (one tile per move,
// north/east/south/west). Deterministic: ties are broken by insertion order.

import { type Dir, DIRS, dirBetween } from './types';

export interface Grid {
  width: number;
  height: number;
  /** Whether the tile cannot be entered (walls, off-map). */
  isBlocked(x: number, y: number): boolean;
}

export interface Tile {
  x: number;
  y: number;
}

/** A binary min-heap of (priority, order, value) for the open set. */
class Heap {
  private items: { f: number; order: number; idx: number }[] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: { f: number; order: number; idx: number }): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p], a[i])) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): { f: number; order: number; idx: number } | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: { f: number; order: number }, b: { f: number; order: number }): boolean {
  return a.f < b.f || (a.f === b.f && a.order < b.order);
}

export interface PathOptions {
  /** Extra tiles to avoid (other avatars), as `y * width + x`. The goal itself is exempt. */
  avoid?: Set<number>;
  /** Give up after expanding this many tiles (default: every tile of the grid). */
  maxExpanded?: number;
}

/**
 * The shortest 4-connected path from `start` to `goal`, as the list of tiles entered
 * (excluding `start`, including `goal`); `[]` when already there; `null` when unreachable or
 * the goal is blocked.
 */
export function findPath(grid: Grid, start: Tile, goal: Tile, opts: PathOptions = {}): Tile[] | null {
  const { width, height } = grid;
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height;
  if (!inside(start.x, start.y) || !inside(goal.x, goal.y) || grid.isBlocked(goal.x, goal.y)) return null;
  if (start.x === goal.x && start.y === goal.y) return [];
  const n = width * height;
  const startIdx = start.y * width + start.x;
  const goalIdx = goal.y * width + goal.x;
  const g = new Float64Array(n).fill(Infinity);
  const came = new Int32Array(n).fill(-1);
  const closed = new Uint8Array(n);
  const h = (idx: number) => Math.abs((idx % width) - goal.x) + Math.abs(Math.floor(idx / width) - goal.y);
  const open = new Heap();
  let order = 0;
  g[startIdx] = 0;
  open.push({ f: h(startIdx), order: order++, idx: startIdx });
  const max = opts.maxExpanded ?? n;
  let expanded = 0;
  while (open.size > 0) {
    const cur = open.pop()!;
    if (closed[cur.idx]) continue;
    if (cur.idx === goalIdx) break;
    closed[cur.idx] = 1;
    if (++expanded > max) return null;
    const cx = cur.idx % width;
    const cy = Math.floor(cur.idx / width);
    for (const d of DIRS) {
      const nx = cx + d.dx;
      const ny = cy + d.dy;
      if (!inside(nx, ny)) continue;
      const ni = ny * width + nx;
      if (closed[ni] || grid.isBlocked(nx, ny)) continue;
      if (ni !== goalIdx && opts.avoid?.has(ni)) continue;
      const ng = g[cur.idx] + 1;
      if (ng < g[ni]) {
        g[ni] = ng;
        came[ni] = cur.idx;
        open.push({ f: ng + h(ni), order: order++, idx: ni });
      }
    }
  }
  if (came[goalIdx] === -1) return null;
  const path: Tile[] = [];
  for (let i = goalIdx; i !== startIdx; i = came[i]) path.push({ x: i % width, y: Math.floor(i / width) });
  return path.reverse();
}

/** The directions of successive moves along a path starting at `start`. */
export function pathDirections(start: Tile, path: Tile[]): Dir[] {
  const dirs: Dir[] = [];
  let prev = start;
  for (const t of path) {
    const d = dirBetween(prev, t);
    if (d === null) throw new Error(`path is not 4-connected at (${t.x}, ${t.y})`);
    dirs.push(d);
    prev = t;
  }
  return dirs;
}
