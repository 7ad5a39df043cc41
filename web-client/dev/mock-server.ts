// A stand-in for `plaza serve` for client development only (NOT used by the e2e test, which
// runs the real server): the REST calls the client makes, static files with SPA fallback, and
// a WebSocket speaking the real FlatBuffers protocol with a small server loop that runs the
// same movement rules for every player (the client's own Predictor as the sim), full
// snapshots (baseline 0), proximity at Manhattan distance <= 2, chat and signal relay.
//
// Run with: npm run mock   (then open http://127.0.0.1:8090/)

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import * as flatbuffers from 'flatbuffers';
import { WebSocketServer, type WebSocket } from 'ws';
import { Dir as WireDir } from '../src/generated/plaza/dir.js';
import { ChatScope } from '../src/generated/plaza/chat-scope.js';
import { ServerBody } from '../src/generated/plaza/server/server-body.js';
import { ServerMessage } from '../src/generated/plaza/server/server-message.js';
import { Welcome } from '../src/generated/plaza/server/welcome.js';
import { Snapshot } from '../src/generated/plaza/server/snapshot.js';
import { EnterState } from '../src/generated/plaza/server/enter-state.js';
import { Proximity } from '../src/generated/plaza/server/proximity.js';
import { Chat } from '../src/generated/plaza/server/chat.js';
import { Signal } from '../src/generated/plaza/server/signal.js';
import { Pong } from '../src/generated/plaza/server/pong.js';
import { decodeClient, PROTOCOL_VERSION, toWireDir } from '../src/protocol';
import { Predictor } from '../src/predict';
import { loadTiledMap, type TiledMap } from '../src/map';

const root = resolve(process.argv[2] ?? '..');
const port = Number(process.argv[3] ?? 8090);
const dist = join(root, 'web-client/dist');

interface Player {
  id: bigint;
  name: string;
  ws: WebSocket;
  sim: Predictor;
  near: Set<bigint>;
}

const accounts = new Map<string, string>(); // token -> name
const lastPos = new Map<string, { x: number; y: number }>(); // token -> last tile (resume)
const spaces = new Map<string, { id: string; name: string; map: string }>();
const players = new Map<bigint, Player>();
let nextId = 1n;
let tick = 0;

const mapsDir = join(root, 'assets/maps');
const officeRaw = JSON.parse(readFileSync(join(mapsDir, 'office.json'), 'utf8')) as TiledMap;
const office = await loadTiledMap(officeRaw);

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let s = '';
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.json': 'application/json', '.map': 'application/json' };

function file(res: ServerResponse, path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
  res.end(readFileSync(path));
  return true;
}

const http = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const p = url.pathname;
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  if (p === '/health') return json(res, 200, { ok: true });
  if (p === '/api/auth/guest' && req.method === 'POST') {
    const b = await body(req);
    const t = `guest-${Math.random().toString(36).slice(2)}`;
    accounts.set(t, String(b.name ?? 'guest'));
    return json(res, 200, { token: t, account: { id: accounts.size, name: b.name, guest: true } });
  }
  if (p.startsWith('/api/')) {
    if (!accounts.has(token)) return json(res, 401, { message: 'unauthorized' });
    if (p === '/api/me') return json(res, 200, { id: 1, name: accounts.get(token) });
    if (p === '/api/maps') return json(res, 200, [{ id: 'office', name: 'Office' }]);
    if (p === '/api/maps/office') return json(res, 200, officeRaw);
    if (p === '/api/spaces' && req.method === 'POST') {
      const b = await body(req);
      const s = { id: `sp${spaces.size + 1}`, name: String(b.name), map: String(b.map) };
      spaces.set(s.id, s);
      return json(res, 200, s);
    }
    if (p === '/api/spaces') return json(res, 200, [...spaces.values()]);
    const m = p.match(/^\/api\/spaces\/([^/]+)(\/join)?$/);
    if (m && spaces.has(m[1])) return json(res, 200, m[2] ? { space: spaces.get(m[1]) } : spaces.get(m[1]));
    return json(res, 404, { message: 'not found' });
  }
  if (p.startsWith('/assets/') && file(res, join(root, p))) return;
  if (file(res, join(dist, p))) return;
  file(res, join(dist, 'index.html'));
});

function send(ws: WebSocket, type: ServerBody, build: (b: flatbuffers.Builder) => flatbuffers.Offset): void {
  const b = new flatbuffers.Builder(256);
  const body = build(b);
  b.finish(ServerMessage.createServerMessage(b, PROTOCOL_VERSION, type, body));
  ws.send(b.asUint8Array());
}

const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (ws) => {
  let me: Player | null = null;
  ws.on('message', (data: Buffer) => {
    const msg = decodeClient(new Uint8Array(data));
    if (!me) {
      if (msg.type !== 'hello' || !accounts.has(msg.token)) return ws.close(4401, 'hello first');
      const id = nextId++;
      const free = (x: number, y: number) =>
        !office.isBlocked(x, y) &&
        ![...players.values()].some((o) => o.id !== id && ((o.sim.state.pos.x === x && o.sim.state.pos.y === y) || (o.sim.state.target?.x === x && o.sim.state.target?.y === y)));
      const last = lastPos.get(msg.token);
      const spawn = last && free(last.x, last.y) ? last : office.spawns.find((s) => free(s.x, s.y))!;
      const token = msg.token;
      ws.on('close', () => lastPos.set(token, { ...players.get(id)!.sim.state.pos }));
      me = { id, name: accounts.get(msg.token)!, ws, sim: new Predictor(spawn, 4, free), near: new Set() };
      players.set(id, me);
      const p = me;
      send(ws, ServerBody.Welcome, (b) => {
        const sp = b.createString('sp1');
        const mp = b.createString('office');
        Welcome.startWelcome(b);
        Welcome.addEntity(b, p.id);
        Welcome.addSlot(b, 0);
        Welcome.addTickRate(b, 20);
        Welcome.addTick(b, BigInt(tick));
        Welcome.addSpace(b, sp);
        Welcome.addMap(b, mp);
        return Welcome.endWelcome(b);
      });
      return;
    }
    if (msg.type === 'input') me.sim.input(msg.input);
    else if (msg.type === 'chat') {
      for (const o of players.values()) {
        const from = me;
        send(o.ws, ServerBody.Chat, (b) => Chat.createChat(b, from.id, b.createString(from.name), b.createString(msg.text), msg.scope === 'nearby' ? ChatScope.Nearby : ChatScope.Space, BigInt(Date.now())));
      }
    } else if (msg.type === 'signal') {
      const to = players.get(msg.to);
      const from = me;
      const kinds = ['offer', 'answer', 'ice', 'hangup'];
      if (to && from.near.has(to.id)) send(to.ws, ServerBody.Signal, (b) => Signal.createSignal(b, from.id, kinds.indexOf(msg.kind), b.createString(msg.payload)));
    } else if (msg.type === 'ping') {
      send(ws, ServerBody.Pong, (b) => Pong.createPong(b, msg.clientTime, BigInt(tick)));
    }
  });
  ws.on('close', () => {
    const gone = me;
    if (gone) setTimeout(() => players.delete(gone.id), 0);
  });
});

// Fixed 20 Hz with catch-up, like the real tick driver (a late timer runs the missed ticks).
const started = performance.now();
setInterval(() => {
  while (tick < Math.floor((performance.now() - started) / 50)) serverTick();
}, 10);

function serverTick(): void {
  tick++;
  // The mock's inputs carry the client's seq through Predictor.input (its own counter), so
  // report the number of inputs applied as the acked seq.
  for (const p of players.values()) p.sim.step();
  const all = [...players.values()];
  for (const p of all) {
    send(p.ws, ServerBody.Snapshot, (b) => {
      const names = all.map((o) => b.createString(o.name));
      const namesVec = Snapshot.createNamesVector(b, names);
      Snapshot.startEntersVector(b, all.length);
      for (let i = all.length - 1; i >= 0; i--) {
        const s = all[i].sim.state;
        EnterState.createEnterState(b, all[i].id, s.pos.x, s.pos.y, s.target?.x ?? 0, s.target?.y ?? 0, i, i % 8, s.facing === null ? WireDir.None : toWireDir(s.facing), s.target ? 1 : 0);
      }
      const enters = b.endVector();
      Snapshot.startSnapshot(b);
      Snapshot.addTick(b, BigInt(tick));
      Snapshot.addLastInputSeq(b, p.sim.state.lastSeq);
      Snapshot.addBaseline(b, 0n);
      Snapshot.addEnters(b, enters);
      Snapshot.addNames(b, namesVec);
      return Snapshot.endSnapshot(b);
    });
    const near: bigint[] = [];
    const far: bigint[] = [];
    for (const o of all) {
      if (o === p) continue;
      const d = Math.abs(o.sim.state.pos.x - p.sim.state.pos.x) + Math.abs(o.sim.state.pos.y - p.sim.state.pos.y);
      if (d <= 2 && !p.near.has(o.id)) (p.near.add(o.id), near.push(o.id));
      if (d > 3 && p.near.has(o.id)) (p.near.delete(o.id), far.push(o.id));
    }
    for (const id of [...p.near]) if (!players.has(id)) (p.near.delete(id), far.push(id));
    if (near.length || far.length) {
      send(p.ws, ServerBody.Proximity, (b) => Proximity.createProximity(b, Proximity.createNearVector(b, near), Proximity.createFarVector(b, far)));
    }
  }
}

http.listen(port, '127.0.0.1', () => console.log(`mock plaza on http://127.0.0.1:${port}/`));
