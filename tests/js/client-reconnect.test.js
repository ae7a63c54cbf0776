// The client library across lost connections, against a real node: a worker
// SIGKILLed under its clients (the master restarts it), a rolling restart
// (close code 1001), rooms rejoined, requests queued and bounded, close().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect } from '../../server/www/switchboard.js';
import {
  inbox, nextEvent, nodeWebSocket, startCluster, waitFor, waitUntilHealthy, workerOfNewConnection,
} from './harness.js';

const WebSocket = await nodeWebSocket();
// Short delays keep the suite fast; the bounds are still checked.
const backoff = { initialMs: 50, maxMs: 400 };

describe('reconnection', { timeout: 45000 }, () => {
  let cluster;
  const clients = [];

  function client(options = {}) {
    const c = connect(cluster.wsUrl, { WebSocket, backoff, ...options });
    clients.push(c);
    return c;
  }

  // A ready client and the pid of the worker that holds its connection.
  async function tracked(options = {}) {
    const c = client(options);
    const { pid } = await workerOfNewConnection(cluster, () => nextEvent(c, 'ready'));
    return { c, pid };
  }

  // A ready client on a worker other than `worker`, so killing that worker
  // leaves it connected.
  async function elsewhere(worker) {
    for (let i = 0; i < 20; i++) {
      const c = client();
      await nextEvent(c, 'ready');
      if (c.worker !== worker) return c;
      await c.close();
    }
    throw new Error(`no connection landed off worker ${worker} in 20 tries`);
  }

  before(async () => {
    cluster = await startCluster({ name: 'reconnect' });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  test('a killed worker: in-flight requests fail, the client reconnects and rejoins its rooms', async () => {
    const { c: a, pid } = await tracked();
    const b = await elsewhere(a.worker);
    const oldId = a.id;
    await a.join('k1');
    await a.join('k2');
    await a.leave('k2'); // left rooms are not rejoined
    const events = [];
    for (const type of ['close', 'reconnecting', 'open', 'welcome']) a.on(type, (d) => events.push(type));
    const closed = nextEvent(a, 'close');
    const reconnecting = nextEvent(a, 'reconnecting');
    const readyAgain = nextEvent(a, 'ready', 10000);

    // Stop the worker first so the ping is surely in flight, unanswered,
    // when the connection dies.
    process.kill(pid, 'SIGSTOP');
    const ping = a.ping();
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, 'SIGKILL');

    assert.equal((await ping.catch((e) => e)).code, 'disconnected');
    const close = await closed;
    assert.equal(close.code, 1006); // no close frame from a killed process
    assert.equal(close.willReconnect, true);
    const { attempt, delay } = await reconnecting;
    assert.equal(attempt, 1);
    assert.ok(delay >= 0 && delay <= backoff.initialMs, `first delay ${delay}`);

    const ready = await readyAgain;
    assert.notEqual(ready.id, oldId); // a new connection gets a new id
    assert.deepEqual(ready.rejoined, ['k1']);
    assert.deepEqual(ready.failed, []);
    assert.deepEqual(events.slice(0, 2), ['close', 'reconnecting']);
    assert.ok(events.includes('welcome'));

    // The rejoin holds cluster-wide: a room message from the other worker arrives.
    const box = inbox(a);
    await b.room('k1', 'after the crash');
    const m = await box.waitFor((m) => m.scope === 'room' && m.data === 'after the crash');
    assert.equal(m.from, b.id);
    assert.ok((await b.presence('k1')).includes(a.id));
    assert.ok(!(await b.presence('k2')).includes(a.id));
    // The master has replaced the worker.
    await waitUntilHealthy(cluster);
  });

  test('requests made while disconnected are sent after reconnect, in order, past maxQueued rejected', async () => {
    const { c: a, pid } = await tracked({ maxQueued: 3 });
    const b = await elsewhere(a.worker);
    await b.join('q');
    const boxB = inbox(b);
    const queued = [];
    let full;
    const closed = nextEvent(a, 'close');
    const off = a.on('close', () => {
      off();
      // Here the client is disconnected: these wait for the next connection.
      assert.equal(a.state, 'waiting');
      queued.push(a.room('q', 'queued 1'), a.room('q', 'queued 2'), a.direct(b.id, 'queued 3'));
      full = a.room('q', 'one too many');
    });
    process.kill(pid, 'SIGKILL');
    await closed;
    assert.equal((await full.catch((e) => e)).code, 'queue_full');
    await Promise.all(queued);
    const ids = new Set();
    await boxB.waitFor((m) => m.data === 'queued 3', 'queued 3');
    const got = boxB.messages.filter((m) => String(m.data).startsWith('queued')).map((m) => (ids.add(m.from), m.data));
    assert.deepEqual(got, ['queued 1', 'queued 2', 'queued 3']);
    assert.deepEqual([...ids], [a.id]); // sent from the new connection
    assert.ok(!boxB.messages.some((m) => m.data === 'one too many'));
    await waitUntilHealthy(cluster);
  });

  test('backoff delays grow within their bounds while the node is unreachable, and close() stops it', async () => {
    const { c: a, pid } = await tracked();
    const delays = [];
    a.on('reconnecting', ({ attempt, delay }) => delays.push({ attempt, delay }));
    // Keep it from coming back: its next attempts go to a port nobody
    // listens on, and each is refused at once.
    a.url = 'ws://127.0.0.1:1/ws';
    process.kill(pid, 'SIGKILL');
    await waitFor(() => delays.length >= 5, { timeoutMs: 5000, what: '5 reconnect attempts' });
    for (const { attempt, delay } of delays) {
      const bound = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
      assert.ok(delay >= 0 && delay <= bound, `attempt ${attempt}: delay ${delay} > ${bound}`);
    }
    assert.deepEqual(delays.map((d) => d.attempt), delays.map((_, i) => i + 1));

    const pending = a.ping(); // queued
    await a.close();
    assert.equal((await pending.catch((e) => e)).code, 'closed');
    const count = delays.length;
    let opened = false;
    a.on('open', () => (opened = true));
    await new Promise((r) => setTimeout(r, backoff.maxMs + 200));
    assert.equal(delays.length, count, 'no attempt after close()');
    assert.equal(opened, false);
    assert.equal(a.state, 'closed');
    await waitUntilHealthy(cluster);
  });

  test('close() while waiting to reconnect stops for good', async () => {
    const { c: a, pid } = await tracked({ backoff: { initialMs: 300, maxMs: 300 } });
    const reconnecting = nextEvent(a, 'reconnecting');
    process.kill(pid, 'SIGKILL');
    await reconnecting;
    const closed = nextEvent(a, 'close');
    await a.close();
    assert.equal((await closed).willReconnect, false);
    let opened = false;
    a.on('open', () => (opened = true));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(opened, false);
    assert.equal(a.state, 'closed');
    await waitUntilHealthy(cluster);
  });

  test('a rolling restart (1001) reconnects at once', async () => {
    const a = client();
    await nextEvent(a, 'ready');
    await a.join('roll');
    const oldWorkers = cluster.workerPids();
    const closed = nextEvent(a, 'close', 15000);
    const reconnecting = nextEvent(a, 'reconnecting', 15000);
    process.kill(cluster.master.pid, 'SIGHUP');
    const close = await closed;
    assert.equal(close.code, 1001);
    const { delay } = await reconnecting;
    assert.equal(delay, 0);
    const ready = await nextEvent(a, 'ready', 5000);
    assert.deepEqual(ready.rejoined, ['roll']);
    // Let the restart finish (the client may be moved once more if it
    // landed on a worker still waiting to be retired), then check it serves.
    await waitFor(() => {
      const now = cluster.workerPids();
      return now.length === 2 && now.every((pid) => !oldWorkers.includes(pid));
    }, { timeoutMs: 15000, what: 'the rolling restart to finish' });
    await waitFor(() => a.state === 'ready' && a.ping().then(() => true),
      { timeoutMs: 5000, what: 'a ping after the restart' });
    assert.deepEqual(a.rooms, ['roll']);
  });
});
