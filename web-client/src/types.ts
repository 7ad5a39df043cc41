// Shared client types. Direction codes match `sim::Direction::code` (N=0, E=1, S=2, W=3).

export type Dir = 0 | 1 | 2 | 3;
export const NORTH: Dir = 0;
export const EAST: Dir = 1;
export const SOUTH: Dir = 2;
export const WEST: Dir = 3;

export const DIRS: readonly { dir: Dir; dx: number; dy: number }[] = [
  { dir: NORTH, dx: 0, dy: -1 },
  { dir: EAST, dx: 1, dy: 0 },
  { dir: SOUTH, dx: 0, dy: 1 },
  { dir: WEST, dx: -1, dy: 0 },
];

export function offset(d: Dir): { dx: number; dy: number } {
  return DIRS[d];
}

/** The direction from `a` to an adjacent tile `b`, or null when not adjacent. */
export function dirBetween(a: { x: number; y: number }, b: { x: number; y: number }): Dir | null {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  for (const d of DIRS) if (d.dx === dx && d.dy === dy) return d.dir;
  return null;
}

export interface Vec {
  x: number;
  y: number;
}

/** A player input, as `sim::Input`. */
export type Input = { kind: 'move'; dir: Dir } | { kind: 'stop' };

/** What the client knows of one visible entity (mirror of `sim::interest::VisibleState`). */
export interface VisibleState {
  id: bigint;
  position: Vec;
  target: Vec | null;
  facing: Dir | null;
  avatar: number;
  name: string;
}

/** One snapshot (delta) as decoded from the wire, mirror of `sim::interest::Delta`. */
export interface Delta {
  tick: number;
  baseline: number;
  enters: { slot: number; state: VisibleState }[];
  updates: {
    slot: number;
    position?: Vec;
    /** `null`: stopped moving; `undefined`: unchanged. */
    target?: Vec | null;
    facing?: Dir | null;
  }[];
  leaves: { slot: number }[];
}
