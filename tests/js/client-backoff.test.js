// Unit tests of the reconnect policy, no server: the backoff delay function,
// and which delay each close code leads to, with a scripted WebSocket.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { backoffDelay, connect, DEFAULTS } from '../../server/www/switchboard.js';
import { FakeSocket } from './fake-socket.js';

describe('backoffDelay', () => {
  test('is uniform in [0, min(maxMs, initialMs * 2^n)]', () => {
    const backoff = { initialMs: 100, maxMs: 5000 };
    for (let n = 0; n < 40; n++) {
      const bound = Math.min(backoff.maxMs, backoff.initialMs * 2 ** n);
      assert.equal(backoffDelay(n, backoff, () => 0), 0);
      // random() < 1, so the bound itself is never reached.
      assert.equal(backoffDelay(n, backoff, () => 0.999999), Math.floor(0.999999 * bound));
      for (let i = 0; i < 100; i++) {
        const d = backoffDelay(n, backoff);
        assert.ok(Number.isInteger(d) && d >= 0 && d <= bound, `attempt ${n}: ${d} not in [0, ${bound}]`);
      }
    }
  });

  test('grows by doubling until maxMs', () => {
    const backoff = { initialMs: 250, maxMs: 10000 };
    const half = (n) => backoffDelay(n, backoff, () => 0.5);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(half), [125, 250, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  test('stays finite for huge attempt counts', () => {
    assert.equal(backoffDelay(10000, { initialMs: 250, maxMs: 10000 }, () => 0.5), 5000);
    assert.equal(backoffDelay(10000, { initialMs: 0, maxMs: 10000 }, () => 0.5), 0);
  });

  test('defaults', () => {
    assert.deepEqual({ ...DEFAULTS.backoff }, { initialMs: 250, maxMs: 10000 });
  });
});

function fakeClient(options = {}) {
  const backoff = { initialMs: 1000, maxMs: 60000 };
  return connect('ws://fake.invalid/ws', { WebSocket: FakeSocket, backoff, ...options });
}

const tick = () => new Promise((r) => setImmediate(r));

describe('close codes', () => {
  test('1001 going away: the first retry is immediate', async () => {
    const c = fakeClient();
    FakeSocket.last.welcome();
    const delays = [];
    c.on('reconnecting', ({ delay, code }) => delays.push([code, delay]));
    FakeSocket.last.serverClose(1001, 'going away');
    assert.deepEqual(delays, [[1001, 0]]);
    await c.close();
  });

  test('1008 slow consumer: the backoff starts three doublings in', async () => {
    const c = fakeClient();
    FakeSocket.last.welcome();
    let delay;
    c.on('reconnecting', (d) => (delay = d));
    FakeSocket.last.serverClose(1008, 'slow consumer');
    assert.equal(delay.attempt, 4);
    assert.ok(delay.delay <= 8000, `delay ${delay.delay}`);
    await c.close();
  });

  test('1006, 1007, 1009, 1011 are retried with backoff', async () => {
    for (const code of [1006, 1007, 1009, 1011]) {
      const c = fakeClient();
      FakeSocket.last.welcome();
      let detail;
      c.on('reconnecting', (d) => (detail = d));
      FakeSocket.last.serverClose(code);
      assert.equal(detail.code, code);
      assert.ok(detail.delay <= 1000, `${code}: delay ${detail.delay}`);
      await c.close();
    }
  });

  test('an error without a close event (Node 20 on a refused connect) still reconnects', async () => {
    const c = fakeClient();
    let detail;
    c.on('reconnecting', (d) => (detail = d));
    FakeSocket.last.onerror({});
    assert.equal(detail.code, 1006);
    await c.close();
  });

  test('no welcome within connectTimeoutMs: the attempt is abandoned', async () => {
    const c = fakeClient({ connectTimeoutMs: 20 });
    const reconnecting = new Promise((r) => c.on('reconnecting', r));
    const { attempt } = await reconnecting;
    assert.equal(attempt, 1);
    await c.close();
  });

  test('the backoff resets only after a connection became ready', async () => {
    const c = fakeClient({ backoff: { initialMs: 1, maxMs: 1 } });
    const attempts = [];
    c.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    FakeSocket.last.serverClose(1006);
    await new Promise((r) => setTimeout(r, 10));
    FakeSocket.last.serverClose(1006);
    await new Promise((r) => setTimeout(r, 10));
    FakeSocket.last.welcome();
    await tick();
    assert.equal(c.state, 'ready');
    FakeSocket.last.serverClose(1006);
    assert.deepEqual(attempts, [1, 2, 1]);
    await c.close();
  });

  test('rooms are rejoined before queued requests are sent', async () => {
    const c = fakeClient({ backoff: { initialMs: 1, maxMs: 1 } });
    FakeSocket.last.welcome();
    const joined = c.join('a');
    FakeSocket.last.answer({ type: 'ack', ref: FakeSocket.last.sent[0].ref });
    await joined;
    FakeSocket.last.serverClose(1006);
    const queued = c.room('a', 'hello');
    await new Promise((r) => setTimeout(r, 10));
    const ws = FakeSocket.last;
    ws.welcome('w.2');
    assert.deepEqual(ws.sent.map((f) => f.type), ['join']); // the room message waits for the ack
    ws.answer({ type: 'ack', ref: ws.sent[0].ref });
    await tick();
    assert.deepEqual(ws.sent.map((f) => f.type), ['join', 'room']);
    ws.answer({ type: 'ack', ref: ws.sent[1].ref });
    await queued;
    await c.close();
  });

  test('a room left while its join was in flight is not rejoined', async () => {
    const c = fakeClient();
    const ws = FakeSocket.last;
    ws.welcome();
    const joined = c.join('x');
    const left = c.leave('x');
    ws.answer({ type: 'ack', ref: ws.sent[0].ref });
    ws.answer({ type: 'ack', ref: ws.sent[1].ref });
    await Promise.all([joined, left]);
    assert.deepEqual(c.rooms, []);
    await c.close();
  });

  test('a bad URL throws at once', () => {
    assert.throws(() => connect('http://example.invalid/ws', { WebSocket: FakeSocket }), TypeError);
  });
});
