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
// What a rejected request means (err.code):
//   a server code   the server refused it and did nothing ('bad_request',
//                   'too_many_rooms', 'unavailable', ... see the protocol)
//   'timeout'       no answer within requestTimeoutMs of the call; if it had
//                   been sent, the server may still have carried it out
//   'disconnected'  it was sent, and the connection dropped before the
//                   answer came: the server may or may not have carried it
//                   out (a retried broadcast can arrive twice)
//   'queue_full'    made while disconnected with maxQueued requests waiting
//   'too_large'     longer than maxMessageBytes once encoded; never sent
//   'closed'        close() was called; queued requests are never sent

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
// Our own close code when a room could not be rejoined for a passing reason.
const REJOIN_FAILED = 4001;

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
 * @param {string | (() => string | Promise<string>)} [options.token] JWT sent
 *   as ?token=...; a function is called before every connection attempt, so
 *   it can hand out a fresh token
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
 * - `welcome`: `{id, node, worker}` from the server's welcome frame. The id
 *   is new on every connection.
 * - `ready`: rooms were rejoined and queued requests sent.
 *   `{id, node, worker, rejoined: [room], failed: [{room, error}]}`
 * - `message`: a delivery, the frame as received:
 *   `{type:'message', scope, from, data, room?, to?}`
 * - `close`: the connection ended (or close() was called between two
 *   attempts). `{code, reason, wasClean, willReconnect}`; a connection
 *   that failed without a close frame, or before it opened, reports 1006
 * - `reconnecting`: a new attempt is scheduled. `{attempt, delay, code}`;
 *   attempt counts from 1 since the last connection that became ready,
 *   delay is in ms, code is the close code that caused it
 *
 * Reconnection policy: every close not asked for by close() is retried, as
 * the protocol names no close code after which a client must stay away.
 * 1001 (a worker draining or retired in a rolling restart) is retried at
 * once; 1008 (slow consumer) starts the backoff three doublings in; all
 * others, including 1006 (worker died, network lost, upgrade refused with
 * 401/403/503: browsers do not tell these apart), use the plain backoff.
 * - `error`: a server error frame that answered no request of ours
 *   (`{error}`), or a failed connection attempt (`{error}` with code
 *   'connect_failed')
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
    this._token = options.token;
    this._requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
    this._connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this._maxQueued = options.maxQueued ?? DEFAULTS.maxQueued;
    this._maxMessageBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
    this._backoff = { ...DEFAULTS.backoff, ...options.backoff };

    /** The id, node and worker of the current connection; null between connections. */
    this.id = null;
    this.node = null;
    this.worker = null;
    /**
     * 'connecting' (no welcome yet), 'rejoining' (welcomed, rooms and queue
     * not yet replayed), 'ready', 'waiting' (for the next attempt) or 'closed'.
     */
    this.state = 'connecting';

    this._ws = null;
    this._nextRef = 1;
    this._pending = new Map(); // ref -> request, sent or queued
    this._queue = []; // requests not yet sent, in call order
    this._rooms = new Set(); // rooms to rejoin on reconnect
    // room -> token of the latest join call: a join acked after a later
    // leave() must not put the room back into _rooms.
    this._joinIntent = new Map();
    this._attempt = 0; // failed attempts since the last ready connection
    this._retryTimer = null;
    this._connectTimer = null;
    this._listeners = new Map(); // fn -> wrapper, per event type, for off()
    this._closedWaiters = [];

    this._open();
  }

  /** Rooms this client has joined and will rejoin after a reconnect. */
  get rooms() {
    return [...this._rooms];
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
   * Joins `room`; it is rejoined automatically after every reconnect until
   * {@link leave} is called.
   * @param {string} room 1 to 128 bytes of UTF-8, no control characters
   * @returns {Promise<void>} resolved once membership holds cluster-wide
   */
  join(room) {
    const intent = {};
    this._joinIntent.set(room, intent);
    return this._request({ type: 'join', room }).then(() => {
      if (this._joinIntent.get(room) === intent) this._rooms.add(room);
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
   * Lists the ids of the members of `room`, cluster-wide.
   * @param {string} room
   * @returns {Promise<string[]>}
   */
  presence(room) {
    return this._request({ type: 'presence', room });
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
    let url = this.url;
    try {
      const token = typeof this._token === 'function' ? await this._token() : this._token;
      if (this.state === 'closed') return; // close() while the token was fetched
      if (token) url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
    } catch (err) {
      this._emit('error', { error: wrapError('connect_failed', err) });
      this._scheduleRetry(null);
      return;
    }

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
        this._emit('message', frame);
        break;
      case 'ack':
      case 'pong':
        this._settle(frame.ref, (req) => req.resolve(undefined));
        break;
      case 'presence':
        this._settle(frame.ref, (req) => req.resolve(frame.members ?? []));
        break;
      case 'error': {
        const error = new SwitchboardError(frame.code, frame.message);
        if (!this._settle(frame.ref, (req) => req.reject(error))) this._emit('error', { error });
        break;
      }
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

  async _onWelcome(frame) {
    clearTimeout(this._connectTimer);
    const ws = this._ws;
    this.id = frame.id;
    this.node = frame.node;
    this.worker = frame.worker;
    this.state = 'rejoining';
    this._emit('welcome', { id: frame.id, node: frame.node, worker: frame.worker });

    // Rejoin first and wait for the acks, so that queued requests (a room
    // message, a presence query) see the memberships they were made with.
    const rooms = [...this._rooms];
    // With no rooms, go on synchronously: ready in the same turn as the welcome.
    const results = rooms.length === 0
      ? []
      : await Promise.allSettled(rooms.map((room) => this._send({ type: 'join', room })));
    if (this._ws !== ws || this.state !== 'rejoining') return; // lost meanwhile, or closed

    const rejoined = [];
    const failed = [];
    let transient = false;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        rejoined.push(rooms[i]);
        return;
      }
      const error = result.reason;
      // Broker down or no answer: the membership is still wanted, so try
      // again on a fresh connection after a backoff.
      if (error.code === 'unavailable' || error.code === 'timeout' || error.code === 'disconnected') {
        transient = true;
      } else {
        // Refused for good (e.g. too_many_rooms under a lower limit): forget it.
        this._rooms.delete(rooms[i]);
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
    this._emit('ready', { id: this.id, node: this.node, worker: this.worker, rejoined, failed });
  }

  _onClose(code, reason, wasClean) {
    clearTimeout(this._connectTimer);
    this._ws = null;
    this.id = this.node = this.worker = null;
    const closedByUs = this.state === 'closed';
    // Before any listener runs: a request made from a 'close' listener must
    // be queued, not written to the dead socket.
    if (!closedByUs) this.state = 'waiting';

    // Sent requests can no longer be answered; queued ones wait for the
    // next connection.
    this._failAll(
      () => new SwitchboardError('disconnected', `connection closed (${code}) before the answer came`),
      (req) => req.sent,
    );

    this._emit('close', { code, reason, wasClean, willReconnect: !closedByUs });
    const waiters = this._closedWaiters;
    this._closedWaiters = [];
    for (const resolve of waiters) resolve();
    if (!closedByUs) this._scheduleRetry(code);
  }

  // Every close the server makes is retried: the protocol defines no code
  // after which a client must stay away. 1007/1009 mean one of our requests
  // was malformed or too large; it was rejected as 'disconnected' and is not
  // resent, so retrying does not loop. A refused upgrade (401/403/503) looks
  // like 1006 to a WebSocket client and is retried with backoff too.
  _scheduleRetry(code) {
    this.state = 'waiting';
    if (code === POLICY_VIOLATION) this._attempt = Math.max(this._attempt, SLOW_CONSUMER_ATTEMPT);
    // A draining worker asks us to go elsewhere now ("free to reconnect at
    // once"): the other workers are up, so the first retry does not wait.
    const delay = code === GOING_AWAY && this._attempt === 0 ? 0 : backoffDelay(this._attempt, this._backoff);
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

function defaultUrl() {
  const loc = globalThis.location;
  if (!loc || !loc.host) throw new TypeError('switchboard: connect() needs a URL outside a browser');
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
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
