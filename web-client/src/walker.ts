// Click-to-walk: turns an A* path into the successive inputs the server understands.
//
// The server chains moves while a direction is held, so a straight run needs one Move, a turn
// needs a Move with the new direction while the previous step is under way, and the end needs
// a Stop during the last step. An input changes what happens at the end of the current step
// when the server applies it in ticks start+1 ..= start+ticksPerTile of that step; we send it
// in the middle of that window (start + ceil(tpt/2)) so a tick of jitter either way still
// lands it in the right step.

import type { Dir, Input, Vec } from './types';
import type { MoveEvent } from './predict';

export class PathWalker {
  private steps: Dir[] = [];
  /** Index of the step currently under way (-1: not started). */
  private current = -1;
  /** Input to send at a given local tick. */
  private scheduled: { tick: number; input: Input } | null = null;
  private active = false;
  private kicked = false;
  readonly goal: Vec;

  constructor(
    steps: Dir[],
    goal: Vec,
    private ticksPerTile: number,
  ) {
    this.steps = steps;
    this.goal = { ...goal };
    this.active = steps.length > 0;
  }

  get done(): boolean {
    return !this.active;
  }

  /**
   * The input to apply at local tick `tick`, if any (call before the predictor's step). The
   * first step's Move goes out at once: from standing it starts the next tick; during a move
   * (a click while walking) it is the direction chained when that move ends.
   */
  inputFor(tick: number): Input | null {
    if (!this.active) return null;
    if (this.current === -1 && !this.kicked) {
      this.kicked = true;
      this.scheduled = { tick, input: { kind: 'move', dir: this.steps[0] } };
    }
    if (this.scheduled && this.scheduled.tick <= tick) {
      const i = this.scheduled.input;
      this.scheduled = null;
      if (i.kind === 'stop' && this.current >= this.steps.length - 1) this.active = false;
      return i;
    }
    return null;
  }

  /** Feeds the predictor's events of a tick. Returns false when the walk failed (blocked). */
  observe(events: MoveEvent[]): boolean {
    if (!this.active) return true;
    for (const e of events) {
      if (e.kind === 'started') {
        this.current++;
        if (this.current >= this.steps.length || e.dir !== this.steps[this.current]) {
          this.active = false; // something else moved us: give up, the caller re-plans
          return false;
        }
        const at = e.tick + Math.ceil(this.ticksPerTile / 2);
        const next = this.steps[this.current + 1];
        if (next === undefined) this.scheduled = { tick: at, input: { kind: 'stop' } };
        else if (next !== e.dir) this.scheduled = { tick: at, input: { kind: 'move', dir: next } };
      } else if (e.kind === 'rejected') {
        this.active = false;
        return false;
      }
    }
    return true;
  }

  cancel(): void {
    this.active = false;
    this.scheduled = null;
  }
}
