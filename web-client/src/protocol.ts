// The wire protocol: FlatBuffers messages (generated code in ./generated, from schema/fbs)
// encoded from and decoded to the plain objects the rest of the client uses.

import * as flatbuffers from 'flatbuffers';
import { ChatScope } from './generated/plaza/chat-scope.js';
import { Dir as WireDir } from './generated/plaza/dir.js';
import { SignalKind } from './generated/plaza/signal-kind.js';
import { Ack } from './generated/plaza/client/ack.js';
import { Chat as ClientChat } from './generated/plaza/client/chat.js';
import { ClientBody } from './generated/plaza/client/client-body.js';
import { ClientMessage } from './generated/plaza/client/client-message.js';
import { Hello } from './generated/plaza/client/hello.js';
import { Input as WireInput } from './generated/plaza/client/input.js';
import { Ping } from './generated/plaza/client/ping.js';
import { Signal as ClientSignal } from './generated/plaza/client/signal.js';
import { Chat as ServerChat } from './generated/plaza/server/chat.js';
import { Error as ServerError } from './generated/plaza/server/error.js';
import { Migrate } from './generated/plaza/server/migrate.js';
import { Pong } from './generated/plaza/server/pong.js';
import { Proximity } from './generated/plaza/server/proximity.js';
import { ServerBody } from './generated/plaza/server/server-body.js';
import { ServerMessage } from './generated/plaza/server/server-message.js';
import { Signal as ServerSignal } from './generated/plaza/server/signal.js';
import { Snapshot } from './generated/plaza/server/snapshot.js';
import { Welcome } from './generated/plaza/server/welcome.js';
import type { Delta, Dir, Input, Vec, VisibleState } from './types';
import { offset } from './types';
import type { Mirror } from './mirror';

/** Protocol version written in every root message and in Hello. */
export const PROTOCOL_VERSION = 1;
/**
 * A client acks a snapshot on receipt when it is the connection's first or its tick is at
 * least this many ticks past the last ack (schema's `ACK_INTERVAL_TICKS`; no timer needed).
 * Acks are flow control only: each snapshot is relative to the one sent before it.
 */
export const ACK_INTERVAL_TICKS = 10;

export type ChatScopeName = 'space' | 'nearby';
export type SignalKindName = 'offer' | 'answer' | 'ice' | 'hangup';

const SIGNAL_KINDS: SignalKindName[] = ['offer', 'answer', 'ice', 'hangup'];

/** Wire direction (0 = none, else sim code + 1) → client Dir. */
export function fromWireDir(d: number): Dir | null {
  return d >= 1 && d <= 4 ? ((d - 1) as Dir) : null;
}

export function toWireDir(d: Dir | null): WireDir {
  return d === null ? WireDir.None : ((d + 1) as WireDir);
}

// ----- client → server -----

export type ClientMsg =
  | { type: 'hello'; token: string }
  | { type: 'input'; seq: number; input: Input }
  | { type: 'ack'; tick: number }
  | { type: 'chat'; text: string; scope: ChatScopeName }
  | { type: 'signal'; to: bigint; kind: SignalKindName; payload: string }
  | { type: 'ping'; clientTime: number };

export function encodeClient(msg: ClientMsg): Uint8Array {
  const b = new flatbuffers.Builder(64);
  let bodyType: ClientBody;
  let body: flatbuffers.Offset;
  switch (msg.type) {
    case 'hello':
      body = Hello.createHello(b, b.createString(msg.token), PROTOCOL_VERSION);
      bodyType = ClientBody.Hello;
      break;
    case 'input':
      body = WireInput.createInput(b, msg.seq, msg.input.kind === 'move' ? toWireDir(msg.input.dir) : WireDir.None);
      bodyType = ClientBody.Input;
      break;
    case 'ack':
      body = Ack.createAck(b, BigInt(msg.tick));
      bodyType = ClientBody.Ack;
      break;
    case 'chat':
      body = ClientChat.createChat(
        b,
        b.createString(msg.text),
        msg.scope === 'nearby' ? ChatScope.Nearby : ChatScope.Space,
      );
      bodyType = ClientBody.Chat;
      break;
    case 'signal':
      body = ClientSignal.createSignal(
        b,
        msg.to,
        SIGNAL_KINDS.indexOf(msg.kind) as SignalKind,
        b.createString(msg.payload),
      );
      bodyType = ClientBody.Signal;
      break;
    case 'ping':
      body = Ping.createPing(b, msg.clientTime);
      bodyType = ClientBody.Ping;
      break;
  }
  const root = ClientMessage.createClientMessage(b, PROTOCOL_VERSION, bodyType, body);
  b.finish(root);
  return b.asUint8Array();
}

/** Decodes a client message (used by tests to check what we send). */
export function decodeClient(bytes: Uint8Array): ClientMsg & { version: number } {
  const m = ClientMessage.getRootAsClientMessage(new flatbuffers.ByteBuffer(bytes));
  const version = m.version();
  switch (m.bodyType()) {
    case ClientBody.Hello: {
      const h = m.body(new Hello()) as Hello;
      return { version, type: 'hello', token: h.token() ?? '' };
    }
    case ClientBody.Input: {
      const i = m.body(new WireInput()) as WireInput;
      const dir = fromWireDir(i.direction());
      return { version, type: 'input', seq: i.seq(), input: dir === null ? { kind: 'stop' } : { kind: 'move', dir } };
    }
    case ClientBody.Ack:
      return { version, type: 'ack', tick: Number((m.body(new Ack()) as Ack).tick()) };
    case ClientBody.Chat: {
      const c = m.body(new ClientChat()) as ClientChat;
      return { version, type: 'chat', text: c.text() ?? '', scope: c.scope() === ChatScope.Nearby ? 'nearby' : 'space' };
    }
    case ClientBody.Signal: {
      const s = m.body(new ClientSignal()) as ClientSignal;
      return { version, type: 'signal', to: s.to(), kind: SIGNAL_KINDS[s.kind()] ?? 'offer', payload: s.payload() ?? '' };
    }
    case ClientBody.Ping:
      return { version, type: 'ping', clientTime: (m.body(new Ping()) as Ping).clientTime() };
    default:
      throw new Error(`unknown client message body ${m.bodyType()}`);
  }
}

// ----- server → client -----

export interface WelcomeMsg {
  type: 'welcome';
  entity: bigint;
  slot: number;
  tickRate: number;
  tick: number;
  space: string;
  map: string;
  region: { col: number; row: number } | null;
}

/**
 * A snapshot still in wire form: updates given as steps (relative codes) must be resolved
 * against the receiver's mirror, so decoding to a [`Delta`] needs the mirror
 * ([`snapshotToDelta`]).
 */
export interface SnapshotMsg {
  type: 'snapshot';
  tick: number;
  baseline: number;
  lastInputSeq: number;
  /** Size of the message in bytes (for the debug overlay). */
  bytes: number;
  raw: Snapshot;
}

export type ServerMsg =
  | WelcomeMsg
  | SnapshotMsg
  | { type: 'proximity'; near: bigint[]; far: bigint[] }
  | { type: 'chat'; from: bigint; fromName: string; text: string; scope: ChatScopeName; time: number }
  | { type: 'signal'; from: bigint; kind: SignalKindName; payload: string }
  | { type: 'migrate'; url: string; ticket: string }
  | { type: 'error'; code: number; message: string }
  | { type: 'pong'; clientTime: number; serverTick: number };

export class ProtocolError extends Error {}

/** Decodes and checks a server message. Throws [`ProtocolError`] on garbage. */
export function decodeServer(bytes: Uint8Array): ServerMsg {
  if (bytes.length < 8) throw new ProtocolError(`message too short (${bytes.length} bytes)`);
  const bb = new flatbuffers.ByteBuffer(bytes);
  let m: ServerMessage;
  try {
    m = ServerMessage.getRootAsServerMessage(bb);
    const version = m.version();
    if (version !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported protocol version ${version}`);
    return decodeBody(m, bytes.length);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(`malformed server message: ${(e as Error).message}`);
  }
}

function decodeBody(m: ServerMessage, size: number): ServerMsg {
  switch (m.bodyType()) {
    case ServerBody.Welcome: {
      const w = m.body(new Welcome()) as Welcome;
      const r = w.region();
      return {
        type: 'welcome',
        entity: w.entity(),
        slot: w.slot(),
        tickRate: w.tickRate() || 20,
        tick: Number(w.tick()),
        space: w.space() ?? '',
        map: w.map() ?? '',
        region: r ? { col: r.col(), row: r.row() } : null,
      };
    }
    case ServerBody.Snapshot: {
      const s = m.body(new Snapshot()) as Snapshot;
      return {
        type: 'snapshot',
        tick: Number(s.tick()),
        baseline: Number(s.baseline()),
        lastInputSeq: s.lastInputSeq(),
        bytes: size,
        raw: s,
      };
    }
    case ServerBody.Proximity: {
      const p = m.body(new Proximity()) as Proximity;
      const near: bigint[] = [];
      const far: bigint[] = [];
      for (let i = 0; i < p.nearLength(); i++) near.push(p.near(i)!);
      for (let i = 0; i < p.farLength(); i++) far.push(p.far(i)!);
      return { type: 'proximity', near, far };
    }
    case ServerBody.Chat: {
      const c = m.body(new ServerChat()) as ServerChat;
      return {
        type: 'chat',
        from: c.from(),
        fromName: c.fromName() ?? '',
        text: c.text() ?? '',
        scope: c.scope() === ChatScope.Nearby ? 'nearby' : 'space',
        time: Number(c.time()),
      };
    }
    case ServerBody.Signal: {
      const s = m.body(new ServerSignal()) as ServerSignal;
      return { type: 'signal', from: s.from(), kind: SIGNAL_KINDS[s.kind()] ?? 'offer', payload: s.payload() ?? '' };
    }
    case ServerBody.Migrate: {
      const g = m.body(new Migrate()) as Migrate;
      return { type: 'migrate', url: g.url() ?? '', ticket: g.ticket() ?? '' };
    }
    case ServerBody.Error: {
      const e = m.body(new ServerError()) as ServerError;
      return { type: 'error', code: e.code(), message: e.message() ?? '' };
    }
    case ServerBody.Pong: {
      const p = m.body(new Pong()) as Pong;
      return { type: 'pong', clientTime: p.clientTime(), serverTick: Number(p.serverTick()) };
    }
    default:
      throw new ProtocolError(`unknown server message body ${m.bodyType()}`);
  }
}

/**
 * Resolves a wire snapshot into a [`Delta`] against the mirror it will be applied to: steps
 * are relative to the slot's position after this snapshot's leaves and enters.
 */
export function snapshotToDelta(s: Snapshot, tick: number, baseline: number, mirror: Mirror): Delta {
  const delta: Delta = { tick, baseline, enters: [], updates: [], leaves: [] };
  const leaves = new Set<number>();
  for (let i = 0; i < s.leavesLength(); i++) {
    const slot = s.leaves(i)!;
    leaves.add(slot);
    delta.leaves.push({ slot });
  }
  const entered = new Map<number, VisibleState>();
  for (let i = 0; i < s.entersLength(); i++) {
    const e = s.enters(i)!;
    const state: VisibleState = {
      id: e.id(),
      position: { x: e.x(), y: e.y() },
      target: e.flags() & 1 ? { x: e.tx(), y: e.ty() } : null,
      facing: fromWireDir(e.facing()),
      avatar: e.avatar(),
      name: s.names(i) ?? '',
    };
    entered.set(e.slot(), state);
    delta.enters.push({ slot: e.slot(), state });
  }
  const reference = (slot: number): Vec => {
    const e = entered.get(slot);
    if (e) return e.position;
    const m = leaves.has(slot) ? undefined : mirror.slots.get(slot);
    if (!m) throw new ProtocolError(`step for empty slot ${slot}`);
    return m.position;
  };
  const rel = (base: Vec, code: number): Vec => {
    const d = offset((code - 2) as Dir);
    return { x: base.x + d.dx, y: base.y + d.dy };
  };
  for (let i = 0; i < s.stepsLength(); i++) {
    const st = s.steps(i)!;
    const slot = st.slot();
    const code = st.code();
    if (code >= 216) throw new ProtocolError(`bad step code ${code}`);
    const pos = code % 6;
    const target = Math.floor(code / 6) % 6;
    const facing = Math.floor(code / 36);
    const u: Delta['updates'][number] = { slot };
    const ref = reference(slot);
    let newPos = ref;
    if (pos === 1) u.position = { ...ref };
    else if (pos >= 2) u.position = newPos = rel(ref, pos);
    if (target === 1) u.target = null;
    else if (target >= 2) u.target = rel(newPos, target);
    if (facing === 1) u.facing = null;
    else if (facing >= 2) u.facing = (facing - 2) as Dir;
    delta.updates.push(u);
  }
  for (let i = 0; i < s.updatesLength(); i++) {
    const f = s.updates(i)!;
    const mask = f.mask();
    const u: Delta['updates'][number] = { slot: f.slot() };
    if (mask & 1) u.position = { x: f.x(), y: f.y() };
    if (mask & 2) u.target = mask & 4 ? { x: f.tx(), y: f.ty() } : null;
    if (mask & 8) u.facing = fromWireDir(f.facing());
    delta.updates.push(u);
  }
  delta.updates.sort((a, b) => a.slot - b.slot);
  return delta;
}
