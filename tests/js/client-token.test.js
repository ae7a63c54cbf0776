// Unit tests of the client library's token handling, no server: the token
// on the URL, getToken before every attempt, the refresh schedule and its
// frames, 4001, `left`, and forbidden/rate_limited rejections, with a
// scripted WebSocket. client-auth.test.js checks the same against the real
// binary.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { connect, refreshDelay, tokenExpiry } from '../../server/www/switchboard.js';
import { FakeSocket } from './fake-socket.js';

// A JWT-shaped token with these claims; the client never checks signatures.
function jwt(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

// A token that the client refreshes after its 1 s floor.
const shortLived = (sub = 'alice', more = {}) => jwt({ sub, exp: Date.now() / 1000 + 1.5, ...more });

function fakeClient(url, options = {}) {
  const backoff = { initialMs: 1, maxMs: 1 };
  return connect(url ?? 'ws://fake.invalid/ws', { WebSocket: FakeSocket, backoff, ...options });
}

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A client and its first socket, which getToken makes a turn or more later.
async function started(url, options) {
  const previous = FakeSocket.last;
  const c = fakeClient(url, options);
  return { c, ws: await nextSocket(previous) };
}

// Resolves once the latest socket is a new one (a reconnect attempt made it).
async function nextSocket(previous, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (FakeSocket.last === previous) {
    if (Date.now() > deadline) throw new Error('no new connection attempt');
    await sleep(2);
  }
  return FakeSocket.last;
}

function tokenOf(ws) {
  return new URL(ws.url).searchParams.get('token');
}

describe('refreshDelay', () => {
  const now = 1_700_000_000_000;
  const at = (seconds) => refreshDelay(now / 1000 + seconds, now);

  test('80 % of the remaining life, or 60 s before exp, whichever is sooner', () => {
    assert.equal(at(3600), 2880_000); // 1 h: after 48 min
    assert.equal(at(300), 240_000); // 5 min: after 4 min (both rules agree)
    assert.equal(at(120), 60_000); // 2 min: 60 s before exp
  });

  test('not before half the remaining life, nor sooner than 1 s', () => {
    assert.equal(at(100), 50_000);
    assert.equal(at(30), 15_000);
    assert.equal(at(1.5), 1000);
    assert.equal(at(0.2), 1000);
  });

  test('none for a token without exp or already expired', () => {
    assert.equal(refreshDelay(null, now), null);
    assert.equal(refreshDelay(Number.NaN, now), null);
    assert.equal(at(0), null);
    assert.equal(at(-5), null);
  });

  test('within what setTimeout takes, for tokens that live for months', () => {
    assert.equal(at(90 * 86400), 2 ** 31 - 1);
  });
});

describe('tokenExpiry', () => {
  test('reads exp from the payload, whatever else it holds', () => {
    assert.equal(tokenExpiry(jwt({ sub: 'zoë ☃', exp: 1234567890 })), 1234567890);
    assert.equal(tokenExpiry(jwt({ sub: 'a', exp: 12.5 })), 12.5);
  });

  test('null for what is not a JWT with a numeric exp', () => {
    assert.equal(tokenExpiry(jwt({ sub: 'a' })), null);
    assert.equal(tokenExpiry(jwt({ sub: 'a', exp: '1234567890' })), null);
    assert.equal(tokenExpiry('opaque-token'), null);
    assert.equal(tokenExpiry('a.b.c'), null); // "b" is not base64 of JSON
    assert.equal(tokenExpiry('a.!!!.c'), null);
    assert.equal(tokenExpiry(undefined), null);
  });
});

describe('token options', () => {
  test('a fixed token goes on the URL, an existing query kept', async () => {
    const token = jwt({ sub: 'alice', exp: 2e9 });
    const plain = fakeClient(undefined, { token });
    assert.equal(FakeSocket.last.url, `ws://fake.invalid/ws?token=${token}`);
    await plain.close();
    const withQuery = fakeClient('ws://fake.invalid/ws?region=eu', { token: 'a b&c' });
    assert.equal(FakeSocket.last.url, 'ws://fake.invalid/ws?region=eu&token=a%20b%26c');
    await withQuery.close();
    const none = fakeClient('ws://fake.invalid/ws?region=eu');
    assert.equal(FakeSocket.last.url, 'ws://fake.invalid/ws?region=eu');
    await none.close();
  });

  test('token and getToken together, or of the wrong kind, throw at once', () => {
    assert.throws(() => fakeClient(undefined, { token: 't', getToken: () => 't' }), TypeError);
    assert.throws(() => fakeClient(undefined, { token: 42 }), TypeError);
    assert.throws(() => fakeClient(undefined, { getToken: 't' }), TypeError);
  });

  test('getToken is called before every attempt, and the open event shows no token', async () => {
    let calls = 0;
    const opened = [];
    const { c, ws: first } = await started(undefined, { getToken: async () => `t${++calls}` });
    c.on('open', ({ url }) => opened.push(url));
    first.onopen({});
    assert.equal(tokenOf(first), 't1');
    first.welcome();
    first.serverClose(1006);
    const second = await nextSocket(first);
    assert.equal(tokenOf(second), 't2');
    second.welcome('w.2');
    assert.equal(calls, 2);
    assert.deepEqual(opened, ['ws://fake.invalid/ws', 'ws://fake.invalid/ws', 'ws://fake.invalid/ws']);
    await c.close();
  });

  test('a token function given as token is taken as getToken', async () => {
    let calls = 0;
    const { c, ws } = await started(undefined, { token: () => `f${++calls}` });
    assert.equal(tokenOf(ws), 'f1');
    await c.close();
  });

  test('getToken rejecting: an error event, then the backoff and another try', async () => {
    let calls = 0;
    const previous = FakeSocket.last;
    const c = fakeClient(undefined, {
      getToken: async () => {
        calls += 1;
        if (calls === 1) throw new Error('auth backend down');
        return calls === 2 ? '' : 'good';
      },
    });
    // Added in the same turn: they see the first failure.
    const errors = [];
    const retries = [];
    c.on('error', ({ error }) => errors.push(error));
    c.on('reconnecting', (d) => retries.push(d));
    const ws = await nextSocket(previous);
    assert.equal(tokenOf(ws), 'good');
    assert.deepEqual(errors.map((e) => e.code), ['token_failed', 'token_failed']);
    assert.equal(errors[0].cause.message, 'auth backend down');
    assert.match(errors[1].message, /empty string/);
    assert.deepEqual(retries.map((r) => r.attempt), [1, 2]);
    await c.close();
  });

  test('close() while getToken is pending makes no socket', async () => {
    let release;
    const c = fakeClient(undefined, { getToken: () => new Promise((r) => (release = r)) });
    const before = FakeSocket.count;
    await c.close();
    release('late');
    await tick();
    assert.equal(FakeSocket.count, before);
    assert.equal(c.state, 'closed');
  });
});

describe('refresh', () => {
  test('sent before exp with a new token from getToken; acked, then armed again', async () => {
    const tokens = [];
    const { c, ws } = await started(undefined, {
      getToken: async () => {
        tokens.push(shortLived());
        return tokens.at(-1);
      },
    });
    ws.welcome('w.1', 'alice');
    assert.equal(c.user, 'alice');
    const refreshed = new Promise((r) => c.on('refresh', r));
    const t0 = Date.now();
    await waitForSent(ws, 'refresh');
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 1500, `refresh after ${took} ms`);
    const frame = ws.sent.find((f) => f.type === 'refresh');
    assert.equal(frame.token, tokens[1]);
    assert.notEqual(frame.token, tokens[0]);
    ws.answer({ type: 'ack', ref: frame.ref });
    assert.deepEqual(await refreshed, { exp: tokenExpiry(tokens[1]) });
    // The next one comes against the new token's exp.
    await waitForSent(ws, 'refresh', 2);
    assert.equal(ws.sent.filter((f) => f.type === 'refresh')[1].token, tokens[2]);
    await c.close();
  });

  test('refused with forbidden: an error event, and tried again while the old token lasts', async () => {
    let calls = 0;
    const first = jwt({ sub: 'alice', exp: Date.now() / 1000 + 3 });
    const { c, ws } = await started(undefined, { getToken: async () => (++calls === 1 ? first : shortLived('mallory')) });
    const errors = [];
    c.on('error', (detail) => errors.push(detail));
    ws.welcome();
    const frame = await waitForSent(ws, 'refresh');
    ws.answer({ type: 'error', code: 'forbidden', message: 'not the same user', ref: frame.ref });
    await tick();
    assert.equal(errors.length, 1);
    assert.equal(errors[0].refresh, true);
    assert.equal(errors[0].error.code, 'forbidden');
    assert.equal(c.state, 'ready'); // the connection goes on with its old token
    // Tried again, sooner, against the old exp.
    await waitForSent(ws, 'refresh', 2, 2500);
    await c.close();
  });

  test('getToken failing at refresh time: an error event with refresh, no frame sent', async () => {
    let calls = 0;
    const { c, ws } = await started(undefined, {
      getToken: async () => {
        if (++calls > 1) throw new Error('offline');
        return shortLived();
      },
    });
    const errors = [];
    c.on('error', (detail) => errors.push(detail));
    ws.welcome();
    await waitFor(() => errors.length > 0, 2000);
    assert.equal(errors[0].refresh, true);
    assert.equal(errors[0].error.code, 'token_failed');
    assert.ok(!ws.sent.some((f) => f.type === 'refresh'));
    await c.close();
  });

  test('none with a fixed token, nor for a token without exp', async () => {
    const fixed = fakeClient(undefined, { token: shortLived() });
    const fixedWs = FakeSocket.last;
    fixedWs.welcome();
    const { c: noExp, ws } = await started(undefined, { getToken: () => jwt({ sub: 'a' }) });
    ws.welcome();
    await sleep(1200);
    assert.deepEqual(fixedWs.sent, []);
    assert.deepEqual(ws.sent, []);
    await Promise.all([fixed.close(), noExp.close()]);
  });

  test('a connection lost meanwhile drops its refresh; the next one gets its own', async () => {
    let calls = 0;
    const { c, ws } = await started(undefined, { getToken: async () => (++calls, shortLived()) });
    ws.welcome();
    ws.serverClose(1006);
    const next = await nextSocket(ws);
    await sleep(1200); // past the first connection's refresh time
    assert.deepEqual(ws.sent, []);
    assert.equal(calls, 2); // both for connecting, none for the dead connection
    next.welcome('w.2');
    await waitForSent(next, 'refresh');
    await c.close();
  });
});

describe('4001 token expired', () => {
  test('with getToken: reconnects at once with a new token', async () => {
    let calls = 0;
    const { c, ws } = await started(undefined, {
      getToken: async () => `t${++calls}`,
      backoff: { initialMs: 5000, maxMs: 5000 },
    });
    ws.welcome();
    const retry = new Promise((r) => c.on('reconnecting', r));
    ws.serverClose(4001, 'token expired');
    assert.deepEqual(await retry, { attempt: 1, delay: 0, code: 4001 });
    assert.equal(tokenOf(await nextSocket(ws)), 't2');
    await c.close();
  });

  test('with a fixed token: the client stops and says why', async () => {
    const c = fakeClient(undefined, { token: 'fixed' });
    const ws = FakeSocket.last;
    ws.welcome();
    const events = [];
    c.on('error', ({ error }) => events.push(['error', error.code]));
    c.on('close', ({ code, willReconnect }) => {
      events.push(['close', code, willReconnect]);
      // Made from a close listener: refused, never queued.
      c.ping().catch((e) => events.push(['ping', e.code]));
    });
    c.on('reconnecting', () => events.push(['reconnecting']));
    const inFlight = c.ping().catch((e) => e.code);
    ws.serverClose(4001, 'token expired');
    await sleep(20);
    assert.equal(await inFlight, 'disconnected');
    assert.deepEqual(events, [['error', 'token_expired'], ['close', 4001, false], ['ping', 'closed']]);
    assert.equal(c.state, 'closed');
    assert.equal(FakeSocket.last, ws);
    await c.close(); // and close() after it is harmless
  });
});

describe('server refusals', () => {
  test('forbidden and rate_limited reject the request with that code', async () => {
    const c = fakeClient();
    const ws = FakeSocket.last;
    ws.welcome();
    const join = c.join('secret');
    const broadcast = c.broadcast('hi');
    ws.answer({ type: 'error', code: 'forbidden', message: 'the token does not allow it', ref: ws.sent[0].ref });
    ws.answer({ type: 'error', code: 'rate_limited', message: 'slow down', ref: ws.sent[1].ref });
    const errors = await Promise.all([join, broadcast].map((p) => p.then(() => null, (e) => e)));
    assert.deepEqual(errors.map((e) => [e.name, e.code, e.message]), [
      ['SwitchboardError', 'forbidden', 'the token does not allow it'],
      ['SwitchboardError', 'rate_limited', 'slow down'],
    ]);
    assert.deepEqual(c.rooms, []);
    await c.close();
  });

  // A welcomed client that has joined `rooms`, each join acked.
  async function member(...rooms) {
    const c = fakeClient();
    const ws = FakeSocket.last;
    ws.welcome();
    const joins = rooms.map((room) => c.join(room));
    for (const f of ws.sent) ws.answer({ type: 'ack', ref: f.ref });
    await Promise.all(joins);
    return { c, ws };
  }

  test('left: the room is dropped from the rooms rejoined, and an event says so', async () => {
    const { c, ws } = await member('chat:a', 'news');
    const left = new Promise((r) => c.on('left', r));
    ws.answer({ type: 'left', room: 'news', reason: 'forbidden' });
    assert.deepEqual(await left, { room: 'news', reason: 'forbidden' });
    assert.deepEqual(c.rooms, ['chat:a']);
    ws.serverClose(1006);
    const next = await nextSocket(ws);
    next.welcome('w.2');
    assert.deepEqual(next.sent.map((f) => [f.type, f.room]), [['join', 'chat:a']]);
    await c.close();
  });

  test('a rejoin refused with forbidden is dropped; one refused with rate_limited is tried again', async () => {
    const { c, ws: first } = await member('a', 'b');
    first.serverClose(1006);

    let ws = await nextSocket(first);
    ws.welcome('w.2');
    const [a, b] = ws.sent;
    ws.answer({ type: 'error', code: 'forbidden', message: 'no', ref: a.ref });
    ws.answer({ type: 'error', code: 'rate_limited', message: 'later', ref: b.ref });
    ws = await nextSocket(ws); // the transient failure made it reconnect
    assert.deepEqual(c.rooms, ['b']);

    const ready = new Promise((r) => c.on('ready', r));
    ws.welcome('w.3');
    assert.deepEqual(ws.sent.map((f) => f.room), ['b']);
    ws.answer({ type: 'ack', ref: ws.sent[0].ref });
    assert.deepEqual((await ready).rejoined, ['b']);
    await c.close();
  });
});

async function waitFor(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

// The `count`th frame of `type` that `ws` carried, once it is there.
async function waitForSent(ws, type, count = 1, timeoutMs = 3000) {
  const frames = () => ws.sent.filter((f) => f.type === type);
  await waitFor(() => frames().length >= count, timeoutMs).catch(() => {
    throw new Error(`no ${count} '${type}' frame(s) within ${timeoutMs} ms; sent: ${JSON.stringify(ws.sent)}`);
  });
  return frames()[count - 1];
}
