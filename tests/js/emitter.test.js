// scripts/emitter-node against a real redis-server and the real binary
// (2 workers, auth on): room, user, broadcast and connection deliveries with
// "from":"server", a batch in order or not at all, and every refusal before
// anything reaches Redis. Then the same on one Redis Cluster (3 primaries,
// each with a replica) with two nodes on --redis cluster://: SPUBLISH to
// every shard, order per channel, a batch over several channels. Needs `npm ci` in scripts/emitter-node (the redis
// package); scripts/test.sh runs it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { busMessage, createEmitter, EmitError, MAX_DATA_DEPTH, parseClusterUrl } from '../../scripts/emitter-node/index.js';
import { freePort, mintToken, nodeWebSocket, startCluster, startRedisCluster, waitFor } from './harness.js';

const WebSocket = await nodeWebSocket();
const SECRET = 'emitter-test-secret-of-32-bytes-or-more';
const everything = { rooms: ['*'], publish: ['*'], broadcast: true };

const hs256 = (sub) => mintToken(SECRET, sub, 600, everything);

// A bare WebSocket client of user `sub`: its id, and every message it got.
async function connectAs(cluster, sub) {
  const ws = new WebSocket(`${cluster.wsUrl}?token=${hs256(sub)}`);
  const frames = [];
  ws.addEventListener('message', (event) => frames.push(JSON.parse(event.data)));
  const welcome = await waitFor(() => frames.find((f) => f.type === 'welcome'), { what: `${sub}'s welcome` });
  return {
    id: welcome.id,
    messages: () => frames.filter((f) => f.type === 'message'),
    async join(room) {
      ws.send(JSON.stringify({ type: 'join', room, ref: room }));
      await waitFor(() => frames.find((f) => f.type === 'ack' && f.ref === room), { what: `the ack of join ${room}` });
    },
    close: () => ws.close(),
  };
}

// Runs one inline command on a connection of its own; resolves with the
// reply: an integer's or a bulk string's text.
async function redisCommand(port, line) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  try {
    await once(socket, 'connect');
    socket.write(`${line}\r\n`);
    let reply = '';
    for await (const chunk of socket) {
      reply += chunk;
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if (bulk && reply.length >= bulk[0].length + Number(bulk[1]) + 2) return reply.slice(bulk[0].length, -2);
      if (!bulk && reply.endsWith('\r\n') && reply[0] !== '$') return reply.trim();
    }
    throw new Error(`${line}: the connection closed early`);
  } finally {
    socket.destroy();
  }
}

describe('emitter-node against the server', () => {
  let cluster;
  let emitter;
  const clients = [];

  before(async () => {
    cluster = await startCluster({ name: 'emitter', workers: 2, args: ['--auth-secret', SECRET] });
    emitter = createEmitter({ url: `redis://127.0.0.1:${cluster.redisPort}` });
  });

  after(async () => {
    for (const client of clients) client.close();
    await emitter?.close();
    await cluster?.stop();
  });

  async function client(sub) {
    const c = await connectAs(cluster, sub);
    clients.push(c);
    return c;
  }

  test('room, user, broadcast and connection messages reach exactly their recipients', async () => {
    // Two of alice's connections, so that on two workers one of them is likely elsewhere.
    const [alice1, alice2, bob, carol] = [await client('alice'), await client('alice'), await client('bob'), await client('carol')];
    await bob.join('chat');

    await emitter.toRoom('chat', { text: 'hi' });
    await emitter.toUser('alice', 'for alice');
    await emitter.toRoom('user:alice', 'via user:alice');
    await emitter.broadcast([1, 2]);
    await emitter.toConnection(carol.id, null);

    const broadcast = { type: 'message', scope: 'broadcast', from: 'server', data: [1, 2] };
    const toAlice = (data) => ({ type: 'message', scope: 'user', from: 'server', user: 'alice', data });
    const expected = new Map([
      [alice1, [toAlice('for alice'), toAlice('via user:alice'), broadcast]],
      [alice2, [toAlice('for alice'), toAlice('via user:alice'), broadcast]],
      [bob, [{ type: 'message', scope: 'room', from: 'server', room: 'chat', data: { text: 'hi' } }, broadcast]],
      [carol, [broadcast, { type: 'message', scope: 'direct', from: 'server', to: carol.id, data: null }]],
    ]);
    for (const [c, frames] of expected) {
      await waitFor(() => c.messages().length >= frames.length, { what: `${frames.length} messages for ${c.id}` });
    }
    await sleep(200); // nothing more arrives
    for (const [c, frames] of expected) assert.deepEqual(c.messages(), frames, c.id);
  });

  test('a batch arrives whole and in order, and a refused one not at all', async () => {
    const member = await client('dave');
    await member.join('feed');
    const refused = [{ room: 'feed', data: 'never' }, { room: '', data: 'bad room' }];
    await assert.rejects(emitter.publishAll(refused), (err) => err instanceof EmitError && err.code === 'bad_room' && err.index === 1);

    await emitter.publishAll(Array.from({ length: 500 }, (_, n) => ({ room: 'feed', data: n })));
    await waitFor(() => member.messages().length >= 500, { what: '500 messages' });
    assert.deepEqual(member.messages().map((m) => m.data), Array.from({ length: 500 }, (_, n) => n));
  });

  test('after its connection is lost, the emitter connects again', async () => {
    const member = await client('erin');
    await member.join('again');
    await emitter.toRoom('again', 'before');
    const list = await redisCommand(cluster.redisPort, 'CLIENT LIST');
    const id = /id=(\d+) [^\n]* name=switchboard-emitter /.exec(list)?.[1];
    assert.ok(id, `no switchboard-emitter connection in ${list}`);
    assert.match(await redisCommand(cluster.redisPort, `CLIENT KILL ID ${id}`), /^:1/);
    // The call that meets the dead connection may fail; the one after it connects anew.
    await emitter.toRoom('again', 'lost?').catch(() => {});
    await emitter.toRoom('again', 'after');
    await waitFor(() => member.messages().some((m) => m.data === 'after'), { what: 'the message after the reconnect' });
    assert.equal(member.messages()[0].data, 'before');
  });
});

describe('emitter-node refusals', () => {
  const code = (fn) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof EmitError, String(err));
      return err.code;
    }
    return 'built';
  };
  const build = (message) => code(() => busMessage('sb:', message));

  test('the envelope is the one the server builds', () => {
    assert.deepEqual(busMessage('sb:', { room: 'chat:lobby', data: { text: 'hi' } }), {
      channel: 'sb:room:{chat:lobby}',
      envelope: '1rchat:lobby\n{"type":"message","scope":"room","from":"server","room":"chat:lobby","data":{"text":"hi"}}',
    });
    assert.deepEqual(busMessage('app:', { user: 'alice', data: 1 }), {
      channel: 'app:users',
      envelope: '1ualice\n{"type":"message","scope":"user","from":"server","user":"alice","data":1}',
    });
    assert.deepEqual(busMessage('sb:', { to: '0123456789abcdef.42', data: 7 }), {
      channel: 'sb:direct:{0123456789abcdef}',
      envelope: '1d0123456789abcdef.42\n{"type":"message","scope":"direct","from":"server","to":"0123456789abcdef.42","data":7}',
    });
    assert.deepEqual(busMessage('sb:', { broadcast: true, data: null }).envelope,
      '1b\n{"type":"message","scope":"broadcast","from":"server","data":null}');
    assert.equal(busMessage('sb:', { to: 'nobody.1', data: 1 }), null, 'an id no worker hands out reaches nobody');
  });

  test('names, ids, data and the shape of a message are checked', () => {
    assert.equal(build({ room: 'r'.repeat(128), data: 1 }), 'built');
    assert.equal(build({ room: 'é'.repeat(65), data: 1 }), 'bad_room'); // 130 bytes
    for (const room of ['', 'a\nb', 'a\u007f', 'a\u0085', 'lone \ud800', 42]) assert.equal(build({ room, data: 1 }), 'bad_room', JSON.stringify(room));
    for (const user of ['', 'tab\there', null]) assert.equal(build({ user, data: 1 }), 'bad_user');
    assert.equal(build({ room: 'user:', data: 1 }), 'bad_user');
    for (const to of ['', 'a b', 'a'.repeat(65), 7]) assert.equal(build({ to, data: 1 }), 'bad_id');
    for (const data of [undefined, () => 1, 10n]) assert.equal(build({ broadcast: true, data }), 'bad_json');
    const cyclic = {};
    cyclic.self = cyclic;
    assert.equal(build({ broadcast: true, data: cyclic }), 'bad_json');
    const nested = (levels) => (levels === 0 ? 0 : [nested(levels - 1)]);
    assert.equal(build({ broadcast: true, data: nested(MAX_DATA_DEPTH) }), 'built');
    assert.equal(build({ broadcast: true, data: nested(MAX_DATA_DEPTH + 1) }), 'too_deep');
    assert.equal(build({ broadcast: true, data: '[[[[' }), 'built', 'brackets inside a string do not nest');
    assert.equal(build({ room: 'a', user: 'b', data: 1 }), 'bad_request');
    assert.equal(build({ data: 1 }), 'bad_request');
    assert.equal(build({ room: 'a' }), 'bad_request');
  });

  test('a refusal needs no Redis, an unreachable Redis rejects', async () => {
    const emitter = createEmitter({ url: `redis://127.0.0.1:${await freePort()}` });
    await assert.rejects(emitter.toRoom('', 1), { code: 'bad_room' });
    await emitter.toConnection('nobody.1', 1); // reaches nobody: no connection needed
    await assert.rejects(emitter.connect(), { code: 'ECONNREFUSED' });
    await assert.rejects(emitter.broadcast(1), { code: 'ECONNREFUSED' });
    await emitter.close();
    await assert.rejects(emitter.broadcast(1), { code: 'closed' });
  });
});

describe('emitter-node on a Redis Cluster', () => {
  let redisCluster;
  const nodes = [];
  let emitter;
  const clients = [];
  // Twelve rooms whose channels' slots fall on all three primaries (checked below).
  const rooms = Array.from({ length: 12 }, (_, n) => `shard-room-${n}`);

  before(async () => {
    redisCluster = await startRedisCluster({ name: 'emitter-cluster' });
    for (const name of ['emitter-c1', 'emitter-c2'])
      nodes.push(await startCluster({ name, workers: 2, redisUrl: redisCluster.url, args: ['--auth-secret', SECRET] }));
    emitter = createEmitter({ url: redisCluster.url });
  });

  after(async () => {
    for (const client of clients) client.close();
    await emitter?.close();
    for (const node of nodes) await node.stop();
    await redisCluster?.stop();
  });

  async function client(node, sub) {
    const c = await connectAs(node, sub);
    clients.push(c);
    return c;
  }

  test('room, user, broadcast and connection messages reach their recipients on both nodes', async () => {
    const [alice1, alice2, bob] = [await client(nodes[0], 'alice'), await client(nodes[1], 'alice'), await client(nodes[1], 'bob')];
    await bob.join('chat');
    await emitter.toRoom('chat', 'hi');
    await emitter.toUser('alice', 'for alice');
    await emitter.broadcast(1);
    await emitter.toConnection(bob.id, 'for bob');
    const toAlice = [{ type: 'message', scope: 'user', from: 'server', user: 'alice', data: 'for alice' },
      { type: 'message', scope: 'broadcast', from: 'server', data: 1 }];
    const toBob = [{ type: 'message', scope: 'room', from: 'server', room: 'chat', data: 'hi' },
      { type: 'message', scope: 'broadcast', from: 'server', data: 1 },
      { type: 'message', scope: 'direct', from: 'server', to: bob.id, data: 'for bob' }];
    for (const [c, frames] of [[alice1, toAlice], [alice2, toAlice], [bob, toBob]])
      await waitFor(() => c.messages().length >= frames.length, { what: `${frames.length} messages for ${c.id}` });
    await sleep(200); // nothing more arrives
    for (const [c, frames] of [[alice1, toAlice], [alice2, toAlice], [bob, toBob]]) assert.deepEqual(c.messages(), frames, c.id);
  });

  test('rooms on every shard get their messages in order, one at a time and in a batch', async () => {
    const member = await client(nodes[1], 'erin');
    for (const room of rooms) await member.join(room);
    // Every primary holds some of the rooms' channels: the worker subscribed on each shard.
    const holders = [];
    for (const port of redisCluster.ports) {
      const held = await redisCommand(port, 'PUBSUB SHARDCHANNELS sb:room:{shard-room-*}');
      if (held.includes('shard-room-')) holders.push(port);
    }
    assert.equal(holders.length, 3, `shards holding the rooms: ${holders}`);

    for (let n = 0; n < 20; n++) for (const room of rooms) await emitter.toRoom(room, n);
    // A batch over every room: runs of one channel, each in order.
    const batch = rooms.flatMap((room) => [20, 21, 22].map((n) => ({ room, data: n })));
    await emitter.publishAll(batch);
    await waitFor(() => member.messages().length >= rooms.length * 23, { timeoutMs: 10000, what: `${rooms.length * 23} messages` });
    for (const room of rooms) {
      const got = member.messages().filter((m) => m.room === room).map((m) => m.data);
      assert.deepEqual(got, Array.from({ length: 23 }, (_, n) => n), room);
    }
  });

  test('a bad cluster URL is refused at once, an unreachable cluster rejects', async () => {
    for (const url of ['cluster://', 'cluster://host:0', 'cluster://host:99999', 'cluster://host:1/0'])
      assert.throws(() => createEmitter({ url }), (err) => err instanceof EmitError && err.code === 'bad_url', url);
    assert.deepEqual(parseClusterUrl('cluster://u:p%40ss@10.0.0.1:7000,h'), {
      rootNodes: [{ url: 'redis://10.0.0.1:7000' }, { url: 'redis://h:6379' }], username: 'u', password: 'p@ss',
    });
    const unreachable = createEmitter({ url: `cluster://127.0.0.1:${await freePort()}` });
    await assert.rejects(unreachable.broadcast(1));
    await unreachable.close();
  });
});
