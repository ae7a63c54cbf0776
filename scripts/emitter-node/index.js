// Publishes to a Switchboard cluster's clients from Node.js without a node
// in between: it PUBLISHes the bus envelopes the workers listen for
// (docs/protocol.md, "Publishing without HTTP"), as the C++ emitter
// (common/emit/) and switchboard-publish do. One Redis connection, so
// messages reach Redis, and each client, in the order they were given. On a
// Redis Cluster (a cluster:// URL) every message is an SPUBLISH to the
// primary of its channel's slot, one connection per primary: messages keep
// their order per shard (and so per channel), not across shards.
//
// What it gives up against POST /api/publish: the server's restart gate and
// its acknowledgement. A message published while a worker resubscribes after
// a Redis restart misses that worker's clients, and a resolved promise means
// only that Redis took the message.
//
//   import { createEmitter } from './scripts/emitter-node/index.js';
//   const emitter = createEmitter({ url: 'redis://10.0.0.5:6379' });
//   const emitter = createEmitter({ url: 'cluster://10.0.0.5:7000,10.0.0.6:7000' });
//   await emitter.toRoom('chat:lobby', { text: 'hi' });
//   await emitter.close();
import { createClient, createCluster } from 'redis';

/** How deep `data` may nest: as deep as a client's data inside its request. */
export const MAX_DATA_DEPTH = 63;

/** A refused call; `code` is one of bad_url, bad_request, bad_room, bad_user, bad_id, bad_json, too_deep, timeout, closed. */
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
 * The nodes and credentials of `cluster://[[user]:password@]host[:port][,host[:port]...]`,
 * as the server's --redis takes it: `{rootNodes, username, password}`.
 * Throws EmitError bad_url, naming what is wrong but not the password.
 */
export function parseClusterUrl(url) {
  const bad = (why) => new EmitError('bad_url', `redis URL: ${why}`);
  if (typeof url !== 'string' || !url.startsWith('cluster://')) throw bad('a cluster URL starts with cluster://');
  let rest = url.slice('cluster://'.length);
  let username;
  let password;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    if (colon < 0) throw bad('the part before @ is [user]:password');
    username = decodeURIComponent(credentials.slice(0, colon)) || undefined;
    password = decodeURIComponent(credentials.slice(colon + 1));
  }
  if (rest.includes('/') || rest.includes('?')) throw bad('a cluster has database 0 only: no path, no query');
  const rootNodes = rest.split(',').map((node) => {
    // As the server's: the port is 6379 when none is given.
    const match = /^([^:,\s]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/.exec(node);
    const port = match ? Number(match[2] ?? 6379) : 0;
    if (!match || port < 1 || port > 65535) throw bad(`'${node}' is not host[:port] (a port from 1 to 65535)`);
    return { url: `redis://${match[1]}:${port}` };
  });
  return { rootNodes, username, password };
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
  // A cluster:// URL is checked now; a redis:// one by the first connect.
  const cluster = typeof url === 'string' && url.startsWith('cluster://') ? parseClusterUrl(url) : null;
  let client = null;
  let connecting = null;
  let closed = false;

  // Fail, do not queue: a caller hears at once that Redis is gone.
  const clientOptions = {
    name,
    disableOfflineQueue: true,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
  };
  function open() {
    if (!cluster) return createClient({ url, ...clientOptions });
    const { rootNodes, username, password } = cluster;
    return createCluster({ rootNodes, defaults: { username, password, ...clientOptions } });
  }
  // A cluster client stays open while one of its nodes' connections is lost:
  // after a failed call, the next one starts over from the slot map.
  const usable = (c) => (cluster ? c.isOpen : c.isReady);

  // The connected client; calls made while it connects wait for the same connect.
  function connection() {
    if (closed) return Promise.reject(new EmitError('closed', 'the emitter is closed'));
    if (client && usable(client)) return Promise.resolve(client);
    if (!connecting) {
      const fresh = open();
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
    } catch (err) {
      if (cluster && redis.isOpen) redis.disconnect().catch(() => {});
      throw err;
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
      if (!bus) return;
      await withRedis((redis) => (cluster ? redis.sPublish(bus.channel, bus.envelope) : redis.publish(bus.channel, bus.envelope)));
    },
    /**
     * Publishes every message in order in one MULTI/EXEC, or none: a refused
     * one rejects with an EmitError whose `index` is its position. On a
     * cluster a transaction cannot span slots: each run of consecutive
     * messages on one channel is one MULTI/EXEC, sent once the run before it
     * was taken, all or none per run; after a failed run the error's
     * `published` says how many messages the runs before it published.
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
      if (!cluster) {
        await withRedis((redis) => {
          const multi = redis.multi();
          for (const { channel, envelope } of sent) multi.publish(channel, envelope);
          return multi.exec();
        });
        return;
      }
      let published = 0;
      for (let begin = 0; begin < sent.length; ) {
        let end = begin + 1;
        while (end < sent.length && sent[end].channel === sent[begin].channel) end++;
        const run = sent.slice(begin, end);
        try {
          await withRedis((redis) => {
            const multi = redis.multi(run[0].channel);
            for (const { channel, envelope } of run) multi.sPublish(channel, envelope);
            return multi.exec();
          });
        } catch (err) {
          err.published = published;
          throw err;
        }
        published += run.length;
        begin = end;
      }
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
