// Switchboard demo app: the application. Sign-up / log-in / log-out, the conversation
// list (unread badges from the API, kept live), starting a direct chat, the chat view
// (history, sending, live messages, typing, presence, read receipts), the
// notification bell, adding teammates (admins), and the Web Push button (push.js).
//
// REST (api.js) for state: auth, conversations, history, people, presence,
// notifications. Socket.IO (realtime.js, namespace `/`) for live events and for the
// chat actions of the Worknation dialect: create_message, seen_message, typing.

import { api, qs, getSession, setSession, patchSession, onSessionChange } from './api.js';
import { openSocket, request } from './realtime.js';
import { initPush, dropPushSubscription } from './push.js';
import { h, icon, avatar, shortTime, clock, dayLabel, ago, uuid } from './dom.js';

const $ = (id) => document.getElementById(id);

const TYPING_SEND_EVERY_MS = 2500; // how often a typist re-announces itself
const TYPING_SHOW_MS = 5000; // how long "X is typing…" stays without a new event
const PAGE = 50;

let state = blankState();

function blankState() {
  return {
    me: null,
    tenant: null,
    socket: null,
    connectedOnce: false,
    convs: new Map(), // id → chat view (as GET /chat/conversations returns it)
    activeId: null,
    messages: new Map(), // conversation id → messages (oldest first), once loaded
    hasMore: new Map(),
    presence: new Map(), // user id → {status, last_seen_at, …}
    typing: new Map(), // conversation id → Map(user id → timer)
    lastTypingSent: 0,
    notifCount: 0,
    notifs: null, // loaded when the bell opens
    refreshTimer: null,
  };
}

// ====================================================================== helpers

$('toast').onclick = () => { $('toast').hidden = true; };

function toast(text, isError = false) {
  const el = $('toast');
  el.textContent = text;
  el.classList.toggle('error', isError);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

const visible = () => document.visibilityState === 'visible';
const isMine = (m) => m.sender_id === state.me?.id;
const peerOf = (c) => c?.participants?.find((p) => p.user_id !== state.me.id) || null;
const statusOf = (userId) => state.presence.get(userId)?.status || 'offline';

function titleOf(c) {
  if (c.type === 'direct') return peerOf(c)?.display_name || c.title || 'Direct chat';
  return c.title || c.name || 'Untitled';
}

function nameOf(c, userId) {
  if (userId === state.me.id) return 'You';
  return c?.participants?.find((p) => p.user_id === userId)?.display_name || 'Someone';
}

function activityOf(c) {
  return new Date(c.last_message?.created_at || c.updated_at || c.created_at || 0).getTime();
}

function textOf(m) {
  if (m.deleted) return 'This message was deleted';
  const t = m.message ?? m.content ?? '';
  if (t) return t;
  return m.attachments?.length ? `Attachment (${m.attachments.length})` : '';
}

// ====================================================================== auth screen

function showAuth() {
  $('app-screen').hidden = true;
  $('auth-screen').hidden = false;
  $('auth-error').hidden = true;
}

function selectTab(tab) {
  const signup = tab === 'signup';
  $('tab-login').setAttribute('aria-selected', String(!signup));
  $('tab-signup').setAttribute('aria-selected', String(signup));
  $('login-form').hidden = signup;
  $('signup-form').hidden = !signup;
  $('auth-error').hidden = true;
  (signup ? $('signup-form') : $('login-form')).querySelector('input').focus();
}

function authError(err) {
  const el = $('auth-error');
  el.textContent = err.status === 401 ? 'Wrong email or password.' : err.message;
  el.hidden = false;
}

async function submitAuth(form, path, body) {
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  $('auth-error').hidden = true;
  try {
    const session = await api('POST', path, body, { auth: false });
    form.reset();
    setSession(session);
  } catch (err) {
    authError(err);
  } finally {
    button.disabled = false;
  }
}

$('tab-login').onclick = () => selectTab('login');
$('tab-signup').onclick = () => selectTab('signup');
$('login-form').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  submitAuth(e.target, '/auth/login', { email: f.get('email').trim(), password: f.get('password') });
};
$('signup-form').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  submitAuth(e.target, '/auth/signup', {
    display_name: f.get('display_name').trim(),
    email: f.get('email').trim(),
    password: f.get('password'),
    tenant_name: f.get('tenant_name').trim(),
  });
};

// ====================================================================== session lifecycle

function start() {
  stop();
  const session = getSession();
  state = blankState();
  state.me = session.user;
  state.tenant = session.tenant;
  $('auth-screen').hidden = true;
  $('app-screen').hidden = false;
  renderMe();
  renderChat();
  state.socket = openSocket(socketHandlers, onConnectionState);
  loadConversations().then(openFromHash).catch((e) => toast(e.message, true));
  loadNotifCount().catch(() => {});
  initPush($('push-button'), toast).catch(() => {});
  api('GET', '/auth/me').then((me) => {
    state.me = me.user;
    state.tenant = me.tenant;
    patchSession({ user: me.user, tenant: me.tenant });
    renderMe();
  }).catch(() => {});
}

function stop() {
  if (state.socket) {
    state.socket.removeAllListeners();
    state.socket.disconnect();
  }
  clearTimeout(state.refreshTimer);
  for (const timers of state.typing.values()) for (const t of timers.values()) clearTimeout(t);
  state.socket = null;
}

onSessionChange((session) => {
  if (session) start();
  else {
    stop();
    state = blankState();
    showAuth();
  }
});

$('logout').onclick = async () => {
  const session = getSession();
  $('logout').disabled = true;
  await dropPushSubscription();
  try {
    await api('POST', '/auth/logout', { refresh_token: session.refresh_token });
  } catch {
    /* signed out locally anyway */
  }
  $('logout').disabled = false;
  setSession(null);
};

function renderMe() {
  $('me-name').textContent = state.me.display_name;
  avatar($('me-avatar'), { seed: state.me.id, name: state.me.display_name, small: true });
  $('workspace-name').textContent = state.tenant?.name || '';
  $('add-teammate').hidden = state.me.role !== 'admin';
}

// ====================================================================== live events

const socketHandlers = {
  response_message: (m) => onMessage(m),
  chat_created: (c) => upsertConversation(c),
  // The payload is the actor's view of the chat (its title is the actor's peer, its
  // unread count the actor's): fetch our own view instead.
  conversation_updated: () => scheduleRefresh(),
  conversation_participants_added: () => scheduleRefresh(),
  participant_removed: () => scheduleRefresh(),
  conversation_read: (env) => onRead(env.payload),
  typing: (env) => onTyping(env.payload),
  presence_updated: (env) => setPresence(env.payload),
  message_updated: (env) => onEdited(env.payload),
  message_deleted: (env) => onEdited(env.payload),
  notification_created: (env) => onNotification(env.payload),
  notifications_count_updated: (env) => setNotifCount(env.payload.unread_count ?? env.payload.count ?? 0),
  notification_read: (env) => onNotificationRead(env.payload),
  exception: (e) => console.warn('switchboard exception', e),
};

function onConnectionState(st, detail = {}) {
  const pill = $('conn-status');
  pill.dataset.state = st;
  pill.textContent = { connected: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…', closed: 'Offline' }[st] || st;
  if (st === 'unauthorized') {
    toast(`Signed out: ${detail.reason}`, true);
    setSession(null);
    return;
  }
  if (st !== 'connected') return;
  const first = !state.connectedOnce;
  state.connectedOnce = true;
  // A recovered connection got every missed event replayed; otherwise fetch state.
  if (!first && !detail.recovered) resync();
}

async function resync() {
  await loadConversations().catch(() => {});
  for (const id of [...state.messages.keys()]) {
    if (id !== state.activeId) state.messages.delete(id); // reloaded when opened
  }
  const id = state.activeId;
  const list = state.messages.get(id);
  if (!list) return;
  const last = Math.max(0, ...list.filter((m) => !m.pending).map((m) => m.seq));
  const page = await api('GET', `/chat/conversations/${id}/messages${qs({ after_seq: last, limit: 100 })}`).catch(() => null);
  for (const m of page?.messages || []) upsertMessage(id, m);
  renderMessages();
  markRead(id);
}

// ====================================================================== conversations

async function loadConversations() {
  const list = await api('GET', `/chat/conversations${qs({ limit: 100 })}`);
  const next = new Map();
  for (const c of list) next.set(c.id, merged(state.convs.get(c.id), c));
  const active = state.convs.get(state.activeId);
  if (active && !next.has(active.id)) next.set(active.id, active);
  state.convs = next;
  renderList();
  renderChatHead();
  renderMessages();
  if (state.activeId && visible()) markRead(state.activeId);
  await fetchPresence(list.flatMap((c) => c.participants.map((p) => p.user_id)));
}

/** Keeps read markers from moving backwards when a fresh copy races an event. */
function merged(old, c) {
  if (!old) return c;
  for (const p of c.participants || []) {
    const o = old.participants?.find((x) => x.user_id === p.user_id);
    if (o && (o.last_read_seq || 0) > (p.last_read_seq || 0)) p.last_read_seq = o.last_read_seq;
  }
  return c;
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => loadConversations().catch(() => {}), 250);
}

function upsertConversation(c) {
  state.convs.set(c.id, merged(state.convs.get(c.id), c));
  renderList();
  if (c.id === state.activeId) renderChatHead();
}

function renderList() {
  if (!state.me) return;
  const convs = [...state.convs.values()].sort((a, b) => activityOf(b) - activityOf(a));
  $('conv-list').replaceChildren(...convs.map(conversationItem));
  $('conv-empty').hidden = convs.length > 0;
}

function conversationItem(c) {
  const title = titleOf(c);
  const peer = c.type === 'direct' ? peerOf(c) : null;
  const last = c.last_message;
  const typers = typingIn(c.id);
  let preview = 'No messages yet';
  if (last) {
    const who = isMine(last) ? 'You: ' : c.type !== 'direct' ? `${nameOf(c, last.sender_id).split(' ')[0]}: ` : '';
    preview = who + textOf(last);
  }
  const unread = c.unread_count || 0;
  return h('li', {
    class: `conv${c.id === state.activeId ? ' active' : ''}${unread ? ' unread' : ''}`,
    'data-testid': 'conv-item',
    'data-title': title,
    dataset: { convId: c.id },
    onclick: () => openConversation(c.id),
  },
  avatar(null, { seed: peer?.user_id || c.id, name: title, status: peer ? statusOf(peer.user_id) : undefined }),
  h('div', { class: 'conv-main' },
    h('div', { class: 'conv-top' },
      h('span', { class: 'conv-title', text: title }),
      h('span', { class: 'conv-time', text: shortTime(last?.created_at || c.updated_at) })),
    h('div', { class: 'conv-bottom' },
      typers.length
        ? h('span', { class: 'conv-typing', 'data-testid': 'conv-typing', text: typingText(c, typers) })
        : h('span', { class: 'conv-preview', 'data-testid': 'conv-preview', text: preview }),
      unread ? h('span', { class: 'badge', 'data-testid': 'conv-unread', title: `${unread} unread`, text: unread > 99 ? '99+' : unread }) : null)));
}

async function openConversation(id) {
  if (!state.convs.has(id)) return;
  state.activeId = id;
  $('app-screen').classList.add('chat-open');
  $('composer-input').value = '';
  renderList();
  renderChat();
  if (!state.messages.has(id)) {
    try {
      await loadHistory(id);
    } catch (e) {
      toast(e.message, true);
    }
  }
  if (state.activeId !== id) return;
  renderMessages(true);
  markRead(id);
  $('composer-input').focus();
}

async function loadHistory(id, beforeSeq) {
  const page = await api('GET', `/chat/conversations/${id}/messages${qs({ limit: PAGE, before_seq: beforeSeq })}`);
  if (!state.messages.has(id)) state.messages.set(id, []);
  for (const m of page.messages) upsertMessage(id, m);
  state.hasMore.set(id, page.has_more);
}

$('load-earlier').onclick = async () => {
  const id = state.activeId;
  const list = state.messages.get(id) || [];
  const oldest = list.find((m) => !m.pending);
  if (!oldest) return;
  const box = $('messages');
  const fromBottom = box.scrollHeight - box.scrollTop;
  await loadHistory(id, oldest.seq).catch((e) => toast(e.message, true));
  renderMessages();
  box.scrollTop = box.scrollHeight - fromBottom;
};

$('chat-back').onclick = () => {
  state.activeId = null;
  $('app-screen').classList.remove('chat-open');
  renderList();
  renderChat();
};

function openFromHash() {
  const m = /^#c=([0-9a-f-]{36})$/i.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname);
  openConversation(m[1]);
}

// The service worker asks an open tab to show a conversation (notification click).
navigator.serviceWorker?.addEventListener('message', (e) => {
  if (e.data?.type === 'open-conversation') openConversation(e.data.conversationId);
});

// ====================================================================== messages

function upsertMessage(convId, m) {
  const list = state.messages.get(convId);
  if (!list) return;
  const i = list.findIndex((x) => x.id === m.id || (m.client_msg_id && x.pending !== undefined && x.client_msg_id === m.client_msg_id));
  if (i >= 0) list[i] = m;
  else list.push(m);
  list.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
}

function onMessage(m) {
  const id = m.chat_id || m.conversation_id;
  const mine = isMine(m);
  if (!mine) stopTyping(id, m.sender_id);
  upsertMessage(id, m);
  const c = state.convs.get(id);
  if (!c) {
    scheduleRefresh(); // a conversation we have not seen yet
    return;
  }
  if (!c.last_message || m.seq >= (c.last_message.seq || 0)) {
    c.last_message = m;
    c.updated_at = m.created_at;
  }
  const known = c.last_seq || 0;
  c.last_seq = Math.max(known, m.seq);
  if (mine) {
    c.last_read_seq = Math.max(c.last_read_seq || 0, m.seq);
  } else if (id === state.activeId && visible()) {
    markRead(id);
  } else if (m.seq > known) {
    c.unread_count = (c.unread_count || 0) + 1;
    scheduleRefresh(); // and take the server's count
  }
  renderList();
  if (id === state.activeId) renderMessages();
}

function onEdited(m) {
  const id = m.chat_id || m.conversation_id;
  if (!state.messages.get(id)?.some((x) => x.id === m.id)) return;
  upsertMessage(id, m);
  const c = state.convs.get(id);
  if (c?.last_message?.id === m.id) c.last_message = m;
  renderList();
  if (id === state.activeId) renderMessages();
}

/** Marks the conversation read up to its latest message (`seen_message`). */
function markRead(id) {
  const c = state.convs.get(id);
  if (!c || !state.socket) return;
  if (!(c.unread_count > 0) && (c.last_seq || 0) <= (c.last_read_seq || 0)) return;
  c.unread_count = 0;
  c.last_read_seq = c.last_seq;
  renderList();
  request(state.socket, 'seen_message', { chat_id: id }).catch(() => scheduleRefresh());
}

function onRead({ chat_id: chatId, conversation_id: convId, user_id: userId, last_read_seq: seq }) {
  const c = state.convs.get(chatId || convId);
  if (!c) return;
  if (userId === state.me.id) {
    // Read here or on another device: the badge goes.
    c.last_read_seq = Math.max(c.last_read_seq || 0, seq);
    if (c.last_read_seq >= (c.last_seq || 0)) c.unread_count = 0;
    else scheduleRefresh();
    renderList();
    return;
  }
  const p = c.participants?.find((x) => x.user_id === userId);
  if (p) p.last_read_seq = Math.max(p.last_read_seq || 0, seq);
  if (c.id === state.activeId) renderMessages();
}

async function send(text, retry) {
  const id = state.activeId;
  if (!id || !state.socket) return;
  const clientMsgId = retry?.client_msg_id || uuid();
  const local = retry || {
    id: `local:${clientMsgId}`,
    client_msg_id: clientMsgId,
    chat_id: id,
    sender_id: state.me.id,
    message: text,
    created_at: new Date().toISOString(),
  };
  local.pending = true;
  local.failed = false;
  if (!state.messages.has(id)) state.messages.set(id, []);
  if (!retry) state.messages.get(id).push(local);
  renderMessages(true);
  try {
    // Idempotent: a retry with the same client_msg_id never duplicates.
    const m = await request(state.socket, 'create_message', { chat_id: id, message: local.message, client_msg_id: clientMsgId });
    onMessage(m);
  } catch (e) {
    local.pending = false;
    local.failed = true;
    renderMessages();
    toast(`Not sent: ${e.message}`, true);
  }
}

// ====================================================================== chat view

function renderChat() {
  const c = state.convs.get(state.activeId);
  $('chat').hidden = !c;
  $('chat-placeholder').hidden = Boolean(c);
  if (!c) return;
  renderChatHead();
  renderMessages();
  renderTyping();
}

function renderChatHead() {
  const c = state.convs.get(state.activeId);
  if (!c) return;
  const title = titleOf(c);
  const peer = c.type === 'direct' ? peerOf(c) : null;
  const status = peer ? statusOf(peer.user_id) : undefined;
  avatar($('chat-avatar'), { seed: peer?.user_id || c.id, name: title, status, testid: 'chat-presence' });
  $('chat-title').textContent = title;
  const sub = $('chat-sub');
  if (peer) {
    const seen = state.presence.get(peer.user_id)?.last_seen_at;
    const word = { online: 'Online', away: 'Away' }[status] || 'Offline';
    sub.replaceChildren(
      h('span', { class: 'status-word', dataset: { status }, text: word }),
      status !== 'online' && seen ? `· last seen ${ago(seen)}` : '',
    );
  } else {
    sub.replaceChildren(`${c.participants?.length || 0} members`);
  }
}

/** How many other participants have read up to `seq`. */
function readersOf(c, seq) {
  return (c.participants || []).filter((p) => p.user_id !== state.me.id && (p.last_read_seq || 0) >= seq).length;
}

function renderMessages(toBottom = false) {
  const c = state.convs.get(state.activeId);
  if (!c) return;
  const box = $('messages');
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const list = state.messages.get(c.id) || [];
  const group = c.type !== 'direct';
  let lastMine = -1;
  list.forEach((m, i) => { if (isMine(m)) lastMine = i; });

  const nodes = [];
  let prev = null;
  list.forEach((m, i) => {
    const day = new Date(m.created_at).toDateString();
    const newDay = !prev || new Date(prev.created_at).toDateString() !== day;
    if (newDay) nodes.push(h('div', { class: 'day', text: dayLabel(m.created_at) }));
    const first = newDay || prev.sender_id !== m.sender_id || new Date(m.created_at) - new Date(prev.created_at) > 5 * 60e3;
    nodes.push(messageItem(c, m, { first, group, receipt: i === lastMine }));
    prev = m;
  });
  $('message-items').replaceChildren(...nodes);
  $('load-earlier').hidden = !state.hasMore.get(c.id);
  if (toBottom || nearBottom) box.scrollTop = box.scrollHeight;
}

function messageItem(c, m, { first, group, receipt }) {
  const mine = isMine(m);
  const readers = mine && m.seq ? readersOf(c, m.seq) : 0;
  let tick = null;
  if (mine) {
    if (m.pending) tick = icon('clock', 'icon tick');
    else if (!m.failed) tick = icon(readers ? 'check2' : 'check', 'icon tick');
  }
  const bubble = h('div', { class: 'bubble' },
    h('span', { class: 'msg-text', text: textOf(m) }),
    h('span', { class: 'msg-meta' }, m.edited_at && !m.deleted ? 'edited · ' : '', clock(m.created_at), tick));

  let receiptEl = null;
  if (receipt) {
    let st = 'sent';
    let text = 'Sent';
    if (m.pending) { st = 'sending'; text = 'Sending…'; }
    else if (m.failed) { st = 'failed'; text = 'Not sent · '; }
    else if (readers) { st = 'read'; text = group ? `Read by ${readers}` : 'Read'; }
    receiptEl = h('div', { class: 'receipt', 'data-testid': 'read-receipt', dataset: { state: st } }, text,
      m.failed ? h('button', { type: 'button', class: 'retry', text: 'Retry', onclick: () => send(null, m) }) : null);
  }
  return h('div', {
    class: `msg${mine ? ' mine' : ''}${first ? ' first' : ''}${m.pending ? ' pending' : ''}${m.failed ? ' failed' : ''}`,
    'data-testid': 'message',
    dataset: { id: m.id, seq: m.seq ?? '', mine: String(mine), read: String(readers > 0) },
  },
  group && !mine && first ? h('div', { class: 'msg-sender', text: nameOf(c, m.sender_id) }) : null,
  bubble,
  receiptEl);
}

// ====================================================================== composer & typing

const input = $('composer-input');

function autosize() {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight + 2, 140)}px`;
}

input.addEventListener('input', () => {
  autosize();
  const id = state.activeId;
  if (!id || !state.socket?.connected || !input.value.trim()) return;
  const now = Date.now();
  if (now - state.lastTypingSent < TYPING_SEND_EVERY_MS) return;
  state.lastTypingSent = now;
  state.socket.emit('typing', { chat_id: id });
});

input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});

$('composer').onsubmit = (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  autosize();
  state.lastTypingSent = 0;
  send(text);
};

function typingIn(convId) {
  return [...(state.typing.get(convId)?.keys() || [])];
}

function typingText(c, users) {
  const names = users.map((u) => nameOf(c, u).split(' ')[0]);
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

function onTyping(p) {
  const id = p.chat_id || p.conversation_id;
  if (!id || p.user_id === state.me.id) return; // our own other devices
  if (!state.typing.has(id)) state.typing.set(id, new Map());
  const timers = state.typing.get(id);
  clearTimeout(timers.get(p.user_id));
  timers.set(p.user_id, setTimeout(() => stopTyping(id, p.user_id), TYPING_SHOW_MS));
  renderList();
  if (id === state.activeId) renderTyping();
}

function stopTyping(id, userId) {
  const timers = state.typing.get(id);
  if (!timers?.has(userId)) return;
  clearTimeout(timers.get(userId));
  timers.delete(userId);
  renderList();
  if (id === state.activeId) renderTyping();
}

function renderTyping() {
  const c = state.convs.get(state.activeId);
  const el = $('typing');
  const users = c ? typingIn(c.id) : [];
  el.hidden = users.length === 0;
  if (users.length) el.replaceChildren(h('span', { class: 'dots' }, h('i'), h('i'), h('i')), typingText(c, users));
}

// ====================================================================== presence

// Every presence_updated bumps the user's version; a REST answer is applied only to
// users with no event since the request left, so it never overwrites a newer event.
const presenceVersion = new Map();
const presenceChecks = new Map();

async function fetchPresence(ids) {
  const wanted = [...new Set(ids)].filter((id) => id && id !== state.me.id);
  for (let i = 0; i < wanted.length; i += 100) {
    const chunk = wanted.slice(i, i + 100);
    const asked = new Map(chunk.map((id) => [id, presenceVersion.get(id) || 0]));
    const map = await api('GET', `/presence/users${qs({ ids: chunk.join(',') })}`).catch(() => ({}));
    for (const [id, view] of Object.entries(map)) {
      if ((presenceVersion.get(id) || 0) === asked.get(id)) state.presence.set(id, view);
    }
  }
  renderList();
  renderChatHead();
}

function setPresence(view) {
  if (!view?.user_id) return;
  presenceVersion.set(view.user_id, (presenceVersion.get(view.user_id) || 0) + 1);
  state.presence.set(view.user_id, view);
  renderList();
  renderChatHead();
  // The server can deliver one user's presence changes out of order when a device
  // reconnects at once (a reload: "online" overtakes "offline"), and sends nothing
  // more until the status changes again. So a user who seems to have left is
  // checked again shortly after over REST.
  if (view.status !== 'online') {
    clearTimeout(presenceChecks.get(view.user_id));
    presenceChecks.set(view.user_id, setTimeout(() => {
      presenceChecks.delete(view.user_id);
      if (state.me) fetchPresence([view.user_id]);
    }, 1500));
  }
}

// Keep "last seen 5 min ago" honest.
setInterval(() => { if (state.me && state.activeId) renderChatHead(); }, 60_000);

// ====================================================================== notifications

async function loadNotifCount() {
  const r = await api('GET', '/notifications/unread-count');
  setNotifCount(r.unread_count ?? r.count ?? 0);
}

function setNotifCount(n) {
  state.notifCount = n;
  const badge = $('bell-count');
  badge.textContent = n > 99 ? '99+' : String(n);
  badge.hidden = n <= 0;
  $('bell').title = n ? `${n} unread notifications` : 'Notifications';
}

function togglePanel(open = $('notif-panel').hidden) {
  $('notif-panel').hidden = !open;
  $('bell').setAttribute('aria-expanded', String(open));
  if (open) {
    renderNotifs();
    api('GET', `/notifications${qs({ limit: 30 })}`).then((list) => {
      state.notifs = list;
      renderNotifs();
    }).catch((e) => toast(e.message, true));
  }
}

function renderNotifs() {
  const list = state.notifs;
  const ul = $('notif-list');
  $('notif-read-all').disabled = !list?.some((n) => !n.is_read);
  if (!list) {
    ul.replaceChildren(h('li', { class: 'notif-empty', text: 'Loading…' }));
    return;
  }
  if (!list.length) {
    ul.replaceChildren(h('li', { class: 'notif-empty', 'data-testid': 'notif-empty', text: 'You are all caught up.' }));
    return;
  }
  ul.replaceChildren(...list.map((n) => h('li', {
    class: `notif${n.is_read ? '' : ' unread'}`,
    'data-testid': 'notif-item',
    dataset: { id: n.id, read: String(n.is_read) },
    onclick: () => openNotification(n),
  },
  h('span', { class: 'notif-dot' }),
  h('div', {},
    h('div', { class: 'notif-title', text: n.title }),
    n.body ? h('div', { class: 'notif-body', text: n.body }) : null,
    h('div', { class: 'notif-time', text: ago(n.created_at) })))));
}

async function openNotification(n) {
  if (!n.is_read) {
    n.is_read = true;
    renderNotifs();
    api('PATCH', `/notifications/${n.id}/read`).catch(() => {});
  }
  const id = n.data?.conversation_id;
  if (id && state.convs.has(id)) {
    togglePanel(false);
    openConversation(id);
  }
}

function onNotification(n) {
  if (state.notifs && !state.notifs.some((x) => x.id === n.id)) state.notifs.unshift(n);
  if (!$('notif-panel').hidden) renderNotifs();
  toast(n.body ? `${n.title}: ${n.body}` : n.title);
}

function onNotificationRead(p) {
  const n = state.notifs?.find((x) => x.id === (p.id || p.notification_id));
  if (n) n.is_read = true;
  if (!$('notif-panel').hidden) renderNotifs();
}

$('bell').onclick = (e) => {
  e.stopPropagation();
  togglePanel();
};
$('notif-read-all').onclick = async () => {
  try {
    const r = await api('PATCH', '/notifications/read-all');
    for (const n of state.notifs || []) n.is_read = true;
    setNotifCount(r.unread_count ?? 0);
    renderNotifs();
  } catch (e) {
    toast(e.message, true);
  }
};
document.addEventListener('click', (e) => {
  if (!$('notif-panel').hidden && !e.target.closest('.bell-wrap')) togglePanel(false);
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('notif-panel').hidden) togglePanel(false);
});

// ====================================================================== new chat

let searchSeq = 0;

async function searchPeople(q) {
  const seq = ++searchSeq;
  const query = q.trim();
  let people = [];
  try {
    people = query
      ? await api('GET', `/chat/users/search${qs({ q: query, limit: 30 })}`)
      : await api('GET', `/chat/users${qs({ limit: 50 })}`);
  } catch (e) {
    toast(e.message, true);
  }
  if (seq !== searchSeq) return;
  people = people.filter((u) => u.id !== state.me.id);
  $('people-empty').hidden = people.length > 0;
  $('people-list').replaceChildren(...people.map((u) => h('li', {
    class: 'person',
    tabindex: '0',
    'data-testid': 'person-item',
    'data-name': u.display_name,
    dataset: { userId: u.id },
    onclick: () => startChat(u),
    onkeydown: (e) => { if (e.key === 'Enter') startChat(u); },
  },
  avatar(null, { seed: u.id, name: u.display_name, status: statusOf(u.id) }),
  h('div', {},
    h('div', { class: 'person-name', text: u.display_name }),
    h('div', { class: 'person-email', text: u.email || u.role || '' })))));
  fetchPresence(people.map((u) => u.id)).then(() => {
    for (const li of $('people-list').children) {
      const dot = li.querySelector('.dot');
      if (dot) dot.dataset.status = statusOf(li.dataset.userId);
    }
  });
}

async function startChat(user) {
  $('new-chat-dialog').close();
  try {
    // Find-or-create: an existing direct chat comes back as it is.
    const c = await api('POST', '/chat/conversations', { type: 'direct', participant_ids: [user.id] });
    upsertConversation(c);
    fetchPresence([user.id]);
    openConversation(c.id);
  } catch (e) {
    toast(e.message, true);
  }
}

let searchTimer;
$('people-search').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => searchPeople(e.target.value), 200);
});
$('new-chat').onclick = () => {
  $('people-search').value = '';
  $('people-list').replaceChildren();
  $('people-empty').hidden = true;
  $('new-chat-dialog').showModal();
  searchPeople('');
};

// ====================================================================== add a teammate (admins)

function suggestPassword() {
  const abc = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (x) => abc[x % abc.length]).join('');
}

$('add-teammate').onclick = () => {
  $('teammate-form').reset();
  $('teammate-form').password.value = suggestPassword();
  $('teammate-error').hidden = true;
  $('teammate-result').hidden = true;
  $('teammate-dialog').showModal();
};
$('teammate-close').onclick = () => $('teammate-dialog').close();
$('teammate-form').onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const button = e.target.querySelector('button[type=submit]');
  button.disabled = true;
  $('teammate-error').hidden = true;
  $('teammate-result').hidden = true;
  try {
    const u = await api('POST', '/users', {
      display_name: f.get('display_name').trim(),
      email: f.get('email').trim(),
      password: f.get('password'),
      role: f.get('role'),
    });
    $('teammate-result').textContent = `${u.display_name} was added. They log in with ${u.email} and the password you chose.`;
    $('teammate-result').hidden = false;
    e.target.reset();
    e.target.password.value = suggestPassword();
  } catch (err) {
    $('teammate-error').textContent = err.message;
    $('teammate-error').hidden = false;
  } finally {
    button.disabled = false;
  }
};

// ====================================================================== boot

document.addEventListener('visibilitychange', () => {
  if (visible() && state.activeId) markRead(state.activeId);
});

function boot() {
  if (typeof window.io !== 'function') {
    document.body.prepend(h('p', { class: 'form-error', text: 'socket.io-client did not load (/demo/vendor/socket.io.min.js).' }));
    return;
  }
  if (getSession()) start();
  else {
    showAuth();
    selectTab('login');
  }
}

// The socket.io bundle is a deferred classic script: it has run before modules do.
boot();
