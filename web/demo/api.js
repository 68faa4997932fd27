// Switchboard demo app: the REST client. Keeps the session (access token, refresh
// token, user, tenant) in localStorage so a reload stays signed in, sends the bearer
// token, refreshes it with the rotating refresh token (`POST /api/v1/auth/refresh`)
// shortly before it expires or after a 401, and turns `{"error": {code, message}}`
// answers into ApiError.

const KEY = 'switchboard.demo.session';
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let session = load();
const listeners = new Set();

function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

/** The current session `{access_token, refresh_token, user, tenant, …}` or null. */
export function getSession() {
  return session;
}

/** Replaces the session (null signs out) and tells the listeners. */
export function setSession(next) {
  session = next;
  if (next) localStorage.setItem(KEY, JSON.stringify(next));
  else localStorage.removeItem(KEY);
  for (const fn of listeners) fn(session);
}

/** Updates fields of the current session (e.g. a fresh `user`) without telling the listeners. */
export function patchSession(fields) {
  if (!session) return;
  session = { ...session, ...fields };
  localStorage.setItem(KEY, JSON.stringify(session));
}

/** Calls `fn(session)` whenever the session changes (here or in another tab). */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// Another tab signed in, out, or rotated the refresh token: follow it, so this tab
// never presents a rotated refresh token (the server would revoke the whole family).
window.addEventListener('storage', (e) => {
  if (e.key !== KEY) return;
  const before = session;
  session = load();
  if (!before !== !session || before?.user?.id !== session?.user?.id) {
    for (const fn of listeners) fn(session);
  }
});

/** Milliseconds since the epoch at which a JWT expires (0 if unreadable). */
function expiresAt(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)).exp * 1000;
  } catch {
    return 0;
  }
}

let refreshing = null;

/** Rotates the refresh token for a new access token; signs out if the server refuses. */
export function refresh() {
  refreshing ??= (async () => {
    const stored = load();
    if (stored && session && stored.refresh_token !== session.refresh_token) {
      session = stored; // another tab rotated it already
      if (expiresAt(session.access_token) - Date.now() > 30_000) return session;
    }
    if (!session?.refresh_token) throw new ApiError(401, 'AUTH_ERROR', 'not signed in');
    const res = await fetch(`${BASE}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 401 || res.status === 403) setSession(null);
      throw new ApiError(res.status, body.error?.code, body.error?.message || 'could not refresh the session');
    }
    patchSession(body); // same user: no listener call needed
    return session;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** An access token valid for at least 30 more seconds. */
export async function freshToken() {
  if (!session) throw new ApiError(401, 'AUTH_ERROR', 'not signed in');
  if (expiresAt(session.access_token) - Date.now() < 30_000) await refresh();
  if (!session) throw new ApiError(401, 'AUTH_ERROR', 'signed out');
  return session.access_token;
}

/**
 * One REST call: `api('GET', '/chat/conversations')`. JSON in and out; throws
 * ApiError. With `auth` (default) it sends the bearer token and retries once after
 * refreshing when the server says 401.
 */
export async function api(method, path, body, { auth = true, retry = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = `Bearer ${await freshToken()}`;
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && auth && retry) {
    await refresh();
    return api(method, path, body, { auth, retry: false });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const err = data?.error || {};
    throw new ApiError(res.status, err.code, err.message || `${res.status} ${res.statusText}`, err.field);
  }
  return data;
}

/** Encodes a query string, leaving out empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
