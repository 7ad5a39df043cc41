// One session in a space: the connection, the mirror of what we see, our predicted avatar,
// the others' interpolation tracks, input, chat, proximity, video and the debug numbers.
// Rendering and the DOM panels live in app.ts; this class owns the state and the loops.

import { Connection, HANDOFF_REFUSED, REGION_MOVED, UNAVAILABLE } from './connection';
import { Track, ServerClock } from './interp';
import type { WorldMap } from './map';
import { MirrorHistory } from './mirror';
import { findPath, pathDirections } from './pathfind';
import { Predictor } from './predict';
import { ACK_INTERVAL_TICKS, snapshotToDelta, type ChatScopeName, type ServerMsg, type SnapshotMsg } from './protocol';
import type { Renderer, Sprite } from './render';
import type { Dir, Input, Vec, VisibleState } from './types';
import { VideoChat } from './video';
import { PathWalker } from './walker';

export interface ChatLine {
  from: string;
  fromName: string;
  text: string;
  scope: ChatScopeName;
  time: number;
}

export interface GameOptions {
  map: WorldMap;
  renderer: Renderer;
  wsUrl: string;
  token: string;
  /** The space id (reconnects ask `/api/spaces/{id}/route` where to go). */
  space?: string;
  ticksPerTile?: number;
  aoiRadius?: number | null;
  videoContainer: HTMLElement;
  /** Something changed that the panels show (people, chat, near, status). */
  onChange(what: 'people' | 'chat' | 'near' | 'status' | 'video'): void;
  onError(message: string): void;
  /** A passing, non-fatal notice (a refused move across a region border). */
  onNotice?(message: string): void;
}

export interface DebugStats {
  ping: number | null;
  serverTick: number;
  bytesPerSec: number;
  snapshotsPerSec: number;
  visible: number;
  aoiRadius: number | null;
  corrections: number;
  reconnects: number;
  migrations: number;
  predictedTile: Vec | null;
}

const KEYS: Record<string, Dir> = {
  ArrowUp: 0,
  KeyW: 0,
  ArrowRight: 1,
  KeyD: 1,
  ArrowDown: 2,
  KeyS: 2,
  ArrowLeft: 3,
  KeyA: 3,
};

export class Game {
  readonly conn: Connection;
  readonly video: VideoChat;
  private history = new MirrorHistory();
  private tracks = new Map<bigint, Track>();
  private clock: ServerClock;
  private predictor: Predictor | null = null;
  private walker: PathWalker | null = null;
  private walkRetries = 0;
  private heldKeys: Dir[] = [];
  private tickMs = 50;
  private ticksPerTile: number;
  private lastLocalTick = 0;
  private loopTimer: ReturnType<typeof setInterval> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private raf = 0;
  private needsResync = true;
  private freshConnection = true;
  private byteLog: { t: number; n: number }[] = [];
  private snapLog: number[] = [];
  private disposers: (() => void)[] = [];
  me: bigint | null = null;
  status: 'connecting' | 'open' | 'reconnecting' | 'closed' = 'connecting';
  statusDetail = '';
  /** The last non-fatal notice (HANDOFF_REFUSED). */
  notice = '';
  near = new Set<bigint>();
  chat: ChatLine[] = [];
  ping: number | null = null;
  lastServerTick = 0;
  /** The input seq the server last reported applied. */
  private lastInputSeq = 0;
  /** Tick of the last ack sent on this connection (-1: none yet). */
  private lastAck = -1;
  spaceId = '';
  /** Names of entities we have seen, by id (for chat, video tiles and the people list). */
  names = new Map<bigint, string>();

  constructor(private opts: GameOptions) {
    this.ticksPerTile = opts.ticksPerTile ?? 4;
    this.clock = new ServerClock(this.tickMs, 1);
    this.video = new VideoChat(() => this.me ?? 0n, opts.videoContainer, {
      signal: (to, kind, payload) => this.conn.send({ type: 'signal', to, kind, payload }),
      changed: () => opts.onChange('video'),
    });
    this.conn = new Connection(
      { url: opts.wsUrl, token: opts.token, space: opts.space },
      {
        message: (m) => this.onMessage(m),
        status: (s, d) => {
          this.status = s;
          this.statusDetail = d ?? '';
          if (s === 'reconnecting') {
            // Peers and proximity are re-established from scratch after the Welcome.
            this.video.closeAll();
            this.near.clear();
            opts.onChange('near');
          }
          opts.onChange('status');
        },
        bytes: (n) => this.byteLog.push({ t: performance.now(), n }),
      },
    );
  }

  start(): void {
    this.conn.start();
    this.loopTimer = setInterval(() => this.loop(), 5);
    this.pingTimer = setInterval(() => {
      if (this.conn.isOpen) this.conn.send({ type: 'ping', clientTime: performance.now() });
    }, 1000);
    const frame = () => {
      this.draw();
      this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
  }

  stop(): void {
    if (this.loopTimer) clearInterval(this.loopTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    cancelAnimationFrame(this.raf);
    this.conn.close();
    this.video.stop();
    for (const d of this.disposers) d();
  }

  // ----- input -----

  /** Keyboard handlers; returns true when the key was used. */
  keyDown(code: string, repeat: boolean): boolean {
    const dir = KEYS[code];
    if (dir === undefined) return false;
    if (repeat) return true;
    this.cancelWalk();
    this.heldKeys = this.heldKeys.filter((d) => d !== dir);
    this.heldKeys.push(dir);
    this.sendInput({ kind: 'move', dir });
    return true;
  }

  keyUp(code: string): boolean {
    const dir = KEYS[code];
    if (dir === undefined) return false;
    const wasActive = this.heldKeys[this.heldKeys.length - 1] === dir;
    this.heldKeys = this.heldKeys.filter((d) => d !== dir);
    if (wasActive) {
      const next = this.heldKeys[this.heldKeys.length - 1];
      this.sendInput(next === undefined ? { kind: 'stop' } : { kind: 'move', dir: next });
    }
    return true;
  }

  releaseKeys(): void {
    if (this.heldKeys.length) {
      this.heldKeys = [];
      this.sendInput({ kind: 'stop' });
    }
  }

  /** Click-to-walk: plans a path on the collision grid and walks it. Returns the path length. */
  walkTo(goal: Vec): number | null {
    const p = this.predictor;
    if (!p || !this.conn.isOpen) return null;
    this.heldKeys = [];
    this.cancelWalk();
    this.walkRetries = 0;
    return this.planWalk(goal);
  }

  private planWalk(goal: Vec): number | null {
    const p = this.predictor!;
    const from = p.state.target ?? p.state.pos;
    const avoid = new Set<number>();
    for (const s of this.others()) {
      avoid.add(s.position.y * this.opts.map.width + s.position.x);
      if (s.target) avoid.add(s.target.y * this.opts.map.width + s.target.x);
    }
    // Clicking on someone walks up to them: the free neighbouring tile closest to us.
    const taken = (t: Vec) => avoid.has(t.y * this.opts.map.width + t.x);
    if (taken(goal)) {
      const around = [
        { x: goal.x - 1, y: goal.y },
        { x: goal.x + 1, y: goal.y },
        { x: goal.x, y: goal.y - 1 },
        { x: goal.x, y: goal.y + 1 },
      ].filter((t) => !taken(t) && !this.opts.map.isBlocked(t.x, t.y));
      around.sort((a, b) => Math.abs(a.x - from.x) + Math.abs(a.y - from.y) - (Math.abs(b.x - from.x) + Math.abs(b.y - from.y)));
      if (around.length) goal = around[0];
    }
    const path = findPath(this.opts.map, from, goal, { avoid });
    if (!path) {
      this.opts.renderer.goal = null;
      if (p.state.target) this.sendInput({ kind: 'stop' });
      return null;
    }
    if (path.length === 0) {
      if (p.state.target) this.sendInput({ kind: 'stop' });
      this.opts.renderer.goal = null;
      return 0;
    }
    this.walker = new PathWalker(pathDirections(from, path), goal, this.ticksPerTile);
    this.opts.renderer.goal = { ...goal };
    return path.length;
  }

  private cancelWalk(): void {
    this.walker?.cancel();
    this.walker = null;
    this.opts.renderer.goal = null;
  }

  private sendInput(input: Input): void {
    const p = this.predictor;
    if (!p || !this.conn.isOpen) return;
    const seq = p.input(input);
    this.conn.send({ type: 'input', seq, input });
  }

  sendChat(text: string, scope: ChatScopeName): void {
    const t = text.trim();
    if (t) this.conn.send({ type: 'chat', text: t, scope });
  }

  // ----- loops -----

  /** Fixed-step local ticks for our own avatar (the server's rate). */
  private loop(): void {
    const now = performance.now();
    if (!this.predictor) {
      this.lastLocalTick = now;
      return;
    }
    if (now - this.lastLocalTick > this.tickMs * 20) this.lastLocalTick = now - this.tickMs; // tab was asleep
    while (now - this.lastLocalTick >= this.tickMs) {
      this.lastLocalTick += this.tickMs;
      this.localTick();
    }
  }

  private localTick(): void {
    const p = this.predictor!;
    if (this.walker) {
      const input = this.walker.inputFor(p.tick + 1);
      if (input) this.sendInput(input);
    }
    const events = p.step();
    // Snapshots only come when something changes: an input the server dropped would leave
    // us predicting forever, so check against the last known server state now and then.
    if (p.tick % 10 === 0 && p.hasLostInputs()) {
      const self = this.selfState();
      if (self) {
        p.reconcile({ pos: self.position, target: self.target, facing: self.facing, ackedSeq: this.lastInputSeq });
        this.cancelWalk();
      }
    }
    if (this.walker) {
      const ok = this.walker.observe(events);
      if (!ok) {
        const goal = this.walker.goal;
        this.walker = null;
        if (this.walkRetries++ < 3) this.planWalk(goal);
        else this.cancelWalk();
      } else if (this.walker.done && !p.state.target) {
        this.walker = null;
        this.opts.renderer.goal = null;
      }
    }
  }

  private draw(): void {
    const r = this.opts.renderer;
    r.resize();
    const now = performance.now();
    const sprites: Sprite[] = [];
    const rt = this.clock.renderTick(now);
    for (const s of this.others()) {
      const track = this.tracks.get(s.id);
      const pos = (rt !== null && track?.sample(rt)) || s.position;
      sprites.push({
        id: s.id.toString(),
        name: s.name,
        pos,
        facing: s.facing,
        avatar: s.avatar,
        near: this.near.has(s.id),
      });
    }
    const self = this.selfState();
    if (this.predictor && self) {
      const alpha = Math.min(1, Math.max(0, (now - this.lastLocalTick) / this.tickMs));
      const pos = this.predictor.renderPos(alpha);
      sprites.push({
        id: self.id.toString(),
        name: self.name,
        pos,
        facing: this.predictor.state.facing ?? self.facing,
        avatar: self.avatar,
        self: true,
      });
      r.follow(pos);
    }
    r.draw(sprites);
  }

  // ----- messages -----

  private onMessage(m: ServerMsg): void {
    switch (m.type) {
      case 'welcome':
        this.me = m.entity;
        this.spaceId = m.space;
        this.tickMs = 1000 / (m.tickRate || 20);
        // Keep drawing the old view until the new connection's first snapshot (no flicker on
        // reconnect or migration); that snapshot starts from nothing (baseline 0).
        this.freshConnection = true;
        this.needsResync = true;
        // The server replays the space's chat history after every Welcome: drop our copy of
        // space lines so a reconnect does not show them twice (nearby lines are not replayed).
        this.chat = this.chat.filter((c) => c.scope !== 'space');
        this.opts.onChange('chat');
        this.lastServerTick = m.tick;
        this.opts.onChange('status');
        break;
      case 'snapshot':
        this.onSnapshot(m);
        break;
      case 'proximity':
        for (const id of m.near) {
          this.near.add(id);
          void this.video.near(id, this.names.get(id) ?? '');
        }
        for (const id of m.far) {
          this.near.delete(id);
          this.video.far(id);
        }
        this.opts.onChange('near');
        break;
      case 'chat':
        this.chat.push({ from: m.from.toString(), fromName: m.fromName, text: m.text, scope: m.scope, time: m.time });
        if (this.chat.length > 500) this.chat.splice(0, this.chat.length - 500);
        this.opts.onChange('chat');
        break;
      case 'signal':
        void this.video.signal(m.from, m.kind, m.payload, this.names.get(m.from) ?? '').catch((e) =>
          console.warn('plaza: signalling failed', e),
        );
        break;
      case 'migrate':
        break; // the connection follows it; the next Welcome resyncs
      case 'error':
        // NOT_NEAR (5): a late signal to a peer that just went far; expected, not shown.
        if (m.code === 5) break;
        if (m.code === HANDOFF_REFUSED) {
          // The avatar stays where it was and the connection stays open: say why and stop a
          // click-walk (crossing again now would be refused again); the server state corrects
          // our prediction.
          this.notice = m.message || 'you cannot cross into that region right now';
          this.cancelWalk();
          if (this.opts.onNotice) this.opts.onNotice(this.notice);
          else this.opts.onError(this.notice);
          break;
        }
        // The connection reconnects through /route; the status line says so.
        if (m.code === REGION_MOVED || m.code === UNAVAILABLE) break;
        this.opts.onError(`${m.message} (code ${m.code})`);
        break;
      case 'pong':
        this.ping = performance.now() - m.clientTime;
        this.lastServerTick = Math.max(this.lastServerTick, m.serverTick);
        break;
    }
  }

  private onSnapshot(m: SnapshotMsg): void {
    if (this.freshConnection) {
      // Ticks of the old connection (or node) mean nothing to the new one.
      this.freshConnection = false;
      this.lastAck = -1;
      this.history.reset();
      this.clock = new ServerClock(this.tickMs, 1);
      this.tracks.clear();
    }
    let delta;
    try {
      const base = this.history.base(m.baseline);
      delta = snapshotToDelta(m.raw, m.tick, m.baseline, base);
      this.history.apply(delta);
    } catch (e) {
      // Out of sync: start over from a fresh connection (the server then sends everything).
      console.warn('plaza: cannot apply snapshot, resyncing', e);
      this.history.reset();
      this.conn.simulateDrop();
      return;
    }
    this.history.forgetBefore(m.baseline);
    this.lastInputSeq = m.lastInputSeq;
    if (this.lastAck < 0 || m.tick >= this.lastAck + ACK_INTERVAL_TICKS) {
      this.lastAck = m.tick;
      this.conn.send({ type: 'ack', tick: m.tick });
    }
    const now = performance.now();
    this.clock.observe(m.tick, now);
    this.lastServerTick = m.tick;
    this.snapLog.push(now);
    const mirror = this.history.current;
    const seen = new Set<bigint>();
    let peopleChanged = delta.enters.length > 0 || delta.leaves.length > 0;
    for (const s of mirror.slots.values()) {
      seen.add(s.id);
      let t = this.tracks.get(s.id);
      if (!t) {
        t = new Track(this.ticksPerTile);
        this.tracks.set(s.id, t);
      }
      t.push(m.tick, s.position, s.target);
      if (this.names.get(s.id) !== s.name) {
        this.names.set(s.id, s.name);
        peopleChanged = true;
      }
    }
    for (const id of [...this.tracks.keys()]) if (!seen.has(id)) this.tracks.delete(id);
    const self = this.selfState();
    if (self) {
      const server = {
        pos: self.position,
        target: self.target,
        progress: this.tracks.get(self.id)?.progress() ?? 0,
        facing: self.facing,
        ackedSeq: m.lastInputSeq,
      };
      if (!this.predictor) {
        this.predictor = new Predictor(self.position, this.ticksPerTile, (x, y) => this.isFree(x, y), m.lastInputSeq);
        this.predictor.rebase(server);
        this.predictor.corrections = 0;
        this.lastLocalTick = performance.now();
        this.needsResync = false;
      } else if (this.needsResync) {
        // New connection (reconnect or migration): keep drawing where we are unless the
        // server disagrees.
        const st = this.predictor.state;
        const same = st.pos.x === self.position.x && st.pos.y === self.position.y;
        if (!same || !this.predictor.hasUnacked()) {
          this.predictor.rebase(server);
          // Standing where we were is a resync, not a correction.
          if (same) this.predictor.corrections--;
        }
        this.needsResync = false;
      } else if (this.predictor.reconcile(server)) {
        if (this.walker) {
          const goal = this.walker.goal;
          this.walker = null;
          this.planWalk(goal);
        }
      }
    }
    if (peopleChanged) this.opts.onChange('people');
  }

  private isFree(x: number, y: number): boolean {
    if (this.opts.map.isBlocked(x, y)) return false;
    for (const s of this.others()) {
      if ((s.position.x === x && s.position.y === y) || (s.target && s.target.x === x && s.target.y === y)) return false;
    }
    return true;
  }

  // ----- views -----

  selfState(): VisibleState | undefined {
    if (this.me === null) return undefined;
    for (const s of this.history.current.slots.values()) if (s.id === this.me) return s;
    return undefined;
  }

  others(): VisibleState[] {
    const out: VisibleState[] = [];
    for (const s of this.history.current.slots.values()) if (s.id !== this.me) out.push(s);
    return out;
  }

  /** Where we are, predicted. */
  myTile(): Vec | null {
    return this.predictor ? { ...this.predictor.state.pos } : null;
  }

  stats(): DebugStats {
    const now = performance.now();
    this.byteLog = this.byteLog.filter((b) => now - b.t < 1000);
    this.snapLog = this.snapLog.filter((t) => now - t < 1000);
    return {
      ping: this.ping,
      serverTick: Math.floor(this.clock.serverTick(now) ?? this.lastServerTick),
      bytesPerSec: this.byteLog.reduce((n, b) => n + b.n, 0),
      snapshotsPerSec: this.snapLog.length,
      visible: this.history.current.slots.size,
      aoiRadius: this.opts.aoiRadius ?? null,
      corrections: this.predictor?.corrections ?? 0,
      reconnects: this.conn.reconnects,
      migrations: this.conn.migrations,
      predictedTile: this.myTile(),
    };
  }

  /** Everything a test wants to read. */
  testState() {
    const self = this.selfState();
    const now = performance.now();
    const rt = this.clock.renderTick(now);
    return {
      status: this.status,
      statusDetail: this.statusDetail,
      notice: this.notice,
      me: this.me?.toString() ?? null,
      space: this.spaceId,
      tile: this.myTile(),
      serverTile: self ? { ...self.position } : null,
      moving: !!this.predictor?.state.target,
      others: this.others().map((s) => ({
        id: s.id.toString(),
        name: s.name,
        tile: { ...s.position },
        target: s.target ? { ...s.target } : null,
        drawn: (rt !== null && this.tracks.get(s.id)?.sample(rt)) || { ...s.position },
      })),
      near: [...this.near].map((id) => id.toString()),
      chat: this.chat.map((c) => ({ ...c })),
      peers: this.video.states(),
      closedPeers: Object.fromEntries(this.video.closed),
      mediaError: this.video.mediaError,
      stats: this.stats(),
      corrections: this.predictor?.correctionLog ?? [],
    };
  }

  /** Whether a tile is free to walk on now (map and other avatars). */
  walkable(x: number, y: number): boolean {
    return this.isFree(x, y);
  }

  /** Screen position (CSS px, relative to the canvas) of a tile's centre. */
  screenOfTile(x: number, y: number): Vec {
    const r = this.opts.renderer;
    const s = r.screenOf({ x, y });
    return { x: s.x + (this.opts.map.tileWidth * r.zoom) / 2, y: s.y + (this.opts.map.tileHeight * r.zoom) / 2 };
  }
}
