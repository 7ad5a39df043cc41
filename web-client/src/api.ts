// The server's REST API (net crate): auth, spaces, maps. The token is kept in localStorage.

export interface Account {
  id: number | string;
  name: string;
  guest?: boolean;
  [k: string]: unknown;
}

export interface Space {
  id: string;
  name: string;
  map: string;
  [k: string]: unknown;
}

export interface MapInfo {
  id: string;
  name?: string;
  width?: number;
  height?: number;
  [k: string]: unknown;
}

export interface JoinInfo {
  /** Token for the WebSocket Hello, when the server issues one per space. */
  token?: string;
  ticket?: string;
  /** WebSocket URL, when not `/ws` on this origin. */
  ws_url?: string;
  url?: string;
  space?: Space;
  [k: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'plaza.token';

export function savedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* private mode: keep it in memory only */
  }
}

async function call<T>(method: string, path: string, body?: unknown, token?: string | null): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const t = token === undefined ? savedToken() : token;
  if (t) headers.authorization = `Bearer ${t}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const msg =
      (data && typeof data === 'object' && ('message' in data || 'error' in data)
        ? String((data as Record<string, unknown>).message ?? (data as Record<string, unknown>).error)
        : typeof data === 'string' && data
          ? data
          : res.statusText) || `HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

interface AuthResponse {
  token: string;
  account: Account;
}

export const api = {
  guest: (name: string) => call<AuthResponse>('POST', '/api/auth/guest', { name }, null),
  register: (name: string, password: string) =>
    call<AuthResponse>('POST', '/api/auth/register', { name, password }, null),
  login: (name: string, password: string) => call<AuthResponse>('POST', '/api/auth/login', { name, password }, null),
  me: () => call<Account | { account: Account }>('GET', '/api/me'),
  spaces: async (): Promise<Space[]> => {
    const r = await call<Space[] | { spaces: Space[] }>('GET', '/api/spaces');
    return Array.isArray(r) ? r : r.spaces;
  },
  space: async (id: string): Promise<Space> => unwrapSpace(await call<Space | { space: Space }>('GET', `/api/spaces/${encodeURIComponent(id)}`)),
  createSpace: async (name: string, map: string): Promise<Space> =>
    unwrapSpace(await call<Space | { space: Space }>('POST', '/api/spaces', { name, map })),
  join: (id: string) => call<JoinInfo>('POST', `/api/spaces/${encodeURIComponent(id)}/join`, {}),
  maps: async (): Promise<MapInfo[]> => {
    const r = await call<MapInfo[] | { maps: MapInfo[] }>('GET', '/api/maps');
    return Array.isArray(r) ? r : r.maps;
  },
  map: (id: string) => call<unknown>('GET', `/api/maps/${encodeURIComponent(id)}`),
};

function unwrapSpace(r: Space | { space: Space }): Space {
  const inner = (r as { space?: unknown }).space;
  return inner && typeof inner === 'object' ? (inner as Space) : (r as Space);
}

export function accountOf(r: Account | { account: Account }): Account {
  return 'account' in r && r.account && typeof r.account === 'object' ? (r.account as Account) : (r as Account);
}
