// Keep-alive load on POST /api/publish: CLIENTS connections, each sending
// one request after another for SECONDS; BATCH > 0 sends arrays of BATCH
// room messages. Prints one JSON line (docs/benchmarks.md, "The backend API").
//
// node scripts/api-bench.mjs PORT KEY CLIENTS SECONDS [BATCH]
import http from 'node:http';
const [port, key, clients, seconds, batch] = process.argv.slice(2);
const n = Number(batch || 0);
const one = { scope: 'room', room: 'bench', data: { text: 'hello from a backend', n: 1 } };
const body = JSON.stringify(n ? Array.from({ length: n }, () => one) : one);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients) });
let done = 0, failed = 0;
const end = Date.now() + Number(seconds) * 1000;
function once() {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/publish', method: 'POST', agent,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => { res.resume(); res.on('end', () => { if (res.statusCode === 202) done++; else failed++; resolve(); }); });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
}
async function loop() { while (Date.now() < end) await once(); }
const t0 = Date.now();
await Promise.all(Array.from({ length: Number(clients) }, loop));
const s = (Date.now() - t0) / 1000;
console.log(JSON.stringify({ clients: Number(clients), batch: n || 1, requests_per_s: Math.round(done / s),
  messages_per_s: Math.round(done * (n || 1) / s), failed }));
agent.destroy();
