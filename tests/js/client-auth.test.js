// The client library with auth on, against a real node started with
// --auth-secret and no leeway: the token on the URL, getToken before every
// attempt, refresh before exp, 4001 when a token runs out, forbidden and
// rate_limited as rejections, and `left` when a refreshed token narrows
// the rooms.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect } from '../../server/www/switchboard.js';
import { mintToken, nextEvent, nodeWebSocket, startCluster, waitFor, workerOfNewConnection } from './harness.js';

const WebSocket = await nodeWebSocket();
const SECRET = 'client-auth-test-secret-of-32-bytes-or-more';
const backoff = { initialMs: 50, maxMs: 400 };
// With a burst of 40 no test but the rate-limit one comes near the budget.
const BURST = 40;

/** An HS256 token for `sub` that lives `ttl` seconds, with more claims. */
const mint = (sub, ttl, claims = {}) => mintToken(SECRET, sub, ttl, claims);

const everything = { rooms: ['*'], publish: ['*'], broadcast: true };

// A WebSocket class that remembers every socket's URL and the frames sent on it.
function recording() {
  const sockets = [];
  class Recording extends WebSocket {
    constructor(url, ...rest) {
      super(url, ...rest);
      this.frames = [];
      sockets.push({ url, frames: this.frames });
    }
    send(text) {
      this.frames.push(JSON.parse(text));
      super.send(text);
    }
  }
  return { sockets, WebSocket: Recording, tokenOf: (i) => new URL(sockets[i].url).searchParams.get('token') };
}

describe('auth', { timeout: 90000 }, () => {
  let cluster;
  const clients = [];

  function client(options = {}, url = cluster.wsUrl) {
    const c = connect(url, { WebSocket, backoff, ...options });
    clients.push(c);
    return c;
  }

  before(async () => {
    cluster = await startCluster({
      name: 'auth',
      args: ['--auth-secret', SECRET, '--auth-leeway-seconds', '0', '--client-rate', '1', '--client-burst', String(BURST)],
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  test('a token on the URL is accepted, beside a query of the page\'s own', async () => {
    const rec = recording();
    const c = client({ token: mint('alice', 600, everything), WebSocket: rec.WebSocket }, `${cluster.wsUrl}?app=demo`);
    const ready = await nextEvent(c, 'ready');
    assert.equal(ready.user, 'alice');
    assert.equal(c.user, 'alice');
    assert.match(rec.sockets[0].url, /\?app=demo&token=/);
    await c.ping();
  });

  test('without a token, or with a bad one, there is no welcome, only retries', async () => {
    for (const token of [undefined, mint('alice', 600).slice(0, -2) + 'xx']) {
      const c = client({ token });
      let welcomed = false;
      c.on('welcome', () => (welcomed = true));
      const retries = [];
      c.on('reconnecting', (d) => retries.push(d));
      await waitFor(() => retries.length >= 2, { timeoutMs: 5000, what: 'two retries' });
      assert.equal(welcomed, false);
      assert.equal(retries[0].code, 1006); // a 401 looks like this to a WebSocket client
      await c.close();
    }
  });

  test('getToken is called on connect and again on reconnect', async () => {
    const rec = recording();
    let calls = 0;
    const c = client({ WebSocket: rec.WebSocket, getToken: async () => (++calls, mint('bob', 600, everything)) });
    const { pid } = await workerOfNewConnection(cluster, () => nextEvent(c, 'ready'));
    assert.equal(calls, 1);
    const firstId = c.id;
    const readyAgain = nextEvent(c, 'ready', 10000);
    process.kill(pid, 'SIGKILL');
    const ready = await readyAgain;
    assert.notEqual(ready.id, firstId);
    assert.equal(ready.user, 'bob');
    assert.ok(calls >= 2, `getToken called ${calls} times`);
    const last = rec.sockets.length - 1;
    assert.ok(last >= 1);
    assert.notEqual(rec.tokenOf(last), rec.tokenOf(0));
  });

  test('refresh is sent before exp with a new token, and keeps the connection past the first exp', async () => {
    const rec = recording();
    const tokens = [];
    const c = client({
      WebSocket: rec.WebSocket,
      getToken: async () => {
        tokens.push(mint('carol', 4, everything));
        return tokens.at(-1);
      },
    });
    await nextEvent(c, 'ready');
    const id = c.id;
    const firstExp = JSON.parse(Buffer.from(tokens[0].split('.')[1], 'base64url')).exp;
    const closes = [];
    c.on('close', (d) => closes.push(d));
    const refreshed = await nextEvent(c, 'refresh', 6000);
    const frame = rec.sockets[0].frames.find((f) => f.type === 'refresh');
    assert.equal(frame.token, tokens[1]);
    assert.ok(refreshed.exp >= firstExp);
    // Past the first token's exp, and past a few more, on the same connection.
    await waitFor(() => Date.now() / 1000 > firstExp + 5, { timeoutMs: 12000, what: 'the first exp to pass' });
    assert.deepEqual(closes, []);
    assert.equal(c.id, id);
    assert.ok(rec.sockets[0].frames.filter((f) => f.type === 'refresh').length >= 2);
    await c.ping();
  });

  test('a refresh with another user\'s token is refused with forbidden, and surfaced', async () => {
    let calls = 0;
    const c = client({ getToken: async () => mint(++calls === 1 ? 'dave' : 'mallory', 4, everything) });
    await nextEvent(c, 'ready');
    const { error, refresh } = await nextEvent(c, 'error', 6000);
    assert.equal(refresh, true);
    assert.equal(error.code, 'forbidden');
    assert.equal(c.user, 'dave');
    await c.ping(); // the connection goes on with its old token
  });

  test('a token that runs out closes with 4001, and getToken brings a reconnect with a new one', async () => {
    const rec = recording();
    let failing = true;
    let calls = 0;
    const c = client({
      WebSocket: rec.WebSocket,
      getToken: async () => {
        calls += 1;
        // Every refresh fails, so the first token runs out.
        if (calls > 1 && failing) throw new Error('token service down');
        return mint('erin', 2, everything);
      },
    });
    await nextEvent(c, 'ready');
    const id = c.id;
    const closed = nextEvent(c, 'close', 8000);
    c.on('close', () => (failing = false));
    const reconnecting = nextEvent(c, 'reconnecting', 8000);
    const close = await closed;
    assert.equal(close.code, 4001);
    assert.equal(close.reason, 'token expired');
    assert.equal(close.willReconnect, true);
    assert.equal((await reconnecting).delay, 0);
    const ready = await nextEvent(c, 'ready', 5000);
    assert.notEqual(ready.id, id);
    assert.equal(ready.user, 'erin');
    assert.notEqual(rec.tokenOf(rec.sockets.length - 1), rec.tokenOf(0));
  });

  test('a fixed token that runs out ends the client with token_expired', async () => {
    const c = client({ token: mint('frank', 2, everything) });
    await nextEvent(c, 'ready');
    const error = nextEvent(c, 'error', 8000);
    const close = await nextEvent(c, 'close', 8000);
    assert.equal(close.code, 4001);
    assert.equal(close.willReconnect, false);
    assert.equal((await error).error.code, 'token_expired');
    assert.equal(c.state, 'closed');
    assert.equal((await c.ping().catch((e) => e)).code, 'closed');
  });

  test('requests the token does not allow reject with forbidden', async () => {
    const c = client({ token: mint('grace', 600, { rooms: ['chat:*'], publish: ['chat:*'] }) });
    await nextEvent(c, 'ready');
    const refused = async (promise) => {
      const err = await promise.then(() => assert.fail('resolved, expected forbidden'), (e) => e);
      assert.equal(err.name, 'SwitchboardError');
      assert.equal(err.code, 'forbidden');
      assert.ok(err.message.length > 0);
    };
    await c.join('chat:a');
    await refused(c.join('news'));
    await refused(c.presence('news'));
    await refused(c.room('news', 'hi'));
    await refused(c.broadcast('hi all'));
    assert.deepEqual(c.rooms, ['chat:a']);
    await c.room('chat:a', 'allowed');
  });

  test('requests over the budget reject with rate_limited', async () => {
    const c = client({ token: mint('heidi', 600, everything) });
    await nextEvent(c, 'ready');
    const results = await Promise.all(
      Array.from({ length: BURST + 5 }, () => c.ping().then(() => 'ok', (e) => e.code)),
    );
    assert.ok(results.includes('rate_limited'), `results: ${results.join(',')}`);
    assert.deepEqual([...new Set(results)].sort(), ['ok', 'rate_limited']);
  });

  test('left: rooms a refreshed token no longer allows are dropped and not rejoined', async () => {
    let rooms = ['chat:*', 'news'];
    const c = client({ getToken: async () => mint('ivan', 4, { rooms: [...rooms] }) });
    const { pid } = await workerOfNewConnection(cluster, () => nextEvent(c, 'ready'));
    await c.join('chat:a');
    await c.join('news');
    rooms = ['chat:*'];
    const left = await nextEvent(c, 'left', 6000);
    assert.deepEqual(left, { room: 'news', reason: 'forbidden' });
    assert.deepEqual(c.rooms, ['chat:a']);
    const readyAgain = nextEvent(c, 'ready', 10000);
    process.kill(pid, 'SIGKILL');
    const ready = await readyAgain;
    assert.deepEqual(ready.rejoined, ['chat:a']);
    assert.deepEqual(ready.failed, []);
  });
});
