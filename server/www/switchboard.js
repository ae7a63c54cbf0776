// Switchboard client: one WebSocket to a Switchboard cluster, with requests
// as Promises, automatic reconnection and room rejoining.
//
// An ES module without dependencies and without a build step. It runs in
// browsers and in Node.js 18+ (give it a WebSocket constructor there, e.g.
// the `ws` package's, or Node 20's global one behind --experimental-websocket).
// The wire protocol it speaks is docs/protocol.md.
//
//   import { connect } from './switchboard.js';
//   const sb = connect();                       // ws(s)://<page host>/ws
//   sb.on('welcome', ({ id, node, worker }) => ...);
//   sb.on('message', (m) => console.log(m.scope, m.from, m.data));
//   await sb.join('lobby');
//   await sb.room('lobby', { text: 'hi' });
//
// Members: join with events to hear of everyone else joining and leaving,
// and fill the list once from presence (the events say nothing of those
// already there). Both survive reconnects: the room is rejoined with events.
//
//   sb.on('member', ({ event, room, id, user }) => ...); // 'joined' | 'left'
//   await sb.join('lobby', { events: true });
//   const { members, users } = await sb.presence('lobby', { users: true });
//
// presence(room) alone still resolves with the member ids, as it always
// has; { users: true } makes it resolve with an object instead, whose users
// are the distinct user ids among the members (null without auth). Events
// lost while the broker was down are not sent again: ask presence anew.
//
// Messages: every delivery is a 'message' event, whatever its scope:
// 'broadcast', 'room' (with room), 'direct' (with to, from direct(id)) and
// 'user' (with user, from toUser(user) or a room message to user:U; every
// connection of that user gets it). With auth, from_user names the sender.
//
// History: in a room the server keeps history for (--history-rooms), every
// message carries offset and epoch. The client remembers each room's place,
// rejoins with it after any reconnect, drops a message it has already had,
// and says how it went: 'recovered' (every message missed came, in order,
// before the live ones) or 'gap' (the server no longer has them all: reload
// the room's state from your backend). With auth, the user's personal room
// (user:U, where toUser messages go) is recovered the same way by itself.
//
//   sb.on('gap', ({ room }) => reloadFromBackend(room));
//   const { messages } = await sb.history('chat:1', { limit: 50 });
//
// What a rejected request means (err.code):
//   a server code   the server refused it and did nothing ('bad_request',
//                   'too_many_rooms', 'unavailable', 'forbidden' (the token
//                   does not allow it), 'rate_limited', ... see the protocol)
//   'timeout'       no answer within requestTimeoutMs of the call; if it had
//                   been sent, the server may still have carried it out
//   'disconnected'  it was sent, and the connection dropped before the
//                   answer came: the server may or may not have carried it
//                   out (a retried broadcast can arrive twice)
//   'queue_full'    made while disconnected with maxQueued requests waiting
//   'too_large'     longer than maxMessageBytes once encoded; never sent
//   'closed'        close() was called; queued requests are never sent
//   'token_expired' the fixed `token` expired (the server closed with 4001):
//                   the client has stopped, queued requests are never sent
//
// Auth: `connect(url, { token })` with a fixed JWT, or
// `connect(url, { getToken })` with a function returning (a Promise of) one.
// The token travels as ?token=... on the URL (browsers cannot set headers).
// getToken is called before every connection attempt and before the token
// expires: the client sends {"type":"refresh"} with a new one (see
// refreshDelay for when), so a page stays connected for days with
// short-lived tokens. A close with 4001 (token expired) is retried at once
// with a token from getToken; with a fixed token it ends the client, since
// the same token would be refused again.

/** Defaults for {@link connect}; each one can be overridden in its options. */
export const DEFAULTS = Object.freeze({
  // Long enough for a publish through a busy Redis, short enough that a
  // stalled connection is noticed by whoever is waiting on it.
  requestTimeoutMs: 10000,
  // Covers the TCP connect, the upgrade and the welcome frame: a server that
  // accepts but never welcomes (overloaded, half-open) is given up on.
  connectTimeoutMs: 10000,
  // Requests made while disconnected; past this they fail at once rather
  // than piling up without bound during a long outage.
  maxQueued: 100,
  // The server's default --max-message-bytes: a larger frame would make it
  // close the connection (1009), failing every other request in flight.
  maxMessageBytes: 64 * 1024,
  // Full jitter between 0 and min(maxMs, initialMs * 2^attempt).
  backoff: Object.freeze({ initialMs: 250, maxMs: 10000 }),
});

// Close codes (RFC 6455 and docs/protocol.md) that change how we reconnect.
const GOING_AWAY = 1001; // worker drained or retired in a rolling restart
const POLICY_VIOLATION = 1008; // slow consumer: we could not keep up
// After a slow-consumer close, start the backoff this many doublings in: an
// immediate reconnect would only meet the same flood of messages again.
const SLOW_CONSUMER_ATTEMPT = 3;
// Our own close code when the server does not welcome us in time.
const NO_WELCOME = 4000;
// Our own close code when a room could not be rejoined for a passing reason
// (not 4001: the server closes with that when the token expires).
const REJOIN_FAILED = 4002;
// The server's close when a connection's token expired without a refresh.
const TOKEN_EXPIRED = 4001;
// Refresh timing (refreshDelay): this long before exp at the latest, for a
// token that lives long enough; never sooner than MIN_REFRESH_MS.
const REFRESH_MARGIN_MS = 60000;
const MIN_REFRESH_MS = 1000;
// setTimeout fires at once for delays past 2^31 - 1 ms (24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An error from a request; `code` says why (see the list at the top). */
export class SwitchboardError extends Error {
  /**
   * @param {string} code a server error code or one of the library's own
   * @param {string} message human-readable detail
   */
  constructor(code, message) {
    super(message || code);
    this.name = 'SwitchboardError';
    /** @type {string} */
    this.code = code;
  }
}

/**
 * The reconnect delay before attempt `attempt` (0 for the first retry after
 * a connection was lost): "full jitter", uniform in
 * [0, min(maxMs, initialMs * 2^attempt)], so clients dropped together do not
 * come back together.
 * @param {number} attempt consecutive failed attempts so far
 * @param {{initialMs: number, maxMs: number}} backoff
 * @param {() => number} [random] uniform in [0, 1), for tests
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { initialMs, maxMs }, random = Math.random) {
  // 2^31 already exceeds any sane maxMs; capping avoids Infinity * 0 = NaN.
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 31));
  return Math.floor(random() * ceiling);
}

/**
 * When to refresh a token that expires at `exp`: at 80 % of its remaining
 * life or 60 s before exp, whichever is sooner, but not before half its
 * remaining life (a 30 s token is refreshed after 15 s, not at once), and
 * never sooner than 1 s. A 1 h token is refreshed after 48 min, a 5 min one
 * after 4 min, a 2 min one after 1 min. This machine's clock is the measure;
 * a token that has already expired by it gets no refresh (the server, whose
 * clock rules, then closes with 4001 and the reconnect fetches a new one).
 * @param {number | null} exp the token's `exp`, seconds since the epoch
 * @param {number} [nowMs] Date.now(), for tests
 * @returns {number | null} milliseconds, or null for no refresh
 */
export function refreshDelay(exp, nowMs = Date.now()) {
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return null;
  const life = exp * 1000 - nowMs;
  if (life <= 0) return null;
  const delay = Math.min(0.8 * life, Math.max(life - REFRESH_MARGIN_MS, 0.5 * life));
  return Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_MS, Math.floor(delay)));
}

/**
 * The `exp` claim of a JWT, read from its payload (base64url JSON) without
 * checking the signature: the client only needs to know when to refresh.
 * @param {string} token
 * @returns {number | null} seconds since the epoch; null when the token has
 *   no numeric exp or is not a JWT
 */
export function tokenExpiry(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    const exp = claims?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
  } catch {
    return null; // not base64url or not JSON: not a JWT we can read
  }
}

/** The event passed to EventTarget listeners; `detail` is what `on()` hands over. */
class SwitchboardEvent extends Event {
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

/**
 * Opens a connection and returns its client at once; requests made before
 * the welcome are queued.
 *
 * @param {string} [url] ws:// or wss:// URL of the endpoint; in a browser it
 *   defaults to ws(s)://<location.host>/ws
 * @param {object} [options]
 * @param {string} [options.token] a fixed JWT, sent as ?token=... on every
 *   attempt; never refreshed (a function here is taken as getToken)
 * @param {() => string | Promise<string>} [options.getToken] gives a JWT;
 *   called before every connection attempt and before each refresh. A
 *   rejection (or anything but a non-empty string) counts as a failed
 *   attempt: an 'error' event with code 'token_failed', then the backoff
 * @param {typeof WebSocket} [options.WebSocket] constructor to use (default
 *   globalThis.WebSocket)
 * @param {number} [options.requestTimeoutMs] per request, from the call
 *   (queued time included); 0 for none
 * @param {number} [options.connectTimeoutMs] from the attempt to the welcome
 * @param {number} [options.maxQueued] requests kept while disconnected
 * @param {number} [options.maxMessageBytes] largest frame sent; 0 for no check
 * @param {{initialMs?: number, maxMs?: number}} [options.backoff]
 * @returns {SwitchboardClient}
 */
export function connect(url, options = {}) {
  return new SwitchboardClient(url, options);
}

/**
 * A connection to a Switchboard cluster that survives disconnections.
 *
 * Events (listen with `on(type, fn)`, fn gets the detail; or with
 * `addEventListener`, the detail is `event.detail`):
 * - `open`: the WebSocket opened; no welcome yet. `{url}`
 * - `welcome`: `{id, node, worker, user}` from the server's welcome frame;
 *   user is the token's sub, null without auth. The id is new on every
 *   connection.
 * - `ready`: rooms were rejoined and queued requests sent.
 *   `{id, node, worker, user, rejoined: [room], failed: [{room, error}]}`;
 *   a room refused for good (e.g. `forbidden` under a new token) is in
 *   failed and is no longer rejoined
 * - `message`: a delivery, the frame as received:
 *   `{type:'message', scope, from, data, room?, to?, user?, from_user?}`;
 *   scope is 'broadcast', 'room', 'direct' or 'user'
 * - `member`: another connection joined or left a room joined with
 *   `{events: true}`. `{event: 'joined' | 'left', room, id, user}`; user is
 *   its token's sub, null without auth. A left comes for a leave, a close,
 *   a token refresh that no longer allows the room, and a dead worker
 *   (within the server's --liveness-seconds)
 * - `recovered`: a room with history was rejoined after a reconnect and
 *   every message missed meanwhile follows, in order, before the live
 *   ones. `{room, offset, epoch}`: the place the client rejoined from
 * - `gap`: a room with history was rejoined, but the messages missed
 *   are no longer all kept (or the server lost the room's history): they
 *   will not come; reload the room's state. `{room, offset, epoch}`: the
 *   room's place now
 * - `left`: the server took this connection out of a room, e.g. because a
 *   refreshed token no longer allows it. `{room, reason}`; the room is no
 *   longer in `rooms` and is not rejoined
 * - `refresh`: the server accepted a new token from getToken. `{exp}`
 * - `close`: the connection ended (or close() was called between two
 *   attempts). `{code, reason, wasClean, willReconnect}`; a connection
 *   that failed without a close frame, or before it opened, reports 1006
 * - `reconnecting`: a new attempt is scheduled. `{attempt, delay, code}`;
 *   attempt counts from 1 since the last connection that became ready,
 *   delay is in ms, code is the close code that caused it
 * - `error`: `{error}`, where error.code says what failed:
 *   a server code      an error frame that answered no request of ours
 *   'connect_failed'   the WebSocket could not be made (a malformed URL)
 *   'token_failed'     getToken rejected or gave no token; before a
 *                      connection attempt, the backoff follows
 *   'token_expired'    a fixed token expired (4001, below); the client stops
 *   With `refresh: true` in the detail, a refresh failed: getToken
 *   ('token_failed'), the server refused the new token ('forbidden': not
 *   valid, or another sub), or no answer came ('timeout'). The connection
 *   goes on with its old token, and the refresh is tried again by the same
 *   rule against the old exp, so more often as it nears; once that exp has
 *   passed by this machine's clock it stops trying, the server closes with
 *   4001 and the reconnect gets a new token.
 *
 * Reconnection policy: every close not asked for by close() is retried,
 * except 4001 with a fixed token. 1001 (a worker draining or retired in a
 * rolling restart) is retried at once; 4001 (token expired) too, with a
 * token from getToken, while with a fixed token it ends the client ('error'
 * with code 'token_expired', then 'close' with willReconnect false), since
 * the same token would be refused again; 1008 (slow consumer) starts the
 * backoff three doublings in; all others, including 1006 (worker died,
 * network lost, upgrade refused with 401/403/503: browsers do not tell these
 * apart), use the plain backoff.
 */
export class SwitchboardClient extends EventTarget {
  constructor(url, options = {}) {
    super();
    /** The endpoint; a new value is used from the next connection attempt on. */
    this.url = url ?? defaultUrl();
    const WS = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WS !== 'function') {
      throw new TypeError('switchboard: no WebSocket; pass options.WebSocket (in Node: the ws package, ' +
        'or node --experimental-websocket on Node 20)');
    }
    // A bad URL is a programming error: say so now instead of retrying it.
    const parsed = new URL(this.url);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new TypeError(`switchboard: ${this.url} is not a ws:// or wss:// URL`);
    }
    this._WebSocket = WS;
    const { token, getToken } = options;
    if (getToken !== undefined && typeof getToken !== 'function') {
      throw new TypeError('switchboard: getToken must be a function returning a token or a Promise of one');
    }
    if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
      throw new TypeError('switchboard: token must be a string (or pass getToken)');
    }
    if (getToken !== undefined && token !== undefined) {
      throw new TypeError('switchboard: give token or getToken, not both');
    }
    this._getToken = getToken ?? (typeof token === 'function' ? token : null);
    this._token = typeof token === 'string' && token !== '' ? token : undefined;
    this._requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
    this._connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this._maxQueued = options.maxQueued ?? DEFAULTS.maxQueued;
    this._maxMessageBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
    this._backoff = { ...DEFAULTS.backoff, ...options.backoff };

    /**
     * The id, node, worker and user (the token's sub; null without auth) of
     * the current connection; null between connections.
     */
    this.id = null;
    this.node = null;
    this.worker = null;
    this.user = null;
    /**
     * 'connecting' (no welcome yet), 'rejoining' (welcomed, rooms and queue
     * not yet replayed), 'ready', 'waiting' (for the next attempt) or 'closed'.
     */
    this.state = 'connecting';

    this._ws = null;
    this._nextRef = 1;
    this._pending = new Map(); // ref -> request, sent or queued
    this._queue = []; // requests not yet sent, in call order
    this._rooms = new Map(); // room -> {events}: rooms to rejoin on reconnect, as joined
    // room -> token of the latest join call: a join acked after a later
    // leave() must not put the room back into _rooms.
    this._joinIntent = new Map();
    // room -> {offset, epoch}: the last message had in a room with history
    // (user:U for the personal room), to rejoin from and to drop repeats.
    this._places = new Map();
    this._attempt = 0; // failed attempts since the last ready connection
    this._retryTimer = null;
    this._connectTimer = null;
    this._refreshTimer = null;
    this._tokenExp = null; // exp of the current connection's token, if known
    this._listeners = new Map(); // fn -> wrapper, per event type, for off()
    this._closedWaiters = [];

    this._open();
  }

  /**
   * Where this client is in a room with history: `{offset, epoch}` of the
   * last message it had (or of the room when it joined), null for a room
   * without history or not joined.
   */
  place(room) {
    const at = this._places.get(room);
    return at ? { ...at } : null;
  }

  /** Rooms this client has joined and will rejoin after a reconnect. */
  get rooms() {
    return [...this._rooms.keys()];
  }

  /**
   * Whether `room` was joined with member events (and is rejoined with
   * them); false for a room joined without them or not joined.
   * @param {string} room
   * @returns {boolean}
   */
  watches(room) {
    return this._rooms.get(room)?.events === true;
  }

  /**
   * Listens to an event; `fn(detail, event)`. Returns a function that stops
   * listening.
   * @param {string} type
   * @param {(detail: any, event: Event) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    let byFn = this._listeners.get(type);
    if (!byFn) this._listeners.set(type, (byFn = new Map()));
    if (!byFn.has(fn)) {
      const wrapper = (event) => fn(event.detail, event);
      byFn.set(fn, wrapper);
      this.addEventListener(type, wrapper);
    }
    return () => this.off(type, fn);
  }

  /**
   * Stops a listener added with {@link on}.
   * @param {string} type
   * @param {Function} fn
   */
  off(type, fn) {
    const wrapper = this._listeners.get(type)?.get(fn);
    if (!wrapper) return;
    this._listeners.get(type).delete(fn);
    this.removeEventListener(type, wrapper);
  }

  /**
   * Sends `data` to every client of the cluster, this one included.
   * @param {*} data any JSON value (undefined is sent as null)
   * @returns {Promise<void>} resolved when the broker has taken it
   */
  broadcast(data) {
    return this._request({ type: 'broadcast', data: data ?? null });
  }

  /**
   * Sends `data` to the client with id `to`, wherever it is connected. A
   * well-formed id of a client that is not connected is still acked: the
   * message is dropped silently.
   * @param {string} to a client id
   * @param {*} data
   * @returns {Promise<void>}
   */
  direct(to, data) {
    return this._request({ type: 'direct', to, data: data ?? null });
  }

  /**
   * Sends `data` to every connection of user `user` (the token's sub),
   * wherever they are connected; they get a `message` with scope 'user'.
   * Acked even when none is connected: the message is then dropped. Needs
   * a node with auth (the `direct` claim allows it).
   * @param {string} user a user id
   * @param {*} data
   * @returns {Promise<void>}
   */
  toUser(user, data) {
    return this._request({ type: 'direct', user, data: data ?? null });
  }

  /**
   * Joins `room`; it is rejoined automatically after every reconnect until
   * {@link leave} is called. With `{events: true}` this connection also
   * gets a `member` event for every other connection joining or leaving
   * the room, and every rejoin asks for them again. As on the server,
   * joining a room already joined changes nothing, its events setting
   * included: to switch, leave and join again.
   * @param {string} room 1 to 128 bytes of UTF-8, no control characters
   * @param {{events?: boolean}} [options]
   * @returns {Promise<void | {offset: number, epoch: string, recovered: boolean}>}
   *   resolved once membership holds cluster-wide; in a room with history,
   *   with the room's place
   */
  join(room, options = {}) {
    const events = options.events === true;
    // The server keeps the setting of the first join that reached it: that
    // of a room already held, else that of an earlier join still unanswered.
    const held = this._rooms.get(room);
    const earlier = held ? undefined : this._joinIntent.get(room);
    const intent = { events: held?.events ?? earlier?.events ?? events };
    this._joinIntent.set(room, intent);
    return this._request(joinFrame(room, events, this._places.get(room))).then((place) => {
      if (this._joinIntent.get(room) === intent && !this._rooms.has(room)) this._rooms.set(room, { events: intent.events });
      this._joined(room, place);
      return place;
    }, (err) => {
      if (this._joinIntent.get(room) === intent && !this._rooms.has(room)) this._joinIntent.delete(room);
      throw err;
    });
  }

  /**
   * Leaves `room` (not being in it is no error) and stops rejoining it.
   * @param {string} room
   * @returns {Promise<void>}
   */
  leave(room) {
    // Forgotten at once: even if this request is lost with the connection,
    // a new connection starts without the room, which is what was asked.
    this._joinIntent.delete(room);
    this._rooms.delete(room);
    this._places.delete(room);
    return this._request({ type: 'leave', room });
  }

  /**
   * Sends `data` to every member of `room`; the sender need not be one.
   * @param {string} room
   * @param {*} data
   * @returns {Promise<void>}
   */
  room(room, data) {
    return this._request({ type: 'room', room, data: data ?? null });
  }

  /**
   * Lists the members of `room`, cluster-wide. By default it resolves with
   * their ids, as it always has; with `{users: true}` it resolves with
   * `{members, users}`: the ids, and the distinct user ids among them
   * (sorted, as the server sends them), or null from a node without auth.
   * @param {string} room
   * @param {{users?: boolean}} [options]
   * @returns {Promise<string[] | {members: string[], users: string[] | null}>}
   */
  presence(room, options = {}) {
    const withUsers = options.users === true;
    return this._request({ type: 'presence', room }).then(({ members, users }) =>
      (withUsers ? { members, users } : members));
  }

  /**
   * Messages kept in a room with history, oldest first, each as the
   * message frame it was delivered as. Without `since`, the newest `limit`;
   * with it (a place, e.g. from {@link place}), the first `limit` after it.
   * Page forward by asking again from the last message's offset.
   * @param {string} room
   * @param {{limit?: number, since?: {offset: number, epoch: string}}} [options]
   * @returns {Promise<{messages: object[], offset: number, epoch: string}>}
   *   offset and epoch are the room's place now
   */
  history(room, options = {}) {
    const frame = { type: 'history', room };
    if (options.limit !== undefined) frame.limit = options.limit;
    if (options.since) frame.since = { offset: options.since.offset, epoch: options.since.epoch };
    return this._request(frame);
  }

  /**
   * Round trip to the worker holding this connection.
   * @returns {Promise<number>} milliseconds from the call to the pong
   */
  ping() {
    const start = now();
    return this._request({ type: 'ping' }).then(() => now() - start);
  }

  /**
   * Closes the connection for good: no more reconnects; requests not yet
   * answered reject with 'closed'.
   * @returns {Promise<void>} resolved once the WebSocket has closed
   */
  close() {
    if (this.state === 'closed') return this._ws ? this._whenSocketGone() : Promise.resolve();
    this.state = 'closed';
    clearTimeout(this._retryTimer);
    clearTimeout(this._connectTimer);
    clearTimeout(this._refreshTimer);
    const error = () => new SwitchboardError('closed', 'the client was closed');
    this._failAll(error, () => true);
    this._queue = [];
    if (!this._ws) {
      // Between attempts: no socket will report the end, so say it here.
      this._emit('close', { code: 1000, reason: 'client closed', wasClean: true, willReconnect: false });
      return Promise.resolve();
    }
    const gone = this._whenSocketGone();
    try {
      this._ws.close(1000, 'client closed');
    } catch {
      // Some implementations throw when closing a socket still connecting;
      // the close event follows either way.
    }
    return gone;
  }

  // ---- internals ----

  _emit(type, detail) {
    this.dispatchEvent(new SwitchboardEvent(type, detail));
  }

  _whenSocketGone() {
    return new Promise((resolve) => this._closedWaiters.push(resolve));
  }

  async _open() {
    this.state = 'connecting';
    let token = this._token;
    // Without getToken the socket is made in this same turn (no await).
    if (this._getToken) {
      try {
        token = await this._nextToken();
      } catch (err) {
        if (this.state === 'closed') return;
        this._emit('error', { error: wrapError('token_failed', err) });
        this._scheduleRetry(null);
        return;
      }
      if (this.state === 'closed') return; // close() while the token was fetched
    }
    this._tokenExp = token === undefined ? null : tokenExpiry(token);
    const url = token === undefined ? this.url : withToken(this.url, token);

    let ws;
    try {
      ws = new this._WebSocket(url);
    } catch (err) {
      // A malformed URL throws synchronously: retrying will not help.
      this.state = 'closed';
      this._failAll(() => wrapError('connect_failed', err), () => true);
      this._queue = [];
      this._emit('error', { error: wrapError('connect_failed', err) });
      return;
    }
    this._ws = ws;
    this._connectTimer = setTimeout(() => {
      // The close event that follows schedules the next attempt.
      if (this._ws === ws && this.state === 'connecting') safeClose(ws, NO_WELCOME, 'no welcome');
    }, this._connectTimeoutMs);

    // Handlers check `this._ws === ws` so a late event from a socket we have
    // already given up on cannot disturb its successor.
    ws.onopen = () => {
      if (this._ws === ws) this._emit('open', { url: this.url });
    };
    ws.onmessage = (event) => {
      // After close() nothing more is delivered, even frames already in
      // flight (a welcome here would otherwise revive the client).
      if (this._ws === ws && this.state !== 'closed') this._onFrame(event.data);
    };
    ws.onclose = (event) => {
      if (this._ws === ws) this._onClose(event.code, event.reason, event.wasClean);
    };
    // Browsers follow an error with a close event (code 1006), but Node 20's
    // WebSocket fires only the error when the TCP connect fails, and stays
    // CONNECTING. So the error itself ends the socket; a close event that
    // may follow is ignored by the check above.
    ws.onerror = () => {
      if (this._ws !== ws) return;
      this._onClose(1006, '', false);
      safeClose(ws, 1000, '');
    };
  }

  _onFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not ours to fix; the server only sends JSON objects
    }
    if (!frame || typeof frame !== 'object') return;
    switch (frame.type) {
      case 'welcome':
        this._onWelcome(frame);
        break;
      case 'message':
        if (this._isRepeat(frame)) break;
        this._emit('message', frame);
        break;
      case 'ack': {
        // A join of a room with history says where the room is.
        const place = typeof frame.epoch === 'string'
          ? { offset: frame.offset, epoch: frame.epoch, recovered: frame.recovered === true }
          : undefined;
        this._settle(frame.ref, (req) => req.resolve(place));
        break;
      }
      case 'pong':
        this._settle(frame.ref, (req) => req.resolve(undefined));
        break;
      case 'history': {
        const page = { messages: Array.isArray(frame.messages) ? frame.messages : [], offset: frame.offset, epoch: frame.epoch };
        this._settle(frame.ref, (req) => req.resolve(page));
        break;
      }
      case 'presence': {
        const answer = { members: frame.members ?? [], users: Array.isArray(frame.users) ? frame.users : null };
        this._settle(frame.ref, (req) => req.resolve(answer));
        break;
      }
      case 'member':
        this._onMember(frame);
        break;
      case 'error': {
        const error = new SwitchboardError(frame.code, frame.message);
        if (!this._settle(frame.ref, (req) => req.reject(error))) this._emit('error', { error });
        break;
      }
      case 'left':
        this._onLeft(frame);
        break;
      default:
        break; // a newer server's frame: ignore rather than fail
    }
  }

  // Completes the request with `ref`; false when no request waits for it
  // (no ref, or it already timed out).
  _settle(ref, complete) {
    const req = ref === undefined ? undefined : this._pending.get(ref);
    if (!req) return false;
    this._pending.delete(ref);
    clearTimeout(req.timer);
    complete(req);
    return true;
  }

  // A message of a room with history moves the room's place on; one at or
  // before the place, in the same epoch, was had already (recovery can
  // hand over what the connection before had): true, and it is dropped.
  _isRepeat(frame) {
    if (typeof frame.epoch !== 'string' || typeof frame.offset !== 'number') return false;
    const room = frame.scope === 'user' ? `user:${frame.user}` : frame.room;
    if (typeof room !== 'string') return false;
    const at = this._places.get(room);
    if (at && at.epoch === frame.epoch && frame.offset <= at.offset) return true;
    this._places.set(room, { offset: frame.offset, epoch: frame.epoch });
    return false;
  }

  // A join's ack gave `place` (undefined for a room without history). When
  // it recovered, the messages after our place follow and move it on;
  // otherwise the room's place now is where we are, unless messages after
  // it have come already (the ack is read a moment after them).
  _joined(room, place) {
    if (!place) {
      this._places.delete(room);
      return;
    }
    const at = this._places.get(room);
    if (place.recovered && at) return;
    if (at && at.epoch === place.epoch && at.offset >= place.offset) return;
    this._places.set(room, { offset: place.offset, epoch: place.epoch });
  }

  // The server took us out of a room (a refreshed token no longer allows
  // it): a reconnect must not ask for it again.
  _onLeft(frame) {
    if (typeof frame.room !== 'string') return;
    this._rooms.delete(frame.room);
    this._joinIntent.delete(frame.room);
    this._places.delete(frame.room);
    this._emit('left', { room: frame.room, reason: frame.reason ?? null });
  }

  // Another connection joined or left a room we watch.
  _onMember(frame) {
    if (typeof frame.room !== 'string' || typeof frame.id !== 'string') return;
    if (frame.event !== 'joined' && frame.event !== 'left') return; // a newer server's event
    this._emit('member', { event: frame.event, room: frame.room, id: frame.id, user: frame.user ?? null });
  }

  async _onWelcome(frame) {
    clearTimeout(this._connectTimer);
    const ws = this._ws;
    this.id = frame.id;
    this.node = frame.node;
    this.worker = frame.worker;
    this.user = frame.user ?? null;
    this.state = 'rejoining';
    // The token's life runs from now on, whatever the rejoin takes.
    this._scheduleRefresh();
    this._emit('welcome', { id: frame.id, node: frame.node, worker: frame.worker, user: this.user });

    // Rejoin first and wait for the acks, so that queued requests (a room
    // message, a presence query) see the memberships they were made with.
    // The personal room first of all: the server holds its messages until
    // the first request, so that this join can recover it exactly.
    const personal = this.user === null ? [] : [`user:${this.user}`];
    const rooms = [...personal, ...this._rooms.keys()];
    // Each from where we were: the places to recover from, taken now.
    const since = rooms.map((room) => this._places.get(room));
    // With no rooms, go on synchronously: ready in the same turn as the welcome.
    const results = rooms.length === 0
      ? []
      : await Promise.allSettled(rooms.map((room, i) => this._send(joinFrame(room, this.watches(room), since[i]))));
    if (this._ws !== ws || this.state !== 'rejoining') return; // lost meanwhile, or closed
    results.forEach((result, i) => {
      if (result.status !== 'fulfilled') return;
      const place = result.value;
      this._joined(rooms[i], place);
      if (!place || !since[i]) return;
      if (place.recovered) this._emit('recovered', { room: rooms[i], offset: since[i].offset, epoch: since[i].epoch });
      else this._emit('gap', { room: rooms[i], offset: place.offset, epoch: place.epoch });
    });
    results.splice(0, personal.length);
    rooms.splice(0, personal.length);

    const rejoined = [];
    const failed = [];
    let transient = false;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        rejoined.push(rooms[i]);
        return;
      }
      const error = result.reason;
      // Broker down, too many requests at once, or no answer: the
      // membership is still wanted, so try again on a fresh connection
      // after a backoff.
      if (['unavailable', 'rate_limited', 'timeout', 'disconnected'].includes(error.code)) {
        transient = true;
      } else {
        // Refused for good (too_many_rooms under a lower limit, forbidden
        // under a new token): forget it.
        this._rooms.delete(rooms[i]);
        this._joinIntent.delete(rooms[i]);
        failed.push({ room: rooms[i], error });
      }
    });
    if (transient) {
      safeClose(ws, REJOIN_FAILED, 'rejoin failed');
      return;
    }

    // Only a connection that got this far resets the backoff: one that is
    // welcomed and then fails to rejoin must not retry in a tight loop.
    this._attempt = 0;
    this.state = 'ready';
    const queued = this._queue;
    this._queue = [];
    for (const req of queued) this._transmit(req);
    this._emit('ready', { id: this.id, node: this.node, worker: this.worker, user: this.user, rejoined, failed });
  }

  _onClose(code, reason, wasClean) {
    clearTimeout(this._connectTimer);
    clearTimeout(this._refreshTimer);
    this._ws = null;
    this.id = this.node = this.worker = this.user = null;
    const closedByUs = this.state === 'closed';
    // A fixed token that expired would be refused on every reconnect (as a
    // 401, which looks like 1006 and would be retried forever): stop.
    const expired = !closedByUs && code === TOKEN_EXPIRED && !this._getToken;
    const willReconnect = !closedByUs && !expired;
    // Before any listener runs: a request made from a 'close' listener must
    // be queued, not written to the dead socket (or refused, when stopping).
    if (expired) this.state = 'closed';
    else if (willReconnect) this.state = 'waiting';

    // Sent requests can no longer be answered; queued ones wait for the
    // next connection, unless there will be none.
    this._failAll(
      () => new SwitchboardError('disconnected', `connection closed (${code}) before the answer came`),
      (req) => req.sent,
    );
    if (expired) {
      const message = 'the token expired; connect again with a new one, or pass getToken';
      this._failAll(() => new SwitchboardError('token_expired', message), () => true);
      this._queue = [];
      this._emit('error', { error: new SwitchboardError('token_expired', message) });
    }

    this._emit('close', { code, reason, wasClean, willReconnect });
    const waiters = this._closedWaiters;
    this._closedWaiters = [];
    for (const resolve of waiters) resolve();
    if (willReconnect) this._scheduleRetry(code);
  }

  // The token for the next attempt or refresh: the fixed one, a fresh one
  // from getToken, or undefined without auth.
  async _nextToken() {
    if (!this._getToken) return this._token;
    const token = await this._getToken();
    if (typeof token !== 'string' || token === '') {
      throw new TypeError(`getToken() gave ${token === '' ? 'an empty string' : typeof token}, not a token`);
    }
    return token;
  }

  // Arms the refresh of the current connection's token (refreshDelay);
  // nothing to do with a fixed token, or one whose exp is unknown or past.
  _scheduleRefresh() {
    clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    if (!this._getToken) return;
    const delay = refreshDelay(this._tokenExp);
    if (delay === null) return;
    const ws = this._ws;
    this._refreshTimer = setTimeout(() => this._refresh(ws), delay);
  }

  // Sends {"type":"refresh"} with a new token on connection `ws`. A failure
  // is reported and tried again by the same rule against the old exp; a lost
  // connection ends it (the reconnect fetches a new token anyway).
  async _refresh(ws) {
    this._refreshTimer = null;
    const live = () => this._ws === ws && (this.state === 'ready' || this.state === 'rejoining');
    if (!live()) return;
    let token;
    try {
      token = await this._nextToken();
      if (!live()) return;
      await this._send({ type: 'refresh', token });
    } catch (err) {
      if (!live()) return;
      const error = err instanceof SwitchboardError ? err : wrapError('token_failed', err);
      this._emit('error', { error, refresh: true });
      this._scheduleRefresh();
      return;
    }
    if (!live()) return;
    this._tokenExp = tokenExpiry(token);
    this._emit('refresh', { exp: this._tokenExp });
    this._scheduleRefresh();
  }

  // Every close the server makes is retried (but 4001 with a fixed token,
  // stopped in _onClose): the protocol defines no code after which a client
  // must stay away. 1007/1009 mean one of our requests
  // was malformed or too large; it was rejected as 'disconnected' and is not
  // resent, so retrying does not loop. A refused upgrade (401/403/503) looks
  // like 1006 to a WebSocket client and is retried with backoff too.
  _scheduleRetry(code) {
    this.state = 'waiting';
    if (code === POLICY_VIOLATION) this._attempt = Math.max(this._attempt, SLOW_CONSUMER_ATTEMPT);
    // A draining worker asks us to go elsewhere now ("free to reconnect at
    // once"): the other workers are up, so the first retry does not wait.
    // Nor does the first after an expired token: a new one will do.
    const atOnce = (code === GOING_AWAY || code === TOKEN_EXPIRED) && this._attempt === 0;
    const delay = atOnce ? 0 : backoffDelay(this._attempt, this._backoff);
    this._attempt += 1;
    this._emit('reconnecting', { attempt: this._attempt, delay, code });
    this._retryTimer = setTimeout(() => {
      if (this.state === 'waiting') this._open();
    }, delay);
  }

  // A user request: checked, then sent now, or queued until the next ready.
  _request(frame) {
    if (this.state === 'closed') return Promise.reject(new SwitchboardError('closed', 'the client was closed'));
    if (this.state !== 'ready' && this._queue.length >= this._maxQueued) {
      const message = `${this._queue.length} requests already wait for a connection`;
      return Promise.reject(new SwitchboardError('queue_full', message));
    }
    return this._send(frame, this.state !== 'ready');
  }

  // Registers a request under a fresh ref; sends it unless `queue` is set.
  _send(frame, queue = false) {
    return new Promise((resolve, reject) => {
      const ref = this._nextRef++;
      const text = JSON.stringify({ ...frame, ref });
      const bytes = this._maxMessageBytes > 0 ? utf8Length(text) : 0;
      if (bytes > this._maxMessageBytes) {
        reject(new SwitchboardError('too_large', `${bytes} bytes, more than maxMessageBytes (${this._maxMessageBytes})`));
        return;
      }
      const req = { ref, text, resolve, reject, sent: false, timer: null };
      this._pending.set(ref, req);
      if (this._requestTimeoutMs > 0) {
        req.timer = setTimeout(() => {
          this._pending.delete(ref);
          // Still queued: never sent, so drop it from the queue too.
          const at = this._queue.indexOf(req);
          if (at >= 0) this._queue.splice(at, 1);
          reject(new SwitchboardError('timeout', `no answer within ${this._requestTimeoutMs} ms`));
        }, this._requestTimeoutMs);
      }
      if (queue) this._queue.push(req);
      else this._transmit(req);
    });
  }

  _transmit(req) {
    if (!this._pending.has(req.ref)) return; // timed out while queued
    req.sent = true; // from here on a lost connection fails it as 'disconnected'
    try {
      this._ws.send(req.text);
    } catch {
      // The socket is closing: the close event rejects it as 'disconnected'.
    }
  }

  _failAll(makeError, which) {
    for (const [ref, req] of this._pending) {
      if (!which(req)) continue;
      this._pending.delete(ref);
      clearTimeout(req.timer);
      req.reject(makeError());
    }
    this._queue = this._queue.filter((req) => this._pending.has(req.ref));
  }
}

// Without events the frame is the one a join has always been.
// `since`: the place to recover from, in a room with history.
function joinFrame(room, events, since) {
  const frame = { type: 'join', room };
  if (events) frame.events = true;
  if (since) frame.since = { offset: since.offset, epoch: since.epoch };
  return frame;
}

function defaultUrl() {
  const loc = globalThis.location;
  if (!loc || !loc.host) throw new TypeError('switchboard: connect() needs a URL outside a browser');
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
}

// `url` with ?token= added, its own query kept as written.
function withToken(url, token) {
  const param = 'token=' + encodeURIComponent(token);
  if (!url.includes('?')) return url + '?' + param;
  return url + (url.endsWith('?') || url.endsWith('&') ? '' : '&') + param;
}

function safeClose(ws, code, reason) {
  try {
    ws.close(code, reason);
  } catch {
    // already closing
  }
}

function wrapError(code, err) {
  const error = new SwitchboardError(code, err?.message ?? String(err));
  error.cause = err;
  return error;
}

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

function now() {
  return globalThis.performance?.now() ?? Date.now();
}
