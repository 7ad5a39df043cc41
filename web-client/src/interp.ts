// Interpolation of other avatars between snapshots.
//
// The server moves avatars tile by tile: a move that starts at tick T (target set) ends at
// tick T + ticksPerTile (position = target). Each snapshot gives an entity's (position,
// target) at a tick; we keep those as keyframes and draw the entity at a *render tick* one
// snapshot behind the newest one, so there is (almost) always a keyframe on both sides.
// Within a move the position is linear in time, so drawing is smooth at 20 Hz, and a
// keyframe never makes the drawing jump backwards or overshoot the target.

import type { Vec } from './types';

interface Keyframe {
  tick: number;
  pos: Vec;
  target: Vec | null;
  /** Tick the current move started (for a keyframe inside a move). */
  moveStart: number;
}

/** Keyframes of one entity. */
export class Track {
  private frames: Keyframe[] = [];

  constructor(private ticksPerTile: number) {}

  /** Records the entity's state at a server tick (ticks must not decrease). */
  push(tick: number, pos: Vec, target: Vec | null): void {
    const last = this.frames[this.frames.length - 1];
    if (last && tick < last.tick) return; // stale, out of order
    let moveStart = tick;
    if (last && target && last.target && same(last.target, target) && same(last.pos, pos)) {
      moveStart = last.moveStart; // the same move continues
    }
    if (last && last.tick === tick) this.frames.pop();
    this.frames.push({ tick, pos: { ...pos }, target: target ? { ...target } : null, moveStart });
    // Keep a short history: two seconds at 20 Hz is plenty for a one-snapshot delay.
    if (this.frames.length > 64) this.frames.splice(0, this.frames.length - 64);
  }

  /** The newest keyframe's tick, or -1. */
  lastTick(): number {
    return this.frames.length ? this.frames[this.frames.length - 1].tick : -1;
  }

  /** Ticks of the current move done at the newest keyframe (0 when standing). */
  progress(): number {
    const k = this.frames[this.frames.length - 1];
    return k && k.target ? Math.max(0, k.tick - k.moveStart) : 0;
  }

  /** Continuous tile position at a (fractional) tick. */
  sample(t: number): Vec | null {
    if (this.frames.length === 0) return null;
    // The newest keyframe at or before t; before the first, hold the first.
    let k = this.frames[0];
    for (const f of this.frames) {
      if (f.tick <= t) k = f;
      else break;
    }
    if (!k.target) return { ...k.pos };
    const progress = Math.min(1, Math.max(0, (t - k.moveStart) / this.ticksPerTile));
    return {
      x: k.pos.x + (k.target.x - k.pos.x) * progress,
      y: k.pos.y + (k.target.y - k.pos.y) * progress,
    };
  }
}

function same(a: Vec, b: Vec): boolean {
  return a.x === b.x && a.y === b.y;
}

/**
 * A clock estimating the server tick from snapshot arrivals: the render tick is the estimate
 * minus `delayTicks` (one snapshot at one snapshot per tick).
 */
export class ServerClock {
  private offset: number | null = null; // serverTick - localTime/tickMs

  constructor(
    private tickMs: number,
    private delayTicks = 1,
  ) {}

  /** A snapshot for `tick` arrived at local time `nowMs`. */
  observe(tick: number, nowMs: number): void {
    const o = tick - nowMs / this.tickMs;
    if (this.offset === null || Math.abs(o - this.offset) > 10) {
      this.offset = o; // first sample or a big jump (reconnect): snap
    } else if (o > this.offset) {
      this.offset = o; // a snapshot arrived early: we were behind, catch up at once
    } else {
      this.offset += (o - this.offset) * 0.05; // late arrivals drift slowly (jitter)
    }
  }

  /** The estimated current server tick (fractional), or null before any snapshot. */
  serverTick(nowMs: number): number | null {
    return this.offset === null ? null : nowMs / this.tickMs + this.offset;
  }

  /** The tick to draw others at. */
  renderTick(nowMs: number): number | null {
    const t = this.serverTick(nowMs);
    return t === null ? null : t - this.delayTicks;
  }

  reset(): void {
    this.offset = null;
  }
}
