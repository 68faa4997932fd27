#!/usr/bin/env node
// Compatibility check against document 002 ("Chat Web Sockets", Worknation's NestJS
// AppGateway): plays the unchanged Worknation web client with the official
// `socket.io-client` v4 package.
//
//   node compat-002-worknation.mjs <baseUrl>
//
// The Socket.IO part uses only what 002 describes: `io(url, {query: {userId, token}})`
// (client defaults otherwise: polling, then upgrade to WebSocket), the events
// create_chat / create_message / seen_message / chat_messages / get_chats with the
// document's payloads, and the server events chat_created / response_message /
// get_all_chat_messages (an array) / updated_chat_list (an array) / exception. No acks,
// no client_msg_id, no Switchboard-only events.
// Only the setup (users and tokens) uses Switchboard's REST API. Ids are UUID strings
// where 002 says numbers (a known, written choice).
//
// Prints one line per passed check (`ok   name`); on the first failed check prints
// `FAIL name: reason` and exits 1. Ends with `compat-002: N passed, 0 failed`.
// Every wait times out after 5 s; the whole run after 60 s.
// Optional: TRANSPORTS=websocket for a server run with SOCKETIO_TRANSPORTS=websocket.

import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import {
  check, createRun, refused, rest, waitFor, whenConnected,
} from './lib/testkit.mjs';

const base = process.argv[2]?.replace(/\/+$/, '');
if (!base) {
  console.error('usage: node compat-002-worknation.mjs <baseUrl>');
  process.exit(2);
}
const TRANSPORTS = process.env.TRANSPORTS
  ? process.env.TRANSPORTS.split(',').map((t) => t.trim())
  : undefined;

const { sockets, step, finish } = createRun({
  summary: (passed, code) => `compat-002: ${passed} passed, ${code === 0 ? 0 : 1} failed`,
});

// ---------------------------------------------------------------- helpers

/** Records every `exception` on `socket` until the returned function is called. */
function collectExceptions(socket) {
  const got = [];
  const on = (e) => got.push(e);
  socket.on('exception', on);
  return () => { socket.off('exception', on); return got; };
}

/** NestJS WsException as the client sees it: `exception` `{status: "error", message}`. */
function checkException(e, what) {
  check(e && typeof e === 'object', `${what}: exception payload is not an object`, e);
  check(e.status === 'error', `${what}: exception status is not "error"`, e);
  check(typeof e.message === 'string' && e.message.length > 0, `${what}: exception has no message`, e);
}

/** The Worknation client's socket: userId and token in the handshake query (002 §1). */
function open(userId, token, label) {
  const opts = { query: { userId, token } };
  if (TRANSPORTS) opts.transports = TRANSPORTS;
  const socket = io(base, opts);
  socket.label = label;
  sockets.push(socket);
  return socket;
}

/** Opens a socket and resolves on `connect`; rejects on `connect_error` or after 5 s. */
function connect(session, label) {
  return whenConnected(open(session.user.id, session.access_token, label));
}

/** `create_message` (CreateMessageDto) and the `response_message` both sides must get. */
async function send(from, to, chatId, receiverId, text) {
  const mine = (m) => m?.message === text;
  const gotFrom = waitFor(from, 'response_message', mine);
  const gotTo = to ? waitFor(to, 'response_message', mine) : null;
  from.emit('create_message', { chat_id: chatId, receiver_id: receiverId, message: text });
  const m = await gotFrom;
  check(m && typeof m === 'object', `response_message on ${from.label} is not an object`, m);
  check(m.id !== undefined && m.id !== null, `response_message on ${from.label}: missing id`, m);
  check(m.chat_id === chatId, `response_message on ${from.label}: chat_id`, m);
  if (gotTo) {
    const r = await gotTo;
    check(r.id === m.id, `response_message on ${to.label} is another message than on ${from.label}`, r);
  }
  return m;
}

/** `chat_messages {chat_id}` → `get_all_chat_messages` (an array). */
async function history(socket, chatId) {
  const got = waitFor(socket, 'get_all_chat_messages');
  socket.emit('chat_messages', { chat_id: chatId });
  const list = await got;
  check(Array.isArray(list), 'get_all_chat_messages payload is not an array', list);
  return list;
}

/** `get_chats` with no payload → `updated_chat_list` (an array). */
async function chats(socket) {
  const got = waitFor(socket, 'updated_chat_list');
  socket.emit('get_chats');
  const list = await got;
  check(Array.isArray(list), 'updated_chat_list payload is not an array', list);
  return list;
}

/** Emits something 002 says fails; resolves with the `exception`. */
async function expectException(socket, event, payload) {
  const exc = waitFor(socket, 'exception');
  socket.emit(event, payload);
  const e = await exc;
  checkException(e, event);
  return e;
}

// ---------------------------------------------------------------- setup (REST)

const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const password = `pw-${randomUUID()}`;
const email = (who) => `${who}+${suffix}@worknation.example.com`;

console.log(`# compat-002 (Worknation chat web sockets) against ${base}`);

const A = await step('setup: signup A (POST /api/v1/auth/signup)', async () => {
  const s = await rest(base, 'POST', '/api/v1/auth/signup', {
    email: email('ann'), password, display_name: 'Ann', tenant_name: `Worknation ${suffix}`,
  }, { expected: 201 });
  check(s.access_token && s.user?.id, 'signup: missing access_token or user.id', s);
  return s;
});

async function member(who, name) {
  await rest(base, 'POST', '/api/v1/users', { email: email(who), password, display_name: name },
    { token: A.access_token, expected: 201 });
  const s = await rest(base, 'POST', '/api/v1/auth/login', { email: email(who), password }, { expected: 200 });
  check(s.access_token && s.user?.id, 'login: missing access_token or user.id', s);
  return s;
}

const B = await step('setup: A creates B, B logs in', () => member('bob', 'Bob'));
const C = await step('setup: A creates C, C logs in', () => member('cid', 'Cid'));

// ---------------------------------------------------------------- 3.1 connection

const sa = await step('A connects with query {userId, token}', () => connect(A, 'A'));
const sb = await step('B connects with query {userId, token}', () => connect(B, 'B'));
const sc = await step('C connects with query {userId, token}', () => connect(C, 'C'));

await step('bad token -> connect_error, never connected', async () => {
  const err = await refused(open(A.user.id, 'not-a-valid-token', 'bad-token'));
  check(err instanceof Error && err.message, 'connect_error without a message', err);
});

await step('userId other than the token\'s user -> connect_error, never connected', async () => {
  const err = await refused(open(B.user.id, A.access_token, 'wrong-user'));
  check(err instanceof Error && err.message, 'connect_error without a message', err);
});

await step('empty token -> connect_error, never connected', async () => {
  const err = await refused(open(A.user.id, '', 'no-token'));
  check(err instanceof Error && err.message, 'connect_error without a message', err);
});

// ---------------------------------------------------------------- 3.2 / 3.3 events

const chat = await step('A create_chat {receiver_id} -> A chat_created (chat object)', async () => {
  const created = waitFor(sa, 'chat_created');
  sa.emit('create_chat', { receiver_id: B.user.id });
  const c = await created;
  check(c && typeof c === 'object' && !Array.isArray(c), 'chat_created payload is not an object', c);
  check(c.id !== undefined && c.id !== null, 'chat_created: missing id', c);
  return c;
});

const m1 = await step('A create_message {chat_id, receiver_id, message} -> A and B response_message',
  () => send(sa, sb, chat.id, B.user.id, `hello from A ${suffix}`));

const m2 = await step('B create_message (reply) -> B and A response_message',
  () => send(sb, sa, chat.id, A.user.id, `hello back from B ${suffix}`));

await step('B seen_message {chat_id} -> no exception', async () => {
  // 002 promises no reply, so "nothing came" is checked behind a barrier: the server
  // handles a socket's events one at a time, in order, and answers each before the
  // next, so an `exception` for seen_message would arrive before get_chats' answer.
  const stop = collectExceptions(sb);
  sb.emit('seen_message', { chat_id: chat.id });
  await chats(sb);
  const got = stop();
  check(got.length === 0, 'seen_message raised an exception', got);
});

await step('B get_chats (no payload) -> updated_chat_list array with the chat', async () => {
  const list = await chats(sb);
  const ids = list.map((c) => c.id);
  check(ids.includes(chat.id), 'the chat is not in the list', ids);
});

await step('A get_chats -> updated_chat_list array with the chat', async () => {
  const ids = (await chats(sa)).map((c) => c.id);
  check(ids.includes(chat.id), 'the chat is not in the list', ids);
});

await step('C get_chats -> updated_chat_list array without A and B\'s chat', async () => {
  const ids = (await chats(sc)).map((c) => c.id);
  check(!ids.includes(chat.id), 'C sees a chat it is not in', ids);
});

await step('A chat_messages {chat_id} -> get_all_chat_messages array [m1, m2]', async () => {
  const ids = (await history(sa, chat.id)).map((m) => m.id);
  check(ids.length === 2, `expected 2 messages, got ${ids.length}`, ids);
  check(ids[0] === m1.id && ids[1] === m2.id, 'not the two messages sent, oldest first', ids);
});

await step('B chat_messages {chat_id} -> get_all_chat_messages with the texts', async () => {
  const texts = (await history(sb, chat.id)).map((m) => m.message);
  check(texts[0] === m1.message && texts[1] === m2.message, 'message texts differ', texts);
});

await step('A create_chat with the same receiver again -> chat_created', async () => {
  // 002 does not say whether a second chat is made; Switchboard returns the existing one.
  const created = waitFor(sa, 'chat_created');
  sa.emit('create_chat', { receiver_id: B.user.id });
  const c = await created;
  check(c && typeof c === 'object' && c.id !== undefined, 'chat_created: missing id', c);
});

// ---------------------------------------------------------------- receiver offline

await step('B disconnects; A create_message still -> A response_message', async () => {
  sb.disconnect();
  check(!sb.connected, 'B still connected');
  await send(sa, null, chat.id, B.user.id, `while B is away ${suffix}`);
});

const sb2 = await step('B reconnects', () => connect(B, 'B2'));

await step('B chat_messages -> the message sent while offline is there', async () => {
  const texts = (await history(sb2, chat.id)).map((m) => m.message);
  check(texts.length === 3, `expected 3 messages, got ${texts.length}`, texts);
  check(texts[2] === `while B is away ${suffix}`, 'the last message is not the offline one', texts);
});

// ---------------------------------------------------------------- 4. errors

await step('create_message to a chat that does not exist -> exception {status, message}', async () => {
  await expectException(sa, 'create_message', { chat_id: randomUUID(), receiver_id: B.user.id, message: 'x' });
});

await step('create_message without message -> exception', async () => {
  await expectException(sa, 'create_message', { chat_id: chat.id, receiver_id: B.user.id });
});

await step('create_message with an empty message -> exception', async () => {
  await expectException(sa, 'create_message', { chat_id: chat.id, receiver_id: B.user.id, message: '' });
});

await step('create_chat with an unknown receiver_id -> exception', async () => {
  await expectException(sa, 'create_chat', { receiver_id: randomUUID() });
});

await step('chat_messages for a chat that does not exist -> exception', async () => {
  await expectException(sa, 'chat_messages', { chat_id: randomUUID() });
});

await step('C (not in the chat) chat_messages -> exception', async () => {
  await expectException(sc, 'chat_messages', { chat_id: chat.id });
});

await step('C (not in the chat) create_message -> exception, nothing reaches A', async () => {
  let leaked;
  const onMsg = (m) => { if (m?.message === `intruder ${suffix}`) leaked = m; };
  sa.on('response_message', onMsg);
  await expectException(sc, 'create_message', { chat_id: chat.id, receiver_id: A.user.id, message: `intruder ${suffix}` });
  // The barrier: C's event is done (its exception came), then B writes in the same
  // chat. A gets the chat's messages in order, so a leaked one would be here first.
  await send(sb2, sa, chat.id, A.user.id, `after the intruder ${suffix}`);
  sa.off('response_message', onMsg);
  check(!leaked, 'A got the intruder\'s message', leaked);
});

await step('seen_message for a chat that does not exist -> exception', async () => {
  await expectException(sb2, 'seen_message', { chat_id: randomUUID() });
});

await step('sockets stay connected after exceptions; history has only the messages sent', async () => {
  check(sa.connected && sb2.connected && sc.connected, 'a socket was disconnected by an exception');
  const texts = (await history(sa, chat.id)).map((m) => m.message);
  const sent = [m1.message, m2.message, `while B is away ${suffix}`, `after the intruder ${suffix}`];
  check(texts.join('\n') === sent.join('\n'), 'the history is not the four messages sent', texts);
});

// ---------------------------------------------------------------- done

await step('disconnect all', async () => {
  for (const s of sockets) s.disconnect();
  check(sockets.every((s) => !s.connected), 'a socket is still connected');
});

finish(0);
