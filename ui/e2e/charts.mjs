// The history chart's end-to-end checks, run by run.mjs against its demo hub: a zoom fetches
// the zoomed window again at a finer resolution, double-click returns to the chosen range, the
// CSV holds the window shown with plain numbers and the unit; on a phone a finger zooms and a
// double-tap zooms out, and the header leaves the chart above the fold. Also: a page for a
// device the hub does not know says so once instead of retrying, and shows the device when it
// appears; a new password is copied by its button.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, PHONE, publish } from './lib.mjs';

/** The `from`/`to` of every history request the page makes from now on. */
function historyRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/history')
      seen.push([Number(u.searchParams.get('from')), Number(u.searchParams.get('to'))]);
  });
  return seen;
}

async function waitFor(cond, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function chartsAndErrors({ browser, page, base, check, shots, mqtt }) {
  const chart = page.locator('.chart');

  await check(
    'a zoom fetches that window again; double-click goes back to the chosen range; CSV holds the window',
    async () => {
      await page.goto(base + '/#/device/livingroom/temperature');
      await page.locator('.chart canvas').waitFor({ timeout: 10_000 });
      const asked = historyRequests(page);
      await page.getByRole('button', { name: '24 h', exact: true }).click();
      await waitFor(() => asked.length >= 1, 'the 24 h request');
      await waitFor(() => asked.length >= 1, 'the 24 h answer');
      await page.waitForFunction(() => document.querySelector('.chart')?.dataset.from < Date.now() / 1000 - 80_000);
      const dayBuckets = Number(await chart.getAttribute('data-bucket-secs'));
      const over = await page.locator('.chart .u-over').boundingBox();
      // The demo's readings are in the last minutes, at the right end of a day.
      const y = over.y + over.height / 2;
      await page.mouse.move(over.x + over.width - 40, y);
      await page.mouse.down();
      await page.mouse.move(over.x + over.width + 20, y, { steps: 5 });
      await page.mouse.up();
      await waitFor(() => asked.length >= 2, 'a request for the zoomed window');
      const [zf, zt] = asked[1];
      assert(zt - zf < 86_400 / 10, `zoomed request spans ${zt - zf} s`);
      await page.waitForFunction(
        (day) => Number(document.querySelector('.chart')?.dataset.bucketSecs) < day,
        dayBuckets,
      );
      const note = await page.locator('.chart-note').textContent();
      assert(/Zoomed in to .*Double-click the chart to go back to the last 24 h/.test(note), `note: ${note}`);

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export CSV' }).click(),
      ]);
      const csv = readFileSync(await download.path(), 'utf8')
        .trim()
        .split('\n');
      assert(csv[0] === 'time,min (°C),avg (°C),max (°C)', `CSV header: ${csv[0]}`);
      assert(csv.length > 1, 'the CSV has rows');
      const from = Number(await chart.getAttribute('data-from'));
      const to = Number(await chart.getAttribute('data-to'));
      for (const row of csv.slice(1)) {
        const [t, ...vals] = row.split(',');
        const s = Date.parse(t) / 1000;
        assert(s >= from - 1 && s <= to + 1, `row ${row} outside the zoomed window ${from}–${to}`);
        for (const v of vals) assert(v === '' || /^-?\d+(\.\d{1,6})?$/.test(v), `value ${v} in ${row}`);
      }
      assert(/\d{4}-\d\d-\d\dT\d{4}-\d{4}/.test(download.suggestedFilename()), download.suggestedFilename());

      await page.locator('.chart .u-over').dblclick();
      await waitFor(() => asked.length >= 3, 'the chosen range again');
      const [bf, bt] = asked[asked.length - 1];
      assert(Math.abs(bt - bf - 86_400) < 5, `zoom out asked for ${bt - bf} s, not the chosen 24 h`);
      const pressed = await page.locator('.ranges button[aria-pressed=true]').textContent();
      assert(pressed === '24 h', `chosen range shown as ${pressed}`);
    },
  );

  await check('on a phone a finger zooms, a double-tap zooms out, and the chart is above the fold', async () => {
    const phone = await browser.newContext(PHONE);
    const p = await phone.newPage();
    const asked = historyRequests(p);
    await p.goto(base + '/#/device/livingroom/temperature');
    await p.locator('.chart canvas').waitFor({ timeout: 10_000 });
    const head = await p.locator('header.top').boundingBox();
    assert(head.height <= 90, `the header is ${head.height} px tall on a phone`);
    const canvas = await p.locator('.chart canvas').boundingBox();
    assert(
      canvas.y + canvas.height / 2 < 844,
      `the chart's middle is at ${canvas.y + canvas.height / 2} px, below the fold`,
    );
    const note = await p.locator('.chart-note').textContent();
    assert(/Drag sideways across the chart to zoom, double-tap to zoom out/.test(note), `hint on a phone: ${note}`);

    const over = await p.locator('.chart .u-over').boundingBox();
    const cdp = await phone.newCDPSession(p);
    const y = over.y + over.height / 2;
    const touch = (type, x) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
    const before = asked.length;
    // From the middle to past the right edge, where the demo's readings are.
    await touch('touchStart', over.x + over.width * 0.6);
    for (let i = 1; i <= 8; i++) await touch('touchMove', over.x + over.width * (0.6 + i * 0.06));
    await touch('touchEnd');
    await waitFor(() => asked.length > before, 'a request after the finger zoomed');
    const [zf, zt] = asked[asked.length - 1];
    assert(zt - zf < 3600 * 0.6, `a finger's zoom asked for ${zt - zf} s`);
    await p.locator('.chart-note', { hasText: 'Double-tap the chart to go back to the last 1 h' }).waitFor();
    await p.screenshot({ path: join(shots, 'phone-chart-zoomed.png'), fullPage: true });

    const zoomed = asked.length;
    const mid = over.x + over.width / 2;
    await touch('touchStart', mid);
    await touch('touchEnd');
    await touch('touchStart', mid);
    await touch('touchEnd');
    await waitFor(() => asked.length > zoomed, 'a request after the double-tap');
    const [bf, bt] = asked[asked.length - 1];
    assert(Math.abs(bt - bf - 3600) < 5, `double-tap asked for ${bt - bf} s, not the chosen hour`);
    await phone.close();
  });

  await check('an unknown device page says so once, then shows the device when it appears', async () => {
    let asks = 0;
    const count = (r) => new URL(r.url()).pathname === '/api/devices/nowhere/temperature' && asks++;
    page.on('request', count);
    await page.goto(base + '/#/device/nowhere/temperature');
    await page.locator('h1', { hasText: 'No such device' }).waitFor({ timeout: 10_000 });
    await page.waitForTimeout(4000);
    assert(asks === 1, `asked ${asks} times for a device the hub said it does not know`);
    assert((await page.locator('[role=alert]').count()) === 0, 'no "Retrying…" alert');
    publish(mqtt, 'home/nowhere/temperature', '19.5');
    await page.locator('.detail-head h1').waitFor({ timeout: 10_000 });
    await page.locator('.now', { hasText: '19.5' }).waitFor({ timeout: 10_000 });
    page.off('request', count);
  });
}

/** On the Access page after a credential was made: its password is copied by the button. */
export async function passwordCopied(page, base) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const pw = await page.locator('.secret input.password').inputValue({ timeout: 10_000 });
  assert(pw && pw.length >= 16, `password shown once: ${pw}`);
  await page
    .locator('.secret')
    .getByRole('button', { name: /^Copy password/ })
    .click();
  await page.locator('.secret .status-line.ok', { hasText: 'Copied' }).waitFor({ timeout: 5000 });
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert(clip === pw, `clipboard holds ${clip}`);
  return pw;
}
