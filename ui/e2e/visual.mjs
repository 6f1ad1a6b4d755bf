// Every page as a household of 200 devices sees it: a hub with 156 simulated rooms of mixed
// firmware (one device a room for most firmware, a sensor and a light for some), a 300-character topic level and a room named with 282
// characters, visited at 1280×900 and at 390×844 (a phone, touch), in light and dark. Each
// page is saved under target/screenshots/visual-<page>-<size>-<scheme>.png, and a check fails
// when any page scrolls sideways.

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
  shotsDir,
  startHub,
  startSim,
} from './lib.mjs';

const shots = shotsDir(join(repo, 'target/screenshots'));
const runner = checker();
const browser = await launchBrowser();

const ROOMS = 156;
const DEVICES = 200;
const room = 'r'.repeat(282);
const long = `garden/${'x'.repeat(300)}/reading`;

try {
  const hub = await startHub([]);
  const base = `http://${hub.http}`;
  startSim(hub.mqtt, ['--rooms', String(ROOMS), '--flavor', 'mixed']);
  publish(hub.mqtt, `home/${room}/light`, 'OFF', true);
  publish(hub.mqtt, long, '12.5', true);

  await runner.check(`${DEVICES} devices arrive`, async () => {
    const end = Date.now() + 60_000;
    let n = 0;
    while (Date.now() < end) {
      const rooms = await (await fetch(`${base}/api/devices`)).json();
      n = rooms.reduce((sum, r) => sum + r.devices.length, 0);
      if (n >= DEVICES) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${n} devices after 60 s`);
  });

  const pages = [
    ['devices', '#/devices', `[data-device="${room}/light"]`],
    ['device-light', `#/device/${room}/light`, '.light-actions'],
    ['topics', '#/topics', '[data-topic="garden"]'],
    ['retained', '#/topics/retained', '.retained-list'],
    ['broker', '#/broker', 'table.stats'],
    ['access', '#/access', '#new-user'],
    ['phones', '#/phones', 'section[aria-labelledby=h-pair] button'],
  ];
  const sizes = [
    ['1280', { viewport: { width: 1280, height: 900 } }],
    ['390', PHONE],
  ];
  for (const [size, options] of sizes) {
    for (const scheme of ['light', 'dark']) {
      await runner.check(`no page scrolls sideways at ${size} px, ${scheme}`, async () => {
        const ctx = await browser.newContext({ ...options, colorScheme: scheme });
        const p = await ctx.newPage();
        const wide = [];
        p.on('pageerror', (e) => wide.push(`page error: ${e.message}`));
        for (const [name, hash, ready] of pages) {
          await p.goto(base + '/' + hash);
          await p.locator(ready).first().waitFor({ timeout: 15_000 });
          try {
            await noHorizontalScroll(p);
          } catch (e) {
            wide.push(`${name}: ${e.message}`);
          }
          if (name === 'topics') {
            // Levels start folded in a large tree: one line per top level, not every topic.
            const tall = await p.evaluate(() => document.documentElement.scrollHeight);
            if (tall > 5 * options.viewport.height) wide.push(`topics: ${tall} px tall`);
          }
          await p.screenshot({
            path: join(shots, `visual-${name}-${size}-${scheme}.png`),
            fullPage: true,
            timeout: 60_000,
          });
        }
        // A folded level opens at a click, with its children drawn and the focus kept on it, and
        // folds again from the keyboard.
        await p.goto(base + '/#/topics');
        const level = p.locator('details[data-topic="garden"] > summary');
        const child = `[data-topic="${long.slice(0, long.lastIndexOf('/'))}"]`;
        await level.click();
        await p.locator(child).waitFor({ timeout: 5000 });
        const focused = await p.evaluate(() => document.activeElement?.closest('details')?.dataset.topic);
        if (focused !== 'garden') wide.push(`focus after opening a level: ${focused}`);
        await p.keyboard.press('Enter');
        await p.locator(child).waitFor({ state: 'detached', timeout: 5000 });
        // The long topic, found by a filter that opens the way to it.
        await p.goto(base + '/#/topics');
        await p.getByLabel('Filter topics').fill('garden/+/reading');
        await p.locator(`[data-topic="${long}"]`).waitFor({ timeout: 15_000 });
        try {
          await noHorizontalScroll(p);
        } catch (e) {
          wide.push(`topics-filtered: ${e.message}`);
        }
        await p.screenshot({ path: join(shots, `visual-topics-filtered-${size}-${scheme}.png`), fullPage: true });
        // A sensor's page: the first temperature sensor the hub lists, whichever firmware it has.
        const rooms = await (await fetch(`${base}/api/devices`)).json();
        const sensor = rooms.flatMap((r) => r.devices).find((d) => d.kind === 'temperature');
        const cut = sensor.id.indexOf('/');
        const href = `${encodeURIComponent(sensor.id.slice(0, cut))}/${encodeURIComponent(sensor.id.slice(cut + 1))}`;
        await p.goto(`${base}/#/device/${href}`);
        await p.locator('.chart canvas').waitFor({ timeout: 15_000 });
        try {
          await noHorizontalScroll(p);
        } catch (e) {
          wide.push(`device-sensor: ${e.message}`);
        }
        await p.screenshot({ path: join(shots, `visual-device-sensor-${size}-${scheme}.png`), fullPage: true });
        await ctx.close();
        assert(wide.length === 0, wide.join('; '));
      });
    }
  }
} finally {
  await browser.close();
  cleanup();
}

console.log(runner.failures === 0 ? 'visual: all passed' : `visual: ${runner.failures} failed`);
process.exit(runner.failures === 0 ? 0 : 1);
