// The Socket.IO Admin UI against Switchboard, in headless Chromium (Debian's `chromium`
// driven by playwright-core; no browser download): the operator logs in at /admin/ui/
// and sees this script's own sockets, on one node or (SWITCHBOARD_URLS with two
// comma-separated URLs on one Redis) across two; the UI's actions reach the sockets.
//
//   SWITCHBOARD_URL=http://127.0.0.1:3000 ADMIN_UI_USERNAME=… ADMIN_UI_PASSWORD=… \
//     node browser/admin-ui.mjs
// Screenshots go to SCREENSHOT_DIR (default: target/screenshots in the repository).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { chromium } from 'playwright-core';
import { check, createRun, rest, sleep, waitFor, whenConnected, refused } from '../lib/testkit.mjs';

const urls = (process.env.SWITCHBOARD_URLS ?? process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:3000')
  .split(',').map((u) => u.trim().replace(/\/$/, '')).filter(Boolean);
const [urlA, urlB = urls[0]] = urls;
const username = process.env.ADMIN_UI_USERNAME;
const adminPassword = process.env.ADMIN_UI_PASSWORD;
check(username && adminPassword, 'set ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD (as given to the server)');
const shots = process.env.SCREENSHOT_DIR
  ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'screenshots');
mkdirSync(shots, { recursive: true });
const UI_TIMEOUT_MS = 10_000;

const { sockets, step, finish } = createRun({
  overallMs: 90_000,
  summary: (passed, code) => `# admin ui: ${passed} steps passed${code ? ', FAILED' : ''}`,
});
let browser;
process.on('exit', () => { browser?.close().catch(() => {}); });

const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const password = `pw-${randomUUID()}`;
console.log(`# admin ui: UI and A on ${urlA}, B on ${urlB}`);

const A = await step('users: A signs up a tenant, creates B, B logs in', async () => {
  const a = await rest(urlA, 'POST', '/api/v1/auth/signup', {
    email: `ops-a+${suffix}@example.com`, password, display_name: 'Ada Admin', tenant_name: `Ops ${suffix}`,
  }, { expected: 201 });
  await rest(urlA, 'POST', '/api/v1/users', {
    email: `ops-b+${suffix}@example.com`, password, display_name: 'Ben Builder',
  }, { token: a.access_token, expected: 201 });
  return a;
});
const B = await step('users: B logs in', () => rest(urlB, 'POST', '/api/v1/auth/login',
  { email: `ops-b+${suffix}@example.com`, password }, { expected: 200 }));

function connect(base, label, options) {
  const s = io(base, { transports: ['websocket'], reconnection: false, ...options });
  s.label = label;
  sockets.push(s);
  return s;
}
const sockA = await step('chat sockets: A and B connect with socket.io-client', async () => {
  const a = await whenConnected(connect(urlA, 'A', { auth: { token: A.access_token } }));
  await whenConnected(connect(urlB, 'B', { auth: { token: B.access_token } }));
  return a;
});
const sockB = sockets[1];
// socket.io-client forgets `id` on disconnect: keep B's.
const idB = sockB.id;

await step('/admin refuses a wrong password with "invalid credentials"', async () => {
  const bad = connect(`${urlA}/admin`, 'admin (wrong password)', {
    auth: { username, password: `${adminPassword}x` },
  });
  const err = await refused(bad);
  check(err.message === 'invalid credentials', 'connect_error message', err.message);
});
// `io(url + '/admin')` is the namespace, as the UI connects.
const serverIds = new Set();
const adminSock = await step('/admin accepts the operator: `session`, then `config`', async () => {
  const s = connect(`${urlA}/admin`, 'admin', { auth: { username, password: adminPassword } });
  // Every node's `server_stats` (each sends one every 2 s) reach every UI socket.
  s.on('server_stats', (st) => { if (st?.serverId) serverIds.add(st.serverId); });
  const session = waitFor(s, 'session');
  const config = waitFor(s, 'config');
  await whenConnected(s);
  const [id, cfg] = await Promise.all([session, config]);
  check(typeof id === 'string' && id.length > 20, 'session id', id);
  check(cfg.supportedFeatures.includes('MDISCONNECT') && !cfg.supportedFeatures.includes('EMIT'),
    'features: actions but no EMIT', cfg);
  s.sessionId = id;
  return s;
});
await step('a session id opens /admin on the other node without the password', async () => {
  const s = connect(`${urlB}/admin`, 'admin by session', { auth: { sessionId: adminSock.sessionId } });
  await whenConnected(s);
  s.disconnect();
});

const page = await step('browser: the Admin UI at /admin/ui/ logs in', async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const p = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const outside = [];
  p.on('request', (r) => { if (!r.url().startsWith(urlA)) outside.push(r.url()); });
  await p.goto(`${urlA}/admin/ui/`);
  await p.getByLabel('Server URL').fill(urlA);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(adminPassword);
  await p.getByRole('button', { name: 'Connect' }).click();
  await p.locator('.v-chip', { hasText: /^\s*connected\s*$/i }).first()
    .waitFor({ timeout: UI_TIMEOUT_MS });
  check(outside.length === 0, 'the page loaded nothing from outside the server', outside);
  return p;
});

await step('browser: the Sockets page lists A\'s and B\'s sockets', async () => {
  await page.goto(`${urlA}/admin/ui/#/sockets`);
  for (const s of [sockA, sockB]) {
    await page.getByText(s.id, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT_MS });
  }
  await page.screenshot({ path: join(shots, 'admin-ui-sockets.png') });
});

await step('actions: join A to an operator room; Switchboard\'s own rooms are refused', async () => {
  adminSock.emit('join', '/', 'ops-watch', sockA.id);
  adminSock.emit('join', '/', `conversation:${randomUUID()}`, sockA.id);
  await page.goto(`${urlA}/admin/ui/#/rooms`);
  await page.getByText('ops-watch', { exact: true }).first().waitFor({ timeout: UI_TIMEOUT_MS });
  const fresh = connect(`${urlA}/admin`, 'admin (list)', { auth: { sessionId: adminSock.sessionId } });
  const all = await waitFor(fresh, 'all_sockets');
  const a = all.find((s) => s.id === sockA.id);
  check(a && a.rooms.includes('ops-watch'), 'A is in ops-watch', a?.rooms);
  check(!a.rooms.some((r) => r.startsWith('conversation:')), 'A joined no conversation room', a.rooms);
  check(a.data.userId === A.user.id, 'A\'s socket names its user', a.data);
  check(!JSON.stringify(a.handshake).includes(A.access_token), 'the token is not shown', a.handshake);
  check(all.some((s) => s.id === sockB.id), 'B (other node) is listed', all.map((s) => s.id));
  fresh.disconnect();
});

await step('actions: disconnect B from the UI\'s protocol; B hears it, the list drops it', async () => {
  const gone = waitFor(sockB, 'disconnect');
  adminSock.emit('_disconnect', '/', false, idB);
  const reason = await gone;
  check(reason === 'io server disconnect', 'B disconnect reason', reason);
  await page.goto(`${urlA}/admin/ui/#/sockets`);
  await page.getByText(sockA.id, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT_MS });
  await page.getByText(idB, { exact: true }).waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
});

await step('browser: the dashboard counts every node healthy; the Servers page lists each (screenshots)', async () => {
  // Each node sends `server_stats` every 2 s: one serverId per node, as the UI gets them.
  const nodes = new Set(urls).size;
  for (let i = 0; i < UI_TIMEOUT_MS / 100 && serverIds.size < nodes; i += 1) await sleep(100);
  check(serverIds.size === nodes, `server_stats from each of the ${nodes} node(s)`, [...serverIds]);
  // The dashboard's Servers card: a row per status, its count in an <h2>.
  await page.goto(`${urlA}/admin/ui/#/`);
  const card = page.locator('.v-card', { has: page.locator('.v-card__title', { hasText: 'Servers' }) });
  const count = (status) => card.locator('tr', {
    has: page.locator('.v-chip__content', { hasText: new RegExp(`^\\s*${status}\\s*$`, 'i') }),
  }).locator('h2').innerText({ timeout: UI_TIMEOUT_MS });
  let shown = {};
  for (let i = 0; i < UI_TIMEOUT_MS / 200; i += 1) {
    shown = { healthy: (await count('healthy')).trim(), unhealthy: (await count('unhealthy')).trim() };
    if (shown.healthy === String(nodes) && shown.unhealthy === '0') break;
    await sleep(200);
  }
  check(shown.healthy === String(nodes) && shown.unhealthy === '0',
    `the dashboard counts ${nodes} healthy server(s) and none unhealthy`, shown);
  await page.screenshot({ path: join(shots, 'admin-ui-dashboard.png') });
  // The Servers page: a row per node, by its serverId, marked healthy.
  await page.goto(`${urlA}/admin/ui/#/servers`);
  for (const id of serverIds) {
    const row = page.locator('tr', { hasText: id });
    await row.locator('.v-chip__content', { hasText: /^\s*healthy\s*$/i })
      .waitFor({ timeout: UI_TIMEOUT_MS }); // times out naming `id` when it is not listed healthy
  }
  await page.screenshot({ path: join(shots, 'admin-ui-servers.png') });
});

finish(0);
