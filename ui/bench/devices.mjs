// Devices with 200 devices: the hub's answer to every sparkline's history in one batch against
// one request each, then the time from navigation to every card rendered with its sparkline
// drawn, in Chromium at 1280 and 390 px, at full speed and with the CPU slowed 4× (DevTools'
// Emulation.setCPUThrottlingRate), median of 3, with the HTTP requests the load made, the
// longest main-thread task and the page's height. Prints a table; asserts nothing.
//
// The home: `hearth-sim --rooms 100` (the seed's layout: a thermometer and a light per room,
// 200 devices; BENCH_FLAVOR=mixed for the conventions' mix), readings every 2 s, and a day of
// history per sensor (one reading a minute, with its minute and hour rollups) written into the
// hub's own SQLite by the sqlite3 command while the hub runs, since MQTT cannot backdate.
//
// HEARTHD and HEARTH_SIM name the binaries (default target/debug/); BENCH_UI the dashboard
// folder to serve (default ui/dist, so an older build can be measured the same way). Run
// `npm run build` first.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cleanup, dist, launchBrowser, startHub, startSim } from '../e2e/lib.mjs';

const ROOMS = Number(process.env.BENCH_ROOMS ?? 100);
const FLAVOR = process.env.BENCH_FLAVOR ?? 'seed';
const RUNS = 3;
const ui = process.env.BENCH_UI ?? dist;

const hub = await startHub(['--ui-dir', ui]);
const base = `http://${hub.http}`;
startSim(hub.mqtt, ['--rooms', String(ROOMS), '--flavor', FLAVOR]);

const post = async (path, body) =>
  (
    await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  ).json();

// Wait for every device and a recorded reading of every sensor.
let devices = [];
let series = [];
for (let i = 0; ; i++) {
  devices = (await (await fetch(base + '/api/devices')).json()).flatMap((r) => r.devices);
  series = devices
    .filter((d) => d.kind === 'temperature' && d.temperatureTopic)
    .map((d) => ({ topic: d.temperatureTopic, field: d.temperatureField ?? '' }));
  const answers = series.length ? await post('/api/history/batch', { series }) : [];
  const recorded = answers.filter((a) => a && a.history.ts.length > 0).length;
  if (devices.length >= ROOMS * 1.2 && recorded === series.length && i > 4) break;
  if (i > 120) throw new Error(`only ${devices.length} devices, ${recorded}/${series.length} sensors after 60 s`);
  await new Promise((r) => setTimeout(r, 500));
}

// A day of history before the sim started: one reading a minute per series, and its rollups.
const db = join(hub.dir, 'hearth.db');
const cut = Math.floor(Date.now() / 1000) - 120;
execFileSync('sqlite3', [
  db,
  `.timeout 20000
BEGIN;
WITH RECURSIVE m(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM m WHERE k < 1440)
INSERT INTO readings (series_id, ts, value)
  SELECT s.id, (${cut} - k * 60) * 1000, 18 + ((k * 7 + s.id * 13) % 60) / 10.0 FROM series s, m;
INSERT INTO rollup_minute (series_id, bucket, count, sum, min, max)
  SELECT series_id, ts / 60000 * 60 AS b, COUNT(*), SUM(value), MIN(value), MAX(value)
  FROM readings WHERE ts <= ${cut * 1000} GROUP BY series_id, b
  ON CONFLICT (series_id, bucket) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum,
    min = MIN(min, excluded.min), max = MAX(max, excluded.max);
INSERT INTO rollup_hour (series_id, bucket, count, sum, min, max)
  SELECT series_id, ts / 3600000 * 3600 AS b, COUNT(*), SUM(value), MIN(value), MAX(value)
  FROM readings WHERE ts <= ${cut * 1000} GROUP BY series_id, b
  ON CONFLICT (series_id, bucket) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum,
    min = MIN(min, excluded.min), max = MAX(max, excluded.max);
COMMIT;`,
]);

// The hub's side alone: every sparkline's history in one batch, against one request a series
// (what the page did before), the same day in 48 buckets, fitted as the page asks.
const timed = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const day = () => {
  const now = Math.floor(Date.now() / 1000);
  return { from: now - 86_400, to: now + 1, points: 48 };
};
const batchMs = [];
const singleMs = [];
for (let i = 0; i < 5; i++) {
  batchMs.push(await timed(() => post('/api/history/batch', { ...day(), fit: true, series })));
  singleMs.push(
    await timed(async () => {
      for (const s of series) {
        const q = new URLSearchParams({ topic: s.topic, field: s.field, ...day() });
        await (await fetch(`${base}/api/history?${q}`)).json();
      }
    }),
  );
}

const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(width, height, rate) {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__longest = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  let requests = 0;
  let history = 0;
  page.on('request', (r) => {
    requests++;
    if (new URL(r.url()).pathname.startsWith('/api/history')) history++;
  });
  const t0 = Date.now();
  await page.goto(base + '/#/devices');
  // Every card, and a drawn sparkline on every sensor's card (also for a build without the marker).
  await page.waitForFunction(
    ([cards, sparks]) =>
      document.querySelectorAll('[data-device]').length >= cards &&
      document.querySelectorAll('[data-kind="temperature"] .spark :is(svg, canvas)').length >= sparks &&
      document.querySelector('section.devices')?.dataset.sparksReady !== 'false',
    [devices.length, series.length],
    { timeout: 120_000, polling: 50 },
  );
  const ms = Date.now() - t0;
  // Offscreen cards are laid out lazily (content-visibility): the true height needs them all.
  const [longest, tall] = await page.evaluate(() => {
    for (const c of document.querySelectorAll('.card')) c.style.contentVisibility = 'visible';
    return [window.__longest, document.documentElement.scrollHeight];
  });
  await ctx.close();
  return { ms, requests, history, longest, tall };
}

console.log(
  `Hub: ${series.length} histories of a day in one batch ${median(batchMs).toFixed(1)} ms, ` +
    `one request each ${median(singleMs).toFixed(1)} ms (medians of 5)`,
);
console.log(`Devices: ${devices.length} devices, ${series.length} sparklines, flavor ${FLAVOR}, ui ${ui}`);
console.log(
  '| viewport | CPU | ready ms (median of 3) | runs ms | requests | /api/history* | longest task ms | page height px |',
);
console.log('|---|---|---|---|---|---|---|---|');
try {
  for (const [w, h] of [
    [1280, 900],
    [390, 844],
  ]) {
    for (const rate of [1, 4]) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await once(w, h, rate));
      const m = (k) => median(runs.map((r) => r[k]));
      console.log(
        `| ${w}×${h} | ${rate}× | ${m('ms')} | ${runs.map((r) => r.ms).join(', ')} | ${m('requests')} | ${m('history')} | ${Math.round(m('longest'))} | ${m('tall')} |`,
      );
    }
  }
} finally {
  await browser.close();
  cleanup();
}
process.exit(0);
