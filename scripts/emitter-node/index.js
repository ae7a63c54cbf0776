// Publishes to a Switchboard cluster's clients from Node.js without a node
// in between: it PUBLISHes the bus envelopes the workers listen for
// (docs/protocol.md, "Publishing without HTTP"), as the C++ emitter
// (common/emit/) and switchboard-publish do. One Redis connection, so
// messages reach Redis, and each client, in the order they were given.
//
// What it gives up against POST /api/publish: the server's restart gate and
// its acknowledgement. A message published while a worker resubscribes after
// a Redis restart misses that worker's clients, and a resolved promise means
// only that Redis took the message.
//
//   import { createEmitter } from './scripts/emitter-node/index.js';
//   const emitter = createEmitter({ url: 'redis://10.0.0.5:6379' });
//   await emitter.toRoom('chat:lobby', { text: 'hi' });
//   await emitter.close();
import { createClient } from 'redis';

/** How deep `data` may nest: as deep as a client's data inside its request. */
export const MAX_DATA_DEPTH = 63;

/** A refused call; `code` is one of bad_request, bad_room, bad_user, bad_id, bad_json, too_deep, timeout, closed. */
export class EmitError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'EmitError';
    this.code = code;
  }
}

const encoder = new TextEncoder();

// PROTOCOL.md, "Client to server": 1 to 128 bytes of UTF-8 without C0, DEL
// or C1 controls. A lone surrogate has no UTF-8 form at all.
function isValidName(name) {
  if (typeof name !== 'string' || /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udfff]/u.test(name)) return false;
  const bytes = encoder.encode(name).length;
  return bytes >= 1 && bytes <= 128;
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;
// "<worker key>.<sequence>": the worker key names the one worker that holds it.
const WORKER_ID = /^([0-9a-f]{16})\.[0-9]+$/;

// How deep `text` (JSON) nests, counting brackets outside strings.
function depthOf(text) {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return deepest;
}

// `data` as JSON text, or an EmitError.
function serialise(data) {
  let text;
  try {
    text = JSON.stringify(data);
  } catch (err) {
    throw new EmitError('bad_json', `data cannot be written as JSON: ${err.message}`);
  }
  // undefined, a function or a symbol: JSON has no such value.
  if (text === undefined) throw new EmitError('bad_json', 'data is not a JSON value');
  if (depthOf(text) > MAX_DATA_DEPTH) throw new EmitError('too_deep', `data nests deeper than ${MAX_DATA_DEPTH} levels`);
  return text;
}

/**
 * The PUBLISH for one message, `{room|user|to|broadcast, data}`, as
 * `{channel, envelope}`; null for a connection id that no worker hands out
 * (it reaches nobody). Throws EmitError. Exported for tests and for programs
 * with a Redis client of their own.
 */
export function busMessage(prefix, message) {
  if (message === null || typeof message !== 'object') throw new EmitError('bad_request', 'a message is an object');
  const { room, user, to, broadcast, data } = message;
  const given = [room !== undefined, user !== undefined, to !== undefined, broadcast === true].filter(Boolean);
  if (given.length !== 1) throw new EmitError('bad_request', 'give exactly one of room, user, to, broadcast: true');
  if (!('data' in message)) throw new EmitError('bad_request', 'data is missing');

  let scope;
  let target = '';
  if (room !== undefined) {
    if (!isValidName(room)) throw new EmitError('bad_room', 'room must be 1 to 128 bytes of UTF-8 without control characters');
    // user:U is U's personal room: a message to user U, as from a client.
    [scope, target] = room.startsWith('user:') ? ['user', room.slice(5)] : ['room', room];
  } else if (user !== undefined) {
    [scope, target] = ['user', user];
  } else if (to !== undefined) {
    if (typeof to !== 'string' || !CLIENT_ID.test(to))
      throw new EmitError('bad_id', 'connection id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -');
    [scope, target] = ['direct', to];
  } else {
    scope = 'broadcast';
  }
  if (scope === 'user' && !isValidName(target))
    throw new EmitError('bad_user', 'user must be 1 to 128 bytes of UTF-8 without control characters');
  const json = serialise(data);

  let channel;
  if (scope === 'broadcast') channel = `${prefix}broadcast`;
  else if (scope === 'room') channel = `${prefix}room:{${target}}`;
  else if (scope === 'user') channel = `${prefix}users`;
  else {
    const worker = WORKER_ID.exec(target);
    if (!worker) return null;
    channel = `${prefix}direct:{${worker[1]}}`;
  }
  const field = { room: 'room', user: 'user', direct: 'to' }[scope];
  const frame =
    `{"type":"message","scope":"${scope}","from":"server"` +
    (field ? `,"${field}":${JSON.stringify(target)}` : '') +
    `,"data":${json}}`;
  const letter = { broadcast: 'b', room: 'r', user: 'u', direct: 'd' }[scope];
  return { channel, envelope: `1${letter}${target}\n${frame}` };
}

/**
 * An emitter for the cluster whose Redis is `url` and whose channels start
 * with `prefix` (the server's --channel-prefix). It connects on first use,
 * and again on the next call after the connection failed; a call waits at
 * most `timeoutMs` for Redis (then it rejects with `timeout`, and the
 * message may or may not have gone out). `name` is the connection's name in
 * Redis's CLIENT LIST.
 */
export function createEmitter({
  url = 'redis://127.0.0.1:6379',
  prefix = 'sb:',
  timeoutMs = 2000,
  name = 'switchboard-emitter',
} = {}) {
  let client = null;
  let connecting = null;
  let closed = false;

  // The connected client; calls made while it connects wait for the same connect.
  function connection() {
    if (closed) return Promise.reject(new EmitError('closed', 'the emitter is closed'));
    if (client?.isReady) return Promise.resolve(client);
    if (!connecting) {
      const fresh = createClient({
        url,
        name,
        // Fail, do not queue: a caller hears at once that Redis is gone.
        disableOfflineQueue: true,
        socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
      });
      // Failures reach the callers as rejections; without a listener they would crash the process.
      fresh.on('error', () => {});
      const previous = client;
      connecting = fresh
        .connect()
        .then(() => {
          if (previous?.isOpen) previous.disconnect().catch(() => {});
          client = fresh;
          return fresh;
        })
        .finally(() => {
          connecting = null;
        });
    }
    return connecting;
  }

  // `send(client)`, bounded by timeoutMs; a client that timed out is dropped.
  async function withRedis(send) {
    const redis = await connection();
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => {
        redis.disconnect().catch(() => {});
        reject(new EmitError('timeout', `redis did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([send(redis), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  const emitter = {
    /** Connects unless connected, so that an unreachable Redis shows before the first message. */
    async connect() {
      await connection();
    },
    /** Publishes `{room|user|to|broadcast: true, data}`; resolves once Redis has taken it. */
    async publish(message) {
      const bus = busMessage(prefix, message);
      if (bus) await withRedis((redis) => redis.publish(bus.channel, bus.envelope));
    },
    /**
     * Publishes every message in order in one MULTI/EXEC, or none: a refused
     * one rejects with an EmitError whose `index` is its position.
     */
    async publishAll(messages) {
      const bus = messages.map((message, index) => {
        try {
          return busMessage(prefix, message);
        } catch (err) {
          err.index = index;
          throw err;
        }
      });
      const sent = bus.filter(Boolean);
      if (sent.length === 0) return;
      await withRedis((redis) => {
        const multi = redis.multi();
        for (const { channel, envelope } of sent) multi.publish(channel, envelope);
        return multi.exec();
      });
    },
    toRoom: (room, data) => emitter.publish({ room, data }),
    toUser: (user, data) => emitter.publish({ user, data }),
    toConnection: (to, data) => emitter.publish({ to, data }),
    broadcast: (data) => emitter.publish({ broadcast: true, data }),
    /** Closes the connection; later calls reject with `closed`. */
    async close() {
      closed = true;
      const last = client ?? (await connecting?.catch(() => null));
      if (last?.isOpen) await last.quit().catch(() => {});
    },
  };
  return emitter;
}
