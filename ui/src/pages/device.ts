// One device: what it is and whether it is reachable, its name and room, a light's switch and
// command log, and a history chart of any of its readings (ranges, custom range, zoom, CSV).

import { HubError } from '../adapter';
import {
  availabilityLine,
  conventionBadge,
  makeAndModel,
  offlineReason,
  readingsList,
  temperatureText,
} from '../cards';
import { h, replace } from '../dom';
import * as fmt from '../format';
import { namingForm } from '../naming';
import { loading, type Page, type PageContext } from '../page';
import { seriesChart, type SeriesChart } from '../series';
import type { Device, Reading } from '../types';
import { householdUnit, loadUnit } from '../units';
import { failure, statusLine } from '../widgets';

/** The series a device's chart can show: each reading, the temperature first. */
function seriesOf(d: Device): Pick<Reading, 'quantity' | 'topic' | 'field'>[] {
  const list: Pick<Reading, 'quantity' | 'topic' | 'field'>[] = [...d.readings].sort(
    (a, b) => Number(b.quantity === 'temperature') - Number(a.quantity === 'temperature'),
  );
  if (d.temperatureTopic && !list.some((r) => r.quantity === 'temperature'))
    list.unshift({ quantity: 'temperature', topic: d.temperatureTopic, field: d.temperatureField ?? '' });
  return list;
}

function short(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + '…' : text;
}

/** A light's last status and its age. A JSON status (Shelly, Zigbee2MQTT) runs to hundreds
 * of characters: it is cut here, and the element's title has it all. */
function statusAge(l: NonNullable<Device['light']>): string {
  return ` (status “${short(l.payload)}” ${fmt.ago(l.updatedMs)})`;
}

export function devicePage({ hub, app }: PageContext, id: string): Page {
  const root = h('section', {});
  replace(app, h('p', {}, h('a', { href: '#/devices' }, '← Devices')), root);
  let device: Device | null = null;
  let chart: SeriesChart | null = null;
  let log: HTMLElement | null = null;
  const head = h('header', { class: 'detail-head' });
  const now = h('div', { class: 'now' });
  const light = h('div', { class: 'light-panel' });
  const switching = statusLine();

  const showHead = (d: Device) => {
    const made = makeAndModel(d);
    replace(
      head,
      h('h1', {}, d.name, ' ', conventionBadge(d.convention)),
      h('p', { class: 'muted' }, [d.room ?? 'No room', made].filter(Boolean).join(' · ')),
      ...availabilityLine(d.availability, true),
      h(
        'p',
        { class: 'muted small ids' },
        `${d.id} · ${d.stateTopic}${d.commandConvention ? ` · commands: ${d.commandConvention}` : ''} · seen ${fmt.ago(d.lastSeenMs)}`,
      ),
    );
  };

  const showNow = (d: Device) => {
    replace(
      now,
      d.kind === 'temperature' ? h('p', { class: 'value' }, temperatureText(d, householdUnit())) : null,
      readingsList(d.readings, householdUnit(), d.kind === 'temperature' ? 'temperature' : undefined),
      d.kind === 'other' && d.readings.length === 0 ? h('pre', { class: 'payload' }, d.lastPayload) : null,
    );
  };

  const switchTo = (on: boolean) => {
    if (!device) return;
    switching.ok(`Switching ${on ? 'ON' : 'OFF'}…`);
    hub.switchLight(device.id, on).then(
      () => switching.ok(`${on ? 'ON' : 'OFF'} sent; its fate is in the log below.`),
      (e: unknown) => {
        switching.err(
          e instanceof HubError && e.code === 'device_offline' ? failure(e) : `Could not switch: ${failure(e)}`,
        );
        switching.el.setAttribute('role', 'alert');
      },
    );
  };

  const showLight = (d: Device) => {
    const reason = offlineReason(d);
    replace(
      light,
      h(
        'p',
        { class: 'light-state' },
        `State: ${(d.light?.state ?? 'unknown').toUpperCase()}`,
        d.light ? h('span', { class: 'muted small status-ago', title: d.light.payload }, statusAge(d.light)) : null,
      ),
      h(
        'div',
        { class: 'light-actions' },
        h('button', { type: 'button', disabled: reason !== null, onclick: () => switchTo(true) }, 'Switch ON'),
        h('button', { type: 'button', disabled: reason !== null, onclick: () => switchTo(false) }, 'Switch OFF'),
      ),
      reason ? h('p', { class: 'refusal' }, reason) : null,
      switching.el,
    );
  };

  const loadLog = () => {
    if (!device || !log) return;
    const target = log;
    hub.commands(device.id, 50).then(
      (cmds) =>
        replace(
          target,
          cmds.length === 0
            ? h('p', { class: 'muted' }, 'No commands yet.')
            : h(
                'table',
                { class: 'log' },
                h(
                  'thead',
                  {},
                  h('tr', {}, h('th', {}, 'When'), h('th', {}, 'What'), h('th', {}, 'Reply'), h('th', {}, 'Latency')),
                ),
                h(
                  'tbody',
                  {},
                  ...cmds.map((c) =>
                    h(
                      'tr',
                      { 'data-outcome': c.outcome },
                      h('td', {}, new Date(c.sentMs).toLocaleString()),
                      h('td', {}, fmt.outcome(c)),
                      h('td', {}, c.reply ?? '—'),
                      h('td', {}, fmt.latency(c.latencyMs) || '—'),
                    ),
                  ),
                ),
              ),
        ),
      (e: Error) => replace(target, h('p', { class: 'error' }, `Cannot load the log: ${e.message}`)),
    );
  };

  const history = (d: Device): HTMLElement | null => {
    const series = seriesOf(d);
    if (series.length === 0) return null;
    const box = h('div', {});
    const open = (i: number) => {
      chart?.destroy();
      const s = series[i];
      const label = fmt.quantity(s.quantity);
      chart = seriesChart(hub, s.topic, s.field, label, `${d.id}-${s.quantity}`);
      replace(box, chart.el);
    };
    const picker =
      series.length < 2
        ? null
        : h(
            'div',
            { class: 'ranges series-picker', role: 'group', 'aria-label': 'Series' },
            ...series.map((s, i) =>
              h(
                'button',
                {
                  type: 'button',
                  'aria-pressed': String(i === 0),
                  onclick: (ev: Event) => {
                    for (const b of picker!.querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
                    (ev.currentTarget as HTMLElement).setAttribute('aria-pressed', 'true');
                    open(i);
                  },
                },
                fmt.quantity(s.quantity),
              ),
            ),
          );
    open(0);
    return h('section', { 'aria-label': 'History' }, h('h2', {}, 'History'), picker, box);
  };

  let absent = false;
  const notKnown = () => {
    absent = true;
    replace(
      root,
      h(
        'div',
        { class: 'empty', role: 'status' },
        h('h1', {}, 'No such device'),
        h(
          'p',
          {},
          `The hub knows no device “${id}”. It may have been removed or renamed, or it has sent nothing since the hub started: this page shows it as soon as it does.`,
        ),
        h('p', {}, h('a', { href: '#/devices' }, 'See every device')),
      ),
    );
  };
  const load = () =>
    loading(
      root,
      () => Promise.all([hub.device(id), hub.devices(), loadUnit(hub)]),
      ([d, rooms]) => {
        device = d;
        const roomNames = rooms.flatMap((r) => (r.room ? [r.room] : []));
        showHead(d);
        showNow(d);
        const naming = namingForm(hub, d, roomNames, (saved) => {
          device = { ...saved, lastCommand: device?.lastCommand ?? saved.lastCommand };
          showHead(device);
        });
        const parts: (HTMLElement | null)[] = [head, now];
        if (d.kind === 'light') {
          showLight(d);
          log = h('div', {});
          parts.push(light);
        }
        // What the device says comes first, so a phone shows the chart without scrolling past
        // a form that is used once.
        parts.push(history(d));
        if (log) parts.push(h('h2', {}, 'Command log'), log);
        parts.push(naming);
        replace(root, ...parts);
        loadLog();
      },
      notKnown,
    );
  let stop = load();

  // "seen … ago" and the status's age move on by themselves; the panel with its buttons is
  // not redrawn for it, so a focused button keeps its focus.
  const tick = setInterval(() => {
    if (!device) return;
    showHead(device);
    const ago = light.querySelector('.status-ago');
    if (ago && device.light) ago.textContent = statusAge(device.light);
  }, 2000);

  return {
    onEvent(e) {
      if (absent && e.type === 'device_updated' && e.id === id) {
        absent = false;
        stop();
        stop = load();
      }
      if (!device) return;
      if (e.type === 'reading') chart?.onReading(e);
      else if (e.type === 'command_updated' && e.light === device.id) loadLog();
      else if (e.type === 'device_updated' && e.id === device.id) {
        const { type: _t, ...d } = e;
        device = d;
        showHead(d);
        showNow(d);
        if (d.kind === 'light') showLight(d);
      } else if (e.type === 'light_state' && e.light === device.id) {
        const { type: _t, ...l } = e;
        device = { ...device, light: l };
        if (device.kind === 'light') showLight(device);
      } else if (e.type === 'device_removed' && e.id === device.id) {
        replace(
          root,
          h('div', { class: 'empty', role: 'status' }, `${device.name} is gone: the hub no longer knows this device.`),
        );
        chart?.destroy();
        chart = null;
      }
    },
    leave() {
      stop();
      clearInterval(tick);
      chart?.destroy();
    },
  };
}
