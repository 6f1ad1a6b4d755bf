// Devices in a home of 200 devices (issue 12, items 2 and 6): search, rooms that fold and stay
// folded in this browser, favourites the whole household sees, every sparkline from one batched
// request, no horizontal scroll at 1280 and 390 px in light and dark with a 300-character topic,
// and a 100 kB payload that stays a one-line preview with no chart offered. Screenshots go to
// target/screenshots/devices-200-*.png.
//
// HEARTHD and HEARTH_SIM name the binaries (default: target/debug/); run `npm run build` first.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  assert,
  checker,
  cleanup,
  launchBrowser,
  noHorizontalScroll,
  publish,
  repo,
  shotsDir,
  startHub,
  startSim,
} from './lib.mjs';

const shots = shotsDir(join(repo, 'target/screenshots'));
const runner = checker();
const check = runner.check;
const browser = await launchBrowser();
const LONG = 'x'.repeat(300);
// Offscreen cards are laid out lazily (content-visibility): the true height needs them all.
const trueHeight = () => {
  for (const c of document.querySelectorAll('.card')) c.style.contentVisibility = 'visible';
  return document.documentElement.scrollHeight;
};

try {
  const hub = await startHub([]);
  const base = `http://${hub.http}`;
  // 100 rooms of the seed's layout: a thermometer and a light each.
  startSim(hub.mqtt, ['--rooms', '100', '--flavor', 'seed']);
  publish(hub.mqtt, `home/${LONG}/temperature`, '19.5');
  const blob = join(tmpdir(), `hearth-blob-${process.pid}`);
  writeFileSync(blob, 'B'.repeat(50) + ' ' + 'lorem ipsum '.repeat(8_400));
  const [host, port] = [hub.mqtt.slice(0, hub.mqtt.lastIndexOf(':')), hub.mqtt.slice(hub.mqtt.lastIndexOf(':') + 1)];
  execFileSync('mosquitto_pub', ['-h', host, '-p', port, '-t', 'home/kitchen/blob', '-f', blob]);
  const total = 202;

  const open = async (ctx) => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => {
      runner.failures++;
      console.log(`FAIL page error: ${e.message}`);
    });
    return page;
  };
  const ready = async (page) => {
    await page.waitForFunction((n) => document.querySelectorAll('[data-device]').length >= n, total, {
      timeout: 30_000,
    });
    await page.locator('section.devices[data-sparks-ready="true"]').waitFor({ timeout: 20_000 });
  };
  const visibleCards = (page) =>
    page.locator('[data-device]').evaluateAll((els) => els.filter((e) => e.offsetParent !== null).length);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await open(ctx);

  await check('every sparkline comes from one batched request', async () => {
    const asked = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/history'))
        asked.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    // The hub needs a moment to hear all 100 rooms and record a reading of each sensor.
    for (let i = 0; ; i++) {
      const rooms = await (await fetch(base + '/api/devices')).json();
      const devices = rooms.flatMap((r) => r.devices);
      const series = devices
        .filter((d) => d.kind === 'temperature')
        .map((d) => ({ topic: d.temperatureTopic, field: d.temperatureField ?? '' }));
      const r = await fetch(base + '/api/history/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ series: series.length ? series : [{ topic: 'none' }] }),
      });
      // A series exists a moment before its first readings are committed: wait for the readings.
      const recorded = (await r.json()).filter((s) => s !== null && s.history.ts.length > 0).length;
      if (devices.length >= total && recorded === series.length) break;
      assert(i < 60, `${devices.length} devices, ${recorded} of ${series.length} sensors recorded after 30 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await page.goto(base + '/#/devices');
    await ready(page);
    const drawn = await page.locator('[data-kind="temperature"] .spark svg').count();
    const diag = await page.evaluate(() => [
      document.querySelectorAll('[data-kind="temperature"]').length,
      document.querySelectorAll('.spark').length,
      document.querySelectorAll('.spark svg').length,
      document.querySelectorAll('.spark[data-points]').length,
    ]);
    assert(drawn >= 100, `${drawn} sparklines drawn ${diag}`);
    assert(asked.length === 1 && asked[0] === 'POST /api/history/batch', `history requests: ${asked.join(', ')}`);
    const height = await page.evaluate(trueHeight);
    console.log(`     Devices with ${total} devices at 1280 px: ${height} px tall`);
  });

  await check('search filters by name, room, id or topic, says how many, and survives live updates', async () => {
    const search = page.getByRole('searchbox', { name: /Search devices/ });
    await search.fill('ROOM41');
    assert((await visibleCards(page)) === 2, `room41: ${await visibleCards(page)} cards`);
    const count = page.locator('.search-count');
    assert((await count.textContent()) === `2 of ${total} devices`, `count: ${await count.textContent()}`);
    await search.fill('room41 light');
    assert((await visibleCards(page)) === 1, 'both words must match');
    // The room's heading counts what the search shows of it, not the whole room.
    const sum = await page.locator('section.room[aria-label="room41"] .room-sum').textContent();
    assert(sum.startsWith('1 of 2 devices'), `room41 under the search: ${sum}`);
    // The sim publishes every 2 s: the card is redrawn under the search without undoing it.
    await search.fill('room41');
    const before = await page.evaluateHandle(() => document.querySelector('[data-device="room41/temperature"]'));
    await page.waitForFunction((el) => !el.isConnected, before, { timeout: 10_000 });
    assert((await visibleCards(page)) === 2, 'still filtered after live updates');
    assert((await search.inputValue()) === 'room41', 'the query stays');
    await search.fill(LONG.slice(0, 40));
    assert((await visibleCards(page)) === 1, 'the long topic is found');
    await search.fill('no such thing');
    assert((await visibleCards(page)) === 0, 'nothing matches');
    assert((await count.textContent()) === `0 of ${total} devices`, `empty result: ${await count.textContent()}`);
    assert(await page.locator('.empty-search').isVisible(), 'the empty result is said on the page, once');
    await search.fill('');
    assert((await visibleCards(page)) === total, 'cleared');
    // "/" focuses the search, but not while typing in it or another field.
    await page.locator('h1').click();
    await page.keyboard.press('/');
    assert(await search.evaluate((el) => el === document.activeElement), '/ focuses the search');
    await page.keyboard.type('a/b');
    assert((await search.inputValue()) === 'a/b', `typed: ${await search.inputValue()}`);
    await page.keyboard.press('Escape');
    assert((await search.inputValue()) === '', 'Escape clears');
  });

  await check('a room folds, still says what it holds, and stays folded after a reload', async () => {
    const room = page.locator('section.room[aria-label="room10"]');
    const fold = room.getByRole('button', { name: 'room10', exact: true });
    assert((await fold.getAttribute('aria-expanded')) === 'true', 'open at first');
    await fold.click();
    assert((await fold.getAttribute('aria-expanded')) === 'false', 'folded');
    assert((await room.locator('[data-device]').evaluateAll((els) => els.filter((e) => e.offsetParent).length)) === 0);
    const sum = await room.locator('.room-sum').textContent();
    assert(/^2 devices · light (on|off)$/.test(sum), `summary: ${sum}`);
    await page.reload();
    await ready(page);
    const again = page
      .locator('section.room[aria-label="room10"]')
      .getByRole('button', { name: 'room10', exact: true });
    assert((await again.getAttribute('aria-expanded')) === 'false', 'still folded after a reload');
    await page.getByRole('searchbox').fill('room10');
    assert(
      /1|2 in folded rooms/.test(await page.locator('.search-count').textContent()),
      'matches in folded rooms said',
    );
    await page.getByRole('searchbox').fill('');
    await page.keyboard.press('Tab');
    await again.focus();
    await page.keyboard.press('Enter');
    assert((await again.getAttribute('aria-expanded')) === 'true', 'opened from the keyboard');
    await page.locator('section.room[aria-label="room10"] [data-kind="temperature"] .spark svg').waitFor();
    await again.click();
  });

  await check('a favourite is pinned first, after a reload and in another browser, live', async () => {
    const star = page.locator('[data-device="room9/light"] button.star');
    assert(
      (await star.getAttribute('aria-label')) === 'Favourite: light in room9',
      await star.getAttribute('aria-label'),
    );
    await star.click();
    const first = page.locator('section.room').first();
    await first.locator('[data-device="room9/light"]').waitFor({ timeout: 10_000 });
    assert((await first.getAttribute('aria-label')) === 'Favourites', 'the favourites come first');
    assert((await first.locator('.star').getAttribute('aria-pressed')) === 'true', 'starred');
    assert(/room9/.test(await first.locator('.made').first().textContent()), 'says its room');
    await page.reload();
    await ready(page);
    await page.locator('section.room').first().locator('[data-device="room9/light"]').waitFor();

    const other = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const phone = await open(other);
    await phone.goto(base + '/#/devices');
    await ready(phone);
    const firstThere = phone.locator('section.room').first();
    assert((await firstThere.getAttribute('aria-label')) === 'Favourites', 'the other browser sees the favourites');
    await firstThere.locator('[data-device="room9/light"]').waitFor();
    const folded = phone.locator('section.room[aria-label="room10"] button.fold');
    assert((await folded.getAttribute('aria-expanded')) === 'true', 'folding is per browser');
    // Starred on the PC while the phone's page is open: the phone pins it live, no reload.
    await page.locator('[data-device="room9/temperature"] button.star').click();
    await phone
      .locator('section.room')
      .first()
      .locator('[data-device="room9/temperature"]')
      .waitFor({ timeout: 10_000 });
    await other.close();
  });

  await check('no horizontal scroll at 1280 and 390 px, light and dark (screenshots)', async () => {
    for (const scheme of ['light', 'dark']) {
      for (const [w, hgt] of [
        [1280, 900],
        [390, 844],
      ]) {
        const c = await browser.newContext({ viewport: { width: w, height: hgt }, colorScheme: scheme });
        const p = await open(c);
        await p.goto(base + '/#/devices');
        await ready(p);
        const [sw, iw] = await p.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
        assert(sw <= iw, `${w} px ${scheme}: content ${sw} px wide`);
        await noHorizontalScroll(p);
        const suffix = scheme === 'dark' ? '-dark' : '';
        await p.screenshot({ path: join(shots, `devices-200-${w}${suffix}.png`), fullPage: true });
        if (scheme === 'light') {
          const height = await p.evaluate(trueHeight);
          console.log(`     ${w} px: ${height} px tall`);
        }
        await c.close();
      }
    }
  });

  await check('a 100 kB payload is a one-line preview, not the first card, with no chart offered', async () => {
    const card = page.locator('[data-device="kitchen/blob"]');
    await card.waitFor();
    const line = await card.locator('.payload-line').textContent();
    assert(line.length <= 60 && !line.includes('\n'), `preview of ${line.length} characters`);
    const box = await card.boundingBox();
    assert(box.height < 200, `card ${box.height} px tall`);
    const firstCard = await page.locator('[data-device]').first().getAttribute('data-device');
    assert(firstCard !== 'kitchen/blob', 'not the first card');
    await card.locator('a.name').click();
    await page.locator('.detail-head h1').waitFor();
    assert((await page.getByRole('button', { name: 'Export CSV' }).count()) === 0, 'no CSV');
    assert((await page.locator('.ranges').count()) === 0, 'no ranges');
    await noHorizontalScroll(page);
  });
} finally {
  await browser.close();
  cleanup();
}

console.log(runner.failures === 0 ? 'e2e:many: all passed' : `e2e:many: ${runner.failures} failed`);
process.exit(runner.failures === 0 ? 0 : 1);
