// Screens: landing (guest / login / register), spaces list (create, invite link), and the
// space view (world canvas, people, chat, near indicator, video tiles, debug overlay).
// Routes: `/` and `/spaces` (list), `/s/{space-id}` (join by link).

import avatarsUrl from '../../assets/avatars/plaza-avatars.png';
import { api, accountOf, ApiError, saveToken, savedToken, type Space } from './api';
import { defaultWsUrl } from './connection';
import { clear, h } from './dom';
import { Game } from './game';
import { loadTiledMap, type TiledMap } from './map';
import type { ChatScopeName } from './protocol';
import { Renderer } from './render';

declare global {
  interface Window {
    __plaza?: {
      game: Game | null;
      route: string;
      state: () => ReturnType<Game['testState']> | null;
    };
  }
}

let currentGame: Game | null = null;
const root = () => document.getElementById('app')!;

function expose(route: string): void {
  window.__plaza = { game: currentGame, route, state: () => currentGame?.testState() ?? null };
}

export function navigate(path: string): void {
  history.pushState(null, '', path);
  void route();
}

export async function route(): Promise<void> {
  currentGame?.stop();
  currentGame = null;
  const path = location.pathname;
  const m = path.match(/^\/s\/([^/]+)\/?$/);
  expose(path);
  if (m) return showSpace(decodeURIComponent(m[1]));
  if (!savedToken()) return showLanding(null);
  return showSpaces();
}

function errorBox(): HTMLElement {
  return h('p', { class: 'error', role: 'alert' });
}

function showError(box: HTMLElement, e: unknown): void {
  box.textContent = e instanceof Error ? e.message : String(e);
}

// ----- landing -----

function showLanding(joining: string | null): void {
  const err = errorBox();
  const nameInput = h('input', { name: 'name', placeholder: 'Your name', maxlength: 32, required: true, autocomplete: 'nickname' });
  const guestForm = h(
    'form',
    {
      class: 'card',
      id: 'guest-form',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          const r = await api.guest(nameInput.value.trim());
          saveToken(r.token);
          await route();
        } catch (e) {
          showError(err, e);
        }
      },
    },
    h('h2', {}, joining ? 'Join as a guest' : 'Enter as a guest'),
    nameInput,
    h('button', { type: 'submit', id: 'guest-join' }, joining ? 'Join space' : 'Continue'),
  );
  const user = h('input', { name: 'username', placeholder: 'Account name', autocomplete: 'username' });
  const pass = h('input', { name: 'password', type: 'password', placeholder: 'Password', autocomplete: 'current-password' });
  const auth = async (kind: 'login' | 'register') => {
    try {
      const r = kind === 'login' ? await api.login(user.value.trim(), pass.value) : await api.register(user.value.trim(), pass.value);
      saveToken(r.token);
      await route();
    } catch (e) {
      showError(err, e);
    }
  };
  const accountForm = h(
    'form',
    {
      class: 'card',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        void auth('login');
      },
    },
    h('h2', {}, 'Or use an account'),
    user,
    pass,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Log in'), h('button', { type: 'button', class: 'secondary', onclick: () => void auth('register') }, 'Register')),
  );
  const r = root();
  clear(r);
  r.append(
    h(
      'div',
      { class: 'landing' },
      h('h1', {}, 'Plaza'),
      h('p', { class: 'tagline' }, joining ? 'You were invited to a space.' : 'A shared 2D place to meet, walk around and talk.'),
      h('div', { class: 'cards' }, guestForm, accountForm),
      err,
    ),
  );
  nameInput.focus();
}

// ----- spaces -----

function inviteLink(id: string): string {
  return `${location.origin}/s/${encodeURIComponent(id)}`;
}

function copyButton(text: () => string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary copy' }, 'Copy invite link');
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied!';
    } catch {
      b.textContent = text();
    }
    setTimeout(() => (b.textContent = 'Copy invite link'), 1500);
  });
  return b;
}

async function showSpaces(): Promise<void> {
  const r = root();
  clear(r);
  const err = errorBox();
  const list = h('ul', { class: 'spaces', id: 'spaces-list' });
  const mapSelect = h('select', { name: 'map', id: 'map-select' });
  const nameInput = h('input', { name: 'space-name', placeholder: 'Space name', maxlength: 64, required: true });
  const created = h('div', { class: 'created' });
  const form = h(
    'form',
    {
      class: 'card',
      id: 'create-space',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          const s = await api.createSpace(nameInput.value.trim(), mapSelect.value);
          clear(created);
          const link = inviteLink(s.id);
          created.append(
            h('p', {}, 'Created. Invite link: ', h('a', { href: link, class: 'invite' }, link)),
            copyButton(() => link),
          );
          await refresh();
        } catch (e) {
          showError(err, e);
        }
      },
    },
    h('h2', {}, 'Create a space'),
    nameInput,
    h('label', {}, 'Map ', mapSelect),
    h('button', { type: 'submit' }, 'Create'),
    created,
  );
  const logout = h('button', { class: 'secondary', onclick: () => { saveToken(null); navigate('/'); } }, 'Log out');
  r.append(h('div', { class: 'spaces-screen' }, h('header', {}, h('h1', {}, 'Plaza'), logout), h('div', { class: 'cards' }, h('div', { class: 'card' }, h('h2', {}, 'Spaces'), list), form), err));
  const refresh = async () => {
    const spaces = await api.spaces();
    clear(list);
    if (spaces.length === 0) list.append(h('li', { class: 'muted' }, 'No spaces yet: create one.'));
    for (const s of spaces) {
      const a = h('a', { href: `/s/${encodeURIComponent(s.id)}` }, s.name || s.id);
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        navigate(`/s/${encodeURIComponent(s.id)}`);
      });
      list.append(h('li', {}, a, h('span', { class: 'muted' }, ` ${s.map}`), copyButton(() => inviteLink(s.id))));
    }
  };
  try {
    const maps = await api.maps();
    for (const m of maps) mapSelect.append(h('option', { value: m.id }, m.name ?? m.id));
    await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      saveToken(null);
      return showLanding(null);
    }
    showError(err, e);
  }
}

// ----- the space -----

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => resolve(img); // drawn with fallback colours
    img.src = src;
  });
}

async function showSpace(id: string): Promise<void> {
  if (!savedToken()) return showLanding(id);
  const r = root();
  clear(r);
  const err = errorBox();
  const notice = h('p', { id: 'notice', class: 'notice', role: 'status' });
  let noticeTimer: ReturnType<typeof setTimeout> | null = null;
  r.append(h('div', { class: 'loading' }, h('p', {}, 'Joining…'), err));
  let space: Space;
  let wsUrl = defaultWsUrl(id);
  let token = savedToken()!;
  let account: { name: string } | null = null;
  let raw: TiledMap;
  try {
    // Only for the people list's own name: a failing /api/me other than 401 is not fatal.
    account = await api.me().then(accountOf, (e) => {
      if (e instanceof ApiError && e.status === 401) throw e;
      return null;
    });
    const join = await api.join(id);
    space = join.space && typeof join.space === 'object' ? join.space : await api.space(id);
    wsUrl = join.ws_url ?? join.url ?? wsUrl;
    token = join.token ?? join.ticket ?? token;
    raw = (await api.map(space.map)) as TiledMap;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      saveToken(null);
      return showLanding(id);
    }
    showError(err, e);
    return;
  }
  const map = await loadTiledMap(raw);
  const images = new Map<string, HTMLImageElement>();
  const [avatars] = await Promise.all([
    loadImage(avatarsUrl),
    ...map.tilesets.map(async (ts) => images.set(ts.image, await loadImage(`/assets/tiles/${encodeURIComponent(ts.image)}`))),
  ]);

  const canvas = h('canvas', { id: 'world', tabindex: 0 });
  const debug = h('pre', { id: 'debug', class: 'debug', hidden: true });
  const nearBadge = h('div', { id: 'near', class: 'near-badge', hidden: true });
  const status = h('span', { id: 'status', class: 'status' }, 'connecting');
  const videos = h('div', { id: 'videos', class: 'videos' });
  const people = h('ul', { id: 'people', class: 'people' });
  const chatList = h('ul', { id: 'chat-list', class: 'chat-list' });
  const chatInput = h('input', { id: 'chat-input', placeholder: 'Say something…', maxlength: 500, autocomplete: 'off' });
  let tab: ChatScopeName = 'space';
  const tabs = (['space', 'nearby'] as const).map((t) =>
    h('button', { type: 'button', class: t === tab ? 'tab active' : 'tab', 'data-tab': t }, t === 'space' ? 'Space' : 'Nearby'),
  );
  const micBtn = h('button', { type: 'button', id: 'mic', class: 'secondary' }, 'Mute');
  const camBtn = h('button', { type: 'button', id: 'cam', class: 'secondary' }, 'Camera off');
  const debugBtn = h('button', { type: 'button', id: 'debug-toggle', class: 'secondary', title: 'F3' }, 'Debug');
  const leaveBtn = h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/spaces') }, 'Leave');
  const link = inviteLink(id);
  clear(r);
  r.append(
    h(
      'div',
      { class: 'space-screen' },
      h(
        'header',
        {},
        h('h1', {}, space.name || 'Space'),
        copyButton(() => link),
        status,
        h('span', { class: 'spacer' }),
        micBtn,
        camBtn,
        debugBtn,
        leaveBtn,
      ),
      videos,
      h('main', {}, canvas, nearBadge, debug, notice, err),
      h(
        'aside',
        {},
        h('h2', {}, 'People'),
        people,
        h('div', { class: 'tabs' }, tabs),
        chatList,
        h('form', { id: 'chat-form', onsubmit: (ev: Event) => { ev.preventDefault(); game.sendChat(chatInput.value, tab); chatInput.value = ''; } }, chatInput, h('button', { type: 'submit' }, 'Send')),
      ),
    ),
  );

  const renderer = new Renderer(canvas, map, images, avatars);
  const game: Game = new Game({
    map,
    renderer,
    wsUrl,
    token,
    space: id,
    ticksPerTile: numberField(space, 'ticks_per_tile') ?? undefined,
    aoiRadius: numberField(space, 'aoi_radius'),
    videoContainer: videos,
    onChange: (what) => {
      if (what === 'chat') renderChat();
      if (what === 'people' || what === 'near') renderPeople();
      if (what === 'status') status.textContent = game.status + (game.statusDetail ? ` (${game.statusDetail})` : '');
    },
    onError: (msg) => (err.textContent = msg),
    onNotice: (msg) => {
      notice.textContent = msg;
      if (noticeTimer) clearTimeout(noticeTimer);
      noticeTimer = setTimeout(() => (notice.textContent = ''), 4000);
    },
  });
  currentGame = game;
  expose(location.pathname);

  const renderChat = () => {
    clear(chatList);
    for (const c of game.chat) {
      if (c.scope !== tab) continue;
      chatList.append(h('li', {}, h('b', {}, c.fromName || '?'), ' ', c.text));
    }
    chatList.scrollTop = chatList.scrollHeight;
  };
  const renderPeople = () => {
    clear(people);
    const self = game.selfState();
    const name = self?.name ?? account?.name ?? 'you';
    people.append(h('li', { class: 'self' }, `${name} (you)`));
    for (const o of game.others().sort((a, b) => a.name.localeCompare(b.name))) {
      const near = game.near.has(o.id);
      people.append(h('li', { class: near ? 'near' : '' }, o.name, near ? h('span', { class: 'pill' }, 'near') : null));
    }
    const nearNames = [...game.near].map((n) => game.names.get(n) ?? `#${n}`);
    nearBadge.hidden = nearNames.length === 0;
    nearBadge.textContent = nearNames.length ? `Near you: ${nearNames.join(', ')}` : '';
  };
  for (const t of tabs) {
    t.addEventListener('click', () => {
      tab = t.dataset.tab as ChatScopeName;
      for (const o of tabs) o.classList.toggle('active', o === t);
      renderChat();
    });
  }
  micBtn.addEventListener('click', () => {
    game.video.setMic(!game.video.micOn);
    micBtn.textContent = game.video.micOn ? 'Mute' : 'Unmute';
  });
  camBtn.addEventListener('click', () => {
    game.video.setCam(!game.video.camOn);
    camBtn.textContent = game.video.camOn ? 'Camera off' : 'Camera on';
  });
  const toggleDebug = () => (debug.hidden = !debug.hidden);
  debugBtn.addEventListener('click', toggleDebug);

  const typing = (t: EventTarget | null) => t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement;
  const onKeyDown = (ev: KeyboardEvent) => {
    if (ev.code === 'F3') {
      ev.preventDefault();
      toggleDebug();
      return;
    }
    if (typing(ev.target)) return;
    if (game.keyDown(ev.code, ev.repeat)) ev.preventDefault();
  };
  const onKeyUp = (ev: KeyboardEvent) => {
    if (game.keyUp(ev.code)) ev.preventDefault();
  };
  const onBlur = () => game.releaseKeys();
  const onResize = () => renderer.resize();
  window.addEventListener('keydown', onKeyDown);
  window.addEventListener('keyup', onKeyUp);
  window.addEventListener('blur', onBlur);
  window.addEventListener('resize', onResize);
  canvas.addEventListener('click', (ev) => {
    const rect = canvas.getBoundingClientRect();
    const t = renderer.tileAt(ev.clientX - rect.left, ev.clientY - rect.top);
    game.walkTo(t);
    canvas.focus();
  });
  canvas.addEventListener('mousemove', (ev) => {
    const rect = canvas.getBoundingClientRect();
    renderer.hover = renderer.tileAt(ev.clientX - rect.left, ev.clientY - rect.top);
  });
  canvas.addEventListener('mouseleave', () => (renderer.hover = null));
  const debugTimer = setInterval(() => {
    if (debug.hidden) return;
    const s = game.stats();
    debug.textContent = [
      `ping        ${s.ping === null ? '—' : `${s.ping.toFixed(0)} ms`}`,
      `server tick ${s.serverTick}`,
      `snapshots   ${s.snapshotsPerSec}/s, ${(s.bytesPerSec / 1024).toFixed(2)} KiB/s (${s.bytesPerSec} B/s)`,
      `visible     ${s.visible} entities`,
      `AOI radius  ${s.aoiRadius ?? '—'} tiles`,
      `tile        ${s.predictedTile ? `${s.predictedTile.x},${s.predictedTile.y}` : '—'}`,
      `corrections ${s.corrections}  reconnects ${s.reconnects}  migrations ${s.migrations}`,
      `dpr         ${renderer.devicePixelRatio}`,
    ].join('\n');
  }, 250);
  const origStop = game.stop.bind(game);
  game.stop = () => {
    origStop();
    clearInterval(debugTimer);
    if (noticeTimer) clearTimeout(noticeTimer);
    window.removeEventListener('keydown', onKeyDown);
    window.removeEventListener('keyup', onKeyUp);
    window.removeEventListener('blur', onBlur);
    window.removeEventListener('resize', onResize);
  };
  renderPeople();
  game.start();
}

function numberField(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
