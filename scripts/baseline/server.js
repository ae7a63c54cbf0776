#!/usr/bin/env node
'use strict';
// switchboard-baseline: the design Switchboard replaces, kept as a yardstick
// for scripts/bench.sh. A Node `cluster` primary forks N workers sharing one
// port; each worker runs `ws` and talks to Redis with `ioredis` (one
// publisher, one subscriber connection). It speaks the subset of
// docs/protocol.md that the load tester uses, routed through Redis the way
// docs/architecture.md describes Switchboard's:
//
//   <prefix>broadcast       every worker delivers to all its sockets
//   <prefix>direct:<key>    only the worker whose key starts the client id
//   <prefix>room:<room>     subscribed while the worker has a local member
//
// Every outgoing frame is serialised once, by the sender's worker, and the
// same bytes (the Buffer Redis handed us) go to every local socket.
//
// It is a comparison target, not a product: no auth, no publish API, no
// liveness registry (presence lists members of a worker that died until
// they are swept by hand), no Redis-restart gate.

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const http = require('node:http');
const os = require('node:os');
const { parseArgs } = require('node:util');
const Redis = require('ioredis');
const { WebSocketServer, WebSocket } = require('ws');

const usage = `Usage: node server.js [options]

  --port N        TCP port (env PORT; default 8080)
  --bind ADDR     address to listen on (env BIND; default 127.0.0.1)
  --workers N     worker processes (env WORKERS; default 2)
  --redis URL     redis://host:port[/db] (env REDIS_URL; default redis://127.0.0.1:6379)
  --node NAME     node name sent in welcome (default: host name)
  --prefix P      prefix of every Redis key and channel (default "bl:")
  -h, --help      print this help and exit

Serves ws://HOST:PORT/ws and GET /healthz. Logs "ready" on stderr once every
worker is subscribed and listening.
`;

// Same limits as Switchboard's defaults, so both refuse and drop alike.
const MAX_MESSAGE_BYTES = 64 * 1024; // larger: close 1009 (ws does it)
const SEND_QUEUE_BYTES = 4 * 1024 * 1024; // past it: close 1008 "slow consumer"
const MAX_ROOMS_PER_CONNECTION = 256;
const MAX_REF_BYTES = 64;
const HEARTBEAT_MS = 30_000; // Switchboard pings after half of --idle-seconds 60
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;
// No C0, DEL or C1 controls (C1 is U+0080..U+009F).
const ROOM_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      bind: { type: 'string' },
      workers: { type: 'string' },
      redis: { type: 'string' },
      node: { type: 'string' },
      prefix: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const int = (name, text, min, max) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${name}: must be an integer from ${min} to ${max}`);
    return n;
  };
  return {
    port: int('port', values.port ?? process.env.PORT ?? '8080', 1, 65535),
    bind: values.bind ?? process.env.BIND ?? '127.0.0.1',
    workers: int('workers', values.workers ?? process.env.WORKERS ?? '2', 1, 256),
    redis: values.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    node: values.node ?? os.hostname(),
    prefix: values.prefix ?? 'bl:',
  };
}

function fail(message) {
  process.stderr.write(`switchboard-baseline: ${message}\n`);
  process.exit(2);
}

function log(message) {
  const who = cluster.isPrimary ? 'primary' : `worker ${process.env.BASELINE_WORKER_INDEX}`;
  process.stderr.write(`switchboard-baseline ${who}: ${message}\n`);
}

// ---------------------------------------------------------------- primary

// Forks the workers, restarts one that dies, and stops them all on
// SIGTERM/SIGINT. Accepting is Node's default (round-robin from the primary).
function runPrimary(opts) {
  const slotOf = new Map(); // worker.id -> slot index
  const listening = new Set(); // slots that have served once
  let stopping = false;
  let announced = false;

  const fork = (slot) => {
    const worker = cluster.fork({ BASELINE_WORKER_INDEX: String(slot) });
    slotOf.set(worker.id, slot);
    worker.once('listening', () => {
      listening.add(slot);
      if (!announced && listening.size === opts.workers) {
        announced = true;
        log(`ready: ${opts.workers} workers on ${opts.bind}:${opts.port}, redis ${opts.redis}`);
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = slotOf.get(worker.id);
    slotOf.delete(worker.id);
    if (stopping) {
      if (slotOf.size === 0) process.exit(0);
      return;
    }
    log(`worker ${slot} died (${signal ?? `status ${code}`}); restarting`);
    setTimeout(() => fork(slot), 100);
  });

  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    // Workers that hang are not waited for.
    setTimeout(() => process.exit(0), 5000).unref();
    if (slotOf.size === 0) process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (let slot = 0; slot < opts.workers; ++slot) fork(slot);
}

// ----------------------------------------------------------------- worker

// One client connection: its id, rooms, and the answers it is owed in order.
class Session {
  constructor(ws, id) {
    this.ws = ws;
    this.id = id;
    this.rooms = new Set();
    // Answers still waiting on Redis, oldest first; a later answer that is
    // ready waits behind them, so answers keep the order of the requests.
    this.owed = [];
    this.alive = true;
  }
}

async function runWorker(opts) {
  const index = Number(process.env.BASELINE_WORKER_INDEX);
  // 16 hex digits, like Switchboard's worker key: a client id names its worker.
  const key = crypto.randomBytes(8).toString('hex');
  let sequence = 0;

  const broadcastChannel = `${opts.prefix}broadcast`;
  const directChannel = `${opts.prefix}direct:${key}`;
  const roomChannelPrefix = `${opts.prefix}room:`;
  const broadcastChannelBuf = Buffer.from(broadcastChannel);
  const directChannelBuf = Buffer.from(directChannel);
  const membersKey = (room) => `${opts.prefix}room-members:${room}`;

  // Auto-pipelining puts every command issued in one tick into one write.
  // No offline queue: while Redis is down a publish fails at once and the
  // client gets `unavailable` instead of a late ack.
  const pub = new Redis(opts.redis, { enableAutoPipelining: true, enableOfflineQueue: false, lazyConnect: true });
  const sub = new Redis(opts.redis, { enableOfflineQueue: false, lazyConnect: true });
  pub.on('error', (e) => log(`redis publisher: ${e.message}`));
  sub.on('error', (e) => log(`redis subscriber: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);

  const sessions = new Map(); // id -> Session: broadcast and direct targets
  const rooms = new Map(); // room -> { members: Set<Session>, subscribed: Promise }

  // The one send path: the same Buffer for every recipient, as a text frame.
  const textFrame = { binary: false };
  const deliver = (session, frame) => {
    const ws = session.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > SEND_QUEUE_BYTES) {
      ws.close(1008, 'slow consumer');
      return;
    }
    ws.send(frame, textFrame);
  };

  sub.on('messageBuffer', (channel, message) => {
    if (channel.equals(broadcastChannelBuf)) {
      for (const session of sessions.values()) deliver(session, message);
    } else if (channel.equals(directChannelBuf)) {
      // "<to>\n<frame>": the header names the one recipient.
      const nl = message.indexOf(10);
      const session = sessions.get(message.toString('latin1', 0, nl));
      if (session) deliver(session, message.subarray(nl + 1));
    } else {
      const room = rooms.get(channel.toString().slice(roomChannelPrefix.length));
      if (room) for (const session of room.members) deliver(session, message);
    }
  });
  await sub.subscribe(broadcastChannel, directChannel);

  // ---- answers

  const errorFrame = (code, message, ref) =>
    `{"type":"error","code":"${code}","message":${JSON.stringify(message)}${ref === undefined ? '' : `,"ref":${ref}`}}`;
  const ackFrame = (ref) => (ref === undefined ? null : `{"type":"ack","ref":${ref}}`);
  const unavailable = (ref) => errorFrame('unavailable', 'the broker cannot be reached right now', ref);

  const flushOwed = (session) => {
    const owed = session.owed;
    while (owed.length > 0 && owed[0].done) {
      const { frame } = owed.shift();
      if (frame !== null && session.ws.readyState === WebSocket.OPEN) session.ws.send(frame);
    }
  };

  // `answer` is a frame, null (nothing to say), or a promise of either.
  const reply = (session, answer) => {
    if (answer === null || typeof answer === 'string') {
      if (session.owed.length === 0) {
        if (answer !== null) session.ws.send(answer);
      } else {
        session.owed.push({ frame: answer, done: true });
      }
      return;
    }
    const slot = { frame: null, done: false };
    session.owed.push(slot);
    answer.then((frame) => {
      slot.frame = frame;
      slot.done = true;
      flushOwed(session);
    });
  };

  const publish = (channel, payload, ref) =>
    pub.publish(channel, payload).then(
      () => ackFrame(ref),
      () => unavailable(ref),
    );

  // ---- rooms

  const join = async (session, room, ref) => {
    if (session.rooms.has(room)) return ackFrame(ref);
    if (session.rooms.size >= MAX_ROOMS_PER_CONNECTION)
      return errorFrame('too_many_rooms', `at most ${MAX_ROOMS_PER_CONNECTION} rooms per connection`, ref);
    session.rooms.add(room);
    let local = rooms.get(room);
    if (!local) {
      // The first local member subscribes; later ones wait for the same confirmation.
      local = { members: new Set(), subscribed: sub.subscribe(roomChannelPrefix + room) };
      rooms.set(room, local);
    }
    local.members.add(session);
    try {
      await Promise.all([local.subscribed, pub.sadd(membersKey(room), session.id)]);
      return ackFrame(ref);
    } catch {
      dropMembership(session, room);
      return unavailable(ref);
    }
  };

  // Local bookkeeping only; the last local member unsubscribes.
  const dropMembership = (session, room) => {
    if (!session.rooms.delete(room)) return false;
    const local = rooms.get(room);
    if (!local) return true;
    local.members.delete(session);
    if (local.members.size === 0) {
      rooms.delete(room);
      sub.unsubscribe(roomChannelPrefix + room).catch(() => {});
    }
    return true;
  };

  const leave = async (session, room, ref) => {
    if (!dropMembership(session, room)) return ackFrame(ref);
    try {
      await pub.srem(membersKey(room), session.id);
      return ackFrame(ref);
    } catch {
      return unavailable(ref);
    }
  };

  const presence = async (room, ref) => {
    try {
      const members = await pub.smembers(membersKey(room));
      return `{"type":"presence","room":${JSON.stringify(room)},"members":${JSON.stringify(members)}${ref === undefined ? '' : `,"ref":${ref}`}}`;
    } catch {
      return unavailable(ref);
    }
  };

  // ---- requests

  const validRoom = (room) => typeof room === 'string' && room.length > 0 && Buffer.byteLength(room) <= 128 && !ROOM_CONTROL.test(room);

  // Returns the answer for reply(); never throws.
  const handle = (session, data, isBinary) => {
    if (isBinary) return errorFrame('unsupported', 'binary frames are not supported');
    let req;
    try {
      req = JSON.parse(data.toString());
    } catch {
      return errorFrame('bad_json', 'frame is not valid JSON');
    }
    if (req === null || typeof req !== 'object' || Array.isArray(req))
      return errorFrame('bad_json', 'frame is not a JSON object');

    let ref; // as it goes back on the wire, or undefined
    if (Object.hasOwn(req, 'ref')) {
      const r = req.ref;
      if (typeof r === 'string' && Buffer.byteLength(r) <= MAX_REF_BYTES) ref = JSON.stringify(r);
      else if (Number.isSafeInteger(r)) ref = String(r);
      else return errorFrame('bad_request', 'ref must be an integer or a string of at most 64 bytes');
    }
    const type = req.type;
    if (typeof type !== 'string') return errorFrame('bad_request', 'type must be a string', ref);

    const needsData = type === 'broadcast' || type === 'direct' || type === 'room';
    const needsRoom = type === 'join' || type === 'leave' || type === 'room' || type === 'presence';
    if (!needsData && !needsRoom && type !== 'ping') return errorFrame('unknown_type', `unknown type: ${type}`, ref);
    if (type === 'direct') {
      if (typeof req.to !== 'string') return errorFrame('bad_request', 'to must be a string', ref);
      if (!CLIENT_ID.test(req.to)) return errorFrame('bad_request', 'to is not a valid client id', ref);
    }
    if (needsRoom) {
      if (typeof req.room !== 'string') return errorFrame('bad_request', 'room must be a string', ref);
      if (!validRoom(req.room))
        return errorFrame('bad_request', 'room must be 1 to 128 bytes without control characters', ref);
    }
    if (needsData && !Object.hasOwn(req, 'data')) return errorFrame('bad_request', 'data is missing', ref);

    switch (type) {
      case 'ping':
        return ref === undefined ? '{"type":"pong"}' : `{"type":"pong","ref":${ref}}`;
      case 'broadcast':
        return publish(
          broadcastChannel,
          JSON.stringify({ type: 'message', scope: 'broadcast', from: session.id, data: req.data }),
          ref,
        );
      case 'room':
        return publish(
          roomChannelPrefix + req.room,
          JSON.stringify({ type: 'message', scope: 'room', room: req.room, from: session.id, data: req.data }),
          ref,
        );
      case 'direct': {
        const dot = req.to.indexOf('.');
        // An id no worker could have issued: nobody to deliver to, dropped silently.
        if (dot <= 0) return ackFrame(ref);
        const frame = JSON.stringify({ type: 'message', scope: 'direct', from: session.id, to: req.to, data: req.data });
        return publish(`${opts.prefix}direct:${req.to.slice(0, dot)}`, `${req.to}\n${frame}`, ref);
      }
      case 'join':
        return join(session, req.room, ref);
      case 'leave':
        return leave(session, req.room, ref);
      case 'presence':
        return presence(req.room, ref);
    }
    return null; // not reached
  };

  // ---- sockets

  let draining = false;
  const server = http.createServer((req, res) => {
    const path = req.url.split('?', 1)[0];
    if (path === '/healthz') {
      const ok = pub.status === 'ready' && sub.status === 'ready' && !draining;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'unavailable');
    } else if (path === '/ws') {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('upgrade required');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  const wss = new WebSocketServer({
    server,
    path: '/ws',
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false, // Switchboard does not compress either
    clientTracking: false, // `sessions` is the registry
  });

  wss.on('connection', (ws) => {
    const id = `${key}.${++sequence}`;
    const session = new Session(ws, id);
    sessions.set(id, session);
    ws.send(JSON.stringify({ type: 'welcome', id, node: opts.node, worker: index }));
    ws.on('message', (data, isBinary) => reply(session, handle(session, data, isBinary)));
    ws.on('pong', () => {
      session.alive = true;
    });
    // Protocol errors (bad UTF-8: 1007, too big: 1009) are answered by ws itself.
    ws.on('error', () => {});
    ws.on('close', () => {
      sessions.delete(id);
      for (const room of [...session.rooms]) {
        dropMembership(session, room);
        pub.srem(membersKey(room), id).catch(() => {});
      }
    });
  });

  // ws's heartbeat idiom: a peer that did not answer the last ping is dropped.
  const heartbeat = setInterval(() => {
    for (const session of sessions.values()) {
      if (!session.alive) {
        session.ws.terminate();
        continue;
      }
      session.alive = false;
      session.ws.ping();
    }
  }, HEARTBEAT_MS);

  const drain = () => {
    if (draining) return;
    draining = true;
    clearInterval(heartbeat);
    server.close();
    for (const session of sessions.values()) session.ws.close(1001, 'going away');
    const quit = () => {
      pub.disconnect();
      sub.disconnect();
      process.exit(0);
    };
    setTimeout(quit, 2000).unref();
    if (sessions.size === 0) setImmediate(quit);
  };
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);

  // Listening only now: a client that got its welcome misses no message.
  server.listen(opts.port, opts.bind);
}

// ------------------------------------------------------------------- main

const opts = parseOptions(process.argv.slice(2));
if (cluster.isPrimary) {
  runPrimary(opts);
} else {
  runWorker(opts).catch((e) => {
    log(`cannot start: ${e.message}`);
    process.exit(1);
  });
}
