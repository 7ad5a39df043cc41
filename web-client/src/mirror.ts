// The client's copy of what the server lets it see, rebuilt from deltas. Same rules as the
// Rust reference `sim::interest::delta::Mirror`: leaves first (freeing slots), then enters,
// then updates; on error nothing changes.

import type { Delta, VisibleState } from './types';

export class MirrorError extends Error {}

export class Mirror {
  /** The tick of the last applied delta. */
  tick = 0;
  /** Visible entities by slot. */
  slots = new Map<number, VisibleState>();

  /** Applies one delta; throws [`MirrorError`] (and changes nothing) when it does not fit. */
  apply(delta: Delta): void {
    const next = new Map(this.slots);
    for (const l of delta.leaves) {
      if (!next.delete(l.slot)) throw new MirrorError(`slot ${l.slot} is empty`);
    }
    for (const e of delta.enters) {
      if (next.has(e.slot)) throw new MirrorError(`slot ${e.slot} is already taken`);
      next.set(e.slot, cloneState(e.state));
    }
    for (const u of delta.updates) {
      const s = next.get(u.slot);
      if (!s) throw new MirrorError(`slot ${u.slot} is empty`);
      const c = cloneState(s);
      if (u.position !== undefined) c.position = { ...u.position };
      if (u.target !== undefined) c.target = u.target ? { ...u.target } : null;
      if (u.facing !== undefined) c.facing = u.facing;
      next.set(u.slot, c);
    }
    this.slots = next;
    this.tick = delta.tick;
  }

  /** Visible entities by id. */
  byId(): Map<bigint, VisibleState> {
    const m = new Map<bigint, VisibleState>();
    for (const s of this.slots.values()) m.set(s.id, s);
    return m;
  }

  clear(): void {
    this.slots.clear();
    this.tick = 0;
  }
}

function cloneState(s: VisibleState): VisibleState {
  return { ...s, position: { ...s.position }, target: s.target ? { ...s.target } : null };
}

/**
 * Recent mirror states by tick, so that a delta can be applied to the state at its baseline
 * (the last tick the server knows we acknowledged), whichever newer states we already hold.
 */
export class MirrorHistory {
  private states = new Map<number, Mirror>();
  /** The newest state. */
  current = new Mirror();

  constructor(private keep = 64) {}

  /** The state a delta with this baseline applies to (baseline 0 = from nothing). */
  base(baseline: number): Mirror {
    if (baseline === 0) return new Mirror();
    const m = this.states.get(baseline);
    if (!m) throw new MirrorError(`baseline tick ${baseline} is not held`);
    return m;
  }

  /** Applies a delta to its baseline state and makes the result current. */
  apply(delta: Delta): Mirror {
    const base = this.base(delta.baseline);
    const next = new Mirror();
    next.slots = base.slots;
    next.tick = base.tick;
    next.apply(delta);
    this.states.set(delta.tick, next);
    if (delta.tick >= this.current.tick) this.current = next;
    if (this.states.size > this.keep) {
      const oldest = [...this.states.keys()].sort((a, b) => a - b).slice(0, this.states.size - this.keep);
      for (const t of oldest) this.states.delete(t);
    }
    return next;
  }

  /** Drops states older than the baseline the server now uses. */
  forgetBefore(tick: number): void {
    for (const t of this.states.keys()) if (t < tick) this.states.delete(t);
  }

  reset(): void {
    this.states.clear();
    this.current = new Mirror();
  }
}
