// The connection in a cluster: unacknowledged inputs and their re-send, Migrate, reconnecting
// through GET /api/spaces/{id}/route (with backoff while it answers 503), and the cluster
// error codes 14–16. The server is played with FakeSocket and a mocked fetch.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  closeAction,
  Connection,
  fetchRoute,
  httpBaseOf,
  planReconnect,
  ROUTE_WINDOW_MS,
  UnackedInputs,
  usableNodeUrl,
  wsUrlFor,
  type RouteAnswer,
} from '../src/connection';
import { Game } from '../src/game';
import { WorldMap } from '../src/map';
import { decodeServer, type ServerMsg } from '../src/protocol';
import type { Renderer } from '../src/render';
import { error, FakeSocket, migrate } from './fake-socket';
import { snapshot, welcome } from './wire';

const east = { kind: 'move', dir: 1 } as const;
const stop = { kind: 'stop' } as const;

describe('UnackedInputs', () => {
  it('keeps inputs above the last acknowledged seq, oldest first', () => {
    const u = new UnackedInputs();
    u.sent(1, east);
    u.sent(2, stop);
    u.sent(3, east);
    expect(u.pending().map((i) => i.seq)).toEqual([1, 2, 3]);
    u.ack(2);
    expect(u.pending()).toEqual([{ seq: 3, input: east }]);
    u.ack(2); // the same ack again changes nothing
    expect(u.size).toBe(1);
    u.ack(7);
    expect(u.size).toBe(0);
    u.sent(5, east); // already acknowledged: nothing to re-send
    expect(u.size).toBe(0);
    u.sent(8, stop);
    expect(u.pending()).toEqual([{ seq: 8, input: stop }]);
  });

  it('is bounded when the server never acknowledges', () => {
    const u = new UnackedInputs(4);
    for (let s = 1; s <= 10; s++) u.sent(s, east);
    expect(u.pending().map((i) => i.seq)).toEqual([7, 8, 9, 10]);
  });

  it('hands out copies', () => {
    const u = new UnackedInputs();
    u.sent(1, east);
    u.pending().pop();
    expect(u.size).toBe(1);
  });
});

describe('URLs and the reconnect decision', () => {
  it('turns node base URLs into WebSocket URLs and back', () => {
    expect(wsUrlFor('http://b:8080', 's1')).toBe('ws://b:8080/ws?space=s1');
    expect(wsUrlFor('https://b.example/', 's 1')).toBe('wss://b.example/ws?space=s%201');
    expect(wsUrlFor('ws://b/ws', 's1')).toBe('ws://b/ws'); // already a socket URL
    expect(wsUrlFor('ws://b:9', 's1')).toBe('ws://b:9/ws?space=s1');
    expect(httpBaseOf('ws://b:8080/ws?space=s1')).toBe('http://b:8080');
    expect(httpBaseOf('wss://b.example/plaza/ws')).toBe('https://b.example/plaza');
    expect(httpBaseOf('not a url')).toBeNull();
  });

  it('does not use node URLs this page cannot reach', () => {
    expect(usableNodeUrl('http://node-b:8080', 'http://plaza.test')).toBe(true);
    expect(usableNodeUrl('http://0.0.0.0:8080', 'http://plaza.test')).toBe(false);
    expect(usableNodeUrl('http://127.0.0.1:8080', 'https://plaza.example')).toBe(false);
    expect(usableNodeUrl('http://127.0.0.1:8080', 'http://localhost:5173')).toBe(true);
    expect(usableNodeUrl('http://node-b:8080', 'https://plaza.example')).toBe(false); // mixed content
    expect(usableNodeUrl('https://node-b.example', 'https://plaza.example')).toBe(true);
    expect(usableNodeUrl('garbage', null)).toBe(false);
  });

  it('plans: the first node named, the last URL when /route cannot help, else wait (up to the window)', () => {
    const ok: RouteAnswer = { kind: 'ok', url: 'http://b:8080' };
    const busy: RouteAnswer = { kind: 'retry', why: 'the region is changing hands' };
    const none: RouteAnswer = { kind: 'none', why: 'HTTP 404' };
    expect(planReconnect([busy, ok], 0)).toEqual({ kind: 'connect', url: 'http://b:8080' });
    expect(planReconnect([none], 0)).toEqual({ kind: 'connect', url: null });
    expect(planReconnect([busy, busy], 1000)).toEqual({ kind: 'wait', why: 'the region is changing hands' });
    expect(planReconnect([busy], ROUTE_WINDOW_MS)).toEqual({ kind: 'connect', url: null });
    expect(planReconnect([], 0)).toEqual({ kind: 'connect', url: null });
  });

  it('decides what a close means', () => {
    expect(closeAction(1006, { closedByUser: true, migrating: false })).toBe('nothing');
    expect(closeAction(4401, { closedByUser: false, migrating: false })).toBe('refused');
    expect(closeAction(1000, { closedByUser: false, migrating: true })).toBe('wait-migration');
    expect(closeAction(1006, { closedByUser: false, migrating: false })).toBe('reconnect');
    expect(closeAction(1000, { closedByUser: false, migrating: false })).toBe('reconnect');
  });
});

// ----- a mocked /route -----

type Answer = { status: number; body?: unknown } | Error;

function mockRoute() {
  const calls: { url: string; auth: string | undefined }[] = [];
  const answers: Answer[] = [];
  let fallback: Answer = { status: 404, body: { message: 'not found' } };
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), auth: (init?.headers as Record<string, string> | undefined)?.authorization });
    const a = answers.length ? answers.shift()! : fallback;
    if (a instanceof Error) throw a;
    return {
      ok: a.status >= 200 && a.status < 300,
      status: a.status,
      json: async () => {
        if (typeof a.body === 'string') throw new SyntaxError('not JSON');
        return a.body;
      },
    } as unknown as Response;
  }) as typeof fetch;
  return {
    calls,
    fetchImpl,
    answer: (...a: Answer[]) => answers.push(...a),
    always: (a: Answer) => (fallback = a),
  };
}

const route = (url: string): Answer => ({ status: 200, body: { node: 'n', url, region: 's1:1:0' } });
const busy: Answer = { status: 503, body: { message: 'unavailable' } };

describe('fetchRoute', () => {
  it('asks GET {base}/api/spaces/{id}/route with the bearer token', async () => {
    const r = mockRoute();
    r.answer(route('http://b:8080'));
    expect(await fetchRoute(r.fetchImpl, 'http://plaza.test/', 's1', 'jwt')).toEqual({ kind: 'ok', url: 'http://b:8080' });
    expect(r.calls).toEqual([{ url: 'http://plaza.test/api/spaces/s1/route', auth: 'Bearer jwt' }]);
  });

  it('503, 5xx and network failures are retried; other answers mean /route cannot help', async () => {
    const r = mockRoute();
    r.answer(busy, { status: 502 }, new TypeError('Failed to fetch'), { status: 404 }, { status: 401 }, { status: 200, body: '<html>' });
    const kinds = [];
    for (let i = 0; i < 6; i++) kinds.push((await fetchRoute(r.fetchImpl, 'http://x', 's1', 't')).kind);
    expect(kinds).toEqual(['retry', 'retry', 'retry', 'none', 'none', 'none']);
  });

  it('an answer without a url means the node asked', async () => {
    const r = mockRoute();
    r.answer({ status: 200, body: {} });
    expect(await fetchRoute(r.fetchImpl, 'http://x', 's1', 't')).toEqual({ kind: 'ok', url: 'http://x' });
  });
});

// ----- the connection -----

describe('Connection in a cluster', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => vi.useRealTimers());

  function connect(opts: { origin?: string | null } = {}) {
    const r = mockRoute();
    const got: ServerMsg[] = [];
    const statuses: string[] = [];
    const c = new Connection(
      {
        url: 'ws://a:8080/ws?space=s1',
        token: 'jwt',
        origin: opts.origin === undefined ? 'http://plaza.test' : opts.origin,
        WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
        fetchImpl: r.fetchImpl,
      },
      { message: (m) => got.push(m), status: (s, d) => statuses.push(d ? `${s}: ${d}` : s) },
    );
    c.start();
    const ws = FakeSocket.last();
    ws.open();
    ws.deliver(welcome(7n));
    return { c, r, got, statuses, ws };
  }

  const inputs = (ws: FakeSocket) => ws.sent.filter((m) => m.type === 'input').map((m) => (m as { seq: number }).seq);

  it('re-sends the inputs no snapshot acknowledged, with their seqs, once the Migrate target welcomes us', () => {
    const { c, ws: old } = connect();
    c.send({ type: 'input', seq: 1, input: east });
    c.send({ type: 'input', seq: 2, input: stop });
    old.deliver(snapshot({ tick: 10, baseline: 0, seq: 1 }));
    c.send({ type: 'input', seq: 3, input: east }); // the source froze the avatar: dropped there
    expect(c.unacked.pending().map((i) => i.seq)).toEqual([2, 3]);
    old.deliver(migrate('http://b:8080', 'ticket-1'));
    const next = FakeSocket.last();
    expect(next.url).toBe('ws://b:8080/ws?space=s1');
    next.open();
    expect(next.sent).toEqual([expect.objectContaining({ type: 'hello', token: 'ticket-1' })]); // nothing before Welcome
    next.deliver(welcome(7n));
    expect(next.sent.slice(1)).toEqual([
      expect.objectContaining({ type: 'input', seq: 2, input: stop }),
      expect.objectContaining({ type: 'input', seq: 3, input: east }),
    ]);
    expect(c.migrations).toBe(1);
    // The target acknowledges them: nothing is left to re-send.
    next.deliver(snapshot({ tick: 3, baseline: 0, seq: 3 }));
    expect(c.unacked.size).toBe(0);
  });

  it('a Migrate without a ticket says Hello with our own token', () => {
    const { ws: old } = connect();
    old.deliver(migrate('http://b:8080', ''));
    const next = FakeSocket.last();
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'hello', token: 'jwt' });
  });

  it('the source closing right after Migrate does not start a reconnect; the target takes over', async () => {
    const { c, r, ws: old } = connect();
    old.deliver(migrate('http://b:8080', 'ticket-1'));
    old.close(1000); // the source closes the connection after Migrate
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.calls.length).toBe(0);
    expect(FakeSocket.all.length).toBe(2);
    const next = FakeSocket.last();
    next.open();
    next.deliver(welcome(7n));
    expect(c.isOpen).toBe(true);
    expect(c.reconnects).toBe(0);
  });

  it('a Migrate without a url asks /route where to go', async () => {
    const { r, ws: old } = connect();
    r.answer(route('http://c:8080'));
    old.deliver(migrate('', 'ticket-2'));
    await vi.advanceTimersByTimeAsync(0);
    expect(r.calls[0]).toEqual({ url: 'http://plaza.test/api/spaces/s1/route', auth: 'Bearer jwt' });
    const next = FakeSocket.last();
    expect(next.url).toBe('ws://c:8080/ws?space=s1');
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'hello', token: 'ticket-2' });
  });

  it('a failed migration (the ticket was refused) reconnects through /route with our token', async () => {
    const { c, r, ws: old } = connect();
    c.send({ type: 'input', seq: 4, input: east });
    old.deliver(migrate('http://b:8080', 'used-ticket'));
    old.close(1000);
    const next = FakeSocket.last();
    next.open();
    next.deliver(error(2, 'the ticket was already used')); // not fatal on the new node
    next.close(1000);
    r.answer(route('http://b:8080'));
    await vi.advanceTimersByTimeAsync(250);
    const again = FakeSocket.last();
    expect(FakeSocket.all.length).toBe(3);
    expect(again.url).toBe('ws://b:8080/ws?space=s1');
    again.open();
    expect(again.sent[0]).toMatchObject({ type: 'hello', token: 'jwt' });
    again.deliver(welcome(7n));
    expect(inputs(again)).toEqual([4]);
  });

  it('an unexpected drop asks /route and reconnects where it says, then re-sends unacked inputs', async () => {
    const { c, r, ws, statuses } = connect();
    c.send({ type: 'input', seq: 1, input: east });
    c.send({ type: 'input', seq: 2, input: stop });
    ws.deliver(snapshot({ tick: 5, baseline: 0, seq: 1 }));
    r.answer(route('http://survivor:8080'));
    ws.close(1006); // the node died
    expect(statuses[statuses.length - 1]).toBe('reconnecting: connection lost; retrying in 250 ms');
    await vi.advanceTimersByTimeAsync(249);
    expect(r.calls.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.calls).toEqual([{ url: 'http://plaza.test/api/spaces/s1/route', auth: 'Bearer jwt' }]);
    const next = FakeSocket.last();
    expect(next.url).toBe('ws://survivor:8080/ws?space=s1');
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'hello', token: 'jwt' });
    next.deliver(welcome(7n));
    expect(inputs(next)).toEqual([2]);
    expect(c.routed).toBe(1);
    expect(statuses[statuses.length - 1]).toBe('open');
    expect(c.currentUrl).toBe('ws://survivor:8080/ws?space=s1');
  });

  it('REGION_MOVED (16) and UNAVAILABLE (14) reconnect through /route, not stop', async () => {
    for (const code of [16, 14]) {
      FakeSocket.all = [];
      const { r, ws, got, statuses } = connect();
      r.answer(route('http://owner:8080'));
      ws.deliver(error(code, 'your region is now served by another node'));
      expect(ws.readyState).toBe(3);
      expect(got.some((m) => m.type === 'error' && m.code === code)).toBe(true);
      expect(statuses[statuses.length - 1]).toMatch(/^reconnecting: your region/);
      await vi.advanceTimersByTimeAsync(250);
      expect(FakeSocket.last().url).toBe('ws://owner:8080/ws?space=s1');
    }
  });

  it('while /route answers 503 it retries with backoff, then connects; nothing is opened meanwhile', async () => {
    const { r, ws, statuses } = connect();
    r.answer(busy, busy, busy, route('http://b:8080'));
    ws.close(1006);
    // Each lookup asks the page origin, then the last node: 503, 503; then 503, a node.
    await vi.advanceTimersByTimeAsync(250);
    expect(r.calls.map((c) => c.url)).toEqual(['http://plaza.test/api/spaces/s1/route', 'http://a:8080/api/spaces/s1/route']);
    expect(FakeSocket.all.length).toBe(1);
    expect(statuses[statuses.length - 1]).toBe('reconnecting: connection lost (the region is changing hands); retrying in 500 ms');
    await vi.advanceTimersByTimeAsync(499);
    expect(r.calls.length).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.calls.length).toBe(4);
    expect(FakeSocket.last().url).toBe('ws://b:8080/ws?space=s1');
  });

  it('gives /route about 30 s, then tries the last URL (and goes on retrying)', async () => {
    const { c, r, ws } = connect();
    r.always(new TypeError('Failed to fetch'));
    ws.close(1006);
    let waited = 0;
    while (FakeSocket.all.length === 1 && waited < 60_000) {
      await vi.advanceTimersByTimeAsync(250);
      waited += 250;
    }
    expect(waited).toBeGreaterThanOrEqual(ROUTE_WINDOW_MS);
    expect(waited).toBeLessThan(ROUTE_WINDOW_MS + 9000);
    expect(FakeSocket.last().url).toBe('ws://a:8080/ws?space=s1');
    // That fails too: the next attempt asks /route again, with the capped backoff.
    FakeSocket.last().close(1006);
    const before = r.calls.length;
    await vi.advanceTimersByTimeAsync(8000);
    expect(r.calls.length).toBeGreaterThan(before);
    expect(c.reconnects).toBeGreaterThan(5);
  });

  it('a server without /route (404): reconnects to the same URL at once', async () => {
    const { r, ws } = connect();
    r.always({ status: 404, body: { message: 'not found' } });
    ws.close(1006);
    await vi.advanceTimersByTimeAsync(250);
    expect(r.calls.length).toBe(1); // the last node is not asked after a definite answer
    expect(FakeSocket.last().url).toBe('ws://a:8080/ws?space=s1');
  });

  it('a single node naming itself (or an address the page cannot reach) means the page gateway', async () => {
    for (const [named, origin] of [
      ['http://plaza.test', 'http://plaza.test'],
      ['http://0.0.0.0:8080', 'http://plaza.test'],
      ['http://127.0.0.1:8080', 'https://plaza.test'],
    ]) {
      FakeSocket.all = [];
      const { r, ws } = connect({ origin });
      r.answer(route(named));
      ws.close(1006);
      await vi.advanceTimersByTimeAsync(250);
      expect(FakeSocket.last().url).toBe(`${origin.replace('http', 'ws')}/ws?space=s1`);
    }
  });

  it('HANDOFF_REFUSED (15) is passed on as a message: the socket stays open, no reconnect', async () => {
    const { c, r, ws, got, statuses } = connect();
    ws.deliver(error(15, 'you cannot cross into that region right now: the tile is taken'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ws.readyState).toBe(1);
    expect(c.isOpen).toBe(true);
    expect(got.at(-1)).toMatchObject({ type: 'error', code: 15 });
    expect(statuses).toEqual(['connecting', 'open']);
    expect(r.calls.length).toBe(0);
  });

  it('close() during a /route lookup stops everything', async () => {
    const { c, r, ws, statuses } = connect();
    r.always(busy);
    ws.close(1006);
    await vi.advanceTimersByTimeAsync(250);
    c.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all.length).toBe(1);
    expect(statuses.at(-1)).toBe('closed');
  });
});

// ----- the session's handling of the cluster errors -----

describe('Game and the cluster error codes', () => {
  function game() {
    const errors: string[] = [];
    const notices: string[] = [];
    const g = new Game({
      map: new WorldMap(20, 20, 32, 32, [], [], new Uint8Array(400), [{ x: 1, y: 1 }]),
      renderer: { goal: null } as unknown as Renderer,
      wsUrl: 'ws://test/ws?space=s1',
      token: 't',
      space: 's1',
      videoContainer: {} as HTMLElement,
      onChange: () => {},
      onError: (e) => errors.push(e),
      onNotice: (n) => notices.push(n),
    });
    (g.conn as unknown as { send: (m: unknown) => boolean }).send = () => true;
    Object.defineProperty(g.conn, 'isOpen', { get: () => true });
    const deliver = (bytes: Uint8Array) => (g as unknown as { onMessage(m: ServerMsg): void }).onMessage(decodeServer(bytes));
    return { g, deliver, errors, notices };
  }

  it('HANDOFF_REFUSED is a notice saying why; the avatar stays', () => {
    const { g, deliver, errors, notices } = game();
    deliver(welcome(1n, 100));
    deliver(snapshot({ tick: 101, baseline: 0, enters: [{ slot: 0, id: 1n, x: 5, y: 5, name: 'me' }] }));
    deliver(error(15, 'you cannot cross into that region right now: the tile is taken'));
    expect(notices).toEqual(['you cannot cross into that region right now: the tile is taken']);
    expect(errors).toEqual([]);
    expect(g.selfState()?.position).toEqual({ x: 5, y: 5 });
    expect(g.testState().notice).toMatch(/tile is taken/);
  });

  it('REGION_MOVED and UNAVAILABLE are not shown as errors (the status line says reconnecting)', () => {
    const { deliver, errors } = game();
    deliver(welcome(1n, 100));
    deliver(error(16));
    deliver(error(14));
    deliver(error(12, 'shutting down'));
    expect(errors).toEqual(['shutting down (code 12)']);
  });
});
