// The device model's end-to-end checks, run by run.mjs against its demo hub: renaming and
// moving a device (kept across a reload, refused inline when empty, reset), the household's
// °C/°F choice reaching cards and charts, topics no device claims, and an offline light.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, parseTemperature, publish } from './lib.mjs';

export async function namingAndUnits({ page, base, check, shots, mqtt }) {
  const card = (id) => page.locator(`[data-device="${id}"]`);

  await check('rename a device and move it to a new room; it stays so after a reload', async () => {
    await page.goto(base + '/#/device/bedroom/temperature');
    await page.locator('#device-name').waitFor({ timeout: 10_000 });
    const rooms = await page.locator('#device-rooms option').evaluateAll((os) => os.map((o) => o.value));
    assert(rooms.includes('kitchen') && rooms.includes('livingroom'), `room suggestions: ${rooms}`);
    await page.fill('#device-name', 'Bed sensor');
    await page.fill('#device-room', 'Attic');
    await page.click('form.naming button[type=submit]');
    await page.locator('form.naming .status-line.ok', { hasText: 'Saved' }).waitFor({ timeout: 10_000 });
    await page.locator('.detail-head h1', { hasText: 'Bed sensor' }).waitFor();
    await page.screenshot({ path: join(shots, 'device-renamed.png'), fullPage: true });
    await page.goto(base + '/#/devices');
    const moved = page.locator('section.room[aria-label="Attic"] [data-device="bedroom/temperature"]');
    await moved.waitFor({ timeout: 10_000 });
    assert((await moved.locator('.name').textContent()) === 'Bed sensor', 'new name on the card');
    await page.reload();
    await moved.waitFor({ timeout: 10_000 });
    assert((await moved.locator('.name').textContent()) === 'Bed sensor', 'new name after a reload');
    const bedroom = await page.locator('section.room[aria-label="bedroom"] [data-device]').count();
    assert(bedroom === 1, `bedroom keeps ${bedroom} devices`);
    await page.screenshot({ path: join(shots, 'devices-renamed.png'), fullPage: true });

    await moved.locator('.name').click();
    await page.locator('#device-name').waitFor({ timeout: 10_000 });
    await page.fill('#device-name', '');
    await page.click('form.naming button[type=submit]');
    const err = await page.locator('form.naming .status-line.bad').textContent({ timeout: 10_000 });
    assert(err.length > 0 && (await page.locator('#device-name[aria-invalid="true"]').count()) === 1, `error: ${err}`);
    await page.fill('#device-name', 'Bed sensor');
    await page.check('#device-no-room');
    await page.click('form.naming button[type=submit]');
    await page.locator('form.naming .status-line.ok', { hasText: 'Saved' }).waitFor({ timeout: 10_000 });
    await page.goto(base + '/#/devices');
    await page
      .locator('section.room[aria-label="Unassigned"] [data-device="bedroom/temperature"]')
      .waitFor({ timeout: 10_000 });
    const last = await page.locator('section.room h2').last().textContent();
    assert(last === 'Unassigned', `last group ${last}`);

    await page.goto(base + '/#/device/bedroom/temperature');
    await page.click('form.naming button:has-text("Reset")');
    await page.locator('form.naming .status-line.ok', { hasText: 'own name' }).waitFor({ timeout: 10_000 });
    assert((await page.inputValue('#device-name')) === 'temperature', 'own name back');
    assert((await page.inputValue('#device-room')) === 'bedroom', 'own room back');
  });

  await check('the °C/°F switch changes the temperatures shown, and is kept', async () => {
    await page.goto(base + '/#/devices');
    const value = card('livingroom/temperature').locator('.value');
    await value.waitFor({ timeout: 10_000 });
    const [c, cu] = parseTemperature(await value.textContent());
    assert(cu === '°C', `shown in ${cu}`);
    await page.click('.unit-switch button[data-unit="°F"]');
    await page.locator('.unit-switch button[data-unit="°F"][aria-pressed="true"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      () => /°F$/.test(document.querySelector('[data-device="livingroom/temperature"] .value')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    const [f] = parseTemperature(await value.textContent());
    // The sensor may have reported again meanwhile: a few tenths either way.
    assert(Math.abs(f - (c * 9) / 5 - 32) < 3, `${c} °C shown as ${f} °F`);
    const climate = await card('kitchen/climate').locator('.value').textContent();
    assert(/°F$/.test(climate), `kitchen climate ${climate}`);
    await page.screenshot({ path: join(shots, 'devices-fahrenheit.png'), fullPage: true });
    await page.reload();
    await page.waitForFunction(
      () => /°F$/.test(document.querySelector('[data-device="livingroom/temperature"] .value')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    await page.goto(base + '/#/device/livingroom/temperature');
    await page.locator('.chart canvas').waitFor({ timeout: 10_000 });
    const note = await page.locator('.chart-note').textContent();
    assert(note.includes('in °F'), `chart note ${note}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export CSV")')]);
    const csv = readFileSync(await download.path(), 'utf8');
    const [head, row] = csv.split('\n');
    assert(head === 'time,min (°F),avg (°F),max (°F)', `CSV header ${head}`);
    assert(Number(row.split(',')[2]) > 50, `CSV row in °F: ${row}`);
    await page.goto(base + '/#/devices');
    await page.click('.unit-switch button[data-unit="°C"]');
    await page.locator('.unit-switch button[data-unit="°C"][aria-pressed="true"]').waitFor({ timeout: 10_000 });
  });

  await check('topics no device claims are counted, with a link to Topics', async () => {
    await page.goto(base + '/#/devices');
    await card('kitchen/light').waitFor({ timeout: 10_000 });
    publish(mqtt, 'garden/weather/raw', 'sunny');
    publish(mqtt, 'garden/weather/wind', '12');
    const link = page.locator('.unclaimed a[href="#/topics/unclaimed"]');
    await link.waitFor({ timeout: 10_000 });
    const text = await page.locator('.unclaimed').textContent();
    assert(/^\d+ topics? (is|are) not part of any device — see them in Topics$/.test(text), `unclaimed: ${text}`);
    await link.click();
    await page.locator('[data-topic="garden/weather/wind"] button[data-chart]').waitFor({ timeout: 10_000 });
    // The link shows only topics of no device: the kitchen light's are hidden until unticked.
    assert(await page.locator('#only-unclaimed').isChecked(), 'the unclaimed filter is on');
    assert((await page.locator('[data-topic="home/kitchen/light"]').count()) === 0, 'a device topic is shown');
    await page.locator('#only-unclaimed').uncheck();
    await page.locator('[data-topic="home/kitchen/light"]').waitFor({ timeout: 5_000 });
  });

  await check("an offline light's switch is disabled, and says which message said so", async () => {
    publish(mqtt, 'tele/e2e_plug/LWT', 'Online', true);
    publish(mqtt, 'stat/e2e_plug/POWER', 'OFF');
    await page.goto(base + '/#/devices');
    const plug = card('tasmota/e2e_plug');
    await plug.locator('.switch:not([disabled])').waitFor({ timeout: 10_000 });
    assert((await plug.locator('.badge.conv').textContent()) === 'Tasmota', 'Tasmota badge');
    publish(mqtt, 'tele/e2e_plug/LWT', 'Offline', true);
    await plug.locator('.switch[disabled]').waitFor({ timeout: 10_000 });
    const avail = await plug.locator('.avail').textContent();
    assert(/^Offline since /.test(avail), `availability ${avail}`);
    const why = await plug.locator('.refusal').textContent();
    assert(why.includes('tele/e2e_plug/LWT') && why.includes('Offline'), `reason ${why}`);
    await plug.screenshot({ path: join(shots, 'devices-offline-light.png') });
  });
}
