// The WebSocket to the server: Hello first, then whatever the game sends.
//
// - Migrate{url, ticket}: connects to `url` (or to the `/route` answer when it is empty) with
//   the ticket (or our own token when it is empty), and only drops the old socket once the new
//   one is welcomed.
// - An unexpected drop, REGION_MOVED (16) or UNAVAILABLE (14): asks `GET
//   /api/spaces/{id}/route` (this page's origin, then the last node) which node serves us now
//   and reconnects there with our token; while /route answers 503 or fails it retries with
//   exponential backoff for up to ROUTE_WINDOW_MS, then falls back to the last URL.
// - Inputs not yet acknowledged by `Snapshot.last_input_seq` are kept and re-sent, with their
//   original seq numbers, after every Welcome (the server drops those it already applied).

import { decodeServer, encodeClient, type ClientMsg, type ServerMsg } from './protocol';
import type { Input } from './types';

/**
 * Server error codes after which reconnecting cannot help: unauthorized (2), wrong protocol
 * version (3), unknown space (8), not a member (9), replaced by a newer connection (10).
 */
export const FATAL_ERRORS = new Set([2, 3, 8, 9, 10]);

/** Cluster error codes (docs/cluster.md, "WebSocket error codes 14–16"). */
export const UNAVAILABLE = 14;
export const HANDOFF_REFUSED = 15;
export const REGION_MOVED = 16;

/** How long a reconnect keeps waiting for /route (503 or unreachable) before trying the last URL. */
export const ROUTE_WINDOW_MS = 30_000;
/** How long one /route request may take (the server itself waits up to 5 s for an owner). */
export const ROUTE_TIMEOUT_MS = 10_000;

export interface ConnectionEvents {
  message(msg: ServerMsg): void;
  /** A connection (first, reconnect or migration) got its Welcome. */
  status(status: 'connecting' | 'open' | 'reconnecting' | 'closed', detail?: string): void;
  /** Bytes received, for the debug overlay. */
  bytes?(n: number): void;
}

export interface ConnectionOptions {
  url: string;
  token: string;
  /** The space id (for `/route` and for Migrate URLs); default: `space` in `url`'s query. */
  space?: string;
  /** Where to ask `/route` first (default: this page's origin); then the last node's base URL. */
  origin?: string | null;
  /** Backoff delays in ms (default 250 ms doubling up to 8 s). */
  minDelay?: number;
  maxDelay?: number;
  /** Injected for tests. */
  WebSocketImpl?: typeof WebSocket;
  fetchImpl?: typeof fetch;
}

/** The gateway of this origin for a space: `/ws?space={id}`. */
export function defaultWsUrl(space: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws?space=${encodeURIComponent(space)}`;
}

// ----- unacknowledged inputs -----

/**
 * Inputs sent and not yet acknowledged by a snapshot's `last_input_seq`, oldest first. They
 * are re-sent with their original seq after a reconnect or migration: the server applies only
 * those above the avatar's last applied seq, so nothing is applied twice.
 */
export class UnackedInputs {
  private items: { seq: number; input: Input }[] = [];
  /** The highest seq a snapshot acknowledged. */
  acked = 0;

  constructor(private readonly limit = 256) {}

  /** An input went out (or was meant to). */
  sent(seq: number, input: Input): void {
    if (seq <= this.acked) return;
    this.items.push({ seq, input });
    // A server that never acknowledges must not make us grow without bound.
    if (this.items.length > this.limit) this.items.splice(0, this.items.length - this.limit);
  }

  /** A snapshot said the server applied every input up to `lastSeq`. */
  ack(lastSeq: number): void {
    this.acked = lastSeq;
    let n = 0;
    while (n < this.items.length && this.items[n].seq <= lastSeq) n++;
    if (n) this.items.splice(0, n);
  }

  /** What to re-send, oldest first. */
  pending(): { seq: number; input: Input }[] {
    return this.items.map((i) => ({ ...i }));
  }

  get size(): number {
    return this.items.length;
  }
}

// ----- URLs and /route -----

/**
 * The WebSocket URL for a node: `Migrate.url` and `/route`'s `url` are base URLs
 * (`http://node-b:8080`): connect to `{url}/ws?space={id}`. A `ws:`/`wss:` URL with a path is
 * taken as it is.
 */
export function wsUrlFor(base: string, space: string | null): string {
  const u = base.trim();
  if (/^wss?:/i.test(u)) {
    try {
      const p = new URL(u);
      if (p.pathname !== '/' && p.pathname !== '') return u;
    } catch {
      return u;
    }
  }
  const root = u.replace(/^http/i, 'ws').replace(/\/+$/, '');
  return `${root}/ws${space ? `?space=${encodeURIComponent(space)}` : ''}`;
}

/** The HTTP base of a node from its WebSocket URL (`ws://b:8080/ws?space=x` → `http://b:8080`). */
export function httpBaseOf(wsUrl: string): string | null {
  try {
    const u = new URL(wsUrl);
    const proto = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
    const path = u.pathname.replace(/\/ws\/?$/, '').replace(/\/+$/, '');
    return `${proto}//${u.host}${path}`;
  } catch {
    return null;
  }
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/i;
const UNSPECIFIED = /^(0\.0\.0\.0|\[::\])$/;

/**
 * Whether a node URL from the server (`/route`, Migrate) can be used from this page. A single
 * node answers with `http://{listen}`, which behind a proxy may be `0.0.0.0`, a loopback
 * address the browser cannot reach, or plain http under an https page (blocked as mixed
 * content): then the page's own gateway is the way in.
 */
export function usableNodeUrl(nodeUrl: string, pageOrigin: string | null): boolean {
  let u: URL;
  try {
    u = new URL(nodeUrl);
  } catch {
    return false;
  }
  if (UNSPECIFIED.test(u.hostname)) return false;
  if (!pageOrigin) return true;
  let page: URL;
  try {
    page = new URL(pageOrigin);
  } catch {
    return true;
  }
  if (page.protocol === 'https:' && (u.protocol === 'http:' || u.protocol === 'ws:')) return false;
  if (LOOPBACK.test(u.hostname) && !LOOPBACK.test(page.hostname)) return false;
  return true;
}

export type RouteAnswer =
  /** The node to connect to (its base URL). */
  | { kind: 'ok'; url: string }
  /** 503 (a takeover is under way), another 5xx, or the request failed: retry later. */
  | { kind: 'retry'; why: string }
  /** Any other answer (no such endpoint, bad token...): /route cannot help here. */
  | { kind: 'none'; why: string };

/** `GET {base}/api/spaces/{id}/route` with `Authorization: Bearer {token}`. */
export async function fetchRoute(
  fetchImpl: typeof fetch,
  base: string,
  space: string,
  token: string,
  timeoutMs = ROUTE_TIMEOUT_MS,
): Promise<RouteAnswer> {
  const ctl = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = setTimeout(() => ctl?.abort(), timeoutMs);
  try {
    const res = await fetchImpl(`${base.replace(/\/+$/, '')}/api/spaces/${encodeURIComponent(space)}/route`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ctl?.signal,
    });
    if (res.status >= 500) return { kind: 'retry', why: res.status === 503 ? 'the region is changing hands' : `HTTP ${res.status}` };
    if (!res.ok) return { kind: 'none', why: `HTTP ${res.status}` };
    let body: { url?: unknown } | null;
    try {
      body = (await res.json()) as { url?: unknown } | null;
    } catch {
      return { kind: 'none', why: 'not a route answer' }; // a server without /route
    }
    const url = typeof body?.url === 'string' && body.url ? body.url : base;
    return { kind: 'ok', url };
  } catch (e) {
    return { kind: 'retry', why: e instanceof Error ? e.message : String(e) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a reconnect does with the /route answers it got (one per base asked, in order):
 * connect to the first node named (`url`), to the last URL (`url: null`) when /route cannot
 * help or has kept failing for `windowMs`, or wait and ask again.
 */
export function planReconnect(
  answers: RouteAnswer[],
  elapsedMs: number,
  windowMs = ROUTE_WINDOW_MS,
): { kind: 'connect'; url: string | null } | { kind: 'wait'; why: string } {
  for (const a of answers) {
    if (a.kind === 'ok') return { kind: 'connect', url: a.url };
    if (a.kind === 'none') return { kind: 'connect', url: null };
  }
  if (answers.length === 0 || elapsedMs >= windowMs) return { kind: 'connect', url: null };
  const why = answers.map((a) => (a.kind === 'retry' ? a.why : '')).find((w) => w) ?? 'no route';
  return { kind: 'wait', why };
}

/** What to do when the current socket closed. */
export function closeAction(
  code: number,
  opts: { closedByUser: boolean; migrating: boolean },
): 'nothing' | 'refused' | 'wait-migration' | 'reconnect' {
  if (opts.closedByUser) return 'nothing';
  if (code === 4401 || code === 1008) return 'refused';
  // The node closes the connection right after Migrate: the new socket takes over.
  if (opts.migrating) return 'wait-migration';
  return 'reconnect';
}

// ----- the connection -----

export class Connection {
  private ws: WebSocket | null = null;
  private pending: WebSocket | null = null;
  private url: string;
  private token: string;
  private space: string | null;
  private origin: string | null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closedByUser = false;
  private welcomed = false;
  /** Bumped whenever an async step (/route) must not act any more. */
  private generation = 0;
  /** When the current outage began (ms, Date.now()); null while connected. */
  private outageStart: number | null = null;
  /** Why we are reconnecting (for the status line). */
  private reason = '';
  /** A migration is resolving its target through /route (Migrate with an empty url). */
  private migrating = false;
  /** Chat sent while not connected (typed during a reconnect); inputs go to `unacked` instead. */
  private outbox: ClientMsg[] = [];
  readonly unacked = new UnackedInputs();
  reconnects = 0;
  migrations = 0;
  /** Reconnects that went where /route said. */
  routed = 0;

  constructor(
    private opts: ConnectionOptions,
    private events: ConnectionEvents,
  ) {
    this.url = opts.url;
    this.token = opts.token;
    this.space = opts.space ?? spaceOf(opts.url);
    this.origin = opts.origin !== undefined ? opts.origin : typeof location !== 'undefined' ? location.origin : null;
  }

  start(): void {
    this.closedByUser = false;
    this.open(this.url, this.token, false);
  }

  get isOpen(): boolean {
    return this.welcomed && this.ws?.readyState === 1;
  }

  /** The WebSocket URL of the node we are on (or connecting to). */
  get currentUrl(): string {
    return this.url;
  }

  send(msg: ClientMsg): boolean {
    if (msg.type === 'input') this.unacked.sent(msg.seq, msg.input);
    if (this.ws && this.ws.readyState === 1 && this.welcomed) {
      this.ws.send(encodeClient(msg));
      return true;
    }
    if (msg.type === 'chat') this.outbox.push(msg);
    return false;
  }

  close(): void {
    this.closedByUser = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ws?.close(1000, 'bye');
    this.pending?.close(1000, 'bye');
    this.ws = this.pending = null;
    this.events.status('closed');
  }

  /** Drops the socket as if the network failed (for tests and the debug overlay). */
  simulateDrop(): void {
    this.ws?.close(4000, 'simulated drop');
  }

  private open(url: string, token: string, migrating: boolean): void {
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(url);
    } catch (e) {
      // A malformed URL or one the page may not open (mixed content).
      console.warn('plaza: cannot open', url, e);
      if (migrating) this.migrationFailed();
      else {
        this.ws = null;
        this.welcomed = false;
        this.scheduleReconnect();
      }
      return;
    }
    ws.binaryType = 'arraybuffer';
    if (migrating) {
      const superseded = this.pending;
      if (superseded) {
        superseded.onclose = null;
        superseded.close(1000, 'superseded');
      }
      this.pending = ws;
    } else {
      this.ws = ws;
      this.welcomed = false;
      if (this.attempt === 0) this.events.status('connecting');
      else this.events.status('reconnecting', this.reason ? `${this.reason}; connecting` : 'connecting');
    }
    ws.onopen = () => ws.send(encodeClient({ type: 'hello', token }));
    ws.onmessage = (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer)) return; // the protocol is binary only
      const bytes = new Uint8Array(ev.data);
      this.events.bytes?.(bytes.length);
      let msg: ServerMsg;
      try {
        msg = decodeServer(bytes);
      } catch (e) {
        console.warn('plaza: dropping bad server message', e);
        return;
      }
      if (ws === this.pending) {
        // Nothing counts on the new node before Welcome (an error there, such as a used
        // ticket, ends in its close: then we reconnect through /route).
        if (msg.type !== 'welcome') return;
        const old = this.ws;
        this.ws = ws;
        this.pending = null;
        // Reconnects go to the new node, with our own token (the ticket is single-use).
        this.url = url;
        this.migrations++;
        if (old) {
          old.onclose = null;
          old.close(1000, 'migrated');
        }
      } else if (ws !== this.ws) {
        return; // a stale socket
      }
      switch (msg.type) {
        case 'welcome':
          this.onWelcome(msg);
          return;
        case 'snapshot':
          this.unacked.ack(msg.lastInputSeq);
          break;
        case 'error':
          if (FATAL_ERRORS.has(msg.code)) {
            // Retrying cannot help (bad token, unknown space, replaced by a newer tab...).
            this.closedByUser = true;
            this.generation++;
            this.events.message(msg);
            this.events.status('closed', msg.message || `error ${msg.code}`);
            ws.close(1000, 'fatal error');
            return;
          }
          if (msg.code === REGION_MOVED || msg.code === UNAVAILABLE) {
            // The server closes the connection; ask /route where to go (see onclose).
            this.reason = msg.code === REGION_MOVED ? 'your region moved to another node' : 'your region is being taken over';
            this.events.message(msg);
            ws.close(1000, 'reconnecting through /route');
            return;
          }
          break;
        case 'migrate':
          this.migrate(msg.url, msg.ticket);
          break;
      }
      this.events.message(msg);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (ws === this.pending) {
        this.pending = null;
        if (!this.closedByUser) this.migrationFailed();
        return;
      }
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      const action = closeAction(ev.code, {
        closedByUser: this.closedByUser,
        migrating: this.pending !== null || this.migrating,
      });
      if (action === 'refused') this.events.status('closed', ev.reason || 'refused');
      else if (action === 'reconnect') {
        if (!this.reason) this.reason = 'connection lost';
        this.scheduleReconnect();
      }
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private onWelcome(msg: ServerMsg & { type: 'welcome' }): void {
    this.welcomed = true;
    this.attempt = 0;
    this.outageStart = null;
    this.reason = '';
    this.migrating = false;
    this.generation++; // a /route lookup still under way is no longer needed
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.events.status('open');
    const queued = this.outbox;
    this.outbox = [];
    this.events.message(msg);
    // Inputs the last node did not acknowledge, with their original seq: the server drops
    // those it already applied.
    const ws = this.ws!;
    for (const { seq, input } of this.unacked.pending()) {
      if (ws.readyState === 1) ws.send(encodeClient({ type: 'input', seq, input }));
    }
    for (const m of queued) this.send(m);
  }

  /** Migrate{url, ticket}: connect there (asking /route when url is empty). */
  private migrate(url: string, ticket: string): void {
    const hello = ticket || this.token;
    if (url) {
      this.open(this.nodeWsUrl(url), hello, true);
      return;
    }
    this.migrating = true;
    const gen = ++this.generation;
    void this.askRoute().then((answers) => {
      if (gen !== this.generation || this.closedByUser) return;
      const plan = planReconnect(answers, 0, 0);
      this.migrating = false;
      if (plan.kind === 'connect' && plan.url) this.open(this.nodeWsUrl(plan.url), hello, true);
      else this.migrationFailed();
    });
  }

  /** The new node did not welcome us: leave the old one (it gave our avatar away) and reconnect. */
  private migrationFailed(): void {
    this.migrating = false;
    const old = this.ws;
    if (old) {
      old.onclose = null;
      old.close(1000, 'migration failed');
    }
    this.ws = null;
    this.welcomed = false;
    this.reason = 'moving to another node failed';
    this.scheduleReconnect();
  }

  /** The delay before reconnect attempt `n` (0-based). */
  static backoff(n: number, min = 250, max = 8000): number {
    return Math.min(max, min * 2 ** n);
  }

  private scheduleReconnect(why?: string): void {
    if (this.closedByUser) return;
    if (this.timer) clearTimeout(this.timer);
    this.outageStart ??= Date.now();
    const delay = Connection.backoff(this.attempt++, this.opts.minDelay, this.opts.maxDelay);
    this.reconnects++;
    const reason = why ?? this.reason;
    this.events.status('reconnecting', `${reason ? `${reason}; ` : ''}retrying in ${Math.round(delay)} ms`);
    const gen = ++this.generation;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (gen === this.generation && !this.closedByUser) void this.reconnect(gen);
    }, delay);
  }

  /** One reconnect attempt: where /route says, or the last URL when it cannot tell. */
  private async reconnect(gen: number): Promise<void> {
    if (!this.space) {
      this.open(this.url, this.token, false); // no space id: /route cannot be asked
      return;
    }
    const answers = await this.askRoute();
    if (gen !== this.generation || this.closedByUser) return;
    const plan = planReconnect(answers, Date.now() - (this.outageStart ?? Date.now()));
    if (plan.kind === 'wait') {
      this.scheduleReconnect(`${this.reason || 'reconnecting'} (${plan.why})`);
      return;
    }
    if (plan.url) {
      this.routed++;
      this.url = this.nodeWsUrl(plan.url);
    }
    this.open(this.url, this.token, false);
  }

  /** Asks /route on this page's origin, then on the last node, until one names a node. */
  private async askRoute(): Promise<RouteAnswer[]> {
    const f = this.opts.fetchImpl ?? (typeof fetch === 'function' ? fetch.bind(globalThis) : null);
    if (!f || !this.space) return [];
    const bases = [this.origin, httpBaseOf(this.url)].filter((b, i, all): b is string => !!b && all.indexOf(b) === i);
    const answers: RouteAnswer[] = [];
    for (const base of bases) {
      const a = await fetchRoute(f, base, this.space, this.token);
      answers.push(a);
      if (a.kind !== 'retry') break;
    }
    return answers;
  }

  /** The WebSocket URL for a node base URL from the server, or this page's gateway when that
   * URL cannot be reached from here (or is the page's own origin). */
  private nodeWsUrl(base: string): string {
    if (!usableNodeUrl(base, this.origin) || sameOrigin(base, this.origin)) {
      if (this.origin && this.space) return wsUrlFor(this.origin, this.space);
      return this.opts.url;
    }
    return wsUrlFor(base, this.space);
  }
}

function spaceOf(url: string): string | null {
  try {
    return new URL(url).searchParams.get('space');
  } catch {
    return null;
  }
}

function sameOrigin(a: string, b: string | null): boolean {
  if (!b) return false;
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
