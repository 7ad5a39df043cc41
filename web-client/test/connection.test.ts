import * as flatbuffers from 'flatbuffers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerBody } from '../src/generated/plaza/server/server-body.js';
import { ServerMessage } from '../src/generated/plaza/server/server-message.js';
import { Welcome } from '../src/generated/plaza/server/welcome.js';
import { Connection } from '../src/connection';
import { PROTOCOL_VERSION, type ServerMsg } from '../src/protocol';
import { error, FakeSocket, migrate } from './fake-socket';

function welcome(entity: bigint): Uint8Array {
  const b = new flatbuffers.Builder(64);
  const sp = b.createString('s1');
  const mp = b.createString('office');
  Welcome.startWelcome(b);
  Welcome.addEntity(b, entity);
  Welcome.addTickRate(b, 20);
  Welcome.addSpace(b, sp);
  Welcome.addMap(b, mp);
  const w = Welcome.endWelcome(b);
  b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, ServerBody.Welcome, w));
  return b.asUint8Array();
}

describe('Connection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => vi.useRealTimers());

  function connect() {
    const got: ServerMsg[] = [];
    const statuses: string[] = [];
    const c = new Connection(
      { url: 'ws://a/ws', token: 'jwt', WebSocketImpl: FakeSocket as unknown as typeof WebSocket },
      { message: (m) => got.push(m), status: (s) => statuses.push(s) },
    );
    c.start();
    return { c, got, statuses };
  }

  it('sends Hello{token} first and reports open on Welcome', () => {
    const { c, got, statuses } = connect();
    const ws = FakeSocket.all[0];
    expect(ws.binaryType).toBe('arraybuffer');
    ws.open();
    expect(ws.sent).toEqual([{ version: PROTOCOL_VERSION, type: 'hello', token: 'jwt' }]);
    expect(c.send({ type: 'ack', tick: 1 })).toBe(false); // not welcomed yet
    ws.deliver(welcome(7n));
    expect(got[0]).toMatchObject({ type: 'welcome', entity: 7n });
    expect(statuses).toEqual(['connecting', 'open']);
    expect(c.send({ type: 'ack', tick: 1 })).toBe(true);
  });

  it('reconnects with exponential backoff and resumes with the same token', () => {
    const { c } = connect();
    FakeSocket.all[0].open();
    FakeSocket.all[0].deliver(welcome(7n));
    c.send({ type: 'chat', text: 'queued?', scope: 'space' });
    FakeSocket.all[0].close(1006);
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(249);
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all.length).toBe(2);
    // That one fails too: the next wait doubles.
    FakeSocket.all[1].close(1006);
    vi.advanceTimersByTime(499);
    expect(FakeSocket.all.length).toBe(2);
    vi.advanceTimersByTime(1);
    const ws = FakeSocket.all[2];
    // Chat typed while disconnected goes out after the new Welcome.
    c.send({ type: 'chat', text: 'while down', scope: 'space' });
    ws.open();
    expect(ws.sent[0]).toMatchObject({ type: 'hello', token: 'jwt' });
    ws.deliver(welcome(7n));
    expect(ws.sent[1]).toMatchObject({ type: 'chat', text: 'while down' });
    expect(c.reconnects).toBe(2);
    expect(Connection.backoff(10)).toBe(8000);
  });

  it('follows Migrate: Hello{ticket} to the new URL, switches on its Welcome, closes the old socket', () => {
    const { c, got } = connect();
    const old = FakeSocket.all[0];
    old.open();
    old.deliver(welcome(7n));
    old.deliver(migrate('ws://b/ws', 'ticket-1'));
    const next = FakeSocket.all[1];
    expect(next.url).toBe('ws://b/ws');
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'hello', token: 'ticket-1' });
    expect(old.readyState).toBe(1); // still in use until the new node welcomes us
    next.deliver(welcome(7n));
    expect(old.readyState).toBe(3);
    expect(c.migrations).toBe(1);
    expect(got.filter((m) => m.type === 'welcome').length).toBe(2);
    c.send({ type: 'ack', tick: 5 });
    expect(next.sent[1]).toMatchObject({ type: 'ack', tick: 5 });
    // The old socket closing does not trigger a reconnect.
    vi.advanceTimersByTime(10000);
    expect(FakeSocket.all.length).toBe(2);
  });

  it('does not reconnect after close() or when the server refuses the token', () => {
    const { c } = connect();
    FakeSocket.all[0].open();
    FakeSocket.all[0].close(4401, 'bad token');
    vi.advanceTimersByTime(10000);
    expect(FakeSocket.all.length).toBe(1);
    c.close();
  });

  it('stops after a fatal error (replaced by a newer connection) but retries after a transient one', () => {
    const { got, statuses } = connect();
    FakeSocket.all[0].open();
    FakeSocket.all[0].deliver(welcome(7n));
    FakeSocket.all[0].deliver(error(12)); // shutting down: transient
    FakeSocket.all[0].close(1001);
    vi.advanceTimersByTime(300);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.all[1].open();
    FakeSocket.all[1].deliver(welcome(7n));
    FakeSocket.all[1].deliver(error(10)); // replaced: fatal
    expect(FakeSocket.all[1].readyState).toBe(3);
    vi.advanceTimersByTime(10000);
    expect(FakeSocket.all.length).toBe(2);
    expect(statuses[statuses.length - 1]).toBe('closed');
    expect(got.filter((m) => m.type === 'error').map((m) => (m as { code: number }).code)).toEqual([12, 10]);
  });
});
