// The client library in rooms with history, against a real node started
// with --history-rooms: a connection dropped while messages flow comes back
// with every message exactly once and in order, and says 'recovered'; one
// away for longer than the room keeps says 'gap'; a user's direct messages
// while it was away arrive by themselves; history() pages what is kept.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { connect } from '../../server/www/switchboard.js';
import { inbox, mintToken, nextEvent, nodeWebSocket, startCluster } from './harness.js';

const WebSocket = await nodeWebSocket();
const SECRET = 'client-history-test-secret-of-32-bytes-or-more';
const everything = { rooms: ['*'], publish: ['*'], broadcast: true };
const backoff = { initialMs: 50, maxMs: 200 };

// A WebSocket class that, while `away` is set, connects nowhere (port 1
// refuses): a client that lost its connection stays away until it is let
// back, however short its backoff.
function gated() {
  const gate = { away: false };
  gate.WebSocket = class extends WebSocket {
    constructor(url, ...rest) {
      super(gate.away ? 'ws://127.0.0.1:1/ws' : url, ...rest);
    }
  };
  return gate;
}

// The next `type` event ('recovered', 'gap') of `room`: the personal room
// has its own.
function nextOfRoom(client, type, room) {
  return new Promise((resolve) => {
    const listener = (detail) => {
      if (detail.room !== room) return;
      client.off(type, listener);
      resolve(detail);
    };
    client.on(type, listener);
  });
}

describe('history', { timeout: 60000 }, () => {
  let cluster;
  const clients = [];

  function client(sub, options = {}) {
    const c = connect(cluster.wsUrl, { WebSocket, backoff, token: mintToken(SECRET, sub, 600, everything), ...options });
    clients.push(c);
    return c;
  }

  before(async () => {
    cluster = await startCluster({
      name: 'history',
      args: ['--auth-secret', SECRET, '--history-rooms', 'chat:*,user:*', '--history-size', '20', '--client-rate', '0'],
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  test('a dropped connection gets every message it missed, once and in order, then the live ones', async () => {
    const sender = client('sam');
    const gate = gated();
    const member = client('meg', { WebSocket: gate.WebSocket });
    await Promise.all([nextEvent(sender, 'ready'), nextEvent(member, 'ready')]);
    const joined = await member.join('chat:flow');
    assert.equal(joined.offset, 0);
    assert.equal(typeof joined.epoch, 'string');
    const got = inbox(member);
    for (let n = 1; n <= 5; n++) await sender.room('chat:flow', n);
    await got.waitFor((m) => m.data === 5, 'the first five');

    const back = nextOfRoom(member, 'recovered', 'chat:flow');
    gate.away = true;
    member._ws.close(4999, 'test'); // a lost connection, as far as the client can tell
    for (let n = 6; n <= 10; n++) await sender.room('chat:flow', n);
    gate.away = false;
    const recovered = await back;
    assert.deepEqual(recovered, { room: 'chat:flow', offset: 5, epoch: joined.epoch });
    for (let n = 11; n <= 12; n++) await sender.room('chat:flow', n);
    await got.waitFor((m) => m.data === 12, 'the live ones after the recovery');
    assert.deepEqual(got.messages.map((m) => m.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(member.place('chat:flow'), { offset: 12, epoch: joined.epoch });
  });

  test('away for longer than the room keeps: a gap, and the messages after it', async () => {
    const sender = client('sam');
    const gate = gated();
    const member = client('gus', { WebSocket: gate.WebSocket });
    await Promise.all([nextEvent(sender, 'ready'), nextEvent(member, 'ready')]);
    const got = inbox(member);
    await member.join('chat:gap');
    const gapped = nextOfRoom(member, 'gap', 'chat:gap');
    gate.away = true;
    member._ws.close(4999, 'test');
    for (let n = 1; n <= 25; n++) await sender.room('chat:gap', n); // the room keeps 20
    gate.away = false;
    const gap = await gapped;
    assert.deepEqual(gap, { room: 'chat:gap', offset: 25, epoch: member.place('chat:gap').epoch });
    await sender.room('chat:gap', 26);
    await got.waitFor((m) => m.data === 26, 'the message after the gap');
    assert.deepEqual(got.messages.map((m) => m.data), [26]);
  });

  test("a user's direct messages while it was away arrive by themselves", async () => {
    const sender = client('sam');
    const gate = gated();
    const away = client('ada', { WebSocket: gate.WebSocket });
    await Promise.all([nextEvent(sender, 'ready'), nextEvent(away, 'ready')]);
    const got = inbox(away);
    await sender.toUser('ada', 'before');
    await got.waitFor((m) => m.data === 'before', 'the first direct');
    const back = nextOfRoom(away, 'recovered', 'user:ada');
    gate.away = true;
    away._ws.close(4999, 'test');
    await sender.toUser('ada', 'while away');
    gate.away = false;
    const recovered = await back;
    assert.equal(recovered.room, 'user:ada');
    await got.waitFor((m) => m.data === 'while away', 'the missed direct');
    assert.deepEqual(got.messages.map((m) => m.data), ['before', 'while away']);
  });

  test('history() gives the newest kept, or those after a place', async () => {
    const sender = client('sam');
    await nextEvent(sender, 'ready');
    for (let n = 1; n <= 4; n++) await sender.room('chat:pages', n);
    const newest = await sender.history('chat:pages', { limit: 2 });
    assert.deepEqual(newest.messages.map((m) => m.data), [3, 4]);
    assert.equal(newest.offset, 4);
    const after1 = await sender.history('chat:pages', { since: { offset: 1, epoch: newest.epoch } });
    assert.deepEqual(after1.messages.map((m) => m.offset), [2, 3, 4]);
    await assert.rejects(sender.history('lobby'), (err) => err.code === 'bad_request');
  });
});
