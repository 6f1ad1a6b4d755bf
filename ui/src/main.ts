import './locale';
import './style.css';
import type uPlot from 'uplot';
import { HttpHub, HubError, type Hub } from './adapter';
import { TauriHub, inTauri } from './tauri';
import { accessPage, phonesPage } from './access';
import { detailChart, sparkline, toData } from './charts';
import { h, replace } from './dom';
import * as fmt from './format';
import type { BrokerStatus, Command, Device, HubEvent, Room, TopicNode } from './types';

const hub: Hub = inTauri() ? new TauriHub() : new HttpHub();
const app = document.getElementById('app')!;
const link = document.getElementById('link')!;

/** The page on screen: it hears every event and is told when it is left. */
interface Page {
  onEvent?(e: HubEvent): void;
  leave?(): void;
}
let page: Page = {};

/** A phone's name for the hub's list, from what its browser says it is. */
function deviceName(): string {
  const ua = navigator.userAgent;
  const android = /Android [\d.]+; ([^;)]+)/.exec(ua);
  if (android && android[1].trim() !== 'K') return android[1].trim();
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return 'Android phone';
  return 'Browser';
}

/** Opened from a pairing QR code: trade its code for this browser's token, then go on. */
async function pairFromUrl(): Promise<boolean> {
  if (location.pathname !== '/pair' || !(hub instanceof HttpHub)) return true;
  const code = new URLSearchParams(location.search).get('code') ?? '';
  try {
    const phone = await hub.pair(code, deviceName());
    history.replaceState(null, '', '/#/devices');
    sessionStorage.setItem('hearth-paired', phone.name);
    return true;
  } catch (e) {
    replace(app, h('h1', {}, 'Pairing failed'),
      h('div', { class: 'error', role: 'alert' }, (e as Error).message),
      h('p', {}, 'Each code works once and for a few minutes. On the hub’s PC, open Phones and show a new code.'));
    return false;
  }
}

/** Set once the hub said this browser is not paired: the live link then says so too. */
let unpaired = false;

function notPaired(target: HTMLElement): void {
  unpaired = true;
  link.textContent = 'not paired';
  link.dataset.state = 'retrying';
  replace(target, h('div', { class: 'empty', role: 'alert' },
    h('h2', { class: 'plain' }, 'This device is not paired with the hub'),
    h('p', {}, 'On the hub’s PC, open the Phones page and scan its QR code with this phone’s camera.')));
}

/** Access and phones are managed on the hub's PC only: a browser elsewhere does not see them. */
function hideLocalOnlyPages(): void {
  if (!(hub instanceof HttpHub)) return;
  const host = location.hostname.replace(/^\[|\]$/g, '');
  const local = host === 'localhost' || /^127\./.test(host) || host === '::1';
  if (local) return;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-page="access"], nav a[data-page="phones"]')) a.hidden = true;
}

function start(): void {
  hideLocalOnlyPages();
  hub.subscribe(
    (e) => page.onEvent?.(e),
    (s, retry) => {
      if (unpaired && s !== 'open') return;
      unpaired = false;
      link.textContent = s === 'open' ? 'live' : s === 'connecting' ? 'connecting…' : `offline, retrying in ${Math.ceil((retry ?? 0) / 1000)} s`;
      link.dataset.state = s;
    },
  );
  window.addEventListener('hashchange', route);
  route();
  const paired = sessionStorage.getItem('hearth-paired');
  if (paired) {
    sessionStorage.removeItem('hearth-paired');
    link.textContent = `paired as ${paired}`;
  }
}

function route(): void {
  page.leave?.();
  page = {};
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const name = parts[0] || 'devices';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    a.toggleAttribute('aria-current', a.dataset.page === name || (name === 'device' && a.dataset.page === 'devices'));
  }
  if (name === 'device' && parts.length >= 3) page = devicePage(`${parts[1]}/${parts.slice(2).join('/')}`);
  else if (name === 'topics') page = topicsPage();
  else if (name === 'broker') page = brokerPage();
  else if (name === 'access') page = accessPage(hub, app, loading);
  else if (name === 'phones') page = phonesPage(hub, app, loading);
  else page = devicesPage();
  app.focus({ preventScroll: true });
}
void pairFromUrl().then((ok) => ok && start());

/** Shows `load`'s result via `show`; on failure says why and tries again every 3 s. */
function loading<T>(target: HTMLElement, load: () => Promise<T>, show: (v: T) => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let gone = false;
  replace(target, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const attempt = () =>
    load().then(
      (v) => !gone && show(v),
      (e: unknown) => {
        if (gone) return;
        if (e instanceof HubError && e.code === 'unauthorized') return notPaired(target);
        const unreachable = e instanceof HubError && e.code === 'unreachable';
        replace(
          target,
          h('div', { class: 'error', role: 'alert' },
            unreachable ? 'Cannot reach the hub. Retrying…' : `The hub answered: ${(e as Error).message}. Retrying…`),
        );
        timer = setTimeout(attempt, 3000);
      },
    );
  attempt();
  return () => {
    gone = true;
    clearTimeout(timer);
  };
}

// ---------------------------------------------------------------- Devices

function devicesPage(): Page {
  const root = h('section', { 'aria-labelledby': 'h-devices' });
  replace(app, h('h1', { id: 'h-devices' }, 'Devices'), root);
  const cards = new Map<string, { el: HTMLElement; device: Device }>();
  const sparks: uPlot[] = [];
  let pendingSwitch = new Set<string>();

  const renderCard = (d: Device): HTMLElement => {
    const silent = fmt.isSilent(d.lastSeenMs);
    const body: (Node | string)[] = [];
    if (d.kind === 'temperature') {
      body.push(h('p', { class: 'value' }, fmt.temperature(d.temperature)));
      const sp = h('div', { class: 'spark', 'aria-hidden': 'true' });
      body.push(sp);
      const now = Date.now() / 1000;
      hub.history(d.stateTopic, d.temperatureField ?? '', now - 86_400, now + 1, 48).then(
        (s) => {
          if (s.history.ts.length > 0) sparks.push(sparkline(sp, s.history, Math.min(240, sp.clientWidth || 200), now - 86_400, now));
        },
        () => sp.replaceChildren(),
      );
    } else if (d.kind === 'light') {
      const on = d.light?.state === 'on';
      const state = d.light?.state ?? 'unknown';
      const busy = d.lastCommand?.outcome === 'pending' || pendingSwitch.has(d.id);
      body.push(
        h('div', { class: 'light-row' },
          h('span', { class: `state state-${state}` }, state.toUpperCase()),
          h('button', {
            class: 'switch', role: 'switch', 'aria-checked': String(on), 'aria-label': `${d.name} in ${d.room}`,
            disabled: busy,
            onclick: () => {
              pendingSwitch.add(d.id);
              update(d);
              hub.switchLight(d.id, !on).then(
                (c) => {
                  pendingSwitch.delete(d.id);
                  const cur = cards.get(d.id)?.device ?? d;
                  // The command's own events may have overtaken this answer: keep the newer.
                  if (!cur.lastCommand || cur.lastCommand.id < c.id) update({ ...cur, lastCommand: c });
                  else update(cur);
                },
                (e: Error) => {
                  pendingSwitch.delete(d.id);
                  update(d);
                  alert(`Could not switch ${d.name}: ${e.message}`);
                },
              );
            },
          }, h('span', { class: 'knob' })),
        ),
      );
      if (d.lastCommand) body.push(commandLine(d.lastCommand));
    } else {
      body.push(h('p', { class: 'value small' }, d.lastPayload));
    }
    return h('article', { class: `card${silent ? ' silent' : ''}`, 'data-device': d.id, 'data-kind': d.kind },
      h('div', { class: 'card-head' },
        h('a', { class: 'name', href: `#/device/${encodeURIComponent(d.room)}/${encodeURIComponent(d.name)}` }, d.name),
        h('span', { class: 'kind' }, d.kind)),
      ...body,
      h('p', { class: 'seen muted' }, silent ? `silent since ${fmt.ago(d.lastSeenMs)}` : `seen ${fmt.ago(d.lastSeenMs)}`),
    );
  };

  const update = (d: Device) => {
    const c = cards.get(d.id);
    if (!c) return void reload();
    const el = renderCard(d);
    c.el.replaceWith(el);
    cards.set(d.id, { el, device: d });
  };

  const show = ([rooms, broker]: [Room[], BrokerStatus]) => {
    cards.clear();
    if (rooms.length === 0) {
      const mqtt = broker.listeners.find((l) => l.name === 'mqtt');
      replace(root,
        h('div', { class: 'empty' },
          h('h2', {}, 'No devices yet'),
          h('p', {}, 'Point a device or an MQTT client at the hub and publish to a topic like home/livingroom/temperature:'),
          h('pre', {}, `mosquitto_pub -h ${mqtt ? mqtt.address.replace(/:\d+$/, '') : '<this PC>'} -p ${mqtt ? mqtt.address.split(':').pop() : 1883} -t home/livingroom/temperature -m 21.5`),
          h('p', { class: 'muted' }, mqtt ? `Broker: ${mqtt.address} (MQTT 3.1.1 and 5)` : `Broker: ${broker.externalBroker ?? 'not running'}`),
        ));
      return;
    }
    replace(root, ...rooms.map((r) =>
      h('section', { class: 'room', 'aria-label': r.room },
        h('h2', {}, r.room),
        h('div', { class: 'cards' }, ...r.devices.map((d) => {
          const el = renderCard(d);
          cards.set(d.id, { el, device: d });
          return el;
        })),
      )));
  };
  let stop = () => {};
  const reload = () => {
    stop();
    stop = loading(root, () => Promise.all([hub.devices(), hub.broker()]), show);
  };
  reload();
  const tick = setInterval(() => cards.forEach((c) => {
    const seen = c.el.querySelector('.seen');
    if (seen) seen.textContent = fmt.isSilent(c.device.lastSeenMs) ? `silent since ${fmt.ago(c.device.lastSeenMs)}` : `seen ${fmt.ago(c.device.lastSeenMs)}`;
  }), 5000);

  return {
    onEvent(e) {
      if (e.type === 'device_updated') {
        const { type: _t, ...d } = e;
        const cur = cards.get(d.id)?.device;
        if (!cur) return void reload();
        if (cur.lastSeenMs !== d.lastSeenMs || cur.temperature !== d.temperature || cur.light?.state !== d.light?.state) {
          update({ ...d, lastCommand: newer(cur.lastCommand, d.lastCommand) });
        }
      } else if (e.type === 'command_updated' && e.origin === 'hub') {
        const { type: _t, ...c } = e;
        const cur = cards.get(c.light)?.device;
        if (cur && (!cur.lastCommand || cur.lastCommand.id <= c.id)) update({ ...cur, lastCommand: c });
      } else if (e.type === 'light_state') {
        const { type: _t, ...l } = e;
        const cur = cards.get(l.light)?.device;
        if (cur) update({ ...cur, light: l, lastSeenMs: l.updatedMs });
      }
    },
    leave() {
      stop();
      clearInterval(tick);
      sparks.forEach((s) => s.destroy());
      pendingSwitch = new Set();
    },
  };
}

function newer(a: Command | null, b: Command | null): Command | null {
  if (!a) return b;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}

function commandLine(c: Command): HTMLElement {
  return h('p', { class: `fate fate-${c.outcome}`, 'data-outcome': c.outcome, 'data-command': c.id },
    c.outcome === 'pending' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    fmt.outcome(c));
}

// ---------------------------------------------------------------- Device detail

const RANGES: [string, number][] = [['1 h', 3600], ['24 h', 86_400], ['7 d', 7 * 86_400], ['30 d', 30 * 86_400]];

function devicePage(id: string): Page {
  const root = h('section', {});
  replace(app, h('p', {}, h('a', { href: '#/devices' }, '← Devices')), root);
  let chart: uPlot | null = null;
  let device: Device | null = null;
  let live = true;
  let data: { ts: number[]; min: (number | null)[]; avg: (number | null)[]; max: (number | null)[] } | null = null;
  let log: HTMLElement | null = null;
  let field = '';

  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'Temperature history' });
  const note = h('p', { class: 'muted small' });

  const loadRange = (from: number, to: number, isLive: boolean) => {
    if (!device) return;
    live = isLive;
    hub.history(device.stateTopic, field, from, to, 600).then(
      (s) => {
        data = { ts: s.history.ts, min: s.history.min, avg: s.history.avg, max: s.history.max };
        note.textContent = `${s.history.ts.length} points, ${s.history.resolution} data, ${s.history.bucketSecs} s buckets. Drag to zoom, double-click to zoom out.`;
        chart?.destroy();
        chartBox.replaceChildren();
        chart = detailChart(chartBox, s.history, Math.max(280, chartBox.clientWidth || 600), '°', from, to);
      },
      (e: Error) => {
        chart?.destroy();
        chart = null;
        data = null;
        replace(chartBox, h('p', { class: 'muted' }, e instanceof HubError && e.code === 'not_found' ? 'No readings recorded in this range yet.' : `Cannot load the history: ${e.message}`));
        note.textContent = '';
      },
    );
  };

  const rangeButtons = () => {
    const from = h('input', { type: 'datetime-local', 'aria-label': 'From' }) as HTMLInputElement;
    const to = h('input', { type: 'datetime-local', 'aria-label': 'To' }) as HTMLInputElement;
    return h('div', { class: 'ranges', role: 'group', 'aria-label': 'Range' },
      ...RANGES.map(([label, secs], i) => h('button', {
        'aria-pressed': String(i === 0),
        onclick: (ev: Event) => {
          for (const b of (ev.currentTarget as HTMLElement).parentElement!.querySelectorAll('button[aria-pressed]')) b.setAttribute('aria-pressed', 'false');
          (ev.currentTarget as HTMLElement).setAttribute('aria-pressed', 'true');
          const now = Date.now() / 1000;
          loadRange(now - secs, now + 1, true);
        },
      }, label)),
      h('span', { class: 'custom' }, from, to, h('button', {
        onclick: () => {
          const f = Date.parse(from.value) / 1000;
          const t = Date.parse(to.value) / 1000;
          if (Number.isFinite(f) && Number.isFinite(t) && t > f) loadRange(f, t, false);
          else alert('Pick a start and an end after it.');
        },
      }, 'Show')),
      h('button', {
        onclick: () => {
          if (!data || !device) return;
          const blob = new Blob([fmt.historyCsv(data.ts, data.min, data.avg, data.max)], { type: 'text/csv' });
          const a = h('a', { href: URL.createObjectURL(blob), download: `${device.id.replace('/', '-')}.csv` }) as HTMLAnchorElement;
          a.click();
          URL.revokeObjectURL(a.href);
        },
      }, 'Export CSV'),
    );
  };

  const loadLog = () => {
    if (!device || !log) return;
    const target = log;
    hub.commands(device.id, 50).then(
      (cmds) => replace(target, cmds.length === 0
        ? h('p', { class: 'muted' }, 'No commands yet.')
        : h('table', { class: 'log' },
          h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'What'), h('th', {}, 'Reply'), h('th', {}, 'Latency'))),
          h('tbody', {}, ...cmds.map((c) => h('tr', { 'data-outcome': c.outcome },
            h('td', {}, new Date(c.sentMs).toLocaleString()),
            h('td', {}, fmt.outcome(c)),
            h('td', {}, c.reply ?? '—'),
            h('td', {}, fmt.latency(c.latencyMs) || '—'))))))
      , (e: Error) => replace(target, h('p', { class: 'error' }, `Cannot load the log: ${e.message}`)));
  };

  const stop = loading(root, () => hub.device(id), (d) => {
    device = d;
    field = d.temperatureField ?? '';
    const head = h('header', { class: 'detail-head' },
      h('h1', {}, `${d.name}`, h('span', { class: 'muted' }, ` · ${d.room}`)),
      h('p', { class: 'muted' }, `${d.stateTopic} · ${d.kind}${d.convention ? ' · ' + d.convention : ''} · seen ${fmt.ago(d.lastSeenMs)}`));
    if (d.kind === 'light') {
      log = h('div', {});
      replace(root, head, h('p', {}, `State: ${(d.light?.state ?? 'unknown').toUpperCase()}`),
        h('div', { class: 'light-actions' },
          h('button', { onclick: () => hub.switchLight(d.id, true).catch((e: Error) => alert(e.message)) }, 'Switch ON'),
          h('button', { onclick: () => hub.switchLight(d.id, false).catch((e: Error) => alert(e.message)) }, 'Switch OFF')),
        h('h2', {}, 'Command log'), log);
      loadLog();
    } else {
      replace(root, head, h('p', { class: 'value' }, d.kind === 'temperature' ? fmt.temperature(d.temperature) : d.lastPayload), rangeButtons(), chartBox, note);
      const now = Date.now() / 1000;
      loadRange(now - 3600, now + 1, true);
    }
  });

  return {
    onEvent(e) {
      if (!device) return;
      if (e.type === 'reading' && live && chart && data && e.topic === device.stateTopic && e.field === field) {
        const t = Math.floor(e.tsMs / 1000);
        data.ts.push(t);
        data.min.push(e.value);
        data.avg.push(e.value);
        data.max.push(e.value);
        const end = chart.scales.x.max ?? t;
        chart.setData(toData({ ...data, bucketSecs: 0, resolution: 'raw' }), false);
        // Follow new readings unless the person has zoomed into the past.
        if (end >= t - 120) chart.setScale('x', { min: chart.scales.x.min ?? t - 3600, max: Math.max(end, t + 1) });
      } else if (e.type === 'command_updated' && e.light === device.id) {
        loadLog();
      }
    },
    leave() {
      stop();
      chart?.destroy();
    },
  };
}

// ---------------------------------------------------------------- Topics

function topicsPage(): Page {
  const root = h('section', {});
  const search = h('input', { type: 'search', placeholder: 'Filter topics', 'aria-label': 'Filter topics' }) as HTMLInputElement;
  replace(app, h('h1', {}, 'Topics'), search, root);
  let tree: TopicNode[] = [];
  const matches = (n: TopicNode, q: string): boolean => n.path.toLowerCase().includes(q) || n.children.some((c) => matches(c, q));
  const node = (n: TopicNode, q: string): HTMLElement => {
    const info = n.info;
    const label = h('span', { class: 'topic-name' }, n.name || '(empty)',
      h('span', { class: 'count' }, ` ${n.messages.toLocaleString('en')} msg`),
      info?.retained ? h('span', { class: 'badge' }, 'retained') : null);
    const detail = info
      ? h('div', { class: 'topic-info' },
        h('p', { class: 'muted small' }, `${info.topic} · QoS ${info.qos} · ${info.payloadBytes} bytes · ${fmt.ago(info.lastSeenMs)}`),
        h('pre', { class: info.truncated ? 'payload truncated' : 'payload' }, fmt.payload(info)))
      : null;
    if (n.children.length === 0) return h('div', { class: 'leaf' }, label, detail);
    return h('details', { open: true }, h('summary', {}, label), detail,
      h('div', { class: 'children' }, ...n.children.filter((c) => matches(c, q)).map((c) => node(c, q))));
  };
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = tree.filter((n) => matches(n, q));
    replace(root, shown.length === 0 ? h('p', { class: 'muted' }, tree.length === 0 ? 'No messages seen yet.' : 'No topic matches.') : shown.map((n) => node(n, q)));
  };
  search.addEventListener('input', render);
  const stop = loading(root, () => hub.topics(), (t) => {
    tree = t;
    render();
  });
  const refresh = setInterval(() => hub.topics().then((t) => {
    tree = t;
    if (!root.querySelector(':focus')) render();
  }, () => {}), 5000);
  return {
    leave() {
      stop();
      clearInterval(refresh);
    },
  };
}

// ---------------------------------------------------------------- Broker

function brokerPage(): Page {
  const root = h('section', {});
  replace(app, h('h1', {}, 'Broker'), root);
  const show = (b: BrokerStatus) => {
    const row = (k: string, v: string | number) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, String(v)));
    replace(root,
      h('table', { class: 'stats' }, h('tbody', {},
        row('Mode', b.mode === 'embedded' ? 'embedded broker' : `external broker ${b.externalBroker}`),
        row('Hub client', b.hubConnected ? 'connected' : 'not connected'),
        row('Clients connected', b.clients ?? '—'),
        row('Messages in / s', fmt.rate(b.messagesInPerSec)),
        row('Messages out / s', fmt.rate(b.messagesOutPerSec)),
        row('Messages in (total)', b.messagesInTotal.toLocaleString('en')),
        row('Topics', b.topics.toLocaleString('en')),
        row('Readings stored', b.readingsStored.toLocaleString('en')),
        row('Commands waiting', b.pendingCommands),
        row('Up for', `${Math.floor(b.uptimeSecs / 60)} min`))),
      h('h2', {}, 'Listeners'),
      h('table', { class: 'stats' }, h('tbody', {}, ...b.listeners.map((l) => row(l.name, l.address)))));
  };
  const stop = loading(root, () => hub.broker(), show);
  return {
    onEvent(e) {
      if (e.type === 'broker_stats') {
        const { type: _t, ...b } = e;
        show(b);
      }
    },
    leave: stop,
  };
}
