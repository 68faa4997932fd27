// Switchboard demo app: Web Push opt-in. Shows the push button only when the server
// has VAPID keys (`GET /api/v1/notifications/push-public-key` → `{public_key,
// configured}`) and the browser can do push; on click registers the service worker
// /demo/sw.js, subscribes with the server's key and hands the subscription to
// `POST /api/v1/notifications/push-subscriptions` (`DELETE` the same body to opt out).

import { api } from './api.js';

const SW_URL = '/demo/sw.js';
const SW_SCOPE = '/demo/';

let key = null; // the server's VAPID public key (base64url), when configured

function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(b64url.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(sub) {
  const have = sub.options?.applicationServerKey;
  if (!have || !key) return true;
  const a = new Uint8Array(have);
  const b = keyBytes(key);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function currentSubscription() {
  const reg = await navigator.serviceWorker.getRegistration(SW_SCOPE);
  return (await reg?.pushManager.getSubscription()) || null;
}

/**
 * Resolves once the registration has an active worker. (Not `serviceWorker.ready`:
 * that waits for a worker controlling this page, and `/` is outside the `/demo/`
 * scope a script served from /demo/ may claim.)
 */
function activated(reg) {
  if (reg.active) return Promise.resolve(reg);
  const worker = reg.installing || reg.waiting;
  return new Promise((resolve, reject) => {
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve(reg);
      if (worker.state === 'redundant') reject(new Error('the service worker failed to install'));
    });
  });
}

/**
 * Sets up the button. Resolves once its visibility is decided; `toast(text, isError)`
 * reports the outcome of a click.
 */
export async function initPush(button, toast) {
  button.hidden = true;
  let info;
  try {
    info = await api('GET', '/notifications/push-public-key', undefined, { auth: false });
  } catch {
    return; // no such endpoint or server unreachable: no push button
  }
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  if (!info?.configured || !info.public_key || !supported) return;
  key = info.public_key;
  const label = button.querySelector('.label');

  const show = (on) => {
    button.classList.toggle('is-on', on);
    button.dataset.state = on ? 'on' : 'off';
    label.textContent = on ? 'Push on' : 'Enable push';
    button.title = on ? 'Web Push is on for this browser: click to turn it off' : 'Get notified while this tab is closed';
  };

  let sub = await currentSubscription().catch(() => null);
  if (sub && !sameKey(sub)) {
    await sub.unsubscribe().catch(() => {}); // the server's key changed: start over
    sub = null;
  }
  if (sub && Notification.permission === 'granted') {
    // This browser is subscribed: make sure it is registered for whoever is signed in now.
    await api('POST', '/notifications/push-subscriptions', sub.toJSON()).catch(() => {});
  }
  show(Boolean(sub));
  if (Notification.permission === 'denied' && !sub) {
    button.disabled = true;
    button.title = 'Notifications are blocked for this site in the browser settings';
  }
  button.hidden = false;

  button.onclick = async () => {
    button.disabled = true;
    try {
      const existing = await currentSubscription();
      if (existing) {
        await api('DELETE', '/notifications/push-subscriptions', existing.toJSON()).catch(() => {});
        await existing.unsubscribe();
        show(false);
        toast('Web Push turned off for this browser.');
        return;
      }
      label.textContent = 'Enabling…';
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        show(false);
        toast('Notifications were not allowed.', true);
        return;
      }
      const reg = await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE });
      await activated(reg);
      const fresh = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      await api('POST', '/notifications/push-subscriptions', fresh.toJSON());
      show(true);
      toast('Web Push is on: you will be notified while you are away.');
    } catch (e) {
      show(false);
      toast(`Push: ${e.message}`, true);
    } finally {
      button.disabled = false;
    }
  };
}

/** On sign-out: stop pushes for this user to this browser (best effort). */
export async function dropPushSubscription() {
  if (!('serviceWorker' in navigator)) return;
  try {
    const sub = await currentSubscription();
    if (sub) await api('DELETE', '/notifications/push-subscriptions', sub.toJSON());
  } catch {
    /* signed out anyway */
  }
}
