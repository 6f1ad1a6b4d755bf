// Devices: every device grouped by room (unassigned ones last), the household's favourites
// first, as cards kept live by the hub's events; a search over names, rooms, ids and topics;
// rooms that fold (remembered in this browser); rooms packed in columns so a home of one-card
// rooms does not leave most of the width empty; every sparkline from one batched request; the
// household's °C/°F choice; and how many topics no device claims, so nothing the hub hears is
// hidden.

import { HubError } from '../adapter';
import { deviceCard, fateDone, seenText } from '../cards';
import { sparkline } from '../charts';
import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import { haystack, matches, words } from '../search';
import type { BrokerStatus, Command, Device, Room, SeriesHistory } from '../types';
import { chooseUnit, householdUnit, loadUnit } from '../units';
import { failure } from '../widgets';

const SPARK_FRESH_MS = 10 * 60_000;
const SPARK_RETRY_MS = 5000;
/** Buckets in a card's sparkline. */
const SPARK_POINTS = 48;
/** The most series the hub answers in one batch. */
const BATCH_MAX = 500;
/** A card's narrowest width: the page has as many columns as fit. */
const CARD_MIN_PX = 220;
const GAP_PX = 12;
/** Where this browser remembers its folded rooms. */
const FOLDED_KEY = 'hearth.devices.folded';
/** The favourites group's key among the rooms' (no room name has a control character). */
const FAVOURITES = '\u0001favourites';

function loadFolded(): Set<string> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(FOLDED_KEY) ?? '[]');
    return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

function saveFolded(folded: Set<string>): void {
  try {
    localStorage.setItem(FOLDED_KEY, JSON.stringify([...folded]));
  } catch {
    // Storage full or refused (a private window): folding still works until the page reloads.
  }
}

/** "5 devices · 2 of 3 lights on": what a folded room still tells. */
/** "2 devices · light off", "4 of 35 devices · 2 of 3 lights on" (a search shows 4): lights
 * whose state no reply has said yet are not counted as off. */
function roomSummary(devices: Device[], shown = devices.length): string {
  const n = devices.length;
  const lights = devices.filter((d) => d.kind === 'light' && (d.light?.state === 'on' || d.light?.state === 'off'));
  const on = lights.filter((d) => d.light?.state === 'on').length;
  const parts = [shown < n ? `${shown} of ${n} devices` : n === 1 ? '1 device' : `${n} devices`];
  if (lights.length > 0)
    parts.push(lights.length === 1 ? `light ${on ? 'on' : 'off'}` : `${on} of ${lights.length} lights on`);
  return parts.join(' · ');
}

/** Whether a key press is the page's "/" shortcut rather than someone typing. */
function isSlash(e: KeyboardEvent): boolean {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return false;
  const t = e.target as HTMLElement | null;
  return !t?.closest?.('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}

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
  const root = h('section', { 'aria-labelledby': 'h-devices', class: 'devices' });
  const unitStatus = h('span', { class: 'status-line bad', role: 'status' });
  const units = unitSwitch((u) => pick(u));
  const unclaimed = h('p', { class: 'unclaimed muted', 'aria-live': 'polite' });
  const search = h('input', {
    type: 'search',
    class: 'device-search',
    'aria-label': 'Search devices by name, room, id or topic',
    placeholder: 'Search devices  /',
    autocomplete: 'off',
    spellcheck: 'false',
  }) as HTMLInputElement;
  const count = h('p', { class: 'search-count muted small', role: 'status', 'aria-live': 'polite' });
  const favStatus = h('span', { class: 'status-line bad', role: 'status' });
  replace(
    app,
    h('div', { class: 'page-head' }, h('h1', { id: 'h-devices' }, 'Devices'), units, unitStatus),
    h('div', { class: 'device-tools', role: 'search' }, search, count, favStatus),
    unclaimed,
    root,
  );
  const cards = new Map<string, { el: HTMLElement; device: Device; hay: string }>();
  const sparks = new Map<string, { el: HTMLElement; at: number; drawn?: boolean; topic: string; field: string }>();
  const busy = new Set<string>();
  const refusals = new Map<string, string>();
  const folded = loadFolded();
  let favourites: string[] = [];
  /** The rooms as the hub last listed them, devices kept current by events. */
  let rooms: Room[] = [];
  let grid: HTMLElement | null = null;
  let columns = 1;
  let gone = false;
  /** Whether the hub's list has been shown once. */
  let listed = false;

  // Sparklines are asked for together: cards redrawn in one go queue theirs, and one batch a
  // tick later fetches every queued series of a card that is shown.
  const queued = new Set<string>();
  let inFlight = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const sparksSettled = () => {
    if (inFlight === 0 && queued.size === 0) root.dataset.sparksReady = 'true';
  };
  const flush = () => {
    flushTimer = undefined;
    const ids = [...queued].filter((id) => {
      const c = cards.get(id);
      return c && !c.el.closest('.room.folded');
    });
    for (const id of ids) queued.delete(id);
    // Folded rooms' sparklines wait until they are opened.
    queued.clear();
    if (ids.length === 0) return sparksSettled();
    const now = Date.now() / 1000;
    for (let i = 0; i < ids.length; i += BATCH_MAX) {
      const part = ids.slice(i, i + BATCH_MAX);
      const series = part.map((id) => ({ topic: sparks.get(id)!.topic, field: sparks.get(id)!.field }));
      inFlight++;
      // Fitted: a sensor recording for less than a day spans what it has rather than showing
      // one dot in a day's buckets.
      hub
        .historyBatch({
          from: Math.floor(now - 86_400),
          to: Math.ceil(now + 1),
          points: SPARK_POINTS,
          fit: true,
          series,
        })
        .then(
          (answers) => answers.forEach((s, j) => s && draw(part[j], s, now)),
          () => part.forEach((id) => sparks.get(id)?.el.replaceChildren()),
        )
        .finally(() => {
          inFlight--;
          sparksSettled();
        });
    }
  };
  const queueSpark = (id: string) => {
    queued.add(id);
    root.dataset.sparksReady = 'false';
    if (flushTimer === undefined) flushTimer = setTimeout(flush, 0);
  };
  const draw = (id: string, s: SeriesHistory, now: number) => {
    const entry = sparks.get(id);
    if (gone || !entry || s.history.ts.length === 0) return;
    // How many buckets hold a value: what the picture shows, readable without the picture.
    entry.el.dataset.points = String(s.history.avg.filter((v) => v !== null).length);
    entry.el.replaceChildren(sparkline(s.history, s.from, now));
    entry.drawn = true;
  };

  // The sparkline has no axis, so a change of unit does not change its picture: it stays in
  // the unit the series was recorded in, and is fetched again only when it has gone stale.
  const sparkFor = (d: Device): HTMLElement | undefined => {
    if (d.kind !== 'temperature' || !d.temperatureTopic) return undefined;
    const had = sparks.get(d.id);
    // A new sensor has no history yet: ask again soon rather than keep an empty spark for long.
    if (had && Date.now() - had.at < (had.drawn ? SPARK_FRESH_MS : SPARK_RETRY_MS)) return had.el;
    if (had && queued.has(d.id)) return had.el;
    const el = had?.el ?? h('div', { class: 'spark', 'aria-hidden': 'true' });
    sparks.set(d.id, {
      el,
      at: Date.now(),
      drawn: had?.drawn,
      topic: d.temperatureTopic,
      field: d.temperatureField ?? '',
    });
    queueSpark(d.id);
    return el;
  };

  const isFavourite = (id: string) => favourites.includes(id);
  const render = (d: Device): HTMLElement =>
    deviceCard(d, {
      unit: householdUnit(),
      busy: busy.has(d.id),
      refusal: refusals.get(d.id),
      spark: sparkFor(d),
      onSwitch: (on) => switchLight(d.id, on),
      favourite: isFavourite(d.id),
      onStar: () => star(d.id),
      room: isFavourite(d.id) ? (d.room ?? '') : undefined,
    });

  // Cards are redrawn on every event; whoever was on a card's switch stays on it.
  const update = (d: Device) => {
    const c = cards.get(d.id);
    if (!c) return scheduleRefresh();
    const focused =
      (c.el.contains(document.activeElement) && (document.activeElement as HTMLElement).dataset.focus) || '';
    const el = render(d);
    c.el.replaceWith(el);
    // Made again each time: a discovery config or a new reading topic may have arrived.
    const hay = haystack(d);
    cards.set(d.id, { el, device: d, hay });
    el.hidden = !matches(hay, words(search.value));
    const block = el.closest<HTMLElement>('.room');
    if (block) refreshBlock(block);
    if (focused) el.querySelector<HTMLElement>(`[data-focus="${focused}"]`)?.focus();
  };
  const current = (id: string) => cards.get(id)?.device;

  /** A room block's heading summary and how many columns it spans. */
  const refreshBlock = (block: HTMLElement) => {
    const ids = [...block.querySelectorAll<HTMLElement>('.cards > [data-device]')].map((c) => c.dataset.device!);
    const devices = ids.map((id) => current(id)).filter((d): d is Device => d !== undefined);
    const sum = block.querySelector('.room-sum');
    const shown = block.querySelectorAll('.cards > [data-device]:not([hidden])').length;
    if (sum) sum.textContent = roomSummary(devices, shown);
    const span = block.classList.contains('folded') ? 1 : Math.max(1, Math.min(shown, columns));
    block.style.gridColumn = `span ${span}`;
    const inner = block.querySelector<HTMLElement>('.cards');
    if (inner) inner.style.gridTemplateColumns = `repeat(${span}, minmax(0, 1fr))`;
  };

  /** Shows the cards that match the search, hides rooms with none, and says how many match. */
  const filter = () => {
    const ws = words(search.value);
    let shown = 0;
    let inFolded = 0;
    for (const c of cards.values()) {
      const hit = matches(c.hay, ws);
      c.el.hidden = !hit;
      if (!hit) continue;
      shown++;
      if (c.el.closest('.room.folded')) inFolded++;
    }
    for (const block of root.querySelectorAll<HTMLElement>('.room')) {
      block.hidden = ws.length > 0 && !block.querySelector('.cards > [data-device]:not([hidden])');
      refreshBlock(block);
    }
    const total = cards.size;
    const noun = total === 1 ? 'device' : 'devices';
    if (ws.length === 0) count.textContent = `${total.toLocaleString('en')} ${noun}`;
    else if (shown === 0) count.textContent = `0 of ${total.toLocaleString('en')} ${noun}`;
    else
      count.textContent =
        `${shown.toLocaleString('en')} of ${total.toLocaleString('en')} ${noun}` +
        (inFolded > 0 ? `, ${inFolded.toLocaleString('en')} in folded rooms` : '');
    root.classList.toggle('no-match', ws.length > 0 && shown === 0);
  };
  search.addEventListener('input', filter);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && search.value) {
      search.value = '';
      filter();
    }
  });
  const onKey = (e: KeyboardEvent) => {
    if (!isSlash(e)) return;
    e.preventDefault();
    search.focus();
    search.select();
  };
  document.addEventListener('keydown', onKey);

  const fold = (key: string, block: HTMLElement) => {
    const now = !folded.has(key);
    if (now) folded.add(key);
    else folded.delete(key);
    saveFolded(folded);
    block.classList.toggle('folded', now);
    block.querySelector('.fold')?.setAttribute('aria-expanded', String(!now));
    (block.querySelector('.cards') as HTMLElement).hidden = now;
    filter();
    // Opened: its sparklines were left for now.
    if (!now)
      for (const el of block.querySelectorAll<HTMLElement>('.cards > [data-device]')) {
        const d = current(el.dataset.device!);
        if (d && d.kind === 'temperature' && !sparks.get(d.id)?.drawn) queueSpark(d.id);
      }
  };

  const roomBlock = (key: string, label: string, devices: Device[], n: number): HTMLElement => {
    const isFolded = folded.has(key);
    const cardsId = `room-cards-${n}`;
    const sumId = `room-sum-${n}`;
    const block = h(
      'section',
      {
        class: `room${isFolded ? ' folded' : ''}${key === FAVOURITES ? ' favourites' : ''}`,
        'aria-label': label,
        'data-room': key === FAVOURITES ? '' : key,
        'data-group': key === FAVOURITES ? 'favourites' : 'room',
      },
      h(
        'div',
        { class: 'room-head' },
        h(
          'h2',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'fold',
              'aria-expanded': String(!isFolded),
              'aria-controls': cardsId,
              'aria-describedby': sumId,
            },
            h('span', { class: 'chevron', 'aria-hidden': 'true' }),
            h('span', { class: 'room-name' }, label),
          ),
        ),
        h('span', { class: 'room-sum muted', id: sumId }),
      ),
      h(
        'div',
        { class: 'cards', id: cardsId, hidden: isFolded },
        ...devices.map((d) => {
          const el = render(d);
          cards.set(d.id, { el, device: d, hay: haystack(d) });
          return el;
        }),
      ),
    );
    block.querySelector('.fold')!.addEventListener('click', () => fold(key, block));
    return block;
  };

  /** The page's groups: the favourites present, then each room without them. */
  const layout = () => {
    const active = document.activeElement as HTMLElement | null;
    const refocus =
      active && root.contains(active) && active.dataset.focus && active.closest<HTMLElement>('[data-device]');
    const focusKey = refocus ? [refocus.dataset.device, active.dataset.focus] : null;
    cards.clear();
    const byId = new Map(rooms.flatMap((r) => r.devices.map((d) => [d.id, d] as const)));
    const favs = favourites.map((id) => byId.get(id)).filter((d): d is Device => d !== undefined);
    const blocks: HTMLElement[] = [];
    if (favs.length > 0) blocks.push(roomBlock(FAVOURITES, 'Favourites', favs, 0));
    rooms.forEach((r, i) => {
      const rest = r.devices.filter((d) => !isFavourite(d.id));
      if (rest.length > 0) blocks.push(roomBlock(r.room ?? '', r.room ?? 'Unassigned', rest, i + 1));
    });
    grid = h('div', { class: 'rooms' }, ...blocks);
    replace(root, grid, h('p', { class: 'empty-search muted' }, 'No device matches the search.'));
    sizeGrid();
    filter();
    if (focusKey) {
      const card = cards.get(focusKey[0]!)?.el;
      card?.querySelector<HTMLElement>(`[data-focus="${focusKey[1]}"]`)?.focus();
    }
  };

  // As many columns as cards of the narrowest width fit; a room spans as many as it has
  // cards, so one-card rooms sit side by side instead of each taking a whole row.
  const sizeGrid = () => {
    if (!grid) return;
    const w = grid.clientWidth || root.clientWidth;
    const cols = Math.max(1, Math.floor((w + GAP_PX) / (CARD_MIN_PX + GAP_PX)));
    if (cols === columns && grid.style.gridTemplateColumns) return;
    columns = cols;
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    for (const block of grid.querySelectorAll<HTMLElement>('.room')) refreshBlock(block);
  };
  const resize = new ResizeObserver(() => sizeGrid());
  resize.observe(root);

  // The favourites now, from this page's star or from another dashboard's: laid out again from
  // the cards' current state, which events kept up to date.
  const pin = (list: string[]) => {
    if (JSON.stringify(list) === JSON.stringify(favourites)) return;
    favourites = list;
    rooms = rooms.map((r) => ({ ...r, devices: r.devices.map((d) => current(d.id) ?? d) }));
    layout();
  };

  const star = (id: string) => {
    const on = !isFavourite(id);
    favStatus.textContent = '';
    hub.setFavourite(id, on).then(
      (list) => pin(list),
      (e: unknown) => {
        const d = current(id);
        favStatus.textContent = `Cannot ${on ? 'pin' : 'unpin'} ${d?.name ?? id}: ${failure(e)}`;
      },
    );
  };

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

  const show = ([list, broker, , favs]: [Room[], BrokerStatus, fmt.TempUnit, string[]]) => {
    for (const b of units.querySelectorAll('button'))
      b.setAttribute('aria-pressed', String(b.dataset.unit === householdUnit()));
    unclaimedNote(unclaimed, broker.unclaimedTopics);
    rooms = list;
    favourites = favs;
    listed = true;
    if (rooms.length === 0) {
      cards.clear();
      grid = null;
      count.textContent = '';
      root.dataset.sparksReady = 'true';
      return replace(root, emptyHome(broker));
    }
    layout();
    sparksSettled();
  };
  // Favourites that cannot be read leave the page usable, in the hub's own order.
  const load = () =>
    Promise.all([hub.devices(), hub.broker(), loadUnit(hub), hub.favourites().catch(() => favourites)]);

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
        if (c.device.lastCommand && fateDone(c.device.lastCommand)) c.el.querySelector('.fate')?.remove();
      }),
    5000,
  );

  return {
    onEvent(e) {
      if (e.type === 'device_updated') {
        const { type: _t, ...d } = e;
        const cur = current(d.id);
        // Before the first list arrives every device is unknown: that list will have them.
        if (!listed) return;
        if (!cur || (cur.room ?? null) !== (d.room ?? null)) return scheduleRefresh();
        if (d.availability.state !== 'offline') refusals.delete(d.id);
        const next = { ...d, lastCommand: newer(cur.lastCommand, d.lastCommand) };
        if (JSON.stringify(next) !== JSON.stringify(cur)) update(next);
      } else if (e.type === 'device_removed') {
        const c = cards.get(e.id);
        if (!c) return;
        cards.delete(e.id);
        for (const r of rooms) r.devices = r.devices.filter((x) => x.id !== e.id);
        sparks.delete(e.id);
        const block = c.el.closest<HTMLElement>('section.room');
        c.el.remove();
        if (block && !block.querySelector('[data-device]')) block.remove();
        else if (block) refreshBlock(block);
        filter();
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
      } else if (e.type === 'favourites_changed' && listed) {
        pin(e.favourites);
      }
    },
    leave() {
      gone = true;
      stop();
      clearTimeout(refreshTimer);
      clearTimeout(flushTimer);
      clearInterval(tick);
      resize.disconnect();
      document.removeEventListener('keydown', onKey);
    },
  };
}

function newer(a?: Command | null, b?: Command | null): Command | null | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}
