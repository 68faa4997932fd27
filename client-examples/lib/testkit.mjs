// Shared helpers of the client-example scripts (worknation-flow, compat-002-worknation,
// hr-stream): the step runner with its overall timeout, `check`, the REST call, and the
// Socket.IO waits (an event, an ack, `connect`, a refused `connect_error`).
// Every event wait times out after EVENT_TIMEOUT_MS, every REST call after REST_TIMEOUT_MS.

/** How long one awaited event, ack or connect may take. */
export const EVENT_TIMEOUT_MS = 5_000;
/** How long one REST call may take. */
export const REST_TIMEOUT_MS = 10_000;
/** How long a whole run may take. */
export const OVERALL_TIMEOUT_MS = 60_000;

/** JSON of `v`, cut to 400 characters for error messages. */
export function short(v) {
  const s = JSON.stringify(v);
  return s && s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

/** Throws `what` (with `got` appended when given) unless `cond` holds. */
export function check(cond, what, got) {
  if (!cond) throw new Error(got === undefined ? what : `${what}; got ${short(got)}`);
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a run: an overall timeout, `step` (prints `ok   name` / `FAIL name: reason`, exits 1 on failure), `finish(code)` (disconnects `sockets`, prints `summary(passed, code)` if given, exits). */
export function createRun({ summary, overallMs = OVERALL_TIMEOUT_MS } = {}) {
  const sockets = [];
  let passed = 0;

  function finish(code) {
    clearTimeout(overall);
    for (const s of sockets) s.disconnect();
    if (summary) console.log(summary(passed, code));
    process.exit(code);
  }

  const overall = setTimeout(() => {
    console.log(`FAIL overall: not finished within ${overallMs / 1000} s`);
    finish(1);
  }, overallMs);

  process.on('unhandledRejection', (e) => {
    console.log(`FAIL unhandled rejection: ${e?.stack ?? e}`);
    finish(1);
  });

  async function step(name, fn) {
    try {
      const result = await fn();
      passed += 1;
      console.log(`ok   ${name}`);
      return result;
    } catch (e) {
      console.log(`FAIL ${name}: ${e?.message ?? e}`);
      finish(1);
    }
  }

  return { sockets, step, finish };
}

/** JSON REST call to `base`; throws unless the status is `expected` (any 2xx when not given) and the body is a JSON object. */
export async function rest(base, method, path, body, { token, expected } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REST_TIMEOUT_MS),
    });
  } catch (e) {
    throw new Error(`${method} ${path}: ${e.cause?.message ?? e.message}`);
  }
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (expected === undefined ? !res.ok : res.status !== expected) {
    throw new Error(`${method} ${path} -> ${res.status} (expected ${expected ?? '2xx'}): ${text.slice(0, 400)}`);
  }
  check(json && typeof json === 'object', `${method} ${path}: body is not a JSON object`, text.slice(0, 400));
  return json;
}

/** Resolves with the first `event` on `socket` whose data passes `match` (call it BEFORE emitting the trigger); rejects after 5 s, naming any `exception` seen meanwhile. */
export function waitFor(socket, event, match = () => true) {
  return new Promise((resolve, reject) => {
    let lastException;
    const onException = (e) => { lastException = e; };
    const onEvent = (data) => {
      if (!match(data)) return;
      cleanup();
      resolve(data);
    };
    const timer = setTimeout(() => {
      cleanup();
      const extra = lastException && event !== 'exception'
        ? ` (meanwhile got exception ${short(lastException)})` : '';
      reject(new Error(`no \`${event}\` on ${socket.label} within ${EVENT_TIMEOUT_MS / 1000} s${extra}`));
    }, EVENT_TIMEOUT_MS);
    function cleanup() {
      clearTimeout(timer);
      socket.off(event, onEvent);
      socket.off('exception', onException);
    }
    socket.on(event, onEvent);
    if (event !== 'exception') socket.on('exception', onException);
  });
}

/** Emits with an acknowledgement (no payload when it is undefined); rejects when no ack arrives within 5 s. */
export async function emitAck(socket, event, payload) {
  const args = payload === undefined ? [] : [payload];
  try {
    return await socket.timeout(EVENT_TIMEOUT_MS).emitWithAck(event, ...args);
  } catch {
    throw new Error(`no ack for \`${event}\` on ${socket.label} within ${EVENT_TIMEOUT_MS / 1000} s`);
  }
}

/** Resolves with `socket` on `connect`; rejects on `connect_error` or after 5 s (messages named by `label`). */
export function whenConnected(socket, label = socket.label) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label}: no \`connect\` within ${EVENT_TIMEOUT_MS / 1000} s`)),
      EVENT_TIMEOUT_MS,
    );
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${label}: connect_error ${err.message}`));
    });
  });
}

/** For a just-opened socket that must be refused: resolves with its `connect_error`, checks it stays unconnected for 300 ms more, disconnects it. */
export async function refused(socket, label = socket.label) {
  let connected = false;
  socket.on('connect', () => { connected = true; });
  const err = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label}: no connect_error within ${EVENT_TIMEOUT_MS / 1000} s`)),
      EVENT_TIMEOUT_MS,
    );
    socket.once('connect_error', (e) => { clearTimeout(timer); resolve(e); });
  });
  await sleep(300);
  check(!connected && !socket.connected, `${label}: the socket connected anyway`);
  socket.disconnect();
  return err;
}
