// Test helper: an in-memory WebSocket (records what the client sends, lets the test play the
// server) and the server messages the connection tests need.
import * as flatbuffers from 'flatbuffers';
import { Error as WireError } from '../src/generated/plaza/server/error.js';
import { Migrate } from '../src/generated/plaza/server/migrate.js';
import { ServerBody } from '../src/generated/plaza/server/server-body.js';
import { ServerMessage } from '../src/generated/plaza/server/server-message.js';
import { decodeClient, PROTOCOL_VERSION } from '../src/protocol';

export class FakeSocket {
  static all: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  sent: ReturnType<typeof decodeClient>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(bytes: Uint8Array) {
    this.sent.push(decodeClient(bytes));
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  // --- server side ---
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  deliver(bytes: Uint8Array) {
    const copy = bytes.slice().buffer;
    this.onmessage?.({ data: copy });
  }
  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
}

export function migrate(url: string, ticket: string): Uint8Array {
  const b = new flatbuffers.Builder(64);
  const m = Migrate.createMigrate(b, b.createString(url), b.createString(ticket));
  b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, ServerBody.Migrate, m));
  return b.asUint8Array();
}

export function error(code: number, message = 'nope'): Uint8Array {
  const b = new flatbuffers.Builder(64);
  const e = WireError.createError(b, code, b.createString(message));
  b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, ServerBody.Error, e));
  return b.asUint8Array();
}
