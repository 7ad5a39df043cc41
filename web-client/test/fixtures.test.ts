// Snapshot application against fixtures written by the Rust encoder (schema/tests/wire.rs,
// `cargo test -p schema`): the same bytes the server sends, decoded with the generated
// TypeScript, applied to a MirrorHistory, must give the deltas and mirrors the Rust side
// computed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MirrorHistory, type Mirror } from '../src/mirror';
import { decodeServer, snapshotToDelta, type SnapshotMsg } from '../src/protocol';
import type { Delta, VisibleState } from '../src/types';

const dir = new URL('./fixtures/', import.meta.url);
const bin = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const json = (name: string) => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));

interface JsonState {
  id: string;
  name: string;
  avatar: number;
  facing: number | null;
  position: { x: number; y: number };
  target: { x: number; y: number } | null;
}

interface Frame {
  file: string;
  bytes: number;
  last_input_seq: number;
  delta: {
    tick: number;
    baseline: number;
    enters: { slot: number; state: JsonState }[];
    updates: { slot: number; position?: { x: number; y: number }; target?: { x: number; y: number } | null; facing?: number | null }[];
    leaves: { slot: number }[];
  };
  mirror: { slot: number; state: JsonState }[];
}

function stateJson(s: VisibleState): JsonState {
  return { id: s.id.toString(), name: s.name, avatar: s.avatar, facing: s.facing, position: s.position, target: s.target };
}

function deltaJson(d: Delta): Frame['delta'] {
  return {
    tick: d.tick,
    baseline: d.baseline,
    enters: d.enters.map((e) => ({ slot: e.slot, state: stateJson(e.state) })),
    updates: d.updates.map((u) => {
      const o: Frame['delta']['updates'][number] = { slot: u.slot };
      if (u.position !== undefined) o.position = u.position;
      if (u.target !== undefined) o.target = u.target;
      if (u.facing !== undefined) o.facing = u.facing;
      return o;
    }),
    leaves: d.leaves.map((l) => ({ slot: l.slot })),
  };
}

function mirrorJson(m: Mirror): Frame['mirror'] {
  return [...m.slots.entries()].sort(([a], [b]) => a - b).map(([slot, s]) => ({ slot, state: stateJson(s) }));
}

const bySlot = <T extends { slot: number }>(xs: T[]) => [...xs].sort((a, b) => a.slot - b.slot);

describe('Rust-encoded snapshot stream', () => {
  const stream = json('stream.json') as { frames: Frame[] };

  it('has frames to check', () => {
    expect(stream.frames.length).toBeGreaterThan(10);
  });

  it('decodes every snapshot to the delta the Rust side encoded and rebuilds its mirrors', () => {
    const history = new MirrorHistory();
    let steps = 0;
    let fulls = 0;
    for (const f of stream.frames) {
      const bytes = bin(f.file);
      expect(bytes.length, f.file).toBe(f.bytes);
      const msg = decodeServer(bytes) as SnapshotMsg;
      expect(msg.type, f.file).toBe('snapshot');
      expect(msg.tick, f.file).toBe(f.delta.tick);
      expect(msg.baseline, f.file).toBe(f.delta.baseline);
      expect(msg.lastInputSeq, f.file).toBe(f.last_input_seq);
      steps += msg.raw.stepsLength();
      fulls += msg.raw.updatesLength();
      const delta = snapshotToDelta(msg.raw, msg.tick, msg.baseline, history.base(msg.baseline));
      const got = deltaJson(delta);
      expect({ ...got, enters: bySlot(got.enters), updates: bySlot(got.updates), leaves: bySlot(got.leaves) }, f.file).toEqual({
        ...f.delta,
        enters: bySlot(f.delta.enters),
        updates: bySlot(f.delta.updates),
        leaves: bySlot(f.delta.leaves),
      });
      const mirror = history.apply(delta);
      history.forgetBefore(msg.baseline);
      expect(mirrorJson(mirror), f.file).toEqual(bySlot(f.mirror));
    }
    // The stream exercises both update encodings.
    expect(steps).toBeGreaterThan(0);
    expect(fulls).toBeGreaterThan(0);
  });
});

describe('Rust-encoded messages', () => {
  const expected = json('messages.json');

  it('welcome', () => {
    const w = expected.welcome;
    expect(decodeServer(bin('welcome.bin'))).toEqual({
      type: 'welcome',
      entity: BigInt(w.entity),
      slot: w.slot,
      tickRate: w.tick_rate,
      tick: w.tick,
      space: w.space,
      map: w.map,
      region: w.region,
    });
  });

  it('chat', () => {
    const c = expected.chat;
    expect(decodeServer(bin('chat.bin'))).toEqual({
      type: 'chat',
      from: BigInt(c.from),
      fromName: c.from_name,
      text: c.text,
      scope: c.scope,
      time: Number(c.time),
    });
  });

  it('proximity', () => {
    const p = expected.proximity;
    expect(decodeServer(bin('proximity.bin'))).toEqual({ type: 'proximity', near: p.near.map(BigInt), far: p.far.map(BigInt) });
  });

  it('error and pong', () => {
    expect(decodeServer(bin('error.bin'))).toEqual({ type: 'error', code: expected.error.code, message: expected.error.message });
    expect(decodeServer(bin('pong.bin'))).toEqual({ type: 'pong', clientTime: expected.pong.client_time, serverTick: expected.pong.server_tick });
  });
});
