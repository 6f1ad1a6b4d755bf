// End to end in the real desktop window: Xvfb (when no display is set), `tauri-driver` and
// WebKitWebDriver (Debian webkit2gtk-driver), driven over plain W3C WebDriver. The app is
// the debug build of src-tauri with the page embedded (`--features custom-protocol`), with
// simulated devices on free ports and a temp data folder. Screenshots under
// target/screenshots/desktop-*.png.
//
// Everything runs on a private D-Bus session bus (the single-instance plugin's channel, so
// a second launch and `--quit` reach the first) with a temp XDG_CONFIG_HOME (the login
// entry) and HEARTH_SAVE_DIR (the app saves files there instead of asking in a dialog,
// which no WebDriver reaches). Native windows are found with xwininfo.
//
// HEARTH_DESKTOP names the app binary; TAURI_DRIVER the driver (default: on PATH or
// ~/.cargo/bin).

import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hubArgs } from './hub-args.mjs';
import { hearthd, startHub } from './lib.mjs';

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
const tmp = mkdtempSync(join(tmpdir(), 'hearth-desktop-e2e-'));
const dataDir = join(tmp, 'data');
const configHome = join(tmp, 'config');
const saveDir = join(tmp, 'saved');
mkdirSync(saveDir);
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const env = { ...process.env, XDG_CONFIG_HOME: configHome, HEARTH_SAVE_DIR: saveDir };
{
  // Its stderr only says it activated the accessibility bus for the window.
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(bus);
  env.DBUS_SESSION_BUS_ADDRESS = await new Promise((resolve, reject) => {
    createInterface({ input: bus.stdout }).once('line', resolve);
    bus.on('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
  });
}
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
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
/** The WebDriver session in use: one window at a time (the app is single-instance). */
let s = '';
async function openSession(args) {
  const started = await req('POST', '/session', {
    capabilities: { alwaysMatch: { 'tauri:options': { application: app, args } } },
  });
  s = `/session/${started.sessionId}`;
}

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
const entry = join(configHome, 'autostart', 'hearth.desktop');
const go = (hash) => req('POST', `${s}/execute/sync`, { script: `location.hash = ${JSON.stringify(hash)}`, args: [] });
const click = async (css) => req('POST', `${s}/element/${await find(css)}/click`, {});
const all = (css) => req('POST', `${s}/elements`, { using: 'css selector', value: css });
async function clickX(xpath) {
  const el = (await req('POST', `${s}/element`, { using: 'xpath', value: xpath }))[ELEMENT];
  await req('POST', `${s}/element/${el}/click`, {});
}
/** Polls `fn` until it returns something truthy, which it returns. */
async function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(150);
  }
}
/** The app started directly: its output so far, and a promise of its exit code. */
function launch(args, bin = app) {
  const proc = spawn(bin, args, { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const r = { proc, out: '', err: '' };
  proc.stdout.on('data', (d) => (r.out += d));
  proc.stderr.on('data', (d) => (r.err += d));
  r.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return r;
}
/** The exit code of a launched app, or a failure once `ms` pass without one. */
async function exitCode(r, ms = 20_000) {
  const code = await Promise.race([r.exited, sleep(ms).then(() => 'timeout')]);
  if (code === 'timeout') {
    r.proc.kill('SIGKILL');
    throw new Error(`still running after ${ms} ms; stderr: ${r.err.slice(-600)}`);
  }
  return code;
}
/** An X window's map state by its exact title (IsViewable when shown), or null if none. */
function mapState(name) {
  try {
    const info = execFileSync('xwininfo', ['-name', name], { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    return info.match(/Map State: (\w+)/)?.[1] ?? null;
  } catch {
    return null;
  }
}
const attr = (el, name) => req('GET', `${s}/element/${el}/attribute/${name}`);
const text = (el) => req('GET', `${s}/element/${el}/text`);
/** The text of `css`, found again when the card was drawn anew in between. */
async function textOf(css) {
  for (let i = 0; ; i++) {
    try {
      return await text(await find(css));
    } catch (e) {
      if (i === 5 || !String(e.message).includes('stale element')) throw e;
    }
  }
}
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

await openSession(['--demo', '--demo-flavor', 'seed', '--demo-rooms', '2', ...hubArgs(dataDir)]);
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
    await find('[data-device="kitchen/light"] .fate[data-outcome="confirmed"]', 10_000);
    const t = await textOf('[data-device="kitchen/light"] .fate[data-outcome="confirmed"]');
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

  await check('the Access page makes a credential without signing in, and tests a topic', async () => {
    await go('#/access');
    const user = await find('#new-user');
    await req('POST', `${s}/element/${user}/value`, { text: 'hall-sensor' });
    await req('POST', `${s}/element/${await find('#new-topic')}/value`, { text: 'home/hall/temperature' });
    await click('form[aria-label="New credential"] button[type=submit]');
    const pw = await req('GET', `${s}/element/${await find('.secret input.password', 10_000)}/property/value`);
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
  await check('the first run asks once to start at login; Yes writes the login entry', async () => {
    await go('#/devices');
    const q = await find('.desktop-notice[data-notice="autostart-question"]');
    const t = await text(q);
    if (!t.includes('Start Hearth when you log in, so it keeps recording after a restart?')) throw new Error(t);
    await shot('desktop-autostart-question.png');
    await click('.desktop-notice[data-notice="autostart-question"] button.primary');
    await waitFor(() => existsSync(entry), 5_000, 'the login entry');
    const exec = readFileSync(entry, 'utf8').match(/^Exec=(.*)$/m)?.[1];
    if (exec !== `"${realpathSync(app)}" --hidden`) throw new Error(`Exec=${exec}`);
    await waitFor(async () => (await all('.desktop-notice')).length === 0, 5_000, 'the question to go');
    await req('POST', `${s}/execute/sync`, { script: 'location.reload()', args: [] });
    await find('[data-device="kitchen/light"]');
    await sleep(500);
    if ((await all('.desktop-notice')).length) throw new Error('asked again after the answer');
  });

  await check("the Broker page's switch removes and writes the login entry", async () => {
    await go('#/broker');
    const box = await find('#autostart');
    if ((await req('GET', `${s}/element/${box}/property/checked`)) !== true) throw new Error('switch off');
    await click('#autostart');
    await waitFor(() => !existsSync(entry), 5_000, 'the entry removed');
    await waitFor(
      async () => (await req('GET', `${s}/element/${await find('#autostart')}/property/checked`)) === false,
      5_000,
      'the switch off',
    );
    await click('#autostart');
    await waitFor(() => existsSync(entry), 5_000, 'the entry written again');
    await find('#autostart:checked');
    await shot('desktop-broker-this-pc.png');
  });

  await check("Export CSV saves the chart's history to a file", async () => {
    await go('#/device/livingroom/temperature');
    await find('.chart canvas');
    await clickX("//button[normalize-space()='Export CSV']");
    const file = await waitFor(() => readdirSync(saveDir).find((f) => f.endsWith('.csv')), 10_000, 'a CSV file');
    const csv = readFileSync(join(saveDir, file), 'utf8').trim().split('\n');
    if (!csv[0].startsWith('time') || csv.length < 2) throw new Error(`CSV: ${csv.slice(0, 3).join(' | ')}`);
    const note = await waitFor(
      async () => {
        const t = await text(await find('.chart-note'));
        return t.startsWith('Saved to') && t;
      },
      5_000,
      'the note',
    );
    if (!note.includes(join(saveDir, file))) throw new Error(`note: ${note}`);
  });
} finally {
  await req('DELETE', s).catch(() => {});
}

// Launched directly (no WebDriver), to see its exit code and its native windows.
const own = mkdtempSync(join(tmp, 'own-'));
const first = launch(['--hidden', ...hubArgs(own)]);
await check('started with --hidden (the login entry), it records without showing the window', async () => {
  await waitFor(() => first.out.includes('data folder'), 30_000, 'the hub to start');
  await sleep(1000);
  const w = mapState('Hearth');
  if (w === 'IsViewable') throw new Error('the window is shown');
});

await check('a second launch shows the running window and exits', async () => {
  const second = launch(hubArgs(mkdtempSync(join(tmp, 'second-'))));
  const code = await exitCode(second);
  if (code !== 0) throw new Error(`second launch exited ${code}: ${second.err}`);
  if (second.out.includes('listening on')) throw new Error('the second launch started a hub');
  await waitFor(() => mapState('Hearth') === 'IsViewable', 10_000, 'the window shown');
  if (first.proc.exitCode !== null) throw new Error('the first one ended');
});

await check('--quit from a second launch commits the readings published just before and exits 0', async () => {
  const mqtt = first.out.match(/^mqtt listening on (.+)$/m)[1];
  const i = mqtt.lastIndexOf(':');
  const lines = Array.from({ length: 20 }, (_, n) => String(20 + n / 10)).join('\n');
  execFileSync(
    'mosquitto_pub',
    ['-h', mqtt.slice(0, i), '-p', mqtt.slice(i + 1), '-q', '1', '-t', 'home/quit/temperature', '-l'],
    {
      input: lines + '\n',
    },
  );
  const count = () =>
    Number(
      execFileSync('sqlite3', [
        join(own, 'hearth.db'),
        "SELECT count(*) FROM readings r JOIN series s ON s.id = r.series_id WHERE s.topic = 'home/quit/temperature'",
      ])
        .toString()
        .trim(),
    );
  const before = count();
  const quit = launch(['--quit', ...hubArgs(mkdtempSync(join(tmp, 'quit-')))]);
  const code = await exitCode(quit);
  if (code !== 0) throw new Error(`--quit exited ${code}: ${quit.err}`);
  const firstCode = await exitCode(first, 15_000);
  if (firstCode !== 0) throw new Error(`the app: ${firstCode}`);
  const after = count();
  console.log(`     readings in the file: ${before} of 20 before Quit, ${after} after`);
  if (after !== 20) throw new Error(`${after} of 20 readings stored`);
});

await check('--quit with no window running says so and fails', async () => {
  const alone = launch(['--quit', ...hubArgs(mkdtempSync(join(tmp, 'alone-')))]);
  const code = await exitCode(alone);
  if (code !== 1 || !alone.err.includes('no Hearth window is running')) throw new Error(`${code}: ${alone.err}`);
  if (alone.out.includes('listening on')) throw new Error('it started a hub');
});

// A hub already running on this PC (the service, say) holds the ports the window asks for.
const service = await startHub(['--demo', '--demo-flavor', 'seed', '--demo-rooms', '2']);
try {
  const args = hubArgs(mkdtempSync(join(tmp, 'attach-')));
  args[args.indexOf('--mqtt-listen') + 1] = service.mqtt;
  args[args.indexOf('--http-listen') + 1] = service.http;
  await check('with a Hearth hub on its ports, the window shows that hub and says so', async () => {
    await openSession(args);
    const note = await text(await find('.desktop-notice[data-notice="attached"]'));
    if (!note.includes(`Showing the Hearth service already running on this PC (${service.http})`))
      throw new Error(note);
    await find('[data-device="kitchen/light"] .switch');
    const url = await req('GET', `${s}/url`);
    if (!url.startsWith(`http://${service.http}/`)) throw new Error(`url ${url}`);
    await shot('desktop-attached.png');
  });

  await check("that hub's page gets no IPC into the app", async () => {
    rmSync(entry, { force: true });
    const r = await req('POST', `${s}/execute/async`, {
      script: `const done = arguments[arguments.length - 1];
        const ipc = window.__TAURI_INTERNALS__;
        if (!ipc) return done('no IPC');
        ipc.invoke('set_autostart', { enabled: true }).then(() => done('allowed'), (e) => done('refused: ' + e));`,
      args: [],
    });
    if (r === 'allowed' || existsSync(entry)) throw new Error(`set_autostart from the page: ${r}`);
    console.log(`     ${r}`);
  });

  await check('a light switches through the running hub', async () => {
    await click('[data-device="kitchen/light"] .switch');
    await find('[data-device="kitchen/light"] .fate[data-outcome="confirmed"]', 10_000);
  });

  await check('Export CSV in that window is saved as a download', async () => {
    for (const f of readdirSync(saveDir)) rmSync(join(saveDir, f));
    await go('#/device/livingroom/temperature');
    await find('.chart canvas');
    await clickX("//button[normalize-space()='Export CSV']");
    const file = await waitFor(() => readdirSync(saveDir).find((f) => f.endsWith('.csv')), 10_000, 'a CSV file');
    await waitFor(() => readFileSync(join(saveDir, file), 'utf8').startsWith('time'), 5_000, 'its content');
  });

  await check('Quit closes the window and leaves the running hub alone', async () => {
    const quit = launch(['--quit', ...hubArgs(mkdtempSync(join(tmp, 'quit2-')))]);
    const code = await exitCode(quit);
    if (code !== 0) throw new Error(`--quit exited ${code}: ${quit.err}`);
    await waitFor(
      async () =>
        !(await req('GET', `${s}/url`).then(
          () => true,
          () => false,
        )),
      10_000,
      'the window to close',
    );
    const r = await fetch(`http://${service.http}/api/broker`);
    if (!r.ok || service.proc.exitCode !== null) throw new Error(`the hub: ${r.status}, ${service.proc.exitCode}`);
  });
} finally {
  await req('DELETE', s).catch(() => {});
  service.proc.kill('SIGTERM');
}

await check('ports held by another program: a dialog names the port, the program and the flag to change', async () => {
  const holder = createServer();
  await new Promise((r) => holder.listen(0, '127.0.0.1', r));
  const port = holder.address().port;
  const args = hubArgs(mkdtempSync(join(tmp, 'blocked-')));
  args[args.indexOf('--mqtt-listen') + 1] = `127.0.0.1:${port}`;
  const p = launch(args);
  try {
    const comm = readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim();
    await waitFor(() => p.err.includes('--mqtt-listen'), 20_000, 'the message');
    const want = `Port ${port} (MQTT, 127.0.0.1:${port}) is in use by ${comm} (process ${process.pid}).`;
    if (!p.err.includes(want)) throw new Error(`stderr: ${p.err}`);
    if (!/--mqtt-listen 127\.0\.0\.1:\d+/.test(p.err)) throw new Error(`no other port offered: ${p.err}`);
    await waitFor(() => mapState('Hearth cannot start') === 'IsViewable', 10_000, 'the dialog');
    if (p.proc.exitCode !== null) throw new Error(`exited ${p.proc.exitCode} without waiting for the dialog`);
    if (p.out.includes('listening on')) throw new Error('a hub started');
  } finally {
    p.proc.kill('SIGTERM');
    await p.exited;
    holder.close();
  }
});

await check('a Hearth hub without its dashboard on the ports is named in the dialog, not attached to', async () => {
  // Started outside the repository (as every launch here), so it finds no ui/dist to serve.
  const bare = launch(hubArgs(mkdtempSync(join(tmp, 'bare-'))), hearthd);
  try {
    await waitFor(() => bare.out.includes('data folder'), 30_000, 'the bare hub');
    const http = bare.out.match(/^http listening on (.+)$/m)[1];
    const args = hubArgs(mkdtempSync(join(tmp, 'nodash-')));
    args[args.indexOf('--http-listen') + 1] = http;
    const p = launch(args);
    try {
      await waitFor(() => mapState('Hearth cannot start') === 'IsViewable', 20_000, 'the dialog');
      if (!p.err.includes(`(dashboard and API, ${http}) is in use by a Hearth hub that serves no dashboard`))
        throw new Error(`stderr: ${p.err}`);
    } finally {
      p.proc.kill('SIGTERM');
      await p.exited;
    }
  } finally {
    bare.proc.kill('SIGTERM');
    await bare.exited;
  }
});

await check('a setting it cannot use is said in the same dialog, not only on stderr', async () => {
  const args = hubArgs(mkdtempSync(join(tmp, 'bad-')));
  args[args.indexOf('--mqtt-listen') + 1] = 'no-such-address';
  const p = launch(args);
  try {
    await waitFor(() => mapState('Hearth cannot start') === 'IsViewable', 20_000, 'the dialog');
    if (!p.err.includes('no-such-address')) throw new Error(`stderr: ${p.err}`);
    if (p.proc.exitCode !== null) throw new Error(`exited ${p.proc.exitCode}`);
  } finally {
    p.proc.kill('SIGTERM');
    await p.exited;
  }
});

if (failures) console.log(`tauri-driver said:\n${driverLog}`);
console.log(failures === 0 ? 'desktop e2e: all passed' : `desktop e2e: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
