#!/usr/bin/env node
// The demo web app (served at `/`, files in web/demo/) driven end to end in headless
// Chromium with playwright-core: two browser contexts, two users of one workspace, a
// direct chat with typing, live delivery, unread badges, read receipts and presence,
// the notification bell, the push button rule, and a reload that stays signed in.
//
//   SWITCHBOARD_URL=http://127.0.0.1:3000 node client-examples/browser/demo.mjs
//
// Env: SWITCHBOARD_URL (default http://127.0.0.1:3000); SCREENSHOT_DIR (default
// <repo>/target/screenshots); CHROMIUM (default /usr/bin/chromium: the system browser,
// never a downloaded one). Prints one line per step (`ok` / `FAIL`), saves
// demo-*.png screenshots, exits 1 on the first failure (or after 180 s), 0 otherwise.
//
// Signing up always creates a new workspace (tenant) with the new user as its admin,
// so user A signs up and adds user B to A's workspace from the UI ("Add a teammate",
// `POST /api/v1/users`); B then logs in through the UI.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.SWITCHBOARD_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, '..', '..', 'target', 'screenshots'));
const T = 10_000; // every wait
const OVERALL = 180_000;

mkdirSync(SHOTS, { recursive: true });

// ------------------------------------------------------------------ helpers

let stepNo = 0;
async function step(name, fn) {
  const t0 = Date.now();
  stepNo += 1;
  try {
    const out = await fn();
    console.log(`ok   ${String(stepNo).padStart(2)}. ${name} (${Date.now() - t0} ms)`);
    return out;
  } catch (e) {
    console.log(`FAIL ${String(stepNo).padStart(2)}. ${name}: ${String(e.message).split('\n')[0]}`);
    throw Object.assign(e, { reported: true });
  }
}

/** Waits until `locator` is visible, else fails with `what`. */
async function see(locator, what, timeout = T) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch {
    throw new Error(`${what}: not seen within ${timeout / 1000} s`);
  }
}

/** Waits until `locator` is in the page (shown or not), else fails with `what`. */
async function present(locator, what, timeout = T) {
  try {
    await locator.first().waitFor({ state: 'attached', timeout });
  } catch {
    throw new Error(`${what}: not there within ${timeout / 1000} s`);
  }
}

/** Waits until `locator` is hidden or gone, else fails with `what`. */
async function notSee(locator, what, timeout = T) {
  try {
    await locator.first().waitFor({ state: 'hidden', timeout });
  } catch {
    throw new Error(`${what}: still shown after ${timeout / 1000} s`);
  }
}

const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);
const conv = (page, title) => page.locator(`[data-testid="conv-item"][data-title="${title}"]`);
const message = (page, text, mine) =>
  page.locator(`[data-testid="message"][data-mine="${mine}"]`).filter({ hasText: text });

/** REST as a third client (user C, who has no browser). */
async function rest(method, route, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1${route}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function shot(page, file) {
  await page.mouse.move(0, 0); // no hover effects in the picture
  await page.screenshot({ path: path.join(SHOTS, file) });
}

// ------------------------------------------------------------------ the run

const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const A = { name: 'Ada Lovelace', email: `ada.${suffix}@example.com`, password: `pw-${suffix}-a` };
const B = { name: 'Grace Hopper', email: `grace.${suffix}@example.com`, password: `pw-${suffix}-b` };
const C = { name: 'Alan Turing', email: `alan.${suffix}@example.com`, password: `pw-${suffix}-c` };
const WORKSPACE = 'Analytical Engines';
const GROUP = 'Release crew';
const pageErrors = [];

let browser;
const timer = setTimeout(() => {
  console.log(`FAIL overall: the run took longer than ${OVERALL / 1000} s`);
  browser?.close().finally(() => process.exit(1));
}, OVERALL);

async function openPage(label) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 720 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${label} console: ${m.text()}`);
  });
  return page;
}

async function main() {
  console.log(`# Switchboard demo app in Chromium: ${BASE}/ (screenshots in ${SHOTS})`);

  browser = await step('launch headless Chromium', () => chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  }));
  const pa = await openPage('A');
  const pb = await openPage('B');

  await step('A opens / and sees the sign-in screen', async () => {
    const res = await pa.goto(`${BASE}/`);
    if (!res.ok()) throw new Error(`GET / answered ${res.status()}`);
    await see(byTestId(pa, 'auth-screen'), 'the sign-in screen');
  });

  await step(`A signs up (${A.email}, new workspace "${WORKSPACE}")`, async () => {
    await byTestId(pa, 'auth-tab-signup').click();
    await byTestId(pa, 'signup-name').fill(A.name);
    await byTestId(pa, 'signup-email').fill(A.email);
    await byTestId(pa, 'signup-password').fill(A.password);
    await byTestId(pa, 'signup-workspace').fill(WORKSPACE);
    await shot(pa, 'demo-signup.png');
    await byTestId(pa, 'signup-submit').click();
    await see(byTestId(pa, 'app-screen'), 'the app after signing up');
    await see(byTestId(pa, 'me-name').filter({ hasText: A.name }), `A's name in the top bar`);
    await see(byTestId(pa, 'workspace-name').filter({ hasText: WORKSPACE }), 'the workspace name');
  });

  await step(`A (admin) adds teammates B (${B.email}) and C from the UI`, async () => {
    await byTestId(pa, 'add-teammate-button').click();
    for (const u of [B, C]) {
      await byTestId(pa, 'teammate-name').fill(u.name);
      await byTestId(pa, 'teammate-email').fill(u.email);
      await byTestId(pa, 'teammate-password').fill(u.password);
      await byTestId(pa, 'teammate-submit').click();
      await see(byTestId(pa, 'teammate-result').filter({ hasText: u.name }), `the "${u.name} was added" confirmation`);
    }
    await pa.keyboard.press('Escape');
    await notSee(byTestId(pa, 'teammate-dialog'), 'the teammate dialog');
  });

  await step('B logs in through the UI, same workspace', async () => {
    await pb.goto(`${BASE}/`);
    await see(byTestId(pb, 'login-form'), 'the login form');
    await byTestId(pb, 'login-email').fill(B.email);
    await byTestId(pb, 'login-password').fill(B.password);
    await byTestId(pb, 'login-submit').click();
    await see(byTestId(pb, 'app-screen'), 'the app after logging in');
    await see(byTestId(pb, 'me-name').filter({ hasText: B.name }), `B's name in the top bar`);
    await see(byTestId(pb, 'workspace-name').filter({ hasText: WORKSPACE }), `A's workspace name on B's screen`);
    await present(pb.locator('[data-testid="connection-status"][data-state="connected"]'), 'B connected live');
  });

  await step('A starts a direct chat with B (people search)', async () => {
    await present(pa.locator('[data-testid="connection-status"][data-state="connected"]'), 'A connected live');
    await byTestId(pa, 'new-chat-button').click();
    await byTestId(pa, 'people-search').fill('Grace');
    const person = pa.locator(`[data-testid="person-item"][data-name="${B.name}"]`);
    await see(person, `${B.name} in the people search`);
    await person.click();
    await see(byTestId(pa, 'chat-title').filter({ hasText: B.name }), 'the chat with B open on A');
  });

  await step('B sees the new conversation appear live', async () => {
    await see(conv(pb, A.name), `"${A.name}" in B's conversation list`);
  });

  await step('A sees B online (presence dot)', async () => {
    await see(pa.locator('[data-testid="chat-presence"][data-status="online"]'), `B's green dot in A's chat header`);
    await see(conv(pa, B.name).locator('[data-testid="presence-dot"][data-status="online"]'), `B's green dot in A's list`);
  });

  const first = 'Hi Grace! Is the release build green?';
  await step('A types; B sees "Ada is typing…"', async () => {
    await byTestId(pa, 'composer-input').pressSequentially(first, { delay: 10 });
    await see(conv(pb, A.name).locator('[data-testid="conv-typing"]').filter({ hasText: 'Ada is typing' }),
      `"Ada is typing…" in B's list`);
  });

  await step('A sends; B gets it live with an unread badge', async () => {
    await byTestId(pa, 'composer-input').press('Enter');
    await see(message(pa, first, true).locator('[data-testid="read-receipt"][data-state="sent"]'), 'A\'s message marked "Sent"');
    await see(conv(pb, A.name).locator('[data-testid="conv-preview"]').filter({ hasText: first }), 'the message preview in B\'s list');
    await see(conv(pb, A.name).locator('[data-testid="conv-unread"]').filter({ hasText: /^1$/ }), 'unread badge "1" in B\'s list');
    await notSee(conv(pb, A.name).locator('[data-testid="conv-typing"]'), 'B\'s typing indicator after the message');
  });

  await step('B opens the chat; the badge clears; A sees "Read"', async () => {
    await conv(pb, A.name).click();
    await see(message(pb, first, false), 'A\'s message in B\'s chat view (history)');
    await notSee(conv(pb, A.name).locator('[data-testid="conv-unread"]'), 'B\'s unread badge');
    await see(message(pa, first, true).locator('[data-testid="read-receipt"][data-state="read"]').filter({ hasText: 'Read' }),
      '"Read" under A\'s message');
  });

  const replies = ['Yes, every test passes on SQLite and PostgreSQL.', 'Tagging v1.0 now.'];
  await step('B types; A sees "Grace is typing…" in the chat view', async () => {
    await byTestId(pb, 'composer-input').pressSequentially(replies[0], { delay: 10 });
    await see(byTestId(pa, 'typing-indicator').filter({ hasText: 'Grace is typing' }), '"Grace is typing…" on A');
  });

  await step('B replies twice; A gets both live and B sees "Read"', async () => {
    await byTestId(pb, 'composer-input').press('Enter');
    await see(message(pa, replies[0], false), 'B\'s first reply on A');
    await byTestId(pb, 'composer-input').fill(replies[1]);
    await byTestId(pb, 'composer-input').press('Enter');
    await see(message(pa, replies[1], false), 'B\'s second reply on A');
    await notSee(byTestId(pa, 'typing-indicator'), 'A\'s typing indicator after the replies');
    await see(message(pb, replies[1], true).locator('[data-testid="read-receipt"][data-state="read"]'), '"Read" under B\'s reply');
    const badge = conv(pa, B.name).locator('[data-testid="conv-unread"]');
    if (await badge.count()) throw new Error('A has the chat open, yet its list shows an unread badge');
  });

  const last = 'Brilliant, thanks! I will update the README.';
  await step('A answers; B reads it; A sees "Read" again', async () => {
    await byTestId(pa, 'composer-input').fill(last);
    await byTestId(pa, 'composer-input').press('Enter');
    await see(message(pb, last, false), 'A\'s answer on B');
    await see(message(pa, last, true).locator('[data-testid="read-receipt"][data-state="read"]'), '"Read" under A\'s answer');
  });

  await step(`C mentions A in a group (REST): A's list and bell update live`, async () => {
    const c = await rest('POST', '/auth/login', { email: C.email, password: C.password });
    const ids = await pa.evaluate(() => JSON.parse(localStorage.getItem('switchboard.demo.session')).user.id);
    const idB = await pb.evaluate(() => JSON.parse(localStorage.getItem('switchboard.demo.session')).user.id);
    const group = await rest('POST', '/chat/conversations',
      { type: 'group', title: GROUP, participant_ids: [ids, idB] }, c.access_token);
    await see(conv(pa, GROUP), `the "${GROUP}" group in A's list`);
    await rest('POST', '/chat/messages/send', {
      conversation_id: group.id, content: '@Ada the v1.0 changelog is ready for your review.', mention_user_ids: [ids],
    }, c.access_token);
    await see(conv(pa, GROUP).locator('[data-testid="conv-unread"]').filter({ hasText: /^1$/ }), `unread badge "1" on "${GROUP}" in A's list`);
    await see(conv(pb, GROUP).locator('[data-testid="conv-unread"]').filter({ hasText: /^1$/ }), `unread badge "1" on "${GROUP}" in B's list`);
    await see(byTestId(pa, 'notif-count').filter({ hasText: /^1$/ }), 'the bell badge "1" on A (the mention)');
    await see(byTestId(pa, 'toast').filter({ hasText: `${C.name} mentioned you` }), 'the live notification toast on A');
    await byTestId(pa, 'toast').click();
    await notSee(byTestId(pa, 'toast'), 'the toast after a click');
  });

  await step('the bell shows the server\'s unread notification count', async () => {
    for (const [label, page] of [['A', pa], ['B', pb]]) {
      await see(byTestId(page, 'notif-bell'), `${label}'s notification bell`);
      const count = await page.evaluate(async () => {
        const s = JSON.parse(localStorage.getItem('switchboard.demo.session'));
        const r = await fetch('/api/v1/notifications/unread-count', { headers: { authorization: `Bearer ${s.access_token}` } });
        return (await r.json()).unread_count;
      });
      const badge = byTestId(page, 'notif-count');
      if (count > 0) await see(badge.filter({ hasText: String(count) }), `${label}'s bell badge "${count}"`);
      else await notSee(badge, `${label}'s bell badge (the server says 0 unread)`);
    }
    await byTestId(pa, 'notif-bell').click();
    await see(byTestId(pa, 'notif-panel'), 'the notification dropdown');
    await see(byTestId(pa, 'notif-item').filter({ hasText: `${C.name} mentioned you` }), 'the mention in A\'s inbox');
    await shot(pa, 'demo-notifications.png');
    await pa.keyboard.press('Escape');
    await notSee(byTestId(pa, 'notif-panel'), 'the notification dropdown after Escape');
    await byTestId(pa, 'composer-input').focus();
  });

  const push = await pa.evaluate(async () => (await fetch('/api/v1/notifications/push-public-key')).json());
  await step(`the push button is ${push.configured ? 'shown' : 'hidden'}: push-public-key says configured=${push.configured}`, async () => {
    const button = byTestId(pa, 'push-button');
    if (push.configured) await see(button, 'the push button (the server has VAPID keys)');
    else await notSee(button, 'the push button (the server has no VAPID keys)');
  });

  await step('B types again (for the picture); screenshot A', async () => {
    await byTestId(pb, 'composer-input').pressSequentially('On it', { delay: 20 });
    await see(byTestId(pa, 'typing-indicator').filter({ hasText: 'Grace is typing' }), '"Grace is typing…" on A');
    await shot(pa, 'demo-chat-a.png');
  });

  await step('B reloads: still signed in, history and read state come back; screenshot B', async () => {
    await pb.reload();
    await see(byTestId(pb, 'app-screen'), 'the app after a reload (session kept)');
    await present(pb.locator('[data-testid="connection-status"][data-state="connected"]'), 'B connected again');
    await conv(pb, A.name).click();
    await see(message(pb, first, false), 'the history after a reload');
    await see(message(pb, replies[1], true).locator('[data-testid="read-receipt"][data-state="read"]'),
      '"Read" under B\'s last reply after a reload (from the participants\' read markers)');
    await see(pa.locator('[data-testid="chat-presence"][data-status="online"]'), 'B online again on A');
    await shot(pb, 'demo-chat-b.png');
  });

  await step('A logs out and sees the sign-in screen', async () => {
    await byTestId(pa, 'logout-button').click();
    await see(byTestId(pa, 'auth-screen'), 'the sign-in screen after logging out');
    const stored = await pa.evaluate(() => localStorage.getItem('switchboard.demo.session'));
    if (stored) throw new Error('the session is still in localStorage after logging out');
  });

  await step('no script errors in either page', async () => {
    if (pageErrors.length) throw new Error(pageErrors.join(' | '));
  });
}

let failed = false;
try {
  await main();
  console.log(`# all ${stepNo} steps passed; screenshots: ${SHOTS}/demo-{signup,chat-a,chat-b,notifications}.png`);
} catch (e) {
  failed = true;
  if (!e.reported) console.log(`FAIL ${e.stack || e.message}`);
  if (pageErrors.length) console.log(`# page errors: ${pageErrors.join(' | ')}`);
} finally {
  clearTimeout(timer);
  await browser?.close().catch(() => {});
}
process.exit(failed ? 1 : 0);
