// End to end in the real desktop window: Xvfb (when no display is set), `tauri-driver` and
// WebKitWebDriver (Debian webkit2gtk-driver), driven over plain W3C WebDriver. The app is
// the debug build of src-tauri with the page embedded (`--features custom-protocol`), with
// simulated devices on free ports and a temp data folder. Screenshots under
// target/screenshots/desktop-*.png.
//
// HEARTH_DESKTOP names the app binary; TAURI_DRIVER the driver (default: on PATH or
// ~/.cargo/bin).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hubArgs } from './hub-args.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const app = process.env.HEARTH_DESKTOP ?? join(repo, 'target/debug/hearth-desktop');
const shots = join(repo, 'target/screenshots');
mkdirSync(shots, { recursive: true });
const driverBin =
  process.env.TAURI_DRIVER ??
  (existsSync(join(homedir(), '.cargo/bin/tauri-driver'))
    ? join(homedir(), '.cargo/bin/tauri-driver')
    : 'tauri-driver');

const children = [];
const dataDir = mkdtempSync(join(tmpdir(), 'hearth-desktop-e2e-'));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const env = { ...process.env };
if (!env.DISPLAY) {
  const display = `:${90 + Math.floor(Math.random() * 9)}`;
  const xvfb = spawn('Xvfb', [display, '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  children.push(xvfb);
  env.DISPLAY = display;
  await sleep(500);
}
const port = 4444 + Math.floor(Math.random() * 500);
// Not inherited: the driver and the app it starts would hold the caller's output open.
const driver = spawn(driverBin, ['--port', String(port), '--native-port', String(port + 1000)], {
  env,
  stdio: ['ignore', 'ignore', 'pipe'],
});
let driverLog = '';
driver.stderr.on('data', (d) => {
  driverLog = (driverLog + d).slice(-4000);
});
children.push(driver);
const wd = `http://127.0.0.1:${port}`;

async function req(method, path, body) {
  const r = await fetch(wd + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(j.value)}`);
  return j.value;
}

for (let i = 0; ; i++) {
  try {
    await fetch(wd + '/status');
    break;
  } catch {
    if (i > 100) throw new Error('tauri-driver did not start');
    await sleep(100);
  }
}

let failures = 0;
const started = await req('POST', '/session', {
  capabilities: {
    alwaysMatch: {
      'tauri:options': {
        application: app,
        args: ['--demo', '--demo-flavor', 'seed', '--demo-rooms', '2', ...hubArgs(dataDir)],
      },
    },
  },
});
const s = `/session/${started.sessionId}`;
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

async function find(css, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await req('POST', `${s}/element`, { using: 'css selector', value: css });
      return v[ELEMENT];
    } catch (e) {
      if (Date.now() > end) {
        await shot('desktop-failure.png').catch(() => {});
        const src = await req('GET', `${s}/source`).catch(() => '');
        throw new Error(`no element ${css} within ${timeoutMs} ms (${e.message}); page: ${String(src).slice(0, 600)}`);
      }
      await sleep(200);
    }
  }
}
const attr = (el, name) => req('GET', `${s}/element/${el}/attribute/${name}`);
const text = (el) => req('GET', `${s}/element/${el}/text`);
async function shot(name) {
  const png = await req('GET', `${s}/screenshot`);
  writeFileSync(join(shots, name), Buffer.from(png, 'base64'));
}
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

try {
  await check('the window starts and shows the simulated devices', async () => {
    await find('[data-device="kitchen/light"] .switch');
    await find('[data-device="livingroom/temperature"]');
    const rooms = await req('POST', `${s}/elements`, { using: 'css selector', value: 'section.room' });
    if (rooms.length !== 2) throw new Error(`${rooms.length} rooms`);
    await shot('desktop-devices.png');
  });

  await check('a light switches and its confirmation appears', async () => {
    const sw = await find('[data-device="kitchen/light"] .switch');
    const before = await attr(sw, 'aria-checked');
    await req('POST', `${s}/element/${sw}/click`, {});
    const fate = await find('[data-device="kitchen/light"] .fate[data-outcome="confirmed"]', 10_000);
    const t = await text(fate);
    if (!/confirmed in [\d.]+ ms/.test(t)) throw new Error(`fate: ${t}`);
    const after = await attr(await find('[data-device="kitchen/light"] .switch'), 'aria-checked');
    if (after === before) throw new Error(`switch still ${after}`);
    await shot('desktop-light-confirmed.png');
  });

  for (const [hash, ready, name] of [
    ['#/device/livingroom/temperature', '.chart canvas', 'desktop-device-temperature.png'],
    ['#/device/kitchen/light', 'table.log tbody tr', 'desktop-device-light.png'],
    ['#/topics', '.topic-name', 'desktop-topics.png'],
    ['#/broker', 'table.stats', 'desktop-broker.png'],
  ]) {
    await check(`page ${hash} renders`, async () => {
      await req('POST', `${s}/execute/sync`, { script: `location.hash = ${JSON.stringify(hash)}`, args: [] });
      await find(ready);
      await shot(name);
    });
  }

  const go = (hash) =>
    req('POST', `${s}/execute/sync`, { script: `location.hash = ${JSON.stringify(hash)}`, args: [] });
  const click = async (css) => req('POST', `${s}/element/${await find(css)}/click`, {});

  await check('the Access page makes a credential without signing in, and tests a topic', async () => {
    await go('#/access');
    const user = await find('#new-user');
    await req('POST', `${s}/element/${user}/value`, { text: 'hall-sensor' });
    await req('POST', `${s}/element/${await find('#new-topic')}/value`, { text: 'home/hall/temperature' });
    await click('form[aria-label="New credential"] button[type=submit]');
    const pw = await text(await find('.secret code.password', 10_000));
    if (pw.length < 16) throw new Error(`password: ${pw}`);
    await find('table.creds tbody tr');
    await req('POST', `${s}/element/${await find('#test-topic')}/value`, { text: 'home/hall/temperature' });
    await click('#h-test ~ form button[type=submit]');
    const verdict = await text(await find('.verdict.ok', 10_000));
    if (!verdict.includes('rule 1')) throw new Error(`verdict: ${verdict}`);
    await shot('desktop-access.png');
  });

  await check('the Phones page shows a pairing QR code', async () => {
    await go('#/phones');
    await click('section[aria-labelledby=h-pair] button.primary');
    await find('img.qr', 10_000);
    const url = await text(await find('#pair-url'));
    if (!/^http:\/\/127\.0\.0\.1:\d+\/pair\?code=[0-9a-f]{32}$/.test(url)) throw new Error(`pairing URL: ${url}`);
    await shot('desktop-phones.png');
  });
} finally {
  await req('DELETE', s).catch(() => {});
}

if (failures) console.log(`tauri-driver said:\n${driverLog}`);
console.log(failures === 0 ? 'desktop e2e: all passed' : `desktop e2e: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
