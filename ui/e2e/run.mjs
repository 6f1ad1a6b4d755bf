// End to end in Debian's Chromium (playwright-core; its own browser download cannot work
// here): real `hearthd` processes serving the built page, simulated devices, clicks, and a
// screenshot of every page under target/screenshots/.
//
// HEARTHD and HEARTH_SIM name the binaries (default: target/debug/ of this repository);
// CHROMIUM the browser (default /usr/bin/chromium). Run `npm run build` first.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert,
  checker,
  cleanup,
  launchBrowser,
  noHorizontalScroll,
  PHONE,
  publish,
  repo,
  scrollIntoView,
  shotsDir,
  startHub,
  startSim,
} from './lib.mjs';
import { chartsAndErrors, passwordCopied } from './charts.mjs';
import { namingAndUnits } from './naming.mjs';

const shots = shotsDir(join(repo, 'target/screenshots'));
const runner = checker();
const check = runner.check;
const browser = await launchBrowser();

try {
  const demo = await startHub(['--demo', '--demo-flavor', 'seed', '--demo-rooms', '3', '--public-host', 'hearth.test']);
  const base = `http://${demo.http}`;
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    runner.failures++;
    console.log(`FAIL page error: ${e.message}`);
  });

  await check('devices appear grouped by room', async () => {
    await page.goto(base + '/#/devices');
    // The demo's devices connect one by one; wait for all six before reading the groups.
    await page.waitForFunction(() => document.querySelectorAll('section.room [data-device]').length >= 6, null, {
      timeout: 15_000,
    });
    const rooms = await page.locator('section.room h2').allTextContents();
    assert(JSON.stringify(rooms) === JSON.stringify(['bedroom', 'kitchen', 'livingroom']), `rooms: ${rooms}`);
    for (const room of ['bedroom', 'kitchen', 'livingroom']) {
      const ids = await page
        .locator(`section.room[aria-label="${room}"] [data-device]`)
        .evaluateAll((els) => els.map((e) => e.dataset.device));
      assert(ids.length === 2 && ids.every((i) => i.startsWith(room + '/')), `${room}: ${ids}`);
    }
    const value = await page.locator('[data-device="livingroom/temperature"] .value').textContent();
    assert(/°C$/.test(value ?? ''), `temperature shown as ${value}`);
    const card = page.locator('[data-device="livingroom/temperature"]');
    const badge = await card.locator('.badge.conv').textContent();
    assert(badge === 'MQTT', `convention badge ${badge}`);
    const avail = await card.locator('.avail').textContent();
    assert(avail === 'Online', `availability ${avail}`);
    await page.locator('[data-device="livingroom/temperature"] .spark svg').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(shots, 'devices.png'), fullPage: true });
  });

  await check('switching a light shows pending, then confirmed with a latency, and the light switches', async () => {
    const card = () => page.locator('[data-device="kitchen/light"]');
    const before = await card().locator('.switch').getAttribute('aria-checked');
    await page.evaluate(() => {
      window.__seen = [];
      new MutationObserver(() => {
        const f = document.querySelector('[data-device="kitchen/light"] .fate');
        const o = f?.getAttribute('data-outcome');
        if (o && window.__seen.at(-1) !== o) window.__seen.push(o);
      }).observe(document.getElementById('app'), { subtree: true, childList: true, attributes: true });
    });
    await card().locator('.switch').click();
    await page.locator('[data-device="kitchen/light"] .fate[data-outcome="confirmed"]').waitFor({ timeout: 10_000 });
    const seen = await page.evaluate(() => window.__seen);
    assert(
      seen.includes('pending') &&
        seen.at(-1) === 'confirmed' &&
        seen.indexOf('pending') < seen.lastIndexOf('confirmed'),
      `outcomes seen: ${seen}`,
    );
    const text = await card().locator('.fate').textContent();
    assert(/confirmed in [\d.]+ ms/.test(text ?? ''), `fate text: ${text}`);
    const after = await card().locator('.switch').getAttribute('aria-checked');
    assert(after !== before, `switch still ${after}`);
    const state = await card().locator('.state').textContent();
    assert(state === (after === 'true' ? 'ON' : 'OFF'), `state ${state}, switch ${after}`);
    await page.screenshot({ path: join(shots, 'devices-light-confirmed.png'), fullPage: true });
  });

  await check('a temperature chart has points for the last hour', async () => {
    await page.goto(base + '/#/device/livingroom/temperature');
    await page.locator('.chart canvas').waitFor({ timeout: 10_000 });
    const note = await page.locator('.chart-note').textContent();
    const points = Number((note ?? '').match(/^(\d+) points?,/)?.[1]);
    assert(points > 0, `chart note: ${note}`);
    await page.screenshot({ path: join(shots, 'device-temperature.png'), fullPage: true });
  });

  await check("Export CSV downloads the chart's history in a browser", async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    assert(download.suggestedFilename().endsWith('.csv'), download.suggestedFilename());
    const csv = readFileSync(await download.path(), 'utf8');
    assert(csv.startsWith('time') && csv.trim().split('\n').length > 1, csv.slice(0, 80));
  });

  await check("a light's page shows its command log", async () => {
    await page.goto(base + '/#/device/kitchen/light');
    await page.locator('table.log tbody tr').first().waitFor({ timeout: 10_000 });
    const first = await page.locator('table.log tbody tr').first().getAttribute('data-outcome');
    assert(first === 'confirmed', `latest log entry ${first}`);
    await page.screenshot({ path: join(shots, 'device-light.png'), fullPage: true });
  });

  await check("a light's page shows the state its last reply said, after quick switching", async () => {
    await page.goto(base + '/#/device/kitchen/light');
    await page.locator('table.log tbody tr').first().waitFor({ timeout: 10_000 });
    for (const label of ['Switch ON', 'Switch OFF', 'Switch ON', 'Switch OFF']) {
      await page.getByRole('button', { name: label, exact: true }).click();
      await page.waitForTimeout(150);
    }
    const top = page.locator('table.log tbody tr').first();
    await page.waitForFunction(
      (el) => el?.getAttribute('data-outcome') === 'confirmed' && /^OFF/.test(el.cells[1]?.textContent ?? ''),
      await top.elementHandle(),
      { timeout: 10_000 },
    );
    const state = await page.locator('.light-state').textContent();
    assert(/^State: OFF/.test(state), `the page says ${state} while its log says OFF confirmed`);
    // "seen … ago" moves on by itself.
    const seen = async () => (await page.locator('.ids').textContent()).replace(/.*seen /, '');
    const before = await seen();
    await page.waitForTimeout(7500);
    const after = await seen();
    assert(before !== after, `still "seen ${after}"`);
  });

  await check('topics page lists the raw tree with payloads and a working filter', async () => {
    await page.goto(base + '/#/topics');
    await page.locator('.topic-name').first().waitFor({ timeout: 10_000 });
    const text = await page.locator('main').textContent();
    assert(text.includes('climate') && text.includes('"humidity"'), 'tree or pretty JSON missing');
    await page.screenshot({ path: join(shots, 'topics.png'), fullPage: true });
    await page.fill('input[type=search]', 'kitchen/climate');
    const shown = await page.locator('.topic-name').allTextContents();
    assert(!shown.some((s) => s.startsWith('livingroom')), `filter left ${shown}`);
    // An MQTT filter is matched as the broker would.
    await page.fill('input[type=search]', 'home/+/light');
    await page.locator('[data-topic="home/kitchen/light"]').waitFor({ timeout: 5_000 });
    assert((await page.locator('[data-topic="home/livingroom/light"]').count()) === 1, 'livingroom light missing');
    assert((await page.locator('[data-topic="home/kitchen/climate"]').count()) === 0, 'climate matched home/+/light');
    await page.fill('input[type=search]', '');
  });

  await check("a topic's numeric series chart on the Topics page, and its device is linked", async () => {
    const topic = page.locator('[data-topic="home/kitchen/climate"]');
    await topic.locator('button[data-chart$="humidity"]').click();
    await topic.locator('.series .chart canvas').waitFor({ timeout: 10_000 });
    const note = await topic.locator('.chart-note').textContent();
    assert(Number(note.match(/^(\d+) points/)?.[1]) > 0, `chart note: ${note}`);
    await topic.locator('.series button', { hasText: '24 h' }).click();
    await page
      .locator('[data-topic="home/kitchen/climate"] .series button[aria-pressed="true"]', { hasText: '24 h' })
      .waitFor();
    await page.screenshot({ path: join(shots, 'topics-chart.png'), fullPage: true });
    await topic.locator('a.device-link').click();
    await page.waitForURL(/#\/device\/kitchen\/climate$/);
    await page.locator('.detail-head h1', { hasText: 'climate' }).waitFor({ timeout: 10_000 });
  });

  await check('broker page shows clients, rates and listeners', async () => {
    await page.goto(base + '/#/broker');
    await page.locator('table.stats').first().waitFor({ timeout: 10_000 });
    const text = await page.locator('main').textContent();
    assert(text.includes(demo.mqtt) && text.includes(demo.http), 'listener addresses missing');
    assert(/Clientsconnected\d+/.test(text.replace(/\s+/g, '')), `client count missing: ${text}`);
    await page.screenshot({ path: join(shots, 'broker.png'), fullPage: true });
  });

  await check('access page: make a device credential, edit its rules, test a topic', async () => {
    await page.goto(base + '/#/access');
    await page.locator('#new-user').waitFor({ timeout: 10_000 });
    await page.fill('#new-user', 'kitchen-light');
    await page.selectOption('#new-role', 'device');
    await page.fill('#new-topic', 'home/kitchen/light');
    await page.click('form[aria-label="New credential"] button[type=submit]');
    await passwordCopied(page, base);
    await page.locator('table.creds td strong', { hasText: 'kitchen-light' }).waitFor();
    await page.click('table.creds button:has-text("Rules")');
    const filter = await page.locator('.rule-table input').first().inputValue();
    assert(filter === 'home/kitchen/light/#', `default device rule: ${filter}`);
    await page.click('.rules button:has-text("Add rule")');
    await page.locator('.rule-table input').nth(1).fill('home/+/light/set');
    await page.locator('.rule-table tbody tr').nth(1).locator('select').first().selectOption('allow');
    await page.locator('.rule-table tbody tr').nth(1).locator('select').nth(1).selectOption('publish');
    await page.click('.rules button:has-text("Save rules")');
    await page.locator('.rules .status-line.ok').waitFor({ timeout: 10_000 });
    const count = await page.locator('table.creds tr', { hasText: 'kitchen-light' }).first().textContent();
    assert(count.includes('2 rules'), `credential row after saving: ${count}`);
    await page.selectOption('#test-req', 'publish');
    await page.fill('#test-topic', 'home/hall/light/set');
    await page.click('#h-test ~ form button[type=submit]');
    const verdict = await page.locator('.verdict.ok').textContent({ timeout: 10_000 });
    assert(verdict.includes('rule 2'), `verdict: ${verdict}`);
    await page.fill('#test-topic', 'home/hall/temperature');
    await page.click('#h-test ~ form button[type=submit]');
    const denied = await page.locator('.verdict.bad').textContent({ timeout: 10_000 });
    assert(denied.includes('no rule applies'), `verdict: ${denied}`);
    const text = await page.locator('main').textContent();
    assert(text.includes('SHA-256') && text.includes('mqtts'), 'CA fingerprint and TLS endpoint shown');
    await page.screenshot({ path: join(shots, 'access.png'), fullPage: true });
  });

  await check('phones page: a QR code pairs a fresh browser, which lands on the dashboard signed in', async () => {
    // A browser that is not paired is told how to pair.
    const stranger = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const sp = await stranger.newPage();
    const lanBase = base.replace('127.0.0.1', 'hearth.test');
    await sp.goto(lanBase + '/#/devices');
    const help = await sp.locator('[role=alert]').textContent({ timeout: 10_000 });
    assert(help.includes('not paired'), `unpaired help: ${help}`);
    await sp.screenshot({ path: join(shots, 'phone-not-paired.png'), fullPage: true });
    await stranger.close();

    await page.goto(base + '/#/phones');
    await page.click('#h-pair ~ button.primary, section[aria-labelledby=h-pair] button.primary');
    await page.locator('img.qr').waitFor({ timeout: 10_000 });
    const url = await page.locator('#pair-url').textContent();
    assert(url.startsWith(lanBase + '/pair?code='), `pairing URL ${url}`);
    await page.screenshot({ path: join(shots, 'phones.png'), fullPage: true });

    const phone = await browser.newContext({
      ...PHONE,
      userAgent:
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
    });
    const pp = await phone.newPage();
    await pp.goto(url);
    await pp.locator('[data-device="kitchen/light"]').waitFor({ timeout: 15_000 });
    assert(new URL(pp.url()).pathname === '/', `landed on ${pp.url()}`);
    const cookies = await phone.cookies();
    const token = cookies.find((c) => c.name === 'hearth_token');
    assert(token && token.httpOnly, 'an HttpOnly token cookie');
    await pp.locator('#link[data-state="open"]').waitFor({ timeout: 10_000 });
    await pp.screenshot({ path: join(shots, 'phone-paired.png'), fullPage: true });
    // The same code does not work twice.
    const again = await browser.newContext();
    const ap = await again.newPage();
    await ap.goto(url);
    const failed = await ap.locator('.error').textContent({ timeout: 10_000 });
    assert(failed.includes('unknown, used or expired'), `second use: ${failed}`);
    await again.close();

    await page.locator('section[aria-labelledby=h-phones] td', { hasText: 'Pixel 8' }).waitFor({ timeout: 10_000 });
    page.once('dialog', (d) => d.accept());
    await page.click('section[aria-labelledby=h-phones] button:has-text("Revoke")');
    await page.locator('section[aria-labelledby=h-phones] tr.revoked').waitFor({ timeout: 10_000 });
    await pp.reload();
    const after = await pp.locator('[role=alert]').textContent({ timeout: 10_000 });
    assert(after.includes('not paired'), `revoked phone: ${after}`);
    await phone.close();

    await page.fill('#mqtt-name', "Ann's phone");
    await page.click('section[aria-labelledby=h-mqtt] button[type=submit]');
    await page.locator('section[aria-labelledby=h-mqtt] img.qr').waitFor({ timeout: 10_000 });
    const mq = await page.locator('section[aria-labelledby=h-mqtt]').textContent();
    assert(mq.includes('hearth.test') && mq.includes('ann-s-phone-'), `MQTT settings: ${mq}`);
    await page.screenshot({ path: join(shots, 'phones-mqtt.png'), fullPage: true });
  });

  await check('a 390-px phone screen has no horizontal scroll on any page', async () => {
    const phone = await browser.newContext(PHONE);
    const p = await phone.newPage();
    for (const [hash, ready, shot] of [
      ['#/devices', '[data-device="kitchen/light"]', 'phone-devices.png'],
      ['#/device/livingroom/temperature', '.chart canvas', 'phone-device-temperature.png'],
      ['#/device/kitchen/light', 'table.log', 'phone-device-light.png'],
      ['#/topics', '.topic-name', 'phone-topics.png'],
      ['#/broker', 'table.stats', 'phone-broker.png'],
      ['#/access', 'table.creds', 'phone-access.png'],
      ['#/phones', 'section[aria-labelledby=h-pair] button', 'phone-phones.png'],
    ]) {
      await p.goto(base + '/' + hash);
      await p.locator(ready).first().waitFor({ timeout: 10_000 });
      await noHorizontalScroll(p);
      await p.screenshot({ path: join(shots, shot), fullPage: true });
    }
    await phone.close();
  });

  await check('a 300-character topic level widens no page, at 1280 and 390 px', async () => {
    const room = 'r'.repeat(282);
    const long = `garden/${'x'.repeat(300)}/reading`;
    publish(demo.mqtt, `home/${room}/light`, 'OFF');
    publish(demo.mqtt, long, '12.5');
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 },
    ]) {
      const ctx = await browser.newContext({ viewport });
      const p = await ctx.newPage();
      for (const [hash, ready] of [
        ['#/devices', `[data-device="${room}/light"]`],
        [`#/device/${room}/light`, 'table.log, .light-actions'],
        ['#/topics', `[data-topic="${long}"]`],
        ['#/broker', 'table.stats'],
      ]) {
        await p.goto(base + '/' + hash);
        await p.locator(ready).first().waitFor({ timeout: 10_000 });
        await noHorizontalScroll(p);
      }
      if (viewport.width === 390) {
        // The switch is still where a tap lands.
        await p.goto(base + '/#/devices');
        const sw = p.locator(`[data-device="${room}/light"] .switch`);
        await scrollIntoView(sw);
        const box = await sw.boundingBox();
        assert(box && box.x >= 0 && box.x + box.width <= 390, `switch at ${JSON.stringify(box)}`);
        await p.screenshot({ path: join(shots, 'phone-long-topic.png'), fullPage: true });
      }
      await ctx.close();
    }
  });

  await check("a new sensor's sparkline spans its readings, not one dot in a day", async () => {
    for (let i = 0; i < 6; i++) {
      publish(demo.mqtt, 'home/attic/temperature', String(15 + i));
      await new Promise((r) => setTimeout(r, 1100));
    }
    const p = await browser.newPage();
    await p.goto(base + '/#/devices');
    const spark = p.locator('[data-device="attic/temperature"] .spark[data-points]');
    await spark.waitFor({ timeout: 15_000 });
    const points = Number(await spark.getAttribute('data-points'));
    assert(points >= 5, `the sparkline shows ${points} points for 6 readings`);
    // The chart's note counts what it draws, in good English ("1 point", not "1 points").
    await p.goto(base + '/#/device/attic/temperature');
    const note = p.locator('.chart-note').first();
    await note.waitFor({ timeout: 10_000 });
    await p.waitForFunction((el) => /point/.test(el.textContent ?? ''), await note.elementHandle());
    const text = await note.textContent();
    assert(/^(1 point|([02-9]|\d{2,}) points),/.test(text), `chart note: ${text}`);
    await p.close();
  });

  await check('dark colour scheme follows the system', async () => {
    const dark = await browser.newContext({ viewport: { width: 1200, height: 900 }, colorScheme: 'dark' });
    const p = await dark.newPage();
    await p.goto(base + '/#/devices');
    await p.locator('[data-device="kitchen/light"]').waitFor({ timeout: 10_000 });
    const bg = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    assert(bg === 'rgb(23, 22, 20)', `background ${bg}`);
    await p.screenshot({ path: join(shots, 'devices-dark.png'), fullPage: true });
    await dark.close();
  });

  await check('keyboard: tab to a light switch and toggle it with the keyboard', async () => {
    await page.goto(base + '/#/devices');
    const sw = page.locator('[data-device="livingroom/light"] .switch');
    await sw.waitFor({ timeout: 10_000 });
    const before = await sw.getAttribute('aria-checked');
    await sw.focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-device="livingroom/light"] .fate[data-outcome="confirmed"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      (b) => document.querySelector('[data-device="livingroom/light"] .switch')?.getAttribute('aria-checked') !== b,
      before,
    );
    // Focus stays on the switch through the card's redraws, so Space toggles it back.
    const focused = await page.evaluate(() =>
      document.activeElement?.closest('[data-device]')?.getAttribute('data-device'),
    );
    assert(focused === 'livingroom/light', `focus went to ${focused ?? 'the page'}`);
    await page.keyboard.press('Space');
    await page.waitForFunction(
      (b) => document.querySelector('[data-device="livingroom/light"] .switch')?.getAttribute('aria-checked') === b,
      before,
      { timeout: 10_000 },
    );
    // No frame round the whole page when the router focuses it on load.
    await page.goto(base + '/#/topics');
    await page.goto(base + '/#/devices');
    await sw.waitFor({ timeout: 10_000 });
    const outline = await page.evaluate(() => getComputedStyle(document.querySelector('main')).outlineStyle);
    assert(outline === 'none', `main has outline ${outline}`);
  });

  await chartsAndErrors({ browser, page, base, check, shots, mqtt: demo.mqtt });
  await namingAndUnits({ page, base, check, shots, mqtt: demo.mqtt });

  // A hub with no devices, then lights that never reply, then the hub gone.
  const quiet = await startHub(['--command-timeout', '1s']);
  const qbase = `http://${quiet.http}`;

  await check('an empty home says how to connect a first device', async () => {
    await page.goto(qbase + '/#/devices');
    await page.locator('.empty').waitFor({ timeout: 10_000 });
    const text = await page.locator('.empty').textContent();
    const port = quiet.mqtt.split(':').pop();
    assert(text.includes(`-p ${port}`) && text.includes(quiet.mqtt), `empty state: ${text}`);
    await page.screenshot({ path: join(shots, 'devices-empty.png'), fullPage: true });
  });

  await check('with replies dropped, "no reply" appears', async () => {
    startSim(quiet.mqtt, ['--rooms', '2', '--drop-replies', '1']);
    await page.goto(qbase + '/#/devices');
    const sw = page.locator('[data-device="kitchen/light"] .switch');
    await sw.waitFor({ timeout: 15_000 });
    await sw.click();
    await page.locator('[data-device="kitchen/light"] .fate[data-outcome="timed_out"]').waitFor({ timeout: 10_000 });
    const text = await page.locator('[data-device="kitchen/light"] .fate').textContent();
    assert(text === 'No reply after 1 s', `fate text: ${text}`);
    await page.screenshot({ path: join(shots, 'devices-no-reply.png'), fullPage: true });
  });

  await check('an unreachable hub is said so, and the page retries', async () => {
    quiet.proc.kill('SIGTERM');
    await new Promise((r) => quiet.proc.once('exit', r));
    await page.locator('#link[data-state="retrying"]').waitFor({ timeout: 10_000 });
    // A switch that cannot reach the hub says so on its card, naming the light: no dialog.
    let dialog = null;
    page.once('dialog', (d) => {
      dialog = d.message();
      void d.dismiss();
    });
    await page.locator('[data-device="kitchen/light"] .switch').click();
    const refusal = page.locator('[data-device="kitchen/light"] [role=alert]');
    await refusal.waitFor({ timeout: 10_000 });
    const said = await refusal.textContent();
    assert(/^Could not switch light in kitchen: /.test(said) && /cannot be reached/.test(said), `refusal: ${said}`);
    assert(dialog === null, `a dialog said: ${dialog}`);
    await page.evaluate(() => {
      location.hash = '#/topics';
    });
    await page.locator('.error').waitFor({ timeout: 10_000 });
    const err = await page.locator('.error').textContent();
    assert(err.includes('Cannot reach the hub'), `error: ${err}`);
    await page.screenshot({ path: join(shots, 'hub-unreachable.png'), fullPage: true });
    const link = await page.locator('#link').textContent();
    assert(/offline, retrying/.test(link ?? ''), `link status: ${link}`);
  });
} finally {
  await browser.close();
  cleanup();
}

console.log(runner.failures === 0 ? 'e2e: all passed' : `e2e: ${runner.failures} failed`);
process.exit(runner.failures === 0 ? 0 : 1);
