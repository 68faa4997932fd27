// Switchboard demo app: the service worker (registered from /demo/sw.js, scope
// /demo/). It only does Web Push: shows a notification for each `push` (Switchboard
// sends `{notification_id, type, title, body, data, tag, collapsed}`) and, on click,
// focuses an open tab of the app or opens `/`, at the conversation when there is one.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let msg = {};
  try {
    msg = event.data ? event.data.json() : {};
  } catch {
    msg = { body: event.data ? event.data.text() : '' };
  }
  const more = msg.collapsed > 0 ? ` (+${msg.collapsed} more)` : '';
  const title = msg.title || 'Switchboard';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: (msg.body || '') + more,
      tag: msg.tag || msg.notification_id || undefined,
      renotify: Boolean(msg.tag),
      icon: '/demo/icon.svg',
      data: {
        conversationId: msg.data?.conversation_id || null,
        notificationId: msg.notification_id || null,
      },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const { conversationId } = event.notification.data || {};
  const target = new URL(conversationId ? `/#c=${conversationId}` : '/', self.location.origin);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).origin === target.origin && new URL(w.url).pathname === '/');
      if (open) {
        if (conversationId) open.postMessage({ type: 'open-conversation', conversationId });
        return open.focus();
      }
      return self.clients.openWindow(target.href);
    })(),
  );
});
