import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { Dir as WireDir } from '../src/generated/plaza/dir.js';
import { ServerBody } from '../src/generated/plaza/server/server-body.js';
import { ServerMessage } from '../src/generated/plaza/server/server-message.js';
import { Proximity } from '../src/generated/plaza/server/proximity.js';
import { Mirror, MirrorError, MirrorHistory } from '../src/mirror';
import { snapshot, type EnterSpec } from './wire';
import {
  decodeClient,
  decodeServer,
  encodeClient,
  ProtocolError,
  PROTOCOL_VERSION,
  snapshotToDelta,
  type ClientMsg,
  type SnapshotMsg,
} from '../src/protocol';
import { EAST, NORTH, SOUTH, WEST } from '../src/types';

const code = (pos: number, target: number, facing: number) => pos + 6 * target + 36 * facing;

function apply(history: MirrorHistory, bytes: Uint8Array) {
  const m = decodeServer(bytes) as SnapshotMsg;
  expect(m.type).toBe('snapshot');
  const delta = snapshotToDelta(m.raw, m.tick, m.baseline, history.base(m.baseline));
  return history.apply(delta);
}

describe('client messages', () => {
  it('round-trip through the generated FlatBuffers code with the protocol version', () => {
    const msgs: ClientMsg[] = [
      { type: 'hello', token: 'jwt.abc' },
      { type: 'input', seq: 7, input: { kind: 'move', dir: WEST } },
      { type: 'input', seq: 8, input: { kind: 'stop' } },
      { type: 'ack', tick: 123456 },
      { type: 'chat', text: 'héllo', scope: 'nearby' },
      { type: 'signal', to: 42n, kind: 'ice', payload: '{"candidate":"x"}' },
      { type: 'ping', clientTime: 1234.5 },
    ];
    for (const m of msgs) expect(decodeClient(encodeClient(m))).toEqual({ ...m, version: PROTOCOL_VERSION });
  });

  it('encodes directions as the sim code + 1 and stop as None', async () => {
    const { ClientMessage } = await import('../src/generated/plaza/client/client-message.js');
    const { Input } = await import('../src/generated/plaza/client/input.js');
    const dirOf = (bytes: Uint8Array) =>
      (ClientMessage.getRootAsClientMessage(new flatbuffers.ByteBuffer(bytes)).body(new Input()) as InstanceType<typeof Input>).direction();
    expect(dirOf(encodeClient({ type: 'input', seq: 1, input: { kind: 'move', dir: NORTH } }))).toBe(WireDir.North);
    expect(dirOf(encodeClient({ type: 'input', seq: 1, input: { kind: 'move', dir: WEST } }))).toBe(WireDir.West);
    expect(dirOf(encodeClient({ type: 'input', seq: 1, input: { kind: 'stop' } }))).toBe(WireDir.None);
  });
});

describe('server messages', () => {
  it('rejects garbage and wrong versions with a ProtocolError', () => {
    expect(() => decodeServer(new Uint8Array([1, 2, 3]))).toThrow(ProtocolError);
    const b = new flatbuffers.Builder(64);
    const p = Proximity.createProximity(b, Proximity.createNearVector(b, [5n]), Proximity.createFarVector(b, []));
    b.finish(ServerMessage.createServerMessage(b, 99, ServerBody.Proximity, p));
    expect(() => decodeServer(b.asUint8Array())).toThrow(/version 99/);
  });

  it('decodes proximity', () => {
    const b = new flatbuffers.Builder(64);
    const p = Proximity.createProximity(b, Proximity.createNearVector(b, [5n, 9n]), Proximity.createFarVector(b, [3n]));
    b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, ServerBody.Proximity, p));
    expect(decodeServer(b.asUint8Array())).toEqual({ type: 'proximity', near: [5n, 9n], far: [3n] });
  });
});

describe('snapshot application', () => {
  const ada: EnterSpec = { slot: 0, id: 10n, x: 5, y: 5, facing: WireDir.South, avatar: 2, name: 'ada' };
  const bob: EnterSpec = { slot: 1, id: 11n, x: 8, y: 5, target: [9, 5], facing: WireDir.East, name: 'bob' };

  it('applies enters with names, targets and facings', () => {
    const h = new MirrorHistory();
    const m = apply(h, snapshot({ tick: 1, baseline: 0, enters: [ada, bob] }));
    expect(m.tick).toBe(1);
    expect(m.slots.get(0)).toEqual({ id: 10n, position: { x: 5, y: 5 }, target: null, facing: SOUTH, avatar: 2, name: 'ada' });
    expect(m.slots.get(1)).toEqual({ id: 11n, position: { x: 8, y: 5 }, target: { x: 9, y: 5 }, facing: EAST, avatar: 0, name: 'bob' });
  });

  it('applies step codes relative to the current position', () => {
    const h = new MirrorHistory();
    apply(h, snapshot({ tick: 1, baseline: 0, enters: [ada, bob] }));
    // ada starts moving east (target east of pos, facing east); bob arrives east and stops.
    const m = apply(h, snapshot({ tick: 2, baseline: 1, steps: [[0, code(0, 3, 3)], [1, code(3, 1, 0)]] }));
    expect(m.slots.get(0)).toMatchObject({ position: { x: 5, y: 5 }, target: { x: 6, y: 5 }, facing: EAST });
    expect(m.slots.get(1)).toMatchObject({ position: { x: 9, y: 5 }, target: null, facing: EAST });
    // pos moves north and the new target is north of the *new* position; facing none.
    const m2 = apply(h, snapshot({ tick: 3, baseline: 2, steps: [[0, code(2, 2, 1)]] }));
    expect(m2.slots.get(0)).toMatchObject({ position: { x: 5, y: 4 }, target: { x: 5, y: 3 }, facing: null });
  });

  it('applies full updates (absolute, any slot) and leaves', () => {
    const h = new MirrorHistory();
    apply(h, snapshot({ tick: 1, baseline: 0, enters: [ada, bob] }));
    const m = apply(
      h,
      snapshot({ tick: 2, baseline: 1, leaves: [1], updates: [{ slot: 0, mask: 1 | 2 | 4 | 8, x: 20, y: 21, tx: 20, ty: 22, facing: WireDir.South }] }),
    );
    expect([...m.slots.keys()]).toEqual([0]);
    expect(m.slots.get(0)).toMatchObject({ position: { x: 20, y: 21 }, target: { x: 20, y: 22 }, facing: SOUTH });
    const m2 = apply(h, snapshot({ tick: 3, baseline: 2, updates: [{ slot: 0, mask: 2 }] }));
    expect(m2.slots.get(0)!.target).toBeNull();
  });

  it('reuses a slot freed in the same snapshot (leaves before enters)', () => {
    const h = new MirrorHistory();
    apply(h, snapshot({ tick: 1, baseline: 0, enters: [ada, bob] }));
    const carol: EnterSpec = { slot: 1, id: 12n, x: 1, y: 1, name: 'carol' };
    const m = apply(h, snapshot({ tick: 2, baseline: 1, leaves: [1], enters: [carol], steps: [[1, code(4, 0, 0)]] }));
    expect(m.slots.get(1)).toMatchObject({ id: 12n, name: 'carol', position: { x: 1, y: 2 } });
    expect(m.byId().has(11n)).toBe(false);
  });

  it('applies a delta to its baseline, not to the newest state (unacknowledged ticks)', () => {
    const h = new MirrorHistory();
    apply(h, snapshot({ tick: 1, baseline: 0, enters: [ada] }));
    // Tick 2 is relative to 1; tick 3 is relative to 1 as well (the server has not seen our ack of 2).
    apply(h, snapshot({ tick: 2, baseline: 1, steps: [[0, code(3, 0, 0)]] }));
    const m = apply(h, snapshot({ tick: 3, baseline: 1, steps: [[0, code(3, 3, 0)]] }));
    expect(m.slots.get(0)).toMatchObject({ position: { x: 6, y: 5 }, target: { x: 7, y: 5 } });
    expect(h.current.tick).toBe(3);
  });

  it('refuses deltas that do not fit, changing nothing', () => {
    const h = new MirrorHistory();
    apply(h, snapshot({ tick: 1, baseline: 0, enters: [ada] }));
    expect(() => apply(h, snapshot({ tick: 2, baseline: 1, enters: [{ ...bob, slot: 0 }] }))).toThrow(MirrorError);
    expect(() => apply(h, snapshot({ tick: 2, baseline: 1, leaves: [3] }))).toThrow(MirrorError);
    expect(() => apply(h, snapshot({ tick: 2, baseline: 1, steps: [[5, 2]] }))).toThrow(ProtocolError);
    expect(() => apply(h, snapshot({ tick: 2, baseline: 7 }))).toThrow(/baseline tick 7/);
    expect(h.current.tick).toBe(1);
    expect(h.current.slots.size).toBe(1);
  });

  it('mirror errors leave the mirror unchanged', () => {
    const m = new Mirror();
    m.apply({ tick: 1, baseline: 0, enters: [{ slot: 0, state: { id: 1n, position: { x: 0, y: 0 }, target: null, facing: null, avatar: 0, name: 'a' } }], updates: [], leaves: [] });
    expect(() => m.apply({ tick: 2, baseline: 1, enters: [], updates: [{ slot: 4, position: { x: 1, y: 1 } }], leaves: [] })).toThrow(MirrorError);
    expect(m.tick).toBe(1);
  });
});
