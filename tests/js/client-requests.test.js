// The client library's requests against a real node: acks, answers, the
// server's errors as rejections, local checks, and the request timeout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect } from '../../server/www/switchboard.js';
import { inbox, nextEvent, nodeWebSocket, startCluster, waitFor, workerOfNewConnection } from './harness.js';

const WebSocket = await nodeWebSocket();

describe('requests', { timeout: 30000 }, () => {
  let cluster;
  const clients = [];

  // A client whose first 'ready' has come; closed in after().
  async function ready(options = {}) {
    const client = connect(cluster.wsUrl, { WebSocket, ...options });
    clients.push(client);
    await nextEvent(client, 'ready');
    return client;
  }

  before(async () => {
    cluster = await startCluster({ name: 'requests', args: ['--max-rooms-per-connection', '3'] });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  test('welcome gives id, node and worker', async () => {
    const client = connect(cluster.wsUrl, { WebSocket });
    clients.push(client);
    const welcome = await nextEvent(client, 'welcome');
    assert.match(welcome.id, /^[A-Za-z0-9._:-]{1,64}$/);
    assert.equal(welcome.node, 'requests');
    assert.ok(welcome.worker === 0 || welcome.worker === 1, `worker ${welcome.worker}`);
    assert.equal(client.id, welcome.id);
  });

  test('requests made before the welcome are queued and answered', async () => {
    const client = connect(cluster.wsUrl, { WebSocket });
    clients.push(client);
    assert.equal(client.state, 'connecting');
    const rtt = await client.ping();
    assert.equal(typeof rtt, 'number');
    assert.equal(client.state, 'ready');
  });

  test('broadcast is acked and reaches the sender too', async () => {
    const a = await ready();
    const box = inbox(a);
    assert.equal(await a.broadcast({ text: 'hello all', n: 1 }), undefined);
    const m = await box.waitFor((m) => m.scope === 'broadcast' && m.from === a.id);
    assert.deepEqual(m.data, { text: 'hello all', n: 1 });
  });

  test('direct is acked and delivered across workers', async () => {
    const a = await ready();
    // Find a partner on the other worker, so the message crosses Redis.
    let b;
    for (let i = 0; i < 20 && !b; i++) {
      const c = await ready();
      if (c.worker !== a.worker) b = c;
    }
    assert.ok(b, 'no client landed on the other worker in 20 tries');
    const box = inbox(b);
    await a.direct(b.id, 'psst');
    const m = await box.waitFor((m) => m.scope === 'direct');
    assert.equal(m.from, a.id);
    assert.equal(m.to, b.id);
    assert.equal(m.data, 'psst');
  });

  test('direct to a well-formed id nobody holds is acked and dropped', async () => {
    const a = await ready();
    await a.direct('0000000000000000.999999', 'nobody home');
  });

  test('join, room, presence and leave', async () => {
    const a = await ready();
    const b = await ready();
    const boxB = inbox(b);
    await a.join('lobby');
    await b.join('lobby');
    await a.join('lobby'); // joining twice is acked and changes nothing
    assert.deepEqual(a.rooms, ['lobby']);

    const members = await a.presence('lobby');
    assert.deepEqual([...members].sort(), [a.id, b.id].sort());

    await a.room('lobby', { text: 'hi room' });
    const m = await boxB.waitFor((m) => m.scope === 'room');
    assert.equal(m.room, 'lobby');
    assert.equal(m.from, a.id);
    assert.deepEqual(m.data, { text: 'hi room' });

    await b.leave('lobby');
    assert.deepEqual(b.rooms, []);
    assert.deepEqual(await a.presence('lobby'), [a.id]);
    await b.leave('never-joined'); // not an error
  });

  test('the server rejects bad requests with its error code', async () => {
    const a = await ready();
    const reject = async (promise, code) => {
      const err = await promise.then(() => assert.fail(`resolved, expected ${code}`), (e) => e);
      assert.equal(err.code, code);
      assert.equal(err.name, 'SwitchboardError');
      assert.ok(err.message.length > 0);
    };
    await reject(a.join(''), 'bad_request'); // empty room name
    await reject(a.join('x'.repeat(129)), 'bad_request'); // longer than 128 bytes
    await reject(a.join('bell\u0007'), 'bad_request'); // control character
    await reject(a.room('tab\there', 'x'), 'bad_request');
    await reject(a.direct('not a valid id!', 'x'), 'bad_request'); // malformed target id
    await reject(a.presence(''), 'bad_request');
    assert.deepEqual(a.rooms, []); // a refused join is not rejoined later

    // --max-rooms-per-connection 3
    await a.join('r1');
    await a.join('r2');
    await a.join('r3');
    await reject(a.join('r4'), 'too_many_rooms');
    assert.deepEqual(a.rooms.sort(), ['r1', 'r2', 'r3']);
    // The connection is still usable after errors.
    await a.ping();
  });

  test('a request larger than maxMessageBytes is refused locally', async () => {
    const a = await ready({ maxMessageBytes: 1000 });
    const err = await a.broadcast('x'.repeat(2000)).catch((e) => e);
    assert.equal(err.code, 'too_large');
    await a.broadcast('small'); // and the connection is unharmed
  });

  test('a request without an answer rejects with timeout', async () => {
    const a = connect(cluster.wsUrl, { WebSocket, requestTimeoutMs: 300 });
    clients.push(a);
    const { pid } = await workerOfNewConnection(cluster, () => nextEvent(a, 'ready'));
    // A stopped worker reads nothing: the ping stays unanswered.
    process.kill(pid, 'SIGSTOP');
    let err;
    try {
      const started = Date.now();
      err = await a.ping().catch((e) => e);
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 2000, `timed out after ${took} ms`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(err.code, 'timeout');
    // The late pong is ignored and the connection goes on.
    await waitFor(() => a.ping().then(() => true), { timeoutMs: 3000, what: 'a ping after SIGCONT' });
    assert.equal(a.state, 'ready');
  });

  test('calls after close() reject with closed', async () => {
    const a = await ready();
    const closed = nextEvent(a, 'close');
    await a.close();
    const { code, willReconnect } = await closed;
    assert.equal(code, 1000);
    assert.equal(willReconnect, false);
    assert.equal((await a.ping().catch((e) => e)).code, 'closed');
  });
});
