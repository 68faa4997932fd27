#!/usr/bin/env node
// A reconnecting client that loses nothing, with the official `socket.io-client`
// (>= 4.6) and no code of its own for it: Switchboard answers every CONNECT with a
// `pid` and ends every event with its offset, so the client reconnects with
// `auth: {pid, offset}`, gets what it missed, and sees `socket.recovered === true`.
//
//   node reconnecting.mjs <baseUrlA> [baseUrlB]
//
// Ann sends on node A (REST); Bob listens on node B (default: A). Bob's connection is
// cut (the transport closed, as a flaky network does), Ann sends two messages while
// he is away, Bob reconnects by himself: he must get both, in order, once, then a
// live one. "Once" is checked behind a barrier, not after a pause: Ann sends one more
// message, and as every connection gets the event log in order, anything the server
// sent Bob before it (a message twice, say) has arrived when it does.
// Prints one line per step; exits 1 on the first failure.

import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { check, createRun, rest, waitFor, whenConnected } from './lib/testkit.mjs';

const [urlA, urlB = urlA] = process.argv.slice(2).map((u) => u?.replace(/\/+$/, ''));
if (!urlA) {
  console.error('usage: node reconnecting.mjs <baseUrlA> [baseUrlB]');
  process.exit(2);
}

const { sockets, step, finish } = createRun();
const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const password = `pw-${randomUUID()}`;

console.log(`# reconnecting: Ann -> ${urlA}, Bob -> ${urlB}`);

const ann = await step('Ann signs up', () => rest(urlA, 'POST', '/api/v1/auth/signup', {
  email: `ann+${suffix}@example.com`, password, display_name: 'Ann', tenant_name: `t-${suffix}`,
}, { expected: 201 }));
await step('Ann adds Bob', () => rest(urlA, 'POST', '/api/v1/users', {
  email: `bob+${suffix}@example.com`, password, display_name: 'Bob',
}, { token: ann.access_token, expected: 201 }));
const bob = await step('Bob logs in', () => rest(urlB, 'POST', '/api/v1/auth/login', {
  email: `bob+${suffix}@example.com`, password,
}));
const chat = await step('Ann opens a direct chat', () => rest(urlA, 'POST', '/api/v1/chat/conversations', {
  type: 'direct', participant_ids: [bob.user.id],
}, { token: ann.access_token }));
const send = (content) => rest(urlA, 'POST', '/api/v1/chat/messages/send', {
  conversation_id: chat.id, content,
}, { token: ann.access_token, expected: 201 });

// Bob: the client's own reconnection, nothing else.
const socket = io(urlB, {
  auth: { token: bob.access_token },
  transports: ['websocket'],
  reconnectionDelay: 1000,
  reconnectionDelayMax: 1000,
});
socket.label = 'Bob';
sockets.push(socket);
const received = [];
socket.on('response_message', (message) => received.push(message.content));
const sessions = [];
socket.on('session', (s) => sessions.push(s));

await step('Bob connects (a fresh session: not recovered)', async () => {
  await whenConnected(socket);
  check(socket.recovered === false, 'socket.recovered is false on a first connect', socket.recovered);
});
await step('a live message reaches Bob', async () => {
  const got = waitFor(socket, 'response_message', (m) => m.content === 'one');
  await send('one');
  await got;
});
await step('Bob\'s connection drops; Ann sends two messages meanwhile', async () => {
  const gone = new Promise((resolve) => socket.once('disconnect', resolve));
  socket.io.engine.close();
  await gone;
  await send('two');
  await send('three');
});
await step('Bob reconnects by himself and recovers (socket.recovered === true)', async () => {
  await whenConnected(socket);
  check(socket.recovered === true, 'socket.recovered', socket.recovered);
  // The replay comes right behind the CONNECT answer.
  if (!received.includes('three')) await waitFor(socket, 'response_message', (m) => m.content === 'three');
  check(received.join() === 'one,two,three', 'the missed messages, in order, once', received);
  check(sessions.at(-1)?.recovered === true, 'session {recovered: true}', sessions.at(-1));
});
await step('live delivery goes on, nothing twice', async () => {
  const got = waitFor(socket, 'response_message', (m) => m.content === 'four');
  await send('four');
  await got;
  // The barrier: a later message in the same conversation. Bob's connection gets the
  // log in order, so a second copy of anything before it would be in `received` now.
  const barrier = waitFor(socket, 'response_message', (m) => m.content === 'five');
  await send('five');
  await barrier;
  check(received.join() === 'one,two,three,four,five', 'every message once, in order', received);
});
finish(0);
