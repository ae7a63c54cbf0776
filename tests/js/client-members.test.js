// The client library's user messages, member events and presence users:
// toUser against a real node with auth, member events across workers (by
// join, leave, close and a killed worker) and after a reconnect, presence
// with users; and, with a scripted WebSocket, what the library makes of
// the frames (events rejoined, users null without auth).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect } from '../../server/www/switchboard.js';
import { FakeSocket } from './fake-socket.js';
import { inbox, mintToken, nextEvent, nodeWebSocket, startCluster, waitFor, workerOfNewConnection } from './harness.js';

const WebSocket = await nodeWebSocket();
const SECRET = 'client-members-test-secret-of-32-bytes-or-more';
const backoff = { initialMs: 50, maxMs: 400 };
const everything = { rooms: ['*'], publish: ['*'], broadcast: true };

/** An HS256 token for `sub` that lives 10 minutes. */
const mint = (sub, claims = everything) => mintToken(SECRET, sub, 600, claims);

// Collects a client's member events; `waitFor(pred)` resolves with the first match.
function memberLog(client) {
  const events = [];
  client.on('member', (e) => events.push(e));
  return {
    events,
    waitFor: (pred, what = 'a member event', timeoutMs = 5000) =>
      waitFor(() => events.find(pred), { timeoutMs, what }),
  };
}

describe('members and users, with auth', { timeout: 90000 }, () => {
  let cluster;
  const clients = [];

  function client(sub) {
    const c = connect(cluster.wsUrl, { WebSocket, backoff, token: mint(sub) });
    clients.push(c);
    return c;
  }

  // A ready client of `sub` and the pid of the worker holding it.
  async function placed(sub) {
    let c;
    const { pid } = await workerOfNewConnection(cluster, () => {
      c = client(sub);
      return nextEvent(c, 'ready');
    });
    return { c, pid };
  }

  // A ready client of `sub` on a worker other than `pid`.
  async function elsewhere(sub, pid) {
    for (let i = 0; i < 20; i++) {
      const other = await placed(sub);
      if (other.pid !== pid) return other;
      await other.c.close();
    }
    throw new Error('every connection landed on the same worker');
  }

  before(async () => {
    cluster = await startCluster({ name: 'members', args: ['--auth-secret', SECRET] });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  test('toUser reaches every connection of the user, on both workers, and no one else', async () => {
    const { c: bob1, pid } = await placed('bob');
    const { c: bob2 } = await elsewhere('bob', pid);
    const alice = client('alice');
    const carol = client('carol');
    await Promise.all([nextEvent(alice, 'ready'), nextEvent(carol, 'ready')]);
    const boxes = [bob1, bob2, alice, carol].map(inbox);

    await alice.toUser('bob', { text: 'hi bob' });
    for (const box of boxes.slice(0, 2)) {
      const m = await box.waitFor((m) => m.scope === 'user', 'the user message');
      assert.equal(m.user, 'bob');
      assert.equal(m.from, alice.id);
      assert.equal(m.from_user, 'alice');
      assert.deepEqual(m.data, { text: 'hi bob' });
    }
    // A later message to carol: once it is there, a stray copy of the first would be too.
    await alice.toUser('carol', 'hi carol');
    await boxes[3].waitFor((m) => m.scope === 'user' && m.data === 'hi carol');
    assert.equal(boxes[2].messages.length, 0, 'the sender got a copy');
    assert.equal(boxes[3].messages.length, 1);
    assert.equal(boxes[0].messages.length, 1);

    // Nobody connected as that user: acked all the same.
    await alice.toUser('nobody', 1);
    await assert.rejects(alice.toUser('', 1), { code: 'bad_request' });
  });

  test('member events for joins and leaves on the other worker, by leave and by close', async () => {
    const { c: watcher, pid } = await placed('alice');
    await watcher.join('ev', { events: true });
    assert.equal(watcher.watches('ev'), true);
    const log = memberLog(watcher);

    const { c: bob } = await elsewhere('bob', pid);
    await bob.join('ev');
    const joined = await log.waitFor((e) => e.event === 'joined' && e.id === bob.id);
    assert.deepEqual(joined, { event: 'joined', room: 'ev', id: bob.id, user: 'bob' });

    await bob.leave('ev');
    await log.waitFor((e) => e.event === 'left' && e.id === bob.id, 'left by leave');

    const carol = client('carol');
    await nextEvent(carol, 'ready');
    await carol.join('ev');
    await log.waitFor((e) => e.event === 'joined' && e.id === carol.id);
    const carolId = carol.id;
    await carol.close();
    const left = await log.waitFor((e) => e.event === 'left' && e.id === carolId, 'left by close');
    assert.equal(left.user, 'carol');

    // A member without events hears nothing; the watcher hears nothing of itself.
    const quiet = client('dave');
    await nextEvent(quiet, 'ready');
    const quietLog = memberLog(quiet);
    await quiet.join('ev');
    await bob.join('ev');
    await log.waitFor((e) => e.event === 'joined' && e.id === bob.id && e !== joined, 'bob again');
    assert.equal(quietLog.events.length, 0);
    assert.ok(!log.events.some((e) => e.id === watcher.id));
  });

  test('a killed worker\'s members are announced as left', async () => {
    const { c: watcher, pid } = await placed('alice');
    await watcher.join('death', { events: true });
    const log = memberLog(watcher);
    const { c: victim, pid: victimPid } = await elsewhere('bob', pid);
    await victim.join('death');
    await log.waitFor((e) => e.event === 'joined' && e.id === victim.id);
    const victimId = victim.id;

    process.kill(victimPid, 'SIGKILL');
    // The sweep runs within --liveness-seconds (1 s in the harness).
    const left = await log.waitFor((e) => e.event === 'left' && e.id === victimId, 'left by worker death', 10000);
    assert.deepEqual(left, { event: 'left', room: 'death', id: victimId, user: 'bob' });
    // The victim reconnects and rejoins (without events): announced again.
    await log.waitFor((e) => e.event === 'joined' && e.id !== victimId && e.user === 'bob', 'the rejoin', 15000);
  });

  test('a reconnect rejoins with events', async () => {
    const watcher = client('alice');
    await nextEvent(watcher, 'ready');
    await watcher.join('again', { events: true });
    const log = memberLog(watcher);
    const oldId = watcher.id;
    // Drop the socket from our side: the client takes it for a lost connection.
    watcher._ws.close(4999, 'test');
    const ready = await nextEvent(watcher, 'ready');
    assert.notEqual(ready.id, oldId);
    assert.deepEqual(ready.rejoined, ['again']);
    assert.equal(watcher.watches('again'), true);

    const bob = client('bob');
    await nextEvent(bob, 'ready');
    await bob.join('again');
    await log.waitFor((e) => e.event === 'joined' && e.id === bob.id, 'an event after the reconnect');
  });

  test('presence with users: the distinct users, sorted; without the option, the ids as before', async () => {
    const a = client('zoe');
    const b1 = client('bob');
    const b2 = client('bob');
    await Promise.all([a, b1, b2].map((c) => nextEvent(c, 'ready')));
    await Promise.all([a, b1, b2].map((c) => c.join('pres')));

    const full = await a.presence('pres', { users: true });
    assert.deepEqual([...full.members].sort(), [a.id, b1.id, b2.id].sort());
    assert.deepEqual(full.users, ['bob', 'zoe']);
    const ids = await a.presence('pres');
    assert.ok(Array.isArray(ids));
    assert.deepEqual([...ids].sort(), [a.id, b1.id, b2.id].sort());
  });
});

describe('members and users, the library\'s side', () => {
  const fake = (options = {}) =>
    connect('ws://fake.invalid/ws', { WebSocket: FakeSocket, backoff: { initialMs: 1, maxMs: 1 }, ...options });
  const tick = () => new Promise((r) => setImmediate(r));

  test('join frames: events only when asked; the first setting holds and is rejoined', async () => {
    const c = fake();
    const ws = FakeSocket.last;
    ws.welcome('a.1');
    const plain = c.join('p');
    const watched = c.join('w', { events: true });
    const again = c.join('w'); // the server keeps events for w
    assert.deepEqual(ws.sent.map(({ ref, ...f }) => f), [
      { type: 'join', room: 'p' },
      { type: 'join', room: 'w', events: true },
      { type: 'join', room: 'w' },
    ]);
    for (const f of ws.sent) ws.answer({ type: 'ack', ref: f.ref });
    await Promise.all([plain, watched, again]);
    assert.equal(c.watches('w'), true);
    assert.equal(c.watches('p'), false);

    ws.serverClose(1006);
    await waitFor(() => FakeSocket.last !== ws, { what: 'a reconnect' });
    const next = FakeSocket.last;
    next.welcome('a.2');
    assert.deepEqual(next.sent.map(({ ref, ...f }) => f).sort((x, y) => x.room.localeCompare(y.room)), [
      { type: 'join', room: 'p' },
      { type: 'join', room: 'w', events: true },
    ]);
    await c.close();
  });

  test('member frames become member events; presence users are null without auth', async () => {
    const c = fake();
    const ws = FakeSocket.last;
    ws.welcome('a.1');
    const seen = [];
    c.on('member', (e) => seen.push(e));
    ws.answer({ type: 'member', event: 'joined', room: 'r', id: 'b.1' });
    ws.answer({ type: 'member', event: 'left', room: 'r', id: 'b.1', user: 'bob' });
    ws.answer({ type: 'member', event: 'renamed', room: 'r', id: 'b.1' }); // unknown: ignored
    assert.deepEqual(seen, [
      { event: 'joined', room: 'r', id: 'b.1', user: null },
      { event: 'left', room: 'r', id: 'b.1', user: 'bob' },
    ]);

    const full = c.presence('r', { users: true });
    const ids = c.presence('r');
    const [q1, q2] = ws.sent.slice(-2);
    ws.answer({ type: 'presence', room: 'r', members: ['a.1'], ref: q1.ref });
    ws.answer({ type: 'presence', room: 'r', members: ['a.1'], users: ['alice'], ref: q2.ref });
    assert.deepEqual(await full, { members: ['a.1'], users: null });
    assert.deepEqual(await ids, ['a.1']);

    const user = c.toUser('bob', 'hi');
    const sent = ws.sent.at(-1);
    assert.deepEqual({ ...sent, ref: undefined }, { type: 'direct', user: 'bob', data: 'hi', ref: undefined });
    ws.answer({ type: 'ack', ref: sent.ref });
    await user;
    await tick();
    await c.close();
  });
});
