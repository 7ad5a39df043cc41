// Prediction and reconciliation of the player's own avatar.
//
// The client runs the server's movement rules (sim/src/movement.rs) for its own avatar only,
// at the same fixed tick rate, applying each input at the local tick it was made and sending
// it to the server at that moment with a sequence number. Per local tick it records
// (last applied seq, tile, target). A snapshot tells the server's (tile, target) after it
// applied inputs up to `ackedSeq`; on a good link that state is one of the recorded ones
// with the same last seq — then nothing happens (no rubber-banding). When none matches, the
// prediction was wrong (a wall or another avatar we did not know about, a Stop that landed a
// tick late...) and the avatar is rebased onto the server's state, with the unacknowledged
// inputs' intent (the held direction) re-applied.
//
// Rules mirrored from the server, per tick: (1) apply inputs in seq order: Move sets the held
// direction and, when idle, makes the avatar a move candidate (only the first Move of a tick
// picks the direction); Stop clears the held direction; (2) advance a move in progress; when
// it completes and a direction is held, chain a new candidate; (3) resolve candidates: a
// free target starts a move, a blocked one is rejected, which clears the held direction.
// Facing turns to the candidate's direction either way.

import type { Dir, Input, Vec } from './types';
import { offset } from './types';

/** Ticks after which an unacknowledged input is taken as lost (2 s at 20 Hz). */
export const LOST_INPUT_TICKS = 40;

export interface OwnState {
  pos: Vec;
  target: Vec | null;
  /** Ticks of the current move done (0..ticksPerTile). */
  progress: number;
  held: Dir | null;
  facing: Dir | null;
  lastSeq: number;
}

export type MoveEvent =
  | { kind: 'started'; from: Vec; to: Vec; dir: Dir; tick: number }
  | { kind: 'arrived'; at: Vec; tick: number }
  | { kind: 'rejected'; at: Vec; dir: Dir; tick: number };

interface HistoryEntry {
  seq: number;
  pos: Vec;
  target: Vec | null;
}

/** The server's view of our avatar, from a snapshot. */
export interface ServerOwnState {
  pos: Vec;
  target: Vec | null;
  /** Ticks of the current move already done at the snapshot's tick, when known. */
  progress?: number;
  facing?: Dir | null;
  /** The last input seq the server applied. */
  ackedSeq: number;
}

/** Tile is free for our avatar (map and other avatars). */
export type FreeFn = (x: number, y: number) => boolean;

export class Predictor {
  state: OwnState;
  /** Local tick counter. */
  tick = 0;
  /** Number of corrections (rebases) so far: stays 0 on a good link. */
  corrections = 0;
  /** What the last correction was about (for the debug overlay and test failures). */
  lastCorrection: unknown = null;
  correctionLog: unknown[] = [];
  private queued: { seq: number; input: Input }[] = [];
  /** Inputs applied locally and not yet acknowledged by the server. */
  private unacked: { seq: number; input: Input; tick: number }[] = [];
  private history: HistoryEntry[] = [];
  private nextSeq: number;
  /** After a rebase onto an idle server state: the direction our unacked inputs still push. */
  private kick: Dir | null = null;

  constructor(
    start: Vec,
    private ticksPerTile: number,
    private isFree: FreeFn,
    lastSeq = 0,
  ) {
    this.state = { pos: { ...start }, target: null, progress: 0, held: null, facing: null, lastSeq };
    this.nextSeq = lastSeq + 1;
    this.record();
  }

  /** Queues an input for the next local tick and returns its seq (to send to the server now). */
  input(input: Input): number {
    const seq = this.nextSeq++;
    this.queued.push({ seq, input });
    return seq;
  }

  /** The seq the next input will get. */
  peekSeq(): number {
    return this.nextSeq;
  }

  /** Whether there are inputs the server has not applied yet. */
  hasUnacked(): boolean {
    return this.unacked.length > 0 || this.queued.length > 0;
  }

  /** Whether the oldest unacknowledged input is older than [`LOST_INPUT_TICKS`]. */
  hasLostInputs(): boolean {
    return this.unacked.length > 0 && this.tick - this.unacked[0].tick > LOST_INPUT_TICKS;
  }

  /** Advances one local tick with the server's rules. */
  step(): MoveEvent[] {
    this.tick++;
    const events: MoveEvent[] = [];
    const s = this.state;
    let candidate: Dir | null = null;
    for (const q of this.queued) {
      if (q.seq <= s.lastSeq) continue;
      s.lastSeq = q.seq;
      this.unacked.push({ ...q, tick: this.tick });
      if (q.input.kind === 'move') {
        s.held = q.input.dir;
        if (s.target === null && candidate === null) candidate = q.input.dir;
      } else {
        s.held = null;
      }
    }
    this.queued = [];
    if (this.kick !== null && s.target === null && candidate === null) candidate = this.kick;
    this.kick = null;
    if (s.target) {
      s.progress++;
      if (s.progress >= this.ticksPerTile) {
        s.pos = s.target;
        s.target = null;
        s.progress = 0;
        events.push({ kind: 'arrived', at: { ...s.pos }, tick: this.tick });
        if (s.held !== null) candidate = s.held;
      }
    }
    if (candidate !== null) {
      const d = offset(candidate);
      const to = { x: s.pos.x + d.dx, y: s.pos.y + d.dy };
      s.facing = candidate;
      if (this.isFree(to.x, to.y)) {
        s.target = to;
        s.progress = 0;
        events.push({ kind: 'started', from: { ...s.pos }, to: { ...to }, dir: candidate, tick: this.tick });
      } else {
        s.held = null;
        events.push({ kind: 'rejected', at: { ...s.pos }, dir: candidate, tick: this.tick });
      }
    }
    this.record();
    return events;
  }

  /** Where to draw the avatar, `alpha` ∈ [0, 1) being the fraction of the current tick elapsed. */
  renderPos(alpha: number): Vec {
    const s = this.state;
    if (!s.target) return { ...s.pos };
    const f = Math.min(1, (s.progress + alpha) / this.ticksPerTile);
    return { x: s.pos.x + (s.target.x - s.pos.x) * f, y: s.pos.y + (s.target.y - s.pos.y) * f };
  }

  /**
   * Checks a snapshot of our avatar against the prediction. Returns true when it corrected
   * (rebased) the local state.
   */
  reconcile(server: ServerOwnState): boolean {
    this.unacked = this.unacked.filter((u) => u.seq > server.ackedSeq);
    // An input the server never applied (dropped by a rate limit, lost in a reconnect) would
    // keep us waiting forever: after LOST_INPUT_TICKS without its ack, follow the server.
    if (this.unacked.length > 0 && this.tick - this.unacked[0].tick > LOST_INPUT_TICKS) {
      this.unacked = [];
      this.lastCorrection = { lostInputs: true, server: { pos: { ...server.pos }, ackedSeq: server.ackedSeq } };
      this.correctionLog.push(this.lastCorrection);
      this.rebase(server);
      this.state.held = null;
      this.kick = null;
      return true;
    }
    const matchIdx = this.history.findIndex(
      (h) => h.seq === server.ackedSeq && same(h.pos, server.pos) && sameOpt(h.target, server.target),
    );
    if (matchIdx >= 0) {
      this.history.splice(0, matchIdx); // older states can no longer be matched
      return false;
    }
    const sameSeq = this.history.some((h) => h.seq === server.ackedSeq);
    const caughtUp = this.unacked.length === 0 && this.queued.length === 0 && server.ackedSeq >= this.state.lastSeq;
    if (!sameSeq && !caughtUp) {
      // Our states for that seq were already dropped (after a rebase) or the server is
      // answering an input we have not recorded: wait for a later snapshot.
      return false;
    }
    this.correctionLog.push(this.lastCorrection = {
      server: { pos: { ...server.pos }, target: server.target && { ...server.target }, ackedSeq: server.ackedSeq },
      predicted: this.history.slice(-12).map((h) => `${h.seq}:${h.pos.x},${h.pos.y}${h.target ? `>${h.target.x},${h.target.y}` : ''}`).join(' '),
    });
    if (this.correctionLog.length > 10) this.correctionLog.shift();
    this.rebase(server);
    return true;
  }

  /** Puts the avatar where the server says (a join, a teleport, a correction). */
  rebase(server: ServerOwnState): void {
    this.corrections++;
    const s = this.state;
    s.pos = { ...server.pos };
    s.target = server.target ? { ...server.target } : null;
    s.progress = s.target ? Math.min(this.ticksPerTile - 1, Math.max(0, server.progress ?? 0)) : 0;
    if (server.facing !== undefined) s.facing = server.facing;
    // The held direction is whatever our newest input says (acked or not).
    const newest = this.unacked[this.unacked.length - 1];
    if (newest) s.held = newest.input.kind === 'move' ? newest.input.dir : null;
    else if (server.ackedSeq >= s.lastSeq && !s.target) s.held = null;
    s.lastSeq = Math.max(s.lastSeq, server.ackedSeq);
    this.nextSeq = Math.max(this.nextSeq, s.lastSeq + 1);
    // Unacked inputs re-applied: if idle and holding a direction, try to move on.
    this.kick = !s.target && newest && newest.input.kind === 'move' ? newest.input.dir : null;
    this.history = [];
    this.record();
  }

  /** Forgets everything and stands at `pos` (new connection / space). */
  reset(pos: Vec, lastSeq: number): void {
    this.state = { pos: { ...pos }, target: null, progress: 0, held: null, facing: this.state.facing, lastSeq };
    this.nextSeq = Math.max(this.nextSeq, lastSeq + 1);
    this.queued = [];
    this.unacked = [];
    this.history = [];
    this.record();
  }

  private record(): void {
    const s = this.state;
    this.history.push({ seq: s.lastSeq, pos: { ...s.pos }, target: s.target ? { ...s.target } : null });
    if (this.history.length > 200) this.history.splice(0, this.history.length - 200);
  }
}

function same(a: Vec, b: Vec): boolean {
  return a.x === b.x && a.y === b.y;
}

function sameOpt(a: Vec | null, b: Vec | null): boolean {
  return a === null ? b === null : b !== null && same(a, b);
}
