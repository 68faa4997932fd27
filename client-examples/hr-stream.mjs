// The HR app's plain-WebSocket dialect with the `ws` npm package: a ticket from REST,
// the RealtimeEvent stream on /api/v1/ws (connected, ping/pong, a REST-sent message
// arriving as `new_message`), the legacy /ws?token= frames, and a reused ticket being
// refused with close code 1008. Usage: node hr-stream.mjs http://127.0.0.1:3000
import WebSocket from 'ws';
import { createRun, rest } from './lib/testkit.mjs';

const base = process.argv[2] || 'http://127.0.0.1:3000';
const wsBase = base.replace(/^http/, 'ws');
const run = Math.random().toString(36).slice(2, 10);
const { step, finish } = createRun();

/** Opens a socket and queues its JSON frames; `next(pred)` waits ≤5 s for a match. */
function open(url) {
  const ws = new WebSocket(url);
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    const i = waiters.findIndex((w) => w.pred(f));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(f); else frames.push(f);
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const next = (pred) => {
    const i = frames.findIndex(pred);
    if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      waiters.push({ pred, resolve });
      setTimeout(() => reject(new Error('no matching frame within 5 s')), 5_000).unref();
    });
  };
  return { ws, next, closed };
}

const a = await step('signup admin A', () => rest(base, 'POST', '/api/v1/auth/signup',
  { email: `hr-a-${run}@example.test`, password: 'hr password 1', display_name: 'HR A', tenant_name: `HR ${run}` }));
await step('A creates user B', () => rest(base, 'POST', '/api/v1/users',
  { email: `hr-b-${run}@example.test`, password: 'hr password 2', display_name: 'HR B' }, { token: a.access_token }));
const b = await step('B logs in', () => rest(base, 'POST', '/api/v1/auth/login', { email: `hr-b-${run}@example.test`, password: 'hr password 2' }));
const t = await step('B gets a ws ticket', async () => {
  const r = await rest(base, 'POST', '/api/v1/auth/ws-ticket', {}, { token: b.access_token });
  if (r.expires_in !== 60 || !r.ticket) throw new Error(JSON.stringify(r));
  return r.ticket;
});
const stream = open(`${wsBase}/api/v1/ws?ticket=${encodeURIComponent(t)}&platform=web`);
await step('stream says connected', async () => {
  const f = await stream.next((f) => f.type === 'connected');
  if (f.payload.user_id !== b.user.id) throw new Error(JSON.stringify(f));
});
await step('ping -> pong', async () => {
  stream.ws.send(JSON.stringify({ type: 'ping' }));
  await stream.next((f) => f.type === 'pong');
});
const legacy = open(`${wsBase}/ws?token=${encodeURIComponent(b.access_token)}`);
await new Promise((r) => legacy.ws.on('open', r));
const chat = await step('A opens a direct conversation with B (REST)', () =>
  rest(base, 'POST', '/api/v1/messages/conversations', { type: 'direct', participant_ids: [b.user.id] }, { token: a.access_token }));
const sent = await step('A posts a message (REST)', () =>
  rest(base, 'POST', `/api/v1/messages/conversations/${chat.id}/messages`, { content: 'hello over ws' }, { token: a.access_token }));
await step('B gets new_message on /api/v1/ws', async () => {
  const f = await stream.next((f) => f.type === 'new_message');
  if (f.payload.id !== sent.id || f.conversation_id !== chat.id || !f.event_id || !f.timestamp) throw new Error(JSON.stringify(f));
});
await step('B gets a MESSAGE frame on legacy /ws', async () => {
  const f = await legacy.next((f) => f.message_type === 'MESSAGE');
  if (f.id !== sent.id || f.content !== 'hello over ws' || f.reference_id !== chat.id) throw new Error(JSON.stringify(f));
});
await step('bad command -> error frame', async () => {
  stream.ws.send('nonsense');
  const f = await stream.next((f) => f.type === 'error');
  if (f.code !== 'invalid_request') throw new Error(JSON.stringify(f));
});
await step('reused ticket is closed with 1008', async () => {
  const again = open(`${wsBase}/api/v1/ws?ticket=${encodeURIComponent(t)}`);
  const { code } = await again.closed;
  if (code !== 1008) throw new Error(`close code ${code}`);
});
stream.ws.close();
legacy.ws.close();
console.log('# all steps passed');
finish(0);
