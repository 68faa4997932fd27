#!/usr/bin/env node
// People chatting through a load balancer while the nodes behind it restart one by
// one, with the stock `socket.io-client` and nothing else: each client reconnects
// through the balancer (to whichever node answers) and recovers what it missed.
//
//   node rolling-chat.mjs <balancerUrl> <readyFile> <stopFile>
//
// Six users share a group; each sends a message every 150 ms with an ack. The script
// writes <readyFile> once everyone is connected and chatting, and stops sending when
// <stopFile> appears (the caller restarts the nodes in between). Then it checks:
// every acknowledged message reached every other member exactly once, no message
// reached anyone twice, and every reconnect was a recovery (`socket.recovered`).
// Those checks run behind a barrier, not after a pause: one last message, sent once
// every acknowledged one is in the event log, must reach everyone; each connection gets
// the log in order, so whatever the server sent before it has arrived when it does.
// Prints one line per check; exits 1 on the first failure.

import { existsSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { check, createRun, rest, sleep, waitFor, whenConnected } from './lib/testkit.mjs';

const [base, readyFile, stopFile] = process.argv.slice(2);
if (!stopFile) {
  console.error('usage: node rolling-chat.mjs <balancerUrl> <readyFile> <stopFile>');
  process.exit(2);
}
const PEOPLE = 6;
const { sockets, step, finish } = createRun({ overallMs: 240_000 });
const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const password = `pw-${randomUUID()}`;

const admin = await step('an admin signs up', () => rest(base, 'POST', '/api/v1/auth/signup', {
  email: `admin+${suffix}@example.com`, password, display_name: 'Admin', tenant_name: `t-${suffix}`,
}, { expected: 201 }));
const people = [admin];
await step(`${PEOPLE - 1} members join and log in`, async () => {
  for (let i = 1; i < PEOPLE; i += 1) {
    const email = `p${i}+${suffix}@example.com`;
    await rest(base, 'POST', '/api/v1/users', { email, password, display_name: `P${i}` },
      { token: admin.access_token, expected: 201 });
    people.push(await rest(base, 'POST', '/api/v1/auth/login', { email, password }));
  }
});
const group = await step('a group of all of them', () => rest(base, 'POST', '/api/v1/chat/conversations', {
  type: 'group', title: 'rolling', participant_ids: people.slice(1).map((p) => p.user.id),
}, { token: admin.access_token }));

// Per person: the socket, what it received (message id -> times), reconnects, acks.
const t0All = Date.now();
const clients = people.map((p, i) => {
  const socket = io(base, {
    auth: { token: p.access_token },
    transports: ['websocket'],
    reconnectionDelay: 300,
    reconnectionDelayMax: 1000,
  });
  socket.label = `P${i}`;
  sockets.push(socket);
  const c = { socket, user: p.user.id, received: new Map(), connects: 0, recoveries: 0, acked: [], log: [] };
  const t0 = t0All;
  const note = (what) => c.log.push(`${Date.now() - t0}ms ${what}`);
  socket.on('connect', () => {
    c.connects += 1;
    if (c.connects > 1 && socket.recovered) c.recoveries += 1;
    note(`connect${socket.recovered ? ' recovered' : ''}`);
  });
  socket.on('disconnect', (reason) => note(`disconnect ${reason}`));
  socket.on('response_message', (m) => {
    if (m.chat_id !== group.id) return;
    c.received.set(m.id, (c.received.get(m.id) ?? 0) + 1);
    c.order = c.order ?? [];
    c.order.push({ id: m.id, at: Date.now() - t0 });
  });
  return c;
});
await step('everyone connects through the balancer', () => Promise.all(clients.map((c) => whenConnected(c.socket))));

let sending = true;
const senders = clients.map(async (c, i) => {
  for (let n = 0; sending; n += 1) {
    const id = `p${i}-${n}`;
    try {
      const ack = await c.socket.timeout(10_000).emitWithAck('create_message', {
        chat_id: group.id, message: id, client_msg_id: id,
      });
      if (ack?.status === 'ok') {
        c.acked.push(ack.data.id);
        c.ackedAt = c.ackedAt ?? new Map();
        c.ackedAt.set(ack.data.id, { n, at: Date.now() });
      }
    } catch {
      // No ack (the node went away with it in flight): not acknowledged, not counted.
    }
    await sleep(150);
  }
});
await sleep(1000);
writeFileSync(readyFile, 'chatting\n');
console.log('ok   chatting; waiting for the rolling restart');
while (!existsSync(stopFile)) await sleep(200);
sending = false;
await Promise.all(senders);
await step('every client is connected again', async () => {
  for (let i = 0; i < 100 && clients.some((c) => !c.socket.connected); i += 1) await sleep(100);
  check(clients.every((c) => c.socket.connected), 'all connected',
    clients.map((c) => c.socket.connected));
});
await step('a last message reaches everyone (the barrier for the checks below)', async () => {
  // Every acknowledged message was in the event log before its ack, so before this one.
  const text = `barrier-${suffix}`;
  const arrived = clients.map((c) => waitFor(c.socket, 'response_message',
    (m) => m.chat_id === group.id && m.message === text));
  const ack = await clients[0].socket.timeout(10_000).emitWithAck('create_message', {
    chat_id: group.id, message: text, client_msg_id: text,
  });
  check(ack?.status === 'ok', 'the last message is stored', ack);
  await Promise.all(arrived);
});
await step('every client reconnected and every reconnect recovered', () => {
  for (const c of clients) {
    check(c.connects > 1, `${c.socket.label} reconnected (its node restarted)`, c.connects);
    check(c.recoveries === c.connects - 1, `${c.socket.label}: every reconnect recovered`,
      { connects: c.connects, recoveries: c.recoveries });
  }
});
const acked = clients.flatMap((c, i) => c.acked.map((id) => ({ id, from: i })));
await step(`all ${acked.length} acknowledged messages reached every other member exactly once`, () => {
  check(acked.length > 100, 'messages flowed', acked.length);
  for (const { id, from } of acked) {
    clients.forEach((c, i) => {
      if (i === from) return;
      if (c.received.get(id) !== 1) {
        // Where to look: when it was acked, what the receiver got around then, and
        // the receiver's connects and disconnects.
        const at = clients[from].ackedAt?.get(id);
        const order = c.order ?? [];
        let k = order.findIndex((o) => o.id > id);
        if (k < 0) k = order.length;
        console.log(`# ${id} from P${from} (message ${at?.n}) acked at ${at ? at.at - t0All : '?'} ms`);
        console.log(`# ${c.socket.label} received ${order.length}; around it: ${JSON.stringify(order.slice(Math.max(0, k - 3), k + 3))}`);
        console.log(`# ${c.socket.label} connections: ${c.log.join(', ')}`);
      }
      check(c.received.get(id) === 1, `${id} at ${c.socket.label}`, c.received.get(id) ?? 0);
    });
  }
});
await step('nothing reached anyone twice', () => {
  for (const c of clients) {
    for (const [id, times] of c.received) check(times === 1, `${id} at ${c.socket.label}`, times);
  }
});
finish(0);
