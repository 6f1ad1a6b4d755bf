// End to end against a mixed home: `hearthd --demo --demo-rooms 7` simulates room i with the
// conventions in order seed (home), tasmota, z2m, shelly, esphome, homie, ha. For each, a light
// must be listed with its convention (in the API and as the card's badge), be Online, switch
// from the page to "confirmed", and every temperature on the page must carry its unit.
// Screenshots: ui/e2e/screenshots/conventions-<convention>.png at 1280×800, and
// conventions-phone.png of the whole page at 390 px.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assert,
  checker,
  cleanup,
  launchBrowser,
  noHorizontalScroll,
  PHONE,
  scrollIntoView,
  shotsDir,
  startHub,
} from './lib.mjs';

const shots = shotsDir(fileURLToPath(new URL('./screenshots', import.meta.url)));
const BADGES = {
  home: 'MQTT',
  tasmota: 'Tasmota',
  z2m: 'Zigbee2MQTT',
  shelly: 'Shelly',
  esphome: 'ESPHome',
  homie: 'Homie',
  ha: 'Home Assistant',
};
const conventions = Object.keys(BADGES);
const waitSecs = Number(process.env.CONVENTIONS_WAIT_SECS ?? 60);

const runner = checker();
const { check } = runner;
const browser = await launchBrowser();

/** The first light of each convention the hub lists, waiting for the simulated devices to appear. */
async function lightsByConvention(base) {
  const end = Date.now() + waitSecs * 1000;
  for (;;) {
    const rooms = await (await fetch(base + '/api/devices')).json();
    const found = {};
    for (const d of rooms.flatMap((r) => r.devices))
      if (d.kind === 'light' && !found[d.convention]) found[d.convention] = d;
    const missing = conventions.filter((c) => !found[c]);
    if (missing.length === 0 || Date.now() > end) return { found, missing };
    await new Promise((r) => setTimeout(r, 500));
  }
}

try {
  const hub = await startHub(['--demo', '--demo-rooms', '7']);
  const base = `http://${hub.http}`;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    runner.failures++;
    console.log(`FAIL page error: ${e.message}`);
  });
  let lights = {};

  await check('the API lists a light for each of the 7 conventions', async () => {
    // The lights found are tested below even when some convention is missing.
    const { found, missing } = await lightsByConvention(base);
    lights = found;
    assert(missing.length === 0, `no light after ${waitSecs} s for: ${missing.join(', ')}`);
  });

  await check('each light shows its convention badge and Online, and temperatures carry a unit', async () => {
    await page.goto(base + '/#/devices');
    for (const [conv, d] of Object.entries(lights)) {
      const card = page.locator(`[data-device="${d.id}"]`);
      await card.waitFor({ timeout: 15_000 });
      const badge = await card.locator('.badge.conv').textContent();
      assert(badge === BADGES[conv], `${d.id}: badge ${badge}, expected ${BADGES[conv]}`);
      await card.locator('.avail[data-state="online"]').waitFor({ timeout: 15_000 });
      assert((await card.locator('.avail').textContent()) === 'Online', `${d.id} is not shown Online`);
    }
    const temps = await page
      .locator('[data-kind="temperature"] .value, .readings [data-quantity="temperature"] dd')
      .allTextContents();
    assert(temps.length > 0, 'no temperature shown');
    const bare = temps.filter((t) => !/^-?\d+(\.\d+)? °[CF]$/.test(t) && t !== '—');
    assert(bare.length === 0, `temperatures without a unit: ${bare}`);
  });

  for (const conv of conventions) {
    await check(`${BADGES[conv]}: a light switches from the page and is confirmed`, async () => {
      const d = lights[conv];
      assert(d, `no ${conv} light to switch`);
      const card = page.locator(`[data-device="${d.id}"]`);
      const sw = card.locator('.switch');
      await scrollIntoView(sw);
      const before = await sw.getAttribute('aria-checked');
      await sw.click();
      await card.locator('.fate[data-outcome="confirmed"]').waitFor({ timeout: 15_000 });
      await page.waitForFunction(
        ([id, b]) =>
          [...document.querySelectorAll('[data-device]')]
            .find((e) => e.dataset.device === id)
            ?.querySelector('.switch')
            ?.getAttribute('aria-checked') !== b,
        [d.id, before],
        { timeout: 10_000 },
      );
      await scrollIntoView(card);
      await page.screenshot({ path: join(shots, `conventions-${conv}.png`) });
    });
  }

  await check('the mixed home at 390 px: no horizontal scroll', async () => {
    const phone = await browser.newContext(PHONE);
    const p = await phone.newPage();
    await p.goto(base + '/#/devices');
    await p.locator('[data-kind="light"]').first().waitFor({ timeout: 15_000 });
    await p.waitForTimeout(1000);
    await noHorizontalScroll(p);
    await p.screenshot({ path: join(shots, 'conventions-phone.png'), fullPage: true });
    await phone.close();
  });
} finally {
  await browser.close();
  cleanup();
}

console.log(runner.failures === 0 ? 'conventions e2e: all passed' : `conventions e2e: ${runner.failures} failed`);
process.exit(runner.failures === 0 ? 0 : 1);
