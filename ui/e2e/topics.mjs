// Topics end to end in Chromium, at 1280 and 390 px: retained and QoS marks that say what the
// broker holds, a message arriving live without a reload, a topic's last messages, publishing
// from the form (also from a paired phone), clearing a retained message after confirming, and
// the retained view flagging a retained `…/set` command. Screenshots go to
// target/screenshots/ (topics-*.png, retained-*.png).

import { execFileSync } from 'node:child_process';
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
} from './lib.mjs';

const shots = shotsDir(join(repo, 'target/screenshots'));
const runner = checker();
const check = runner.check;
const browser = await launchBrowser();

/** What the broker replays to a new subscriber of `topic` (nothing when it keeps nothing). */
function brokerRetains(mqtt, topic) {
  const i = mqtt.lastIndexOf(':');
  const args = ['-h', mqtt.slice(0, i), '-p', mqtt.slice(i + 1), '-t', topic, '--retained-only', '-C', '1', '-W', '1'];
  try {
    return execFileSync('mosquitto_sub', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (e) {
    // -W ends mosquitto_sub with status 27 when nothing came.
    return (e.stdout ?? '').trim();
  }
}

const leaf = (page, topic) => page.locator(`[data-topic="${topic}"]`);
const select = (page, topic) => leaf(page, topic).locator('.topic-select').first();

try {
  const hub = await startHub(['--public-host', 'hearth.test']);
  const base = `http://${hub.http}`;
  publish(hub.mqtt, 'home/hall/light/set', 'ON', true);
  publish(hub.mqtt, 'home/hall/light', 'OFF', true);
  publish(hub.mqtt, 'home/hall/temperature', '21.5');

  for (const [w, hgt, tag] of [
    [1280, 900, 'desktop'],
    [390, 844, 'phone'],
  ]) {
    const ctx = await browser.newContext({ viewport: { width: w, height: hgt } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => {
      runner.failures++;
      console.log(`FAIL page error (${tag}): ${e.message}`);
    });

    await check(`${tag}: a retained topic is marked, a plain one is not`, async () => {
      await page.goto(base + '/#/topics');
      await leaf(page, 'home/hall/light').waitFor({ timeout: 10_000 });
      const mark = (t) =>
        leaf(page, t).locator(':scope > summary [data-mark="retained"], :scope > .topic-name [data-mark="retained"]');
      assert((await mark('home/hall/light').count()) === 1, 'home/hall/light has no retained mark');
      assert((await mark('home/hall/temperature').count()) === 0, 'a plain message is marked retained');
      await noHorizontalScroll(page);
      await page.screenshot({ path: join(shots, `topics-${tag}.png`), fullPage: true });
    });

    await check(`${tag}: a message appears live, and a topic's last messages show`, async () => {
      const value = tag === 'desktop' ? '22.5' : '23.5';
      publish(hub.mqtt, 'home/hall/temperature', value);
      await page.waitForFunction(
        (v) => document.querySelector('[data-topic="home/hall/temperature"] pre.payload')?.textContent === v,
        value,
        { timeout: 5_000 },
      );
      await select(page, 'home/hall/temperature').click();
      const items = page.locator('ol.messages li');
      await page.waitForFunction(() => document.querySelectorAll('ol.messages li').length >= 2, null, {
        timeout: 5_000,
      });
      const first = await items.first().locator('pre').textContent();
      assert(first === value, `newest message shown first: ${first}`);
      publish(hub.mqtt, 'home/hall/temperature', '30');
      await page.waitForFunction(() => document.querySelector('ol.messages li pre')?.textContent === '30', null, {
        timeout: 5_000,
      });
      const head = await items.first().locator('.message-head').textContent();
      assert(/\d\d:\d\d:\d\d\.\d{3}/.test(head) && head.includes('QoS 0'), `message head: ${head}`);
      assert((await page.locator('#pub-topic').inputValue()) === 'home/hall/temperature', 'form not prefilled');
    });

    await check(`${tag}: publish from the form, retained, and see it arrive`, async () => {
      const topic = `page/${tag}/note`;
      // Folded on a phone.
      const form = page.locator('details.publish');
      assert((await form.getAttribute('open')) === (tag === 'desktop' ? '' : null), 'publish form open on a phone');
      if (tag === 'phone') await form.locator('summary').click();
      await page.fill('#pub-topic', topic);
      await page.fill('#pub-payload', `hello from ${tag}`);
      await page.selectOption('#pub-qos', '1');
      await page.check('#pub-retain');
      await page.click('.publish-form button[type=submit]');
      await page.locator('.publish-form .status-line.ok').waitFor({ timeout: 5_000 });
      await leaf(page, topic).waitFor({ timeout: 5_000 });
      await leaf(page, topic).locator('[data-mark="retained"]').waitFor({ timeout: 5_000 });
      assert((await leaf(page, topic).locator('[data-mark="qos"]').textContent()) === 'QoS 1', 'QoS mark missing');
      assert(brokerRetains(hub.mqtt, topic) === `hello from ${tag}`, 'the broker does not keep it');
      await page.fill('#pub-topic', 'home/+/x');
      await page.click('.publish-form button[type=submit]');
      const err = await page.locator('.publish-form .status-line.bad').textContent({ timeout: 5_000 });
      assert(err.includes('wildcard'), `wildcard refused with: ${err}`);
      await noHorizontalScroll(page);
      await page.screenshot({ path: join(shots, `topics-selected-${tag}.png`), fullPage: true });
    });

    await check(`${tag}: clear a retained message after confirming; the mark goes live`, async () => {
      const topic = `page/${tag}/note`;
      await select(page, topic).click();
      await page.locator('.topic-panel .marks [data-mark="retained"]').waitFor({ timeout: 5_000 });
      await page.click('.topic-panel .confirm button.danger');
      const q = await page.locator('.topic-panel .confirm [role=alert]').textContent();
      assert(q.includes(topic), `question: ${q}`);
      // Cancel first: nothing happens.
      await page.click('.topic-panel .confirm button:text("Cancel")');
      assert(brokerRetains(hub.mqtt, topic) !== '', 'cancel cleared it');
      await page.click('.topic-panel .confirm button.danger');
      await page.click('.topic-panel .confirm button:text-is("Clear")');
      await leaf(page, topic).locator('[data-mark="retained"]').waitFor({ state: 'detached', timeout: 5_000 });
      await page.locator('.topic-panel .marks', { hasText: 'not retained' }).waitFor({ timeout: 5_000 });
      assert(brokerRetains(hub.mqtt, topic) === '', 'the broker still keeps it');
    });

    await check(`${tag}: the retained view flags a retained …/set command, with a clear button`, async () => {
      await page.click('.subnav a[href="#/topics/retained"]');
      const item = page.locator('.retained-item[data-topic="home/hall/light/set"]');
      await item.waitFor({ timeout: 5_000 });
      const trap = await item.locator('.trap[data-trap="retained_command"]').textContent();
      assert(/every connect/.test(trap), `trap: ${trap}`);
      const plain = page.locator('.retained-item[data-topic="home/hall/light"]');
      assert((await plain.locator('.trap').count()) === 0, 'a status topic flagged');
      const summary = await page.locator('.retained-summary').textContent();
      assert(/retained messages?, .* in all · 1 flagged/.test(summary), `summary: ${summary}`);
      const order = await page.locator('.retained-item').evaluateAll((els) => els.map((e) => e.dataset.topic));
      assert(order[0] === 'home/hall/light/set', `flagged first: ${order}`);
      await noHorizontalScroll(page);
      await page.screenshot({ path: join(shots, `retained-${tag}.png`), fullPage: true });
    });
    await ctx.close();
  }

  await check('the retained view clears the trap, live', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    const page = await ctx.newPage();
    await page.goto(base + '/#/topics/retained');
    const item = page.locator('.retained-item[data-topic="home/hall/light/set"]');
    await item.waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(shots, 'retained-dark.png'), fullPage: true });
    // A keyboard user on a Clear button keeps it while other retained states change.
    await item.locator('.confirm button.danger').focus();
    for (const v of ['19.5', '19.6', '19.7']) {
      publish(hub.mqtt, 'home/hall/humidity', v, true);
      await page.waitForTimeout(700);
    }
    const focused = await page.evaluate(() => document.activeElement?.closest('li[data-topic]')?.dataset.topic);
    assert(focused === 'home/hall/light/set', `focus went to ${focused}`);
    await item.locator('.confirm button.danger').click();
    await item.locator('.confirm button:text-is("Clear")').click();
    await item.waitFor({ state: 'detached', timeout: 5_000 });
    assert(brokerRetains(hub.mqtt, 'home/hall/light/set') === '', 'the broker still keeps the command');
    await ctx.close();
  });

  await check('a paired phone publishes from Topics', async () => {
    const r = await fetch(base + '/api/phones/pairing', { method: 'POST' });
    const { url } = await r.json();
    const phone = await browser.newContext(PHONE);
    const pp = await phone.newPage();
    await pp.goto(url);
    await pp.locator('#link[data-state="open"]').waitFor({ timeout: 10_000 });
    await pp.goto(url.replace(/\/pair\?.*$/, '/#/topics'));
    await leaf(pp, 'home/hall/light').waitFor({ timeout: 10_000 });
    await pp.locator('details.publish summary').click();
    await pp.fill('#pub-topic', 'phone/says');
    await pp.fill('#pub-payload', 'hi');
    await pp.click('.publish-form button[type=submit]');
    await pp.locator('.publish-form .status-line.ok').waitFor({ timeout: 5_000 });
    await leaf(pp, 'phone/says').waitFor({ timeout: 5_000 });
    await noHorizontalScroll(pp);
    await pp.screenshot({ path: join(shots, 'topics-paired-phone.png'), fullPage: true });
    await phone.close();
  });
} finally {
  await browser.close();
  cleanup();
}

console.log(runner.failures === 0 ? 'e2e topics: all passed' : `e2e topics: ${runner.failures} failed`);
process.exit(runner.failures === 0 ? 0 : 1);
