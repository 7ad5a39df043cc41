// Test helper: server messages built with the generated FlatBuffers code, laid out the way
// the Rust encoder lays them out.
import * as flatbuffers from 'flatbuffers';
import { EnterState } from '../src/generated/plaza/server/enter-state.js';
import { FullUpdate } from '../src/generated/plaza/server/full-update.js';
import { ServerBody } from '../src/generated/plaza/server/server-body.js';
import { ServerMessage } from '../src/generated/plaza/server/server-message.js';
import { Snapshot } from '../src/generated/plaza/server/snapshot.js';
import { Step } from '../src/generated/plaza/server/step.js';
import { Welcome } from '../src/generated/plaza/server/welcome.js';
import { PROTOCOL_VERSION } from '../src/protocol';

export interface EnterSpec {
  slot: number;
  id: bigint;
  x: number;
  y: number;
  target?: [number, number];
  facing?: number;
  avatar?: number;
  name: string;
}

/** Builds a server Snapshot message the way the Rust encoder lays it out. */
export function snapshot(opts: {
  tick: number;
  baseline: number;
  seq?: number;
  leaves?: number[];
  enters?: EnterSpec[];
  steps?: [number, number][];
  updates?: { slot: number; mask: number; x?: number; y?: number; tx?: number; ty?: number; facing?: number }[];
}): Uint8Array {
  const b = new flatbuffers.Builder(256);
  const enters = opts.enters ?? [];
  const names = Snapshot.createNamesVector(b, enters.map((e) => b.createString(e.name)));
  Snapshot.startEntersVector(b, enters.length);
  for (const e of [...enters].reverse()) {
    EnterState.createEnterState(b, e.id, e.x, e.y, e.target?.[0] ?? 0, e.target?.[1] ?? 0, e.slot, e.avatar ?? 0, e.facing ?? 0, e.target ? 1 : 0);
  }
  const entersVec = b.endVector();
  const steps = opts.steps ?? [];
  Snapshot.startStepsVector(b, steps.length);
  for (const [slot, code] of [...steps].reverse()) Step.createStep(b, slot, code);
  const stepsVec = b.endVector();
  const updates = opts.updates ?? [];
  Snapshot.startUpdatesVector(b, updates.length);
  for (const u of [...updates].reverse()) {
    FullUpdate.createFullUpdate(b, u.x ?? 0, u.y ?? 0, u.tx ?? 0, u.ty ?? 0, u.slot, u.mask, u.facing ?? 0);
  }
  const updatesVec = b.endVector();
  const leaves = Snapshot.createLeavesVector(b, opts.leaves ?? []);
  Snapshot.startSnapshot(b);
  Snapshot.addTick(b, BigInt(opts.tick));
  Snapshot.addLastInputSeq(b, opts.seq ?? 0);
  Snapshot.addBaseline(b, BigInt(opts.baseline));
  Snapshot.addSteps(b, stepsVec);
  Snapshot.addUpdates(b, updatesVec);
  Snapshot.addLeaves(b, leaves);
  Snapshot.addEnters(b, entersVec);
  Snapshot.addNames(b, names);
  const s = Snapshot.endSnapshot(b);
  b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, ServerBody.Snapshot, s));
  return b.asUint8Array();
}

export function welcome(entity: bigint, tick = 0): Uint8Array {
  const b = new flatbuffers.Builder(64);
  const sp = b.createString('s1');
  const mp = b.createString('office');
  Welcome.startWelcome(b);
  Welcome.addEntity(b, entity);
  Welcome.addTickRate(b, 20);
  Welcome.addTick(b, BigInt(tick));
  Welcome.addSpace(b, sp);
  Welcome.addMap(b, mp);
  const w = Welcome.endWelcome(b);
  b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, ServerBody.Welcome, w));
  return b.asUint8Array();
}
