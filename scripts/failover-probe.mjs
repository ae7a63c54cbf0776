// The clients of scripts/failover.sh: senders broadcasting at a steady rate
// with a ref each, listeners (the senders too) recording every delivery.
// After `--before` seconds it runs `--fail` (a shell command: the failure),
// goes on for `--after` seconds more, waits for the last answers, and prints
// one JSON line: seconds from the failure to the first delivery of a
// broadcast sent after it; the longest stretch without any delivery from the
// failure on, and when it ended (from the failure: the outage clients saw,
// also when the old primary kept delivering for a while, as after SENTINEL
// FAILOVER); acknowledged broadcasts some listener never got (must be 0);
// refused and unanswered ones; closed clients. Needs Node 22, or Node 20 with
// --experimental-websocket.
import { execSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    fail: { type: 'string' },
    senders: { type: 'string', default: '2' },
    listeners: { type: 'string', default: '2' },
    rate: { type: 'string', default: '100' }, // broadcasts per second per sender
    before: { type: 'string', default: '2' },
    after: { type: 'string', default: '8' },
  },
});
if (!o.url || !o.fail) {
  console.error('usage: failover-probe.mjs --url ws://host:port/ws --fail "shell command" [--senders N --listeners N --rate R --before S --after S]');
  process.exit(2);
}
if (typeof WebSocket !== 'function') {
  console.error('failover-probe: no WebSocket in this Node (use Node 22, or Node 20 with --experimental-websocket)');
  process.exit(2);
}

const now = () => performance.now();
let closed = 0;

// A client: its id once welcomed, the answers to its requests, what it received from whom.
function open() {
  const client = { id: null, ws: new WebSocket(o.url), received: new Map(), answers: new Map() };
  client.ws.addEventListener('message', (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === 'welcome') client.id = frame.id;
    else if (frame.type === 'message') {
      const { from, seq } = frame.data;
      if (!client.received.has(from)) client.received.set(from, new Map());
      client.received.get(from).set(seq, now());
      deliveries.push(now());
    } else if (frame.ref !== undefined) client.answers.set(frame.ref, frame.type === 'ack' ? 'ack' : frame.code);
  });
  client.ws.addEventListener('close', () => closed++);
  return client;
}

const deliveries = [];
const senders = Array.from({ length: Number(o.senders) }, open);
const clients = [...senders, ...Array.from({ length: Number(o.listeners) }, open)];
const started = now();
while (clients.some((c) => !c.id)) {
  if (now() - started > 10000) throw new Error('failover-probe: the clients were not welcomed within 10 s');
  await sleep(10);
}

const sentAt = senders.map(() => []);
const interval = 1000 / Number(o.rate);
let failedAt = null;
let firstAfter = null;
const deadline = now() + (Number(o.before) + Number(o.after)) * 1000;
for (let tick = 0; now() < deadline; tick++) {
  senders.forEach((s, i) => {
    const seq = sentAt[i].length;
    sentAt[i].push(now());
    s.ws.send(JSON.stringify({ type: 'broadcast', ref: seq, data: { from: s.id, seq } }));
  });
  if (failedAt === null && now() - started >= Number(o.before) * 1000) {
    failedAt = now();
    execSync(o.fail, { stdio: 'inherit', shell: '/bin/sh' });
  }
  if (failedAt !== null && firstAfter === null) {
    // The first delivery anywhere of a broadcast sent after the failure.
    for (const c of clients)
      for (const [from, got] of c.received) {
        const i = senders.findIndex((s) => s.id === from);
        for (const [seq, at] of got) if (sentAt[i][seq] > failedAt && (firstAfter === null || at < firstAfter)) firstAfter = at;
      }
  }
  await sleep(Math.max(0, started + (tick + 1) * interval - now()));
}
// The last answers and deliveries.
const drainUntil = now() + 5000;
while (now() < drainUntil && senders.some((s, i) => s.answers.size < sentAt[i].length)) await sleep(20);
await sleep(500);

let lost = 0;
let refused = 0;
let unanswered = 0;
senders.forEach((s, i) => {
  for (let seq = 0; seq < sentAt[i].length; seq++) {
    const answer = s.answers.get(seq);
    if (answer === undefined) unanswered++;
    else if (answer !== 'ack') refused++;
    else for (const c of clients) if (!c.received.get(s.id)?.has(seq)) lost++;
  }
});
let longestGap = 0;
let gapEnd = null;
let previous = failedAt;
for (const at of deliveries.filter((t) => t >= failedAt).sort((a, b) => a - b)) {
  if (at - previous > longestGap) [longestGap, gapEnd] = [at - previous, at];
  previous = at;
}
const seconds = (ms) => (ms === null ? null : Math.round(ms) / 1000);
console.log(JSON.stringify({
  failure_to_first_delivery_s: seconds(firstAfter === null ? null : firstAfter - failedAt),
  longest_gap_s: seconds(longestGap),
  gap_ended_s: seconds(gapEnd === null ? null : gapEnd - failedAt),
  sent: sentAt.reduce((n, s) => n + s.length, 0),
  acked_and_lost: lost,
  refused,
  unanswered,
  closed,
}));
for (const c of clients) c.ws.close();
process.exit(firstAfter === null || lost > 0 ? 1 : 0);
