// What the Chromium end-to-end scripts share: starting hubs on free ports with their output
// parsed, the browser (Debian's Chromium through playwright-core), MQTT publishes through
// mosquitto_pub, and a tiny check runner that keeps going after a failure.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { hubArgs } from './hub-args.mjs';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
export const dist = fileURLToPath(new URL('../dist', import.meta.url));
export const hearthd = process.env.HEARTHD ?? join(repo, 'target/debug/hearthd');
export const simBin = process.env.HEARTH_SIM ?? join(repo, 'target/debug/hearth-sim');

const children = [];
const dirs = [];
export function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanup);

export function shotsDir(path) {
  mkdirSync(path, { recursive: true });
  return path;
}

/** Starts hearthd on free loopback ports; resolves with its addresses once it is recording. */
export function startHub(extra) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-e2e-'));
  dirs.push(dir);
  const args = [...hubArgs(dir), ...(extra.includes('--ui-dir') ? [] : ['--ui-dir', dist]), ...extra];
  const proc = spawn(hearthd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    const found = { proc, dir };
    const timer = setTimeout(() => reject(new Error('hearthd did not start within 30 s')), 30_000);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = line.match(/^(mqtt|http) listening on (.+)$/);
      if (m) found[m[1]] = m[2];
      if (line.startsWith('data folder')) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    proc.on('exit', (code) => reject(new Error(`hearthd exited with ${code}`)));
  });
}

export function startSim(mqtt, extra) {
  const proc = spawn(simBin, ['--broker', `mqtt://${mqtt}`, '--interval', '2s', ...extra], { stdio: 'ignore' });
  children.push(proc);
  return proc;
}

/** One MQTT message, as a device would send it (local clients need no credentials). */
export function publish(mqtt, topic, payload, retain = false) {
  const i = mqtt.lastIndexOf(':');
  const args = ['-h', mqtt.slice(0, i), '-p', mqtt.slice(i + 1), '-t', topic, '-m', payload];
  execFileSync('mosquitto_pub', retain ? [...args, '-r'] : args, { stdio: 'inherit' });
}

export function checker() {
  const state = { failures: 0 };
  state.check = async (name, fn) => {
    const t = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - t} ms)`);
    } catch (e) {
      state.failures++;
      console.log(`FAIL ${name}: ${e.stack ?? e}`);
    }
  };
  return state;
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export async function noHorizontalScroll(page) {
  const [sw, cw] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  assert(sw <= cw, `horizontal scroll: content ${sw} px in a ${cw} px viewport`);
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The pairing URL names the hub as a phone on the LAN would reach it; here that name
      // leads to the test's loopback hub, and the hub treats it like any LAN address.
      '--host-resolver-rules=MAP hearth.test 127.0.0.1',
    ],
  });
}

/** What a phone's browser is: 390×844 CSS pixels at twice the density, touch. */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** A temperature as shown ("21.4 °C") → [value, unit]. */
export function parseTemperature(text) {
  const m = /(-?\d+(?:\.\d+)?)\s*(°[CF])/.exec(text ?? '');
  return m ? [Number(m[1]), m[2]] : [Number.NaN, ''];
}

/** Scrolls a live element into view. A card redrawn by a live event is a new element, and
 *  Playwright's scroll does not follow the locator to it, so a detached one is tried again. */
export async function scrollIntoView(locator) {
  for (let i = 0; ; i++) {
    try {
      return await locator.scrollIntoViewIfNeeded({ timeout: 5_000 });
    } catch (e) {
      if (i >= 4 || !/not attached/.test(String(e))) throw e;
    }
  }
}
