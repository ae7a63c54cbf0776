// Test harness: a private redis-server (or Redis Cluster) and the real
// switchboard binary on loopback, plus the /proc look-ups that tell which worker holds which
// connection. Everything started here is killed by stop(), and by an exit
// hook if the test process dies first.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const serverBin = process.env.SWITCHBOARD_BIN || path.join(repoRoot, 'build/server/switchboard');
export const buildDir = process.env.SWITCHBOARD_BUILD_DIR || path.join(repoRoot, 'build');

// Node's own WebSocket where there is one (Node 22+, or Node 20.10+ with
// --experimental-websocket, which package.json and CMake pass when the node
// takes it); else the `ws` package, e.g. on Debian 12's Node 18.
export async function nodeWebSocket() {
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  try {
    return (await import('ws')).WebSocket;
  } catch {
    throw new Error('no WebSocket: use Node 20.10+ or run npm ci in tests/js for the ws package');
  }
}

// Children still alive when the process exits, killed in the exit hook.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A loopback port nobody listens on right now (another process may still take it). */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls `check` (sync or async) until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor(check, { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? `: ${last.message}` : ''));
    }
    await sleep(intervalMs);
  }
}

/** Resolves with the detail of the next `type` event of a Switchboard client; rejects after `timeoutMs`. */
export function nextEvent(client, type, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no '${type}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(type, (detail) => {
      clearTimeout(timer);
      off();
      resolve(detail);
    });
  });
}

/** Collects a client's deliveries; `waitFor(pred)` resolves with the first one matching. */
export function inbox(client) {
  const messages = [];
  client.on('message', (m) => messages.push(m));
  return {
    messages,
    waitFor: (pred, what = 'a message', timeoutMs = 5000) =>
      waitFor(() => messages.find(pred), { timeoutMs, what }),
  };
}

function spawnLogged(cmd, args, logFile) {
  const log = fs.openSync(logFile, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  live.add(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(() => live.delete(child));
  child.once('error', () => {}); // a spawn error also ends in 'exit' or shows in the waits
  return child;
}

async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer;
  const timedOut = await Promise.race([
    child.exited.then(() => false),
    new Promise((resolve) => (timer = setTimeout(resolve, graceMs, true))),
  ]);
  clearTimeout(timer); // a pending timer would keep the test process alive
  if (timedOut) {
    child.kill('SIGKILL');
    await child.exited;
  }
}

function tail(file, bytes = 3000) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

async function redisPing(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  try {
    await once(socket, 'connect');
    socket.write('PING\r\n');
    const [reply] = await once(socket, 'data');
    return reply.startsWith('+PONG');
  } finally {
    socket.destroy();
  }
}

// node:http without an agent: one connection per request, closed after it.
// (fetch would pool it, and Node's WebSocket then reuses the pooled
// connection for its upgrade, which hides the new connection from
// workerOfNewConnection.)
function httpGet(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer within 2 s`)));
    req.on('error', reject);
  });
}

// Runs redis-cli with `args`; its output, or throws with it.
function redisCli(args) {
  return execFileSync('redis-cli', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
}

/**
 * A Redis Cluster on loopback: six nodes on free ports, made three primaries
 * each with one replica by `redis-cli --cluster create`; resolves once every
 * node says cluster_state:ok and every replica is linked. `url` is the
 * cluster:// URL of the first three nodes, `ports` all six; stop() ends them.
 */
export async function startRedisCluster({ name }) {
  const dir = path.join(buildDir, 'js-tests', `${name}-redis-cluster`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const nodes = [];
  const ports = [];
  const taken = new Set();
  // Nothing listens on a port until its node starts: the same one may come twice.
  const unusedPort = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) return taken.add(port) && port;
    }
  };
  const stop = () => Promise.all(nodes.map((node) => stopChild(node, 3000)));
  try {
    for (let i = 0; i < 6; i++) {
      const port = await unusedPort();
      // The bus port is named: the default, port + 10000, may be past 65535.
      const busPort = await unusedPort();
      ports.push(port);
      nodes.push(spawnLogged('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-node-timeout', '1000',
        '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir,
      ], path.join(dir, `redis-${port}.log`)));
    }
    for (const port of ports) await waitFor(() => redisPing(port), { timeoutMs: 5000, what: `redis-server on ${port}` });
    redisCli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    const settled = (port) => {
      const info = redisCli(['-p', String(port), 'INFO', 'replication']);
      const ok = redisCli(['-p', String(port), 'CLUSTER', 'INFO']).includes('cluster_state:ok');
      return ok && (info.includes('role:master') || info.includes('master_link_status:up'));
    };
    for (const port of ports) await waitFor(() => settled(port), { timeoutMs: 30000, what: `cluster node ${port}` });
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, url: `cluster://${ports.slice(0, 3).map((p) => `127.0.0.1:${p}`).join(',')}`, stop };
}

/**
 * Starts redis-server and a switchboard node with `workers` workers on free
 * loopback ports; resolves once /healthz answers 200 and /metrics shows every
 * worker healthy. `name` labels the logs, kept in <build>/js-tests/. With
 * `redisUrl` the node uses that Redis (a cluster:// one, say) and no
 * redis-server is started.
 */
export async function startCluster({ name, workers = 2, args = [], redisUrl = null }) {
  if (!fs.existsSync(serverBin)) throw new Error(`no server binary at ${serverBin} (set SWITCHBOARD_BIN)`);
  const logDir = path.join(buildDir, 'js-tests');
  fs.mkdirSync(logDir, { recursive: true });
  const cluster = {
    name,
    workers,
    redis: null,
    master: null,
    port: 0,
    redisPort: 0,
    redisLog: path.join(logDir, `${name}-redis.log`),
    serverLog: path.join(logDir, `${name}-server.log`),
    get httpUrl() {
      return `http://127.0.0.1:${this.port}`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${this.port}/ws`;
    },
    get(urlPath) {
      return httpGet(this.port, urlPath);
    },
    /** The master's live children (zombies excluded), i.e. the workers. */
    workerPids() {
      return childPids(this.master.pid);
    },
    async stop() {
      const workerPids = this.master ? safe(() => this.workerPids(), []) : [];
      await stopChild(this.master, 8000);
      // A master killed outright leaves its workers to their parent-death signal.
      for (const pid of workerPids) safe(() => process.kill(pid, 'SIGKILL'));
      await stopChild(this.redis, 3000);
    },
    logTail() {
      return `---- ${this.serverLog} ----\n${tail(this.serverLog)}`;
    },
  };

  try {
    // Ports can be taken between freePort() and bind: try a few times.
    for (let attempt = 1; !redisUrl; attempt++) {
      cluster.redisPort = await freePort();
      cluster.redis = spawnLogged('redis-server',
        ['--port', String(cluster.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        cluster.redisLog);
      try {
        await waitFor(() => redisPing(cluster.redisPort), { timeoutMs: 5000, what: 'redis-server' });
        break;
      } catch (err) {
        await stopChild(cluster.redis, 1000);
        if (attempt === 3) throw new Error(`${err.message}\n${tail(cluster.redisLog)}`);
      }
    }
    for (let attempt = 1; ; attempt++) {
      cluster.port = await freePort();
      cluster.master = spawnLogged(serverBin, [
        '--bind', '127.0.0.1', '--port', String(cluster.port), '--workers', String(workers),
        '--redis', redisUrl ?? `redis://127.0.0.1:${cluster.redisPort}`, '--node', name,
        '--liveness-seconds', '1', '--drain-seconds', '2', ...args,
      ], cluster.serverLog);
      try {
        await waitUntilHealthy(cluster);
        return cluster;
      } catch (err) {
        await stopChild(cluster.master, 3000);
        const portTaken = tail(cluster.serverLog).includes('in use');
        if (!portTaken || attempt === 3) throw new Error(`${err.message}\n${cluster.logTail()}`);
      }
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Waits until every worker of the node reports healthy in /metrics. */
export async function waitUntilHealthy(cluster, timeoutMs = 10000) {
  await waitFor(async () => {
    if (cluster.master.exitCode !== null || cluster.master.signalCode !== null) {
      throw new Error('switchboard exited during start-up');
    }
    const health = await cluster.get('/healthz');
    if (health.status !== 200) return false;
    const metrics = await cluster.get('/metrics');
    const healthy = metrics.body.split('\n').filter((l) => l.startsWith('switchboard_healthy{') && l.endsWith(' 1'));
    return healthy.length === cluster.workers;
  }, { timeoutMs, what: `${cluster.workers} healthy workers` });
}

function safe(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

// ---- which process holds which connection, from /proc ----

/** Live (not zombie) children of `pid`. */
export function childPids(pid) {
  const pids = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = safe(() => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8'), '');
    for (const child of text.trim().split(/\s+/).filter(Boolean)) {
      const stat = safe(() => fs.readFileSync(`/proc/${child}/stat`, 'utf8'), '');
      // The state follows the command name, which may itself hold ')'.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (stat && state !== 'Z') pids.push(Number(child));
    }
  }
  return pids.sort((a, b) => a - b);
}

// Established TCP sockets whose local port is `port` (the server's side of
// each connection), as inode -> remote port. /proc/net/tcp lines read
// "sl local rem st ... inode" with addresses as hex IP:PORT; 01 = ESTABLISHED.
function serverSideSockets(port) {
  const sockets = new Map();
  const lines = fs.readFileSync('/proc/net/tcp', 'utf8').trim().split('\n').slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    const localPort = parseInt(f[1].split(':')[1], 16);
    if (localPort !== port || f[3] !== '01' || f[9] === '0') continue;
    sockets.set(f[9], parseInt(f[2].split(':')[1], 16));
  }
  return sockets;
}

function socketInodes(pid) {
  const inodes = new Set();
  for (const fd of safe(() => fs.readdirSync(`/proc/${pid}/fd`), [])) {
    const target = safe(() => fs.readlinkSync(`/proc/${pid}/fd/${fd}`), '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]);
  }
  return inodes;
}

/**
 * Runs `open` (which must open exactly one new connection to the node and
 * resolve once it is established) and returns the pid of the worker that
 * holds it, found as the owner of the new server-side socket. A socket of an
 * earlier test that is opened or closed meanwhile (a client's last retry)
 * may show up beside it for a moment, so the answer waits until every new
 * socket a worker holds is held by one worker.
 */
export async function workerOfNewConnection(cluster, open) {
  const before = serverSideSockets(cluster.port);
  const result = await open();
  let seen = 'nothing yet';
  const pid = await waitFor(() => {
    const fresh = [...serverSideSockets(cluster.port).keys()].filter((inode) => !before.has(inode));
    const workers = cluster.workerPids().map((w) => ({ pid: w, inodes: socketInodes(w) }));
    const owners = new Set(fresh.flatMap((inode) => workers.filter((w) => w.inodes.has(inode)).map((w) => w.pid)));
    seen = `${fresh.length} new sockets held by workers [${[...owners].join(', ')}]`;
    return owners.size === 1 ? [...owners][0] : null;
  }, { timeoutMs: 5000, what: 'the worker holding the new connection' }).catch((e) => {
    throw new Error(`${e.message} (last seen: ${seen})`);
  });
  return { pid, result };
}

/** Whether the server binary serves the demo page's files (the --www-dir flag). */
export function hasStaticHandler() {
  const help = safe(() => execFileSync(serverBin, ['--help'], { encoding: 'utf8' }), '');
  return help.includes('--www-dir');
}

let minted = 0;

/**
 * An HS256 token signed with `secret` for `sub`, living `ttl` seconds, with
 * more claims; each one differs (jti).
 */
export function mintToken(secret, sub, ttl, claims = {}) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const payload = { sub, exp: Math.floor(Date.now() / 1000) + ttl, jti: String(++minted), ...claims };
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
