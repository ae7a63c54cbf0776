// The demo page: a small chat over switchboard.js that shows where in the
// cluster this tab is connected. Everything user-supplied is shown with
// textContent, never as HTML.
import { connect } from './switchboard.js';

const $ = (id) => document.getElementById(id);

// ?ws=ws://host:port/ws points the page at another endpoint (handy when the
// page is served from elsewhere); by default ws(s)://<this host>/ws.
// ?token=<JWT> is for a node started with auth (scripts/token.sh mints one):
// it is passed on as a fixed token, so the page stops when it expires.
// Without it the page connects anonymously.
const params = new URLSearchParams(location.search);
const override = params.get('ws');
const client = connect(override || undefined, { token: params.get('token') || undefined });
// For debugging from the console and for tests.
window.switchboard = client;

let selectedRoom = null;

// ---- connection status ----

function setStatus(state, text) {
  const status = $('status');
  status.dataset.state = state;
  status.textContent = text;
}

function showIdentity(id, node, worker, user) {
  $('my-id').textContent = id ?? '–';
  $('my-node').textContent = node ?? '–';
  $('my-worker').textContent = worker ?? '–';
  // Only a node with auth names a user.
  $('my-user').textContent = user ?? '–';
  $('my-user-row').hidden = !user;
}

client.on('open', () => setStatus('connecting', 'connected, waiting for welcome…'));

client.on('welcome', ({ id, node, worker, user }) => {
  showIdentity(id, node, String(worker), user);
  setStatus('connecting', client.rooms.length ? 'rejoining rooms…' : 'connected');
});

client.on('ready', ({ id, node, worker, rejoined, failed }) => {
  setStatus('connected', 'connected');
  logSystem(`connected as ${id} on node ${node}, worker ${worker}`);
  if (rejoined.length) logSystem(`rejoined ${rejoined.map((r) => '#' + r).join(', ')}`);
  for (const { room, error } of failed) logError(`could not rejoin #${room}: ${error.code}`);
  renderRooms();
  // Events missed while we were away are not sent again: fill anew.
  fillMembers();
});

client.on('close', ({ code, reason, willReconnect }) => {
  showIdentity(null, null, null, null);
  if (!willReconnect) {
    setStatus('closed', code === 4001 ? 'closed: the token expired (reload with a new one)' : 'closed');
    return;
  }
  logSystem(`connection lost (${code}${reason ? ' ' + reason : ''})`);
});

client.on('reconnecting', ({ attempt, delay, code }) => {
  const why = code === 1001 ? 'server restarting; ' : '';
  setStatus('reconnecting', `${why}reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt})…`);
});

client.on('error', ({ error, refresh }) => logError(`${refresh ? 'token refresh failed: ' : ''}${error.code}: ${error.message}`));

// A token that no longer allows a room: the server has taken us out of it.
client.on('left', ({ room, reason }) => {
  logSystem(`removed from #${room}${reason ? ` (${reason})` : ''}`);
  renderRooms();
  fillMembers();
});

// ---- the log ----

function logLine(className, parts, attrs = {}) {
  const log = $('log');
  // Follow the end only if the reader is already there.
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const li = document.createElement('li');
  li.className = className;
  for (const [k, v] of Object.entries(attrs)) li.dataset[k] = v;
  for (const part of parts) {
    if (typeof part === 'string') li.append(part);
    else {
      const span = document.createElement('span');
      span.className = part.className;
      span.textContent = part.text;
      li.append(span);
    }
  }
  log.append(li);
  // A long-running tab should not grow without bound.
  while (log.children.length > 500) log.firstElementChild.remove();
  if (atEnd) log.scrollTop = log.scrollHeight;
  return li;
}

function logSystem(text) {
  logLine('system', [text]);
}

function logError(text) {
  logLine('error', [text]);
}

function who(id, user) {
  if (id === client.id) return 'you';
  return user ? `${user} (${id})` : id;
}

function text(data) {
  return typeof data === 'string' ? data : JSON.stringify(data);
}

function where(m) {
  if (m.scope === 'room') return `#${m.room}`;
  if (m.scope === 'direct') return 'direct';
  if (m.scope === 'user') return `to @${m.user}`; // every tab of that user got it
  return 'everyone';
}

client.on('message', (m) => {
  logLine(`message ${m.scope}`, [
    { className: 'where', text: where(m) },
    { className: 'from', text: who(m.from, m.from_user) },
    text(m.data),
  ], { scope: m.scope, from: m.from, room: m.room ?? '' });
  // A sender's user names its line in the member list.
  if (m.from_user && learnUser(m.from, m.from_user)) renderMembers();
});

// Rooms with history (--history-rooms): after a reconnect the client
// library brings what was missed, or says it cannot.
client.on('recovered', ({ room }) => logSystem(`back in ${room === `user:${client.user}` ? 'your direct messages' : `#${room}`}: nothing missed`));
client.on('gap', ({ room }) => {
  const name = room === `user:${client.user}` ? 'your direct messages' : `#${room}`;
  logLine('gap', [`Some messages in ${name} were missed while disconnected and are no longer kept: reload for the full conversation.`],
    { room });
});

// Runs a request and logs a failure instead of leaving it unhandled.
async function attempt(what, request) {
  try {
    return await request;
  } catch (err) {
    logError(`${what} failed: ${err.code ?? ''} ${err.message}`);
    return undefined;
  }
}

// ---- rooms ----

function renderRooms() {
  const rooms = client.rooms;
  if (selectedRoom && !rooms.includes(selectedRoom)) selectedRoom = null;
  if (!selectedRoom && rooms.length) selectedRoom = rooms[rooms.length - 1];

  const list = $('room-list');
  list.replaceChildren(...rooms.map((room) => {
    const li = document.createElement('li');
    li.classList.toggle('selected', room === selectedRoom);
    const pick = document.createElement('button');
    pick.type = 'button';
    pick.className = 'room-pick';
    pick.textContent = '#' + room;
    pick.dataset.testid = 'room-' + room;
    pick.setAttribute('aria-pressed', String(room === selectedRoom));
    pick.onclick = () => {
      if (room === selectedRoom) return;
      selectedRoom = room;
      renderRooms();
      fillMembers();
    };
    const leave = document.createElement('button');
    leave.type = 'button';
    leave.className = 'leave small';
    leave.textContent = 'Leave';
    leave.dataset.testid = 'leave-' + room;
    leave.setAttribute('aria-label', `leave #${room}`);
    leave.onclick = async () => {
      await attempt(`leave #${room}`, client.leave(room));
      logSystem(`left #${room}`);
      renderRooms();
      fillMembers();
    };
    li.append(pick, leave);
    return li;
  }));
  $('no-rooms').hidden = rooms.length > 0;

  $('room-target').textContent = selectedRoom ? '#' + selectedRoom : '(join one)';
  $('members-room').textContent = selectedRoom ? '#' + selectedRoom : '';
  $('room-text').disabled = $('send-room').disabled = !selectedRoom;
  $('refresh-members').disabled = !selectedRoom;
}

$('join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const room = $('room-name').value.trim();
  if (!room) return;
  // With events: the member list follows joins and leaves as they happen.
  if (await attempt(`join #${room}`, client.join(room, { events: true }).then(() => true))) {
    logSystem(`joined #${room}`);
    selectedRoom = room;
    renderRooms();
    fillMembers();
  }
});

// ---- members ----
//
// The selected room's members, live: filled once from presence, then kept
// by member events (every room is joined with events), no polling. Events
// that arrive while the presence answer is on its way are applied again on
// top of it: joined and left are idempotent, so the list ends right whether
// the answer was read before or after them.

// id -> user for the selected room (user null when not known yet or
// without auth).
let members = new Map();
// The users presence named at the last fill; see usersHere().
let filledUsers = [];
// Member events for the selected room received during a fill, else null.
let eventsDuringFill = null;
// The latest fill; an older one whose answer comes late is dropped.
let fillToken = null;
// id -> user, as learned from member events and messages (presence gives
// the users of a room but not which connection is whose).
const userOf = new Map();

function learnUser(id, user) {
  if (!user || userOf.get(id) === user) return false;
  userOf.set(id, user);
  // A long-running tab should not grow without bound.
  if (userOf.size > 5000) userOf.delete(userOf.keys().next().value);
  return members.has(id);
}

function userOfMember(id) {
  return members.get(id) ?? (id === client.id ? client.user : null) ?? userOf.get(id) ?? null;
}

// The distinct users in the room. Exact once every member's user is known;
// while some are not, the users of the last fill are kept too (one of them
// may have left unseen under an id we could not put a name to).
function usersHere() {
  const users = new Set();
  let unknown = false;
  for (const id of members.keys()) {
    const user = userOfMember(id);
    if (user) users.add(user);
    else unknown = true;
  }
  if (unknown) for (const user of filledUsers) users.add(user);
  return [...users].sort();
}

function applyMember({ event, id, user }) {
  if (event === 'joined') members.set(id, user);
  else members.delete(id);
  learnUser(id, user);
}

client.on('member', (e) => {
  if (e.room !== selectedRoom) return;
  applyMember(e);
  eventsDuringFill?.push(e);
  renderMembers();
  if (e.id !== client.id) logSystem(`${who(e.id, e.user)} ${e.event} #${e.room}`);
});

// The room `members` describes.
let membersRoom = null;

async function fillMembers() {
  const room = selectedRoom;
  const token = (fillToken = {});
  eventsDuringFill = null;
  if (room !== membersRoom) {
    // Another room's list must not show while this one's is on its way.
    membersRoom = room;
    members = new Map();
    filledUsers = [];
    renderMembers();
  }
  if (!room) return;
  // Only while connected: the 'ready' after a reconnect fills again.
  if (client.state !== 'ready') return;
  eventsDuringFill = [];
  const answer = await attempt(`members of #${room}`, client.presence(room, { users: true }));
  if (token !== fillToken) return; // another room, or another fill, since
  const replay = eventsDuringFill;
  eventsDuringFill = null;
  if (!answer) return;
  members = new Map(answer.members.map((id) => [id, null]));
  filledUsers = answer.users ?? [];
  for (const e of replay) applyMember(e);
  renderMembers();
}

function renderMembers() {
  const list = $('member-list');
  const ids = selectedRoom ? [...members.keys()].sort() : [];
  list.replaceChildren(...ids.map((id) => {
    const li = document.createElement('li');
    li.dataset.member = id;
    const user = userOfMember(id);
    if (user) {
      li.dataset.user = user;
      const name = document.createElement('span');
      name.className = 'user';
      name.textContent = user;
      li.append(name);
    }
    const code = document.createElement('code');
    code.textContent = id;
    li.append(code);
    if (id === client.id) {
      const me = document.createElement('span');
      me.className = 'me';
      me.textContent = 'you';
      li.append(me);
    } else {
      const dm = document.createElement('button');
      dm.type = 'button';
      dm.className = 'small dm';
      dm.textContent = 'Message';
      dm.dataset.testid = 'dm-' + id;
      dm.setAttribute('aria-label', `direct message to ${user ? `${user} (${id})` : id}`);
      dm.onclick = () => {
        $('direct-to').value = id;
        $('direct-text').focus();
      };
      li.append(dm);
    }
    return li;
  }));
  // Only a node with auth names users.
  const users = selectedRoom ? usersHere() : [];
  $('member-users').textContent = users.length ? `users: ${users.join(', ')}` : '';
  $('member-users').hidden = users.length === 0;
}

// By hand: after a broker outage, events may have been lost.
$('refresh-members').addEventListener('click', () => fillMembers());

// ---- sending ----

$('room-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('room-text');
  const room = selectedRoom;
  if (!room || !input.value) return;
  const data = input.value;
  input.value = '';
  // Members get it back from the server, so no local echo.
  await attempt(`message to #${room}`, client.room(room, data));
});

$('direct-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const to = $('direct-to').value.trim();
  const input = $('direct-text');
  if (!to || !input.value) return;
  const data = input.value;
  input.value = '';
  // The sender gets no copy of a direct message: log it once it is accepted.
  if (await attempt(`message to ${to}`, client.direct(to, data).then(() => true))) {
    const parts = [{ className: 'where', text: 'direct' }, { className: 'from', text: `you → ${to}` }, data];
    logLine('message sent', parts, { scope: 'sent', to });
  }
});

$('broadcast-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('broadcast-text');
  if (!input.value) return;
  const data = input.value;
  input.value = '';
  await attempt('broadcast', client.broadcast(data));
});

renderRooms();
