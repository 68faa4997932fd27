// Switchboard demo app: the live connection. One socket.io-client socket on the
// default namespace `/`, authenticated with `{token}` in the handshake (a fresh access
// token on every (re)connect), plus `request()`, which emits an event with an ack and
// resolves with its `data` or rejects with the server's error object.
// socket.io-client is the vendored browser bundle (window.io, /demo/vendor/).

import { freshToken, refresh } from './api.js';

/**
 * Opens the socket. `handlers` maps event names to functions; `onState(state, detail)`
 * hears 'connecting' | 'connected' | 'offline' | 'unauthorized'.
 */
export function openSocket(handlers, onState) {
  const socket = window.io({
    // A function, so every reconnect presents a fresh token (the client adds its own
    // `pid`/`offset` for connection state recovery).
    auth: (cb) => freshToken().then((token) => cb({ token }), () => cb({})),
    transports: ['websocket', 'polling'],
  });

  let refusals = 0;
  socket.on('connect', () => {
    refusals = 0;
    onState('connected', { recovered: socket.recovered });
  });
  socket.on('disconnect', (reason) => {
    onState(reason === 'io client disconnect' ? 'closed' : 'offline', { reason });
  });
  socket.io.on('reconnect_attempt', () => onState('connecting'));
  socket.on('connect_error', async (err) => {
    // A refused handshake (`unauthorized`, `user_inactive`, …) is not retried by the
    // client itself: refresh the token once and try again, else give up.
    if (socket.active) {
      onState('offline', { reason: err.message });
      return;
    }
    if (err.message === 'unauthorized' && refusals++ < 2) {
      try {
        await refresh();
        socket.connect();
        return;
      } catch {
        /* fall through */
      }
    }
    onState('unauthorized', { reason: err.message });
  });
  for (const [event, fn] of Object.entries(handlers)) socket.on(event, fn);
  return socket;
}

/** Emits `event` with an ack; resolves with `data` of `{status: "ok", data}`. */
export async function request(socket, event, payload, timeoutMs = 10_000) {
  const ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  if (ack?.status !== 'ok') {
    const err = new Error(ack?.message || `${event} failed`);
    err.code = ack?.code;
    throw err;
  }
  return ack.data;
}
