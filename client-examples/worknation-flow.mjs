#!/usr/bin/env node
// The Worknation flow against a running Switchboard, with the official
// `socket.io-client` package and the global `fetch` (Node >= 18).
//
//   node worknation-flow.mjs <baseUrlA> [baseUrlB]
//
// User A (a tenant admin) talks to node A; user B talks to node B (default: A).
// With two nodes sharing Redis this proves cross-node delivery.
// Prints one line per step (`ok   name` / `FAIL name: reason`); exits 1 on the
// first failure or after 60 s overall, 0 when every step passed.

import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import {
  check, createRun, emitAck, refused, rest, waitFor, whenConnected,
} from './lib/testkit.mjs';

// TRANSPORTS=polling forces HTTP long-polling (what a sticky proxy must route);
// `polling,websocket` is the client default (poll, then upgrade). Default: websocket.
const TRANSPORTS = (process.env.TRANSPORTS || 'websocket').split(',').map((t) => t.trim());

const [urlA, urlB = urlA] = process.argv.slice(2).map((u) => u?.replace(/\/+$/, ''));
if (!urlA) {
  console.error('usage: node worknation-flow.mjs <baseUrlA> [baseUrlB]');
  process.exit(2);
}

const { sockets, step, finish } = createRun();

// ---------------------------------------------------------------- helpers

function checkSession(s, what) {
  for (const k of ['access_token', 'refresh_token', 'token_type', 'expires_in']) {
    check(s[k] !== undefined, `${what}: missing \`${k}\``, s);
  }
  check(s.user?.id, `${what}: missing user.id`, s);
  check(s.tenant?.id, `${what}: missing tenant.id`, s);
}

/** Connects with the JWT and the own user id; resolves on `connect`. */
function connect(base, session, label) {
  const socket = io(base, {
    auth: { token: session.access_token },
    query: { userId: session.user.id },
    transports: TRANSPORTS,
    reconnection: false,
  });
  socket.label = label;
  sockets.push(socket);
  return whenConnected(socket);
}

// ---------------------------------------------------------------- the flow

const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const password = `pw-${randomUUID()}`;
const emailA = `ann+${suffix}@worknation.example.com`;
const emailB = `bob+${suffix}@worknation.example.com`;

console.log(`# Worknation flow: A -> ${urlA}, B -> ${urlB}`);

// a. signup: A creates a tenant and becomes its admin
const A = await step('signup admin A (POST /api/v1/auth/signup)', async () => {
  const s = await rest(urlA, 'POST', '/api/v1/auth/signup', {
    email: emailA, password, display_name: 'Ann Admin', tenant_name: `Worknation ${suffix}`,
  }, { expected: 201 });
  checkSession(s, 'signup');
  check(s.user.email === undefined || s.user.email === emailA, 'signup: user.email differs', s.user);
  return s;
});

// b. A creates user B in the tenant, B logs in
const userB = await step('admin A creates user B (POST /api/v1/users)', async () => {
  const u = await rest(urlA, 'POST', '/api/v1/users', {
    email: emailB, password, display_name: 'Bob Builder',
  }, { token: A.access_token, expected: 201 });
  check(u.id, 'create user: missing id', u);
  return u;
});

const B = await step('user B logs in (POST /api/v1/auth/login)', async () => {
  const s = await rest(urlA, 'POST', '/api/v1/auth/login', { email: emailB, password }, { expected: 200 });
  checkSession(s, 'login');
  check(s.user.id === userB.id, 'login: user.id is not the created user', s.user);
  check(s.tenant.id === A.tenant.id, 'login: B is not in A\'s tenant', s.tenant);
  return s;
});

// c. sockets
const sa = await step('A connects (node A)', () => connect(urlA, A, 'A'));
const sb = await step('B connects (node B)', () => connect(urlB, B, 'B'));

await step('bad token gets connect_error "unauthorized"', async () => {
  const bad = io(urlA, { auth: { token: 'not-a-jwt' }, transports: ['websocket'], reconnection: false });
  bad.label = 'bad-token';
  sockets.push(bad);
  const err = await refused(bad);
  check(err.message === 'unauthorized', 'connect_error message is not "unauthorized"', err.message);
});

// d. direct chat
const chat = await step('A create_chat -> A chat_created, B conversation_updated', async () => {
  const created = waitFor(sa, 'chat_created');
  const updated = waitFor(sb, 'conversation_updated');
  sa.emit('create_chat', { receiver_id: B.user.id });
  const c = await created;
  check(c && c.id, 'chat_created: missing id', c);
  check(c.chat_id !== undefined, 'chat_created: missing chat_id', c);
  check(c.type === 'direct', 'chat_created: type is not "direct"', c.type);
  check(Array.isArray(c.participants), 'chat_created: participants is not an array', c);
  check(c.unread_count !== undefined, 'chat_created: missing unread_count', c);
  check(c.last_seq !== undefined, 'chat_created: missing last_seq', c);
  const env = await updated;
  check(env?.type === 'conversation_updated', 'conversation_updated: envelope type', env);
  check(env.event_id && env.timestamp, 'conversation_updated: missing event_id/timestamp', env);
  check(env.payload?.id === c.id, 'conversation_updated: payload.id is not the chat id', env);
  return c;
});

// e. first message, with ack; both participants get response_message
const clientMsgId = randomUUID();
const payload = { chat_id: chat.id, receiver_id: B.user.id, message: 'hello', client_msg_id: clientMsgId };
const isOurs = (m) => m?.client_msg_id === clientMsgId;

const msg = await step('A create_message (ack) -> A and B response_message', async () => {
  const gotA = waitFor(sa, 'response_message', isOurs);
  const gotB = waitFor(sb, 'response_message', isOurs);
  const ack = await emitAck(sa, 'create_message', payload);
  check(ack?.status === 'ok', 'ack status is not "ok"', ack);
  const m = ack.data ?? {};
  for (const k of ['id', 'chat_id', 'seq', 'sender_id', 'receiver_id', 'message', 'content', 'client_msg_id', 'created_at']) {
    check(m[k] !== undefined, `ack data: missing \`${k}\``, m);
  }
  check(m.chat_id === chat.id, 'ack data: chat_id', m.chat_id);
  check(m.seq === 1, 'ack data: seq is not 1', m.seq);
  check(m.sender_id === A.user.id, 'ack data: sender_id is not A', m.sender_id);
  check(m.receiver_id === B.user.id, 'ack data: receiver_id is not B', m.receiver_id);
  check(m.message === 'hello', 'ack data: message', m.message);
  check(m.client_msg_id === clientMsgId, 'ack data: client_msg_id', m.client_msg_id);
  const [ra, rb] = await Promise.all([gotA, gotB]);
  check(ra.id === m.id, 'A response_message id differs from the ack', ra);
  check(rb.id === m.id, 'B response_message id differs from the ack', rb);
  return m;
});

// f. idempotent resend
await step('resend same client_msg_id -> same message id', async () => {
  const ack = await emitAck(sa, 'create_message', payload);
  check(ack?.status === 'ok', 'ack status is not "ok"', ack);
  check(ack.data?.id === msg.id, `resend returned another message (first ${msg.id})`, ack.data);
  check(ack.data?.seq === 1, 'resend: seq is not 1', ack.data?.seq);
});

// g. B's chat list: the event carries a bare array (002 §3.3), the ack `{chats}`
await step('B get_chats -> updated_chat_list array (unread 1, last "hello")', async () => {
  const list = waitFor(sb, 'updated_chat_list');
  const ack = await emitAck(sb, 'get_chats');
  const l = await list;
  check(Array.isArray(l), 'updated_chat_list: payload is not an array', l);
  const c = l.find((x) => x.id === chat.id);
  check(c, 'updated_chat_list: the chat is missing', l.map((x) => x.id));
  check(c.unread_count === 1, 'unread_count is not 1', c.unread_count);
  check(c.last_message?.message === 'hello', 'last_message.message is not "hello"', c.last_message);
  check(ack?.status === 'ok', 'get_chats ack status is not "ok"', ack);
  check(Array.isArray(ack.data?.chats), 'get_chats ack: data.chats is not an array', ack.data);
  check(ack.data.chats.length === l.length, 'get_chats ack: data.chats differs from the event', ack.data);
});

// h. read receipt
await step('B seen_message -> A conversation_read (B, seq 1)', async () => {
  const read = waitFor(sa, 'conversation_read', (e) => e?.payload?.user_id === B.user.id);
  sb.emit('seen_message', { chat_id: chat.id });
  const env = await read;
  check(env.type === 'conversation_read', 'conversation_read: envelope type', env);
  check(env.payload.last_read_seq === 1, 'conversation_read: last_read_seq is not 1', env.payload);
});

// i. history: the event carries a bare array of messages, oldest first (002 §3.3);
//    the ack `{chat_id, messages, has_more}`
await step('B chat_messages -> get_all_chat_messages array (1 message), ack has_more false', async () => {
  const page = waitFor(sb, 'get_all_chat_messages');
  const ack = await emitAck(sb, 'chat_messages', { chat_id: chat.id, limit: 50 });
  const list = await page;
  check(Array.isArray(list), 'get_all_chat_messages: payload is not an array', list);
  check(list.length === 1, `expected 1 message, got ${list.length}`, list);
  check(list[0].id === msg.id, 'the message is not the one sent', list[0]);
  check(ack?.status === 'ok', 'chat_messages ack status is not "ok"', ack);
  const d = ack.data ?? {};
  check(d.chat_id === chat.id, 'chat_messages ack: chat_id', d);
  check(Array.isArray(d.messages) && d.messages.length === 1 && d.messages[0].id === msg.id,
    'chat_messages ack: messages is not the one message', d.messages);
  check(d.has_more === false, 'chat_messages ack: has_more is not false', d.has_more);
});

// j. typing
await step('B typing -> A typing', async () => {
  const typing = waitFor(sa, 'typing', (e) => e?.payload?.user_id === B.user.id);
  sb.emit('typing', { chat_id: chat.id });
  const env = await typing;
  check(env.type === 'typing', 'typing: envelope type', env);
});

// k. channel subscriptions
await step('A subscribe conversation channel (ack + subscribed)', async () => {
  const channel = `conversation:${chat.id}`;
  const subscribed = waitFor(sa, 'subscribed', (d) => d?.channel === channel);
  const ack = await emitAck(sa, 'subscribe', { channel });
  check(ack?.status === 'ok' && ack.data?.channel === channel, 'subscribe ack', ack);
  await subscribed;
});

await step('A subscribe bogus channel -> exception subscription_failed', async () => {
  const exc = waitFor(sa, 'exception');
  sa.emit('subscribe', { channel: 'bogus:1' });
  const e = await exc;
  check(e?.status === 'error', 'exception status is not "error"', e);
  check(e.code === 'subscription_failed', 'exception code is not "subscription_failed"', e);
  check(typeof e.message === 'string' && e.message, 'exception: missing message', e);
});

// l. ping
await step('A ping -> pong', async () => {
  const pong = waitFor(sa, 'pong');
  sa.emit('ping', {});
  await pong;
});

// m. error path
await step('A create_message bad chat_id -> exception invalid_request', async () => {
  const exc = waitFor(sa, 'exception');
  sa.emit('create_message', { chat_id: 'not-a-uuid', message: 'x' });
  const e = await exc;
  check(e?.status === 'error', 'exception status is not "error"', e);
  check(e.code === 'invalid_request', 'exception code is not "invalid_request"', e);
});

// n. done
await step('disconnect both', async () => {
  sa.disconnect();
  sb.disconnect();
  check(!sa.connected && !sb.connected, 'still connected');
});

console.log('# all steps passed');
finish(0);
