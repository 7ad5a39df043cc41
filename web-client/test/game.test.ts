// The session logic of Game without a browser: messages in (as the server encodes them),
// state out. Covers joining, seeing others, reconciling our avatar, chat history replay and
// the resync after a reconnect or a Migrate (no flicker, no jump, no false correction).
import { describe, expect, it } from 'vitest';
import { Game } from '../src/game';
import { WorldMap } from '../src/map';
import { ACK_INTERVAL_TICKS, decodeServer, type ServerMsg } from '../src/protocol';
import type { Renderer } from '../src/render';
import { snapshot, welcome, type EnterSpec } from './wire';

function openMap(w = 20, h = 20): WorldMap {
  return new WorldMap(w, h, 32, 32, [], [], new Uint8Array(w * h), [{ x: 1, y: 1 }]);
}

const renderer = { goal: null } as unknown as Renderer;

function game() {
  const changes: string[] = [];
  const errors: string[] = [];
  const g = new Game({
    map: openMap(),
    renderer,
    wsUrl: 'ws://test/ws?space=s1',
    token: 't',
    videoContainer: {} as HTMLElement,
    onChange: (w) => changes.push(w),
    onError: (e) => errors.push(e),
  });
  const sent: unknown[] = [];
  // Capture what the session sends instead of using a socket.
  (g.conn as unknown as { send: (m: unknown) => boolean }).send = (m) => (sent.push(m), true);
  Object.defineProperty(g.conn, 'isOpen', { get: () => true });
  const deliver = (bytes: Uint8Array) => (g as unknown as { onMessage(m: ServerMsg): void }).onMessage(decodeServer(bytes));
  return { g, sent, deliver, changes, errors };
}

const me: EnterSpec = { slot: 0, id: 1n, x: 5, y: 5, name: 'me' };
const bob: EnterSpec = { slot: 1, id: 2n, x: 8, y: 5, name: 'bob' };

describe('Game session', () => {
  it('joins: Welcome, then the first snapshot places us and the others, and is acked', () => {
    const { g, sent, deliver } = game();
    deliver(welcome(1n, 100));
    expect(g.selfState()).toBeUndefined();
    deliver(snapshot({ tick: 101, baseline: 0, enters: [me, bob] }));
    expect(g.myTile()).toEqual({ x: 5, y: 5 });
    expect(g.others().map((o) => o.name)).toEqual(['bob']);
    expect(sent).toContainEqual({ type: 'ack', tick: 101 });
    expect(g.names.get(2n)).toBe('bob');
  });

  it('acks once every ACK_INTERVAL_TICKS ticks (acks are flow control only)', () => {
    const { sent, deliver } = game();
    deliver(welcome(1n, 100));
    deliver(snapshot({ tick: 101, baseline: 0, enters: [me] }));
    // Each snapshot is relative to the one before it.
    for (let tick = 102; tick <= 125; tick++) {
      deliver(snapshot({ tick, baseline: tick - 1, updates: [{ slot: 0, mask: 8, facing: 1 + (tick % 4) }] }));
    }
    const acks = sent.filter((m) => (m as { type: string }).type === 'ack');
    expect(acks).toEqual([
      { type: 'ack', tick: 101 },
      { type: 'ack', tick: 101 + ACK_INTERVAL_TICKS },
      { type: 'ack', tick: 101 + 2 * ACK_INTERVAL_TICKS },
    ]);
  });

  it('sends our input with a seq and matches the server echo without a correction', () => {
    const { g, sent, deliver } = game();
    deliver(welcome(1n, 100));
    deliver(snapshot({ tick: 101, baseline: 0, enters: [me] }));
    g.keyDown('ArrowRight', false);
    expect(sent).toContainEqual({ type: 'input', seq: 1, input: { kind: 'move', dir: 1 } });
    const p = (g as unknown as { predictor: { step(): unknown; corrections: number } }).predictor;
    p.step(); // local tick: the move starts
    // The server applied seq 1 and started the same move.
    deliver(snapshot({ tick: 102, baseline: 101, seq: 1, updates: [{ slot: 0, mask: 2 | 4 | 8, tx: 6, ty: 5, facing: 2 }] }));
    expect(p.corrections).toBe(0);
    expect(g.testState().moving).toBe(true);
  });

  it('click-to-walk on another avatar walks up next to them', () => {
    const { g, deliver } = game();
    deliver(welcome(1n, 100));
    deliver(snapshot({ tick: 101, baseline: 0, enters: [me, bob] }));
    expect(g.walkTo({ x: 8, y: 5 })).toBe(2); // (5,5) -> (7,5)
    expect(renderer.goal).toEqual({ x: 7, y: 5 });
    expect(g.walkTo({ x: 0, y: 0 })).toBe(10);
  });

  it('replays chat history once per Welcome (no duplicates after a reconnect)', () => {
    const { g, deliver } = game();
    const chat = (text: string, scope: 'space' | 'nearby') =>
      (g as unknown as { onMessage(m: ServerMsg): void }).onMessage({ type: 'chat', from: 0n, fromName: 'x', text, scope, time: 0 });
    deliver(welcome(1n));
    chat('old', 'space');
    chat('psst', 'nearby');
    deliver(welcome(1n)); // reconnect: the server replays the space history
    chat('old', 'space');
    expect(g.chat.map((c) => c.text)).toEqual(['psst', 'old']);
  });

  it('after a Migrate/reconnect keeps showing the old view until the new first snapshot, then resyncs without a correction', () => {
    const { g, deliver } = game();
    deliver(welcome(1n, 100));
    deliver(snapshot({ tick: 101, baseline: 0, enters: [me, bob] }));
    deliver(snapshot({ tick: 102, baseline: 101, updates: [{ slot: 0, mask: 1, x: 6, y: 5 }] }));
    expect(g.myTile()).toEqual({ x: 6, y: 5 }); // moved by the server: one correction
    const before = g.stats().corrections;
    // The new node welcomes us; its ticks are unrelated to the old node's.
    deliver(welcome(1n, 7));
    expect(g.selfState()?.position).toEqual({ x: 6, y: 5 }); // still drawn
    expect(g.others().length).toBe(1);
    // Its first snapshot is from nothing, with other slots.
    deliver(snapshot({ tick: 8, baseline: 0, enters: [{ ...me, slot: 3, x: 6 }, { ...bob, slot: 0 }] }));
    expect(g.myTile()).toEqual({ x: 6, y: 5 });
    expect(g.others().map((o) => o.name)).toEqual(['bob']);
    expect(g.stats().corrections).toBe(before);
    // And deltas relative to the new ticks apply.
    deliver(snapshot({ tick: 9, baseline: 8, updates: [{ slot: 0, mask: 1, x: 9, y: 5 }] }));
    expect(g.others()[0].position).toEqual({ x: 9, y: 5 });
  });
});
