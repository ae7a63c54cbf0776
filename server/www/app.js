// The demo page: a small chat over switchboard.js that shows where in the
// cluster this tab is connected. Everything user-supplied is shown with
// textContent, never as HTML.
import { connect } from './switchboard.js';

const $ = (id) => document.getElementById(id);
// While a room is selected, its member list is refreshed this often, since
// the protocol pushes no join/leave events.
const MEMBERS_REFRESH_MS = 5000;

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
let membersTimer = null;

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
  refreshMembers();
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
  refreshMembers();
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

client.on('message', (m) => {
  const where = m.scope === 'room' ? `#${m.room}` : m.scope === 'direct' ? 'direct' : 'everyone';
  logLine(`message ${m.scope}`, [
    { className: 'where', text: where },
    { className: 'from', text: who(m.from, m.from_user) },
    text(m.data),
  ], { scope: m.scope, from: m.from, room: m.room ?? '' });
  // A voice not yet in the member list: someone joined, show them now.
  const listed = document.querySelector(`#member-list [data-member="${CSS.escape(m.from)}"]`);
  if (m.scope === 'room' && m.room === selectedRoom && !listed) refreshMembers();
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
      selectedRoom = room;
      renderRooms();
      refreshMembers();
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
      refreshMembers();
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
  if (await attempt(`join #${room}`, client.join(room).then(() => true))) {
    logSystem(`joined #${room}`);
    selectedRoom = room;
    renderRooms();
    refreshMembers();
  }
});

// ---- members ----

async function refreshMembers() {
  clearTimeout(membersTimer);
  const room = selectedRoom;
  const list = $('member-list');
  if (!room) {
    list.replaceChildren();
    return;
  }
  membersTimer = setTimeout(refreshMembers, MEMBERS_REFRESH_MS);
  // Only while connected: queued presence calls would pile up offline.
  if (client.state !== 'ready') return;
  const members = await attempt(`members of #${room}`, client.presence(room));
  if (!members || room !== selectedRoom) return;
  list.replaceChildren(...[...members].sort().map((id) => {
    const li = document.createElement('li');
    li.dataset.member = id;
    const name = document.createElement('code');
    name.textContent = id;
    li.append(name);
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
      dm.setAttribute('aria-label', `direct message to ${id}`);
      dm.onclick = () => {
        $('direct-to').value = id;
        $('direct-text').focus();
      };
      li.append(dm);
    }
    return li;
  }));
}

$('refresh-members').addEventListener('click', () => refreshMembers());

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
