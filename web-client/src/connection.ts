// The WebSocket to the server: Hello first, then whatever the game sends; reconnects with
// exponential backoff (resuming with the same token) and follows Migrate to another node
// (connects there with the ticket and only drops the old socket once the new one is welcomed).

import { decodeServer, encodeClient, type ClientMsg, type ServerMsg } from './protocol';

/**
 * Server error codes after which reconnecting cannot help: unauthorized (2), wrong protocol
 * version (3), unknown space (8), not a member (9), replaced by a newer connection (10).
 */
export const FATAL_ERRORS = new Set([2, 3, 8, 9, 10]);

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
  /** Backoff delays in ms (default 250 ms doubling up to 8 s). */
  minDelay?: number;
  maxDelay?: number;
  /** Injected for tests. */
  WebSocketImpl?: typeof WebSocket;
}

/** The gateway of this origin for a space: `/ws?space={id}`. */
export function defaultWsUrl(space: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws?space=${encodeURIComponent(space)}`;
}

export class Connection {
  private ws: WebSocket | null = null;
  private pending: WebSocket | null = null;
  private url: string;
  private token: string;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closedByUser = false;
  private welcomed = false;
  /** Messages sent while not connected (chat typed during a reconnect); inputs are dropped. */
  private outbox: ClientMsg[] = [];
  reconnects = 0;
  migrations = 0;

  constructor(
    private opts: ConnectionOptions,
    private events: ConnectionEvents,
  ) {
    this.url = opts.url;
    this.token = opts.token;
  }

  start(): void {
    this.closedByUser = false;
    this.open(this.url, this.token, false);
  }

  get isOpen(): boolean {
    return this.welcomed && this.ws?.readyState === 1;
  }

  send(msg: ClientMsg): boolean {
    if (this.ws && this.ws.readyState === 1 && this.welcomed) {
      this.ws.send(encodeClient(msg));
      return true;
    }
    if (msg.type === 'chat') this.outbox.push(msg);
    return false;
  }

  close(): void {
    this.closedByUser = true;
    if (this.timer) clearTimeout(this.timer);
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
    const ws = new Impl(url);
    ws.binaryType = 'arraybuffer';
    if (migrating) this.pending = ws;
    else {
      this.ws = ws;
      this.welcomed = false;
      this.events.status(this.attempt === 0 ? 'connecting' : 'reconnecting');
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
        if (msg.type !== 'welcome') return; // nothing counts on the new node before Welcome
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
      if (msg.type === 'welcome') {
        this.welcomed = true;
        this.attempt = 0;
        this.events.status('open');
        const queued = this.outbox;
        this.outbox = [];
        this.events.message(msg);
        for (const m of queued) this.send(m);
        return;
      }
      if (msg.type === 'error' && FATAL_ERRORS.has(msg.code)) {
        // Retrying cannot help (bad token, unknown space, replaced by a newer tab...).
        this.closedByUser = true;
        this.events.message(msg);
        this.events.status('closed', msg.message || `error ${msg.code}`);
        ws.close(1000, 'fatal error');
        return;
      }
      if (msg.type === 'migrate') {
        this.open(msg.url || this.url, msg.ticket, true);
      }
      this.events.message(msg);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (ws === this.pending) {
        this.pending = null; // migration failed: stay where we are
        return;
      }
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      if (this.closedByUser) return;
      if (ev.code === 4401 || ev.code === 1008) {
        this.events.status('closed', ev.reason || 'refused');
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  /** The delay before reconnect attempt `n` (0-based). */
  static backoff(n: number, min = 250, max = 8000): number {
    return Math.min(max, min * 2 ** n);
  }

  private scheduleReconnect(): void {
    const delay = Connection.backoff(this.attempt++, this.opts.minDelay, this.opts.maxDelay);
    this.reconnects++;
    this.events.status('reconnecting', `retrying in ${Math.round(delay)} ms`);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closedByUser) this.open(this.url, this.token, false);
    }, delay);
  }
}
