import { describe, expect, it } from 'vitest';
import { Predictor, type FreeFn } from '../src/predict';
import { PathWalker } from '../src/walker';
import { findPath, pathDirections } from '../src/pathfind';
import { EAST, NORTH, SOUTH, WEST, type Input, type Vec } from '../src/types';

const TPT = 4;
const open: FreeFn = (x, y) => x >= 0 && y >= 0 && x < 20 && y < 20;

/**
 * A client predictor against a "server" running the same movement rules (a second Predictor
 * used only as a simulation), with per-message latency in ticks. Messages keep their order
 * (TCP); `latency(i)` gives the delay of the i-th message.
 */
class Link {
  server: Predictor;
  client: Predictor;
  tick = 0;
  private toServer: { at: number; seq: number; input: Input }[] = [];
  private toClient: { at: number; pos: Vec; target: Vec | null; progress: number; ackedSeq: number }[] = [];
  private lastUp = 0;
  private lastDown = 0;
  private n = 0;

  constructor(
    start: Vec,
    serverFree: FreeFn,
    clientFree: FreeFn,
    private latency: (i: number) => number = () => 2,
  ) {
    this.server = new Predictor(start, TPT, serverFree);
    this.client = new Predictor(start, TPT, clientFree);
  }

  /** The client makes an input now (applied at its next tick, sent at once). */
  send(input: Input): void {
    const seq = this.client.input(input);
    this.lastUp = Math.max(this.lastUp, this.tick + this.latency(this.n++));
    this.toServer.push({ at: this.lastUp, seq, input });
  }

  step(): void {
    this.tick++;
    // Server tick: apply the inputs that arrived, step, snapshot.
    while (this.toServer.length && this.toServer[0].at <= this.tick) {
      const m = this.toServer.shift()!;
      // The server sim takes the client's seq as is.
      (this.server as unknown as { queued: { seq: number; input: Input }[] }).queued.push({ seq: m.seq, input: m.input });
    }
    this.server.step();
    const s = this.server.state;
    this.lastDown = Math.max(this.lastDown, this.tick + this.latency(this.n++));
    this.toClient.push({
      at: this.lastDown,
      pos: { ...s.pos },
      target: s.target ? { ...s.target } : null,
      progress: s.progress,
      ackedSeq: s.lastSeq,
    });
    // Client tick, then the snapshots that arrived.
    const events = this.client.step();
    while (this.toClient.length && this.toClient[0].at <= this.tick) {
      this.client.reconcile(this.toClient.shift()!);
    }
    this.lastEvents = events;
  }

  lastEvents: ReturnType<Predictor['step']> = [];

  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.step();
  }
}

describe('Predictor', () => {
  it('moves at once, one tile per ticksPerTile ticks, and chains while held', () => {
    const p = new Predictor({ x: 5, y: 5 }, TPT, open);
    p.input({ kind: 'move', dir: EAST });
    const e = p.step();
    expect(e).toEqual([{ kind: 'started', from: { x: 5, y: 5 }, to: { x: 6, y: 5 }, dir: EAST, tick: 1 }]);
    expect(p.renderPos(0.5)).toEqual({ x: 5.125, y: 5 });
    for (let i = 0; i < 4; i++) p.step();
    expect(p.state.pos).toEqual({ x: 6, y: 5 });
    expect(p.state.target).toEqual({ x: 7, y: 5 }); // held: chained
    p.input({ kind: 'stop' });
    for (let i = 0; i < 8; i++) p.step();
    expect(p.state.pos).toEqual({ x: 7, y: 5 });
    expect(p.state.target).toBeNull();
  });

  it('is rejected by walls, turning to face them and dropping the held direction', () => {
    const p = new Predictor({ x: 0, y: 0 }, TPT, open);
    p.input({ kind: 'move', dir: WEST });
    expect(p.step()).toEqual([{ kind: 'rejected', at: { x: 0, y: 0 }, dir: WEST, tick: 1 }]);
    expect(p.state.facing).toBe(WEST);
    expect(p.state.held).toBeNull();
  });

  it('never corrects on a good link (constant latency)', () => {
    const link = new Link({ x: 5, y: 5 }, open, open, () => 3);
    const script: [number, Input][] = [
      [1, { kind: 'move', dir: EAST }],
      [10, { kind: 'move', dir: SOUTH }],
      [19, { kind: 'stop' }],
      [30, { kind: 'move', dir: WEST }],
      [31, { kind: 'stop' }],
      [40, { kind: 'move', dir: NORTH }],
      [41, { kind: 'move', dir: EAST }],
      [55, { kind: 'stop' }],
    ];
    for (let t = 0; t < 80; t++) {
      for (const [at, input] of script) if (at === t) link.send(input);
      link.step();
    }
    expect(link.client.corrections).toBe(0);
    expect(link.client.state.pos).toEqual(link.server.state.pos);
    expect(link.client.state.target).toBeNull();
  });

  it('corrects onto the server when it blocks a move the client thought free', () => {
    // The server has an avatar on (7,5) that the client does not know about.
    const serverFree: FreeFn = (x, y) => open(x, y) && !(x === 7 && y === 5);
    const link = new Link({ x: 5, y: 5 }, serverFree, open, () => 2);
    link.send({ kind: 'move', dir: EAST });
    link.run(14);
    link.send({ kind: 'stop' });
    link.run(30);
    expect(link.server.state.pos).toEqual({ x: 6, y: 5 });
    expect(link.client.corrections).toBeGreaterThan(0);
    expect(link.client.state.pos).toEqual({ x: 6, y: 5 });
    expect(link.client.state.target).toBeNull();
  });

  it('converges to the server position under jitter', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 30; trial++) {
      const link = new Link({ x: 10, y: 10 }, open, open, () => 1 + Math.floor(rnd() * 4));
      const dirs = [NORTH, EAST, SOUTH, WEST] as const;
      for (let t = 0; t < 60; t++) {
        if (rnd() < 0.15) link.send(rnd() < 0.3 ? { kind: 'stop' } : { kind: 'move', dir: dirs[Math.floor(rnd() * 4)] });
        link.step();
      }
      link.send({ kind: 'stop' });
      link.run(40);
      expect(link.client.state.pos).toEqual(link.server.state.pos);
      expect(link.client.state.target).toBeNull();
    }
  });

  it('gives up on an input the server never applied and follows the server', () => {
    const p = new Predictor({ x: 5, y: 5 }, TPT, open);
    p.input({ kind: 'move', dir: EAST });
    for (let i = 0; i < 10; i++) p.step();
    // The server never got seq 1: it reports us standing with ack 0.
    expect(p.reconcile({ pos: { x: 5, y: 5 }, target: null, ackedSeq: 0 })).toBe(false);
    for (let i = 0; i < 40; i++) p.step();
    expect(p.reconcile({ pos: { x: 5, y: 5 }, target: null, ackedSeq: 0 })).toBe(true);
    expect(p.state.pos).toEqual({ x: 5, y: 5 });
    expect(p.state.held).toBeNull();
  });

  it('rebases immediately when the server moves us (teleport / join)', () => {
    const p = new Predictor({ x: 1, y: 1 }, TPT, open);
    expect(p.reconcile({ pos: { x: 9, y: 9 }, target: null, ackedSeq: 0 })).toBe(true);
    expect(p.state.pos).toEqual({ x: 9, y: 9 });
    expect(p.reconcile({ pos: { x: 9, y: 9 }, target: null, ackedSeq: 0 })).toBe(false);
  });
});

describe('PathWalker', () => {
  function walk(latency: (i: number) => number, goal: Vec) {
    const start = { x: 2, y: 2 };
    const link = new Link(start, open, open, latency);
    const path = findPath({ width: 20, height: 20, isBlocked: (x, y) => !open(x, y) || (x === 5 && y < 6) }, start, goal)!;
    const walker = new PathWalker(pathDirections(start, path), goal, TPT);
    for (let t = 0; t < 200 && !(walker.done && !link.server.state.target && t > 5); t++) {
      const input = walker.inputFor(link.client.tick + 1);
      if (input) link.send(input);
      link.step();
      expect(walker.observe(link.lastEvents)).toBe(true);
    }
    link.run(20);
    return link;
  }

  it('walks a path with turns and stops on the goal, on the client and the server', () => {
    const link = walk(() => 2, { x: 8, y: 3 });
    expect(link.client.state.pos).toEqual({ x: 8, y: 3 });
    expect(link.server.state.pos).toEqual({ x: 8, y: 3 });
    expect(link.client.corrections).toBe(0);
  });

  it('lands every turn on the server under ±1 tick of jitter', () => {
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 20; trial++) {
      const link = walk(() => 2 + Math.floor(rnd() * 2), { x: 9, y: 1 });
      expect(link.server.state.pos).toEqual({ x: 9, y: 1 });
      expect(link.client.state.pos).toEqual({ x: 9, y: 1 });
    }
  });

  it('takes a new path while walking: the first Move chains at the end of the current step', () => {
    const p = new Predictor({ x: 2, y: 2 }, TPT, open);
    p.input({ kind: 'move', dir: EAST });
    p.step();
    p.step(); // under way to (3,2), held east
    const w = new PathWalker([SOUTH, SOUTH], { x: 3, y: 4 }, TPT);
    for (let t = 0; t < 30; t++) {
      const i = w.inputFor(p.tick + 1);
      if (i) p.input(i);
      expect(w.observe(p.step())).toBe(true);
    }
    expect(p.state.pos).toEqual({ x: 3, y: 4 });
    expect(p.state.target).toBeNull();
  });

  it('walks three tiles right with one Move and one Stop', () => {
    const w = new PathWalker([EAST, EAST, EAST], { x: 5, y: 0 }, TPT);
    const p = new Predictor({ x: 2, y: 0 }, TPT, open);
    const sent: Input[] = [];
    for (let t = 0; t < 30; t++) {
      const i = w.inputFor(p.tick + 1);
      if (i) {
        sent.push(i);
        p.input(i);
      }
      w.observe(p.step());
    }
    expect(sent).toEqual([{ kind: 'move', dir: EAST }, { kind: 'stop' }]);
    expect(p.state.pos).toEqual({ x: 5, y: 0 });
    expect(w.done).toBe(true);
  });
});
