// End to end in headless Chromium: the demo page served by the node itself,
// two pages on different workers chatting through the page's own controls,
// and the status line through a rolling restart. Screenshots go to
// <build>/e2e/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { connect } from '../../server/www/switchboard.js';
import { buildDir, hasStaticHandler, nodeWebSocket, repoRoot, startCluster, waitFor } from './harness.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const shotDir = path.join(buildDir, 'e2e');

// Missing pieces make this a skip with a reason, not a failure: playwright
// comes from `npm ci` in tests/js, Chromium from Debian's chromium package.
// With CI=true a missing piece fails instead, so CI cannot pass by testing
// nothing.
let chromium;
let skip = false;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  skip = 'playwright-core is not installed (run npm ci in tests/js)';
}
if (!skip && !fs.existsSync(CHROMIUM)) skip = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
if (!skip && !hasStaticHandler()) skip = 'this switchboard binary serves no static files (no --www-dir)';
if (skip && process.env.CI === 'true') throw new Error(`CI=true and the browser test cannot run: ${skip}`);

describe('demo page', { skip, timeout: 60000 }, () => {
  let cluster;
  let browser;
  const problems = []; // page errors and failed requests, checked at the end

  before(async () => {
    cluster = await startCluster({
      name: 'e2e',
      args: ['--www-dir', path.join(repoRoot, 'server/www'), '--history-rooms', 'chat:*', '--history-size', '3'],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  // A fresh page (own context: own connection) once its status says connected.
  async function openPage(viewport) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // A refused reconnect attempt is logged by Chromium itself and is not a
    // fault of the page; anything else logged as an error is.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/WebSocket connection to .* failed/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(cluster.httpUrl + '/');
    await connected(page);
    return page;
  }

  function connected(page) {
    return page.locator('[data-testid=status][data-state=connected]').waitFor({ timeout: 10000 });
  }

  async function identity(page) {
    return {
      id: await page.getByTestId('my-id').textContent(),
      node: await page.getByTestId('my-node').textContent(),
      worker: await page.getByTestId('my-worker').textContent(),
    };
  }

  async function join(page, room) {
    await page.getByTestId('room-name').fill(room);
    await page.getByTestId('join-room').click();
    await page.getByTestId(`room-${room}`).waitFor();
  }

  test('two pages on different workers exchange a room message and a direct message', async () => {
    fs.mkdirSync(shotDir, { recursive: true });
    const a = await openPage({ width: 1200, height: 800 });
    const idA = await identity(a);
    assert.equal(idA.node, 'e2e');
    assert.match(idA.worker, /^[01]$/);

    // The kernel picks the worker per connection: reload until B lands on
    // the other one, so every message crosses Redis.
    const b = await openPage({ width: 390, height: 844 }); // phone-sized
    let idB = await identity(b);
    for (let i = 0; i < 20 && idB.worker === idA.worker; i++) {
      await b.reload();
      await connected(b);
      idB = await identity(b);
    }
    assert.notEqual(idB.worker, idA.worker, 'page B never landed on the other worker');

    await join(a, 'lobby');
    await join(b, 'lobby');

    // A room message from A reaches B.
    await a.getByTestId('room-text').fill('hello from A');
    await a.getByTestId('send-room').click();
    const roomLine = b.locator(`[data-testid=log] li[data-scope=room][data-from="${idA.id}"]`);
    await roomLine.filter({ hasText: 'hello from A' }).waitFor({ timeout: 5000 });
    assert.match(await roomLine.textContent(), /#lobby/);

    // B picks A from the member list and sends a direct message.
    await b.getByTestId('refresh-members').click();
    await b.getByTestId(`dm-${idA.id}`).click();
    assert.equal(await b.getByTestId('direct-to').inputValue(), idA.id);
    await b.getByTestId('direct-text').fill('psst, A');
    await b.getByTestId('send-direct').click();
    const directLine = a.locator(`[data-testid=log] li[data-scope=direct][data-from="${idB.id}"]`);
    await directLine.filter({ hasText: 'psst, A' }).waitFor({ timeout: 5000 });
    await b.locator('[data-testid=log] li[data-scope=sent]').filter({ hasText: 'psst, A' }).waitFor();

    await a.screenshot({ path: path.join(shotDir, 'page-a.png'), fullPage: true });
    await b.screenshot({ path: path.join(shotDir, 'page-b.png'), fullPage: true });
  });

  test('the status line follows a rolling restart, and rooms come back', async () => {
    const page = await openPage({ width: 1000, height: 700 });
    const before = await identity(page);
    await join(page, 'restart');
    // Record every status the page shows; the reconnecting one may be brief.
    await page.evaluate(() => {
      const status = document.querySelector('[data-testid=status]');
      window.statusSeen = [];
      new MutationObserver(() => window.statusSeen.push(`${status.dataset.state}: ${status.textContent}`))
        .observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    const oldWorkers = cluster.workerPids();
    process.kill(cluster.master.pid, 'SIGHUP');
    await waitFor(() => {
      const now = cluster.workerPids();
      return now.length === 2 && now.every((pid) => !oldWorkers.includes(pid));
    }, { timeoutMs: 15000, what: 'the rolling restart to finish' });
    await waitFor(async () => (await identity(page)).id !== before.id, { timeoutMs: 10000, what: 'a new id' });
    await connected(page);

    const seen = await page.evaluate(() => window.statusSeen);
    assert.ok(seen.some((s) => s.startsWith('reconnecting: server restarting')), `statuses: ${seen.join(' | ')}`);
    assert.ok(seen.at(-1).startsWith('connected'), `statuses: ${seen.join(' | ')}`);
    await page.locator('[data-testid=log] li.system').filter({ hasText: 'connection lost (1001' }).first().waitFor();
    await page.locator('[data-testid=log] li.system').filter({ hasText: 'rejoined #restart' }).first().waitFor();
    await page.screenshot({ path: path.join(shotDir, 'after-restart.png') });
  });

  test('the member list follows joins and leaves as they happen, without Refresh', async () => {
    const a = await openPage({ width: 1000, height: 700 });
    const idA = await identity(a);
    await join(a, 'live');
    const listA = a.getByTestId('member-list');
    await listA.locator(`li[data-member="${idA.id}"]`).waitFor({ timeout: 5000 });

    const b = await openPage({ width: 1000, height: 700 });
    const idB = await identity(b);
    await join(b, 'live');
    // B's own list is filled from presence, A's from the joined event.
    await b.getByTestId('member-list').locator(`li[data-member="${idA.id}"]`).waitFor({ timeout: 5000 });
    const rowB = listA.locator(`li[data-member="${idB.id}"]`);
    await rowB.waitFor({ timeout: 5000 });

    await b.getByTestId('leave-live').click();
    await rowB.waitFor({ state: 'detached', timeout: 5000 });
    await b.context().close();
    await a.context().close();
  });

  test('a page away for longer than a room keeps shows a gap notice', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    // The page's WebSocket goes through here: while away, every attempt is
    // turned down, as a lost network would.
    let away = false;
    let current = null;
    await page.routeWebSocket(/\/ws/, (ws) => {
      if (away) {
        ws.close();
        return;
      }
      current = ws;
      ws.connectToServer();
    });
    await page.goto(cluster.httpUrl + '/');
    await connected(page);
    await join(page, 'chat:gap');
    const sender = connect(cluster.wsUrl, { WebSocket: await nodeWebSocket() });
    try {
      await sender.room('chat:gap', 'seen');
      await page.locator('[data-testid=log] li[data-scope=room]').filter({ hasText: 'seen' }).waitFor({ timeout: 5000 });
      away = true;
      await current.close({ code: 4999, reason: 'test' });
      for (let n = 1; n <= 5; n++) await sender.room('chat:gap', `missed ${n}`); // the room keeps 3
      away = false;
      const notice = page.locator('[data-testid=log] li.gap[data-room="chat:gap"]');
      await notice.waitFor({ timeout: 15000 });
      assert.match(await notice.textContent(), /no longer kept/);
      await page.screenshot({ path: path.join(shotDir, 'gap-notice.png') });
    } finally {
      await sender.close();
      await context.close();
    }
  });

  test('the page loaded without errors', () => {
    assert.deepEqual(problems, []);
  });
});
