// Devices: every device grouped by room (unassigned ones last), as cards kept live by the hub's
// events; the household's °C/°F choice; and how many topics no device claims, so nothing the
// hub hears is hidden.

import type uPlot from 'uplot';
import { HubError } from '../adapter';
import { deviceCard, seenText } from '../cards';
import { sparkline } from '../charts';
import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import type { BrokerStatus, Command, Device, Room, SeriesHistory } from '../types';
import { chooseUnit, householdUnit, loadUnit } from '../units';
import { failure } from '../widgets';

const SPARK_FRESH_MS = 10 * 60_000;
const SPARK_RETRY_MS = 5000;
/** Buckets in a card's sparkline. */
const SPARK_POINTS = 48;

/** The °C/°F switch: two pressed-or-not buttons, since it is a choice of two and not a setting page. */
function unitSwitch(pick: (u: fmt.TempUnit) => void): HTMLElement {
  return h(
    'div',
    { class: 'unit-switch', role: 'group', 'aria-label': 'Temperature unit' },
    ...(['°C', '°F'] as const).map((u) =>
      h(
        'button',
        { type: 'button', 'data-unit': u, 'aria-pressed': String(u === householdUnit()), onclick: () => pick(u) },
        u,
      ),
    ),
  );
}

function unclaimedNote(el: HTMLElement, n: number): void {
  // Stats arrive every second: redrawing the same words would take the focus off the link.
  if (el.dataset.count === String(n)) return;
  el.dataset.count = String(n);
  if (n === 0) return replace(el);
  replace(
    el,
    n === 1 ? '1 topic is not part of any device — ' : `${n.toLocaleString('en')} topics are not part of any device — `,
    h('a', { href: '#/topics/unclaimed' }, 'see them in Topics'),
  );
}

export function devicesPage({ hub, app }: PageContext): Page {
  const root = h('section', { 'aria-labelledby': 'h-devices' });
  const unitStatus = h('span', { class: 'status-line bad', role: 'status' });
  const units = unitSwitch((u) => pick(u));
  const unclaimed = h('p', { class: 'unclaimed muted', 'aria-live': 'polite' });
  replace(
    app,
    h('div', { class: 'page-head' }, h('h1', { id: 'h-devices' }, 'Devices'), units, unitStatus),
    unclaimed,
    root,
  );
  const cards = new Map<string, { el: HTMLElement; device: Device }>();
  const sparks = new Map<string, { el: HTMLElement; at: number; plot?: uPlot }>();
  const busy = new Set<string>();
  const refusals = new Map<string, string>();
  let gone = false;

  // The sparkline has no axis, so a change of unit does not change its picture: it stays in
  // the unit the series was recorded in, and is fetched again only when it has gone stale.
  const sparkFor = (d: Device): HTMLElement | undefined => {
    if (d.kind !== 'temperature' || !d.temperatureTopic) return undefined;
    const had = sparks.get(d.id);
    // A new sensor has no history yet: ask again soon rather than keep an empty spark for long.
    if (had && Date.now() - had.at < (had.plot ? SPARK_FRESH_MS : SPARK_RETRY_MS)) return had.el;
    had?.plot?.destroy();
    const el = h('div', { class: 'spark', 'aria-hidden': 'true' });
    const entry: { el: HTMLElement; at: number; plot?: uPlot } = { el, at: Date.now() };
    sparks.set(d.id, entry);
    const now = Date.now() / 1000;
    const topic = d.temperatureTopic;
    const field = d.temperatureField ?? '';
    const draw = (s: SeriesHistory, from: number) => {
      if (gone || s.history.ts.length === 0) return;
      // How many buckets hold a value: what the picture shows, readable without the canvas.
      el.dataset.points = String(s.history.avg.filter((v) => v !== null).length);
      entry.plot = sparkline(el, s.history, Math.min(240, el.clientWidth || 200), from, now);
    };
    // A sensor recording for less than a day fills few of the day's buckets (one dot after
    // half an hour): its sparkline spans what it has, narrowing to where its readings start
    // (each answer's first bucket bounds them) until the buckets are fine enough.
    const narrow = (from: number, tries: number): Promise<void> =>
      hub.history(topic, field, from, now + 1, SPARK_POINTS).then((s) => {
        const h = s.history;
        const first = h.ts.find((_, i) => h.avg[i] !== null);
        const filled = h.avg.filter((v) => v !== null).length;
        if (first === undefined || filled >= SPARK_POINTS / 4 || h.bucketSecs <= 1 || tries === 0 || first <= from)
          return draw(s, from);
        return narrow(first, tries - 1);
      });
    narrow(now - 86_400, 3).catch(() => el.replaceChildren());
    return el;
  };

  const render = (d: Device): HTMLElement =>
    deviceCard(d, {
      unit: householdUnit(),
      busy: busy.has(d.id),
      refusal: refusals.get(d.id),
      spark: sparkFor(d),
      onSwitch: (on) => switchLight(d.id, on),
    });

  // Cards are redrawn on every event; whoever was on a card's switch stays on it.
  const update = (d: Device) => {
    const c = cards.get(d.id);
    if (!c) return scheduleRefresh();
    const focused =
      (c.el.contains(document.activeElement) && (document.activeElement as HTMLElement).dataset.focus) || '';
    const el = render(d);
    c.el.replaceWith(el);
    cards.set(d.id, { el, device: d });
    if (focused) el.querySelector<HTMLElement>(`[data-focus="${focused}"]`)?.focus();
  };
  const current = (id: string) => cards.get(id)?.device;

  const switchLight = (id: string, on: boolean) => {
    const d = current(id);
    if (!d) return;
    busy.add(id);
    refusals.delete(id);
    update(d);
    hub.switchLight(id, on).then(
      (c) => {
        busy.delete(id);
        const cur = current(id) ?? d;
        // The command's own events may have overtaken this answer (same id, later outcome).
        update(cur.lastCommand && cur.lastCommand.id >= c.id ? cur : { ...cur, lastCommand: c });
      },
      (e: unknown) => {
        busy.delete(id);
        const offline = e instanceof HubError && e.code === 'device_offline';
        refusals.set(id, offline ? failure(e) : `Could not switch ${fmt.deviceLabel(d)}: ${failure(e)}`);
        const cur = current(id);
        if (cur) update(cur);
      },
    );
  };

  const pick = (u: fmt.TempUnit) => {
    unitStatus.textContent = '';
    chooseUnit(hub, u).then(
      () => {
        for (const b of units.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.unit === u));
        cards.forEach((c) => update(c.device));
      },
      (e) => (unitStatus.textContent = `Cannot change the unit: ${failure(e)}`),
    );
  };

  const emptyHome = (broker: BrokerStatus) => {
    const mqtt = broker.listeners.find((l) => l.name === 'mqtt');
    const host = mqtt ? fmt.hostFromHere(mqtt.address) : '<this PC>';
    const port = mqtt ? mqtt.address.split(':').pop() : 1883;
    return h(
      'div',
      { class: 'empty' },
      h('h2', {}, 'No devices yet'),
      h(
        'p',
        {},
        'Point a device at the hub (Tasmota, Zigbee2MQTT, Shelly, ESPHome, Homie and Home Assistant discovery are ' +
          'recognised), or publish to a topic like home/livingroom/temperature:',
      ),
      h('pre', {}, `mosquitto_pub -h ${host} -p ${port} -t home/livingroom/temperature -m 21.5`),
      h(
        'p',
        { class: 'muted' },
        mqtt ? `Broker: ${mqtt.address} (MQTT 3.1.1 and 5)` : `Broker: ${broker.externalBroker ?? 'not running'}`,
      ),
    );
  };

  const show = ([rooms, broker]: [Room[], BrokerStatus, fmt.TempUnit]) => {
    for (const b of units.querySelectorAll('button'))
      b.setAttribute('aria-pressed', String(b.dataset.unit === householdUnit()));
    unclaimedNote(unclaimed, broker.unclaimedTopics);
    const active = document.activeElement as HTMLElement | null;
    const refocus =
      active && root.contains(active) && active.dataset.focus && active.closest<HTMLElement>('[data-device]');
    const focusKey = refocus ? [refocus.dataset.device, active.dataset.focus] : null;
    cards.clear();
    if (rooms.length === 0) return replace(root, emptyHome(broker));
    replace(
      root,
      ...rooms.map((r) =>
        h(
          'section',
          { class: 'room', 'aria-label': r.room ?? 'Unassigned', 'data-room': r.room ?? '' },
          h('h2', { class: r.room ? undefined : 'plain' }, r.room ?? 'Unassigned'),
          h(
            'div',
            { class: 'cards' },
            ...r.devices.map((d) => {
              const el = render(d);
              cards.set(d.id, { el, device: d });
              return el;
            }),
          ),
        ),
      ),
    );
    if (focusKey) {
      const card = [...root.querySelectorAll<HTMLElement>('[data-device]')].find(
        (c) => c.dataset.device === focusKey[0],
      );
      card?.querySelector<HTMLElement>(`[data-focus="${focusKey[1]}"]`)?.focus();
    }
  };
  const load = () => Promise.all([hub.devices(), hub.broker(), loadUnit(hub)]);

  let stop = loading(root, load, show);
  // New and moved devices redraw the page without a "Loading…" flash, once per burst.
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleRefresh = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(
      () =>
        load().then(
          (v) => !gone && show(v),
          () => {
            stop();
            stop = loading(root, load, show);
          },
        ),
      250,
    );
  };

  const tick = setInterval(
    () =>
      cards.forEach((c) => {
        const seen = c.el.querySelector('.seen');
        if (seen) seen.textContent = seenText(c.device);
      }),
    5000,
  );

  return {
    onEvent(e) {
      if (e.type === 'device_updated') {
        const { type: _t, ...d } = e;
        const cur = current(d.id);
        if (!cur || (cur.room ?? null) !== (d.room ?? null)) return scheduleRefresh();
        if (d.availability.state !== 'offline') refusals.delete(d.id);
        const next = { ...d, lastCommand: newer(cur.lastCommand, d.lastCommand) };
        if (JSON.stringify(next) !== JSON.stringify(cur)) update(next);
      } else if (e.type === 'device_removed') {
        const c = cards.get(e.id);
        if (!c) return;
        cards.delete(e.id);
        sparks.get(e.id)?.plot?.destroy();
        sparks.delete(e.id);
        const room = c.el.closest('section.room');
        c.el.remove();
        if (room && !room.querySelector('[data-device]')) room.remove();
        if (cards.size === 0) scheduleRefresh();
      } else if (e.type === 'command_updated' && e.origin === 'hub') {
        const { type: _t, ...c } = e;
        const cur = current(c.light);
        if (cur && (!cur.lastCommand || cur.lastCommand.id <= c.id)) update({ ...cur, lastCommand: c });
      } else if (e.type === 'light_state') {
        const { type: _t, ...l } = e;
        const cur = current(l.light);
        if (cur) update({ ...cur, light: l, lastSeenMs: l.updatedMs });
      } else if (e.type === 'broker_stats') {
        unclaimedNote(unclaimed, e.unclaimedTopics);
      }
    },
    leave() {
      gone = true;
      stop();
      clearTimeout(refreshTimer);
      clearInterval(tick);
      sparks.forEach((s) => s.plot?.destroy());
    },
  };
}

function newer(a?: Command | null, b?: Command | null): Command | null | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}
