// Topics: every topic seen, as a tree with message counts, retained and QoS marks and last
// payloads, and a filter; live from `topics_changed`. A topic with numeric series offers a
// chart of each, and a topic a device owns links to it, so what no convention recognised can
// still be followed and what one did can be traced. A selected topic shows its last
// messages, a publish form and clearing its retained message (`topic-panel.ts`).

import { h, replace } from '../dom';
import * as fmt from '../format';
import { deviceHref, loading, type Page, type PageContext } from '../page';
import { seriesChart, type SeriesChart } from '../series';
import { topicPanel } from '../topic-panel';
import { buildTree, SMALL_TREE, topicsUnder } from '../topic-tree';
import type { TopicInfo, TopicNode } from '../types';
import { loadUnit } from '../units';
import { topicViews } from '../widgets';

function flatten(nodes: TopicNode[], out = new Map<string, TopicInfo>()): Map<string, TopicInfo> {
  for (const n of nodes) {
    if (n.info) out.set(n.info.topic, n.info);
    flatten(n.children, out);
  }
  return out;
}

export function topicsPage({ hub, app }: PageContext, onlyUnclaimed = false): Page {
  const root = h('section', {});
  const search = h('input', {
    type: 'search',
    placeholder: 'Filter topics (text, or an MQTT filter like home/+/light)',
    'aria-label': 'Filter topics',
  }) as HTMLInputElement;
  const unclaimed = h('input', { type: 'checkbox', id: 'only-unclaimed' }) as HTMLInputElement;
  unclaimed.checked = onlyUnclaimed;
  const unclaimedLabel = h('label', { for: 'only-unclaimed', class: 'check' }, unclaimed, ' Only topics of no device');
  const panel = topicPanel(hub);
  replace(
    app,
    h('h1', {}, 'Topics'),
    topicViews('all'),
    h('div', { class: 'topic-filters' }, search, unclaimedLabel),
    h('div', { class: 'topics-layout' }, panel.el, root),
  );
  let rows = new Map<string, TopicInfo>();
  let tree: TopicNode[] = [];
  let names = new Map<string, string>();
  // Levels someone folded or opened stay so when the tree is drawn again; the others follow
  // `openByDefault`. A filter's results are all open, and what is folded among them is
  // forgotten when the filter changes: a search shows what it found.
  const folded = new Set<string>();
  const opened = new Set<string>();
  const foldedInResults = new Set<string>();
  const filtering = (q: string) => q !== '' || unclaimed.checked;
  const choose = (info: TopicInfo) => {
    panel.select(info);
    render();
    if (window.matchMedia('(max-width: 900px)').matches) panel.el.scrollIntoView({ block: 'start' });
  };
  // Open charts outlive the tree's redraws: the same element is put back in the new tree.
  const charts = new Map<string, SeriesChart>();
  const key = (topic: string, field: string) => `${topic}\n${field}`;

  const toggle = (info: TopicInfo, field: string) => {
    const k = key(info.topic, field);
    const open = charts.get(k);
    if (open) {
      open.destroy();
      charts.delete(k);
    } else {
      const label = field ? `${info.topic} ${field}` : info.topic;
      charts.set(k, seriesChart(hub, info.topic, field, label, field ? `${info.topic}-${field}` : info.topic));
    }
    render();
    root.querySelector<HTMLElement>(`button[data-chart="${CSS.escape(k)}"]`)?.focus();
  };

  const seriesRow = (info: TopicInfo): HTMLElement | null => {
    if (info.fields.length === 0 && !info.device) return null;
    return h(
      'div',
      { class: 'topic-actions' },
      info.device
        ? h(
            'a',
            { class: 'device-link', href: deviceHref(info.device) },
            `Device: ${names.get(info.device) ?? info.device}`,
          )
        : null,
      ...info.fields.map((f) => {
        const k = key(info.topic, f);
        return h(
          'button',
          { type: 'button', 'data-chart': k, 'aria-expanded': String(charts.has(k)), onclick: () => toggle(info, f) },
          `Chart ${f || 'value'}`,
        );
      }),
    );
  };

  // A topic shows when it matches the filter (and, with the box ticked, is no device's), or
  // when a topic below it does.
  // A filter with `+` or `#` is an MQTT filter, matched level by level as the broker would;
  // anything else finds topics containing it, in any case.
  const hit = (n: TopicNode, q: string): boolean =>
    /[+#]/.test(q)
      ? n.info !== null && n.info !== undefined && fmt.topicMatches(q, n.path)
      : n.path.toLowerCase().includes(q.toLowerCase());
  const matches = (n: TopicNode, q: string): boolean =>
    (hit(n, q) && (!unclaimed.checked || (n.info !== null && n.info !== undefined && !n.info.device))) ||
    n.children.some((c) => matches(c, q));
  const node = (n: TopicNode, q: string): HTMLElement => {
    const info = n.info;
    const label = h(
      'span',
      { class: 'topic-name' },
      info
        ? h(
            'button',
            {
              type: 'button',
              class: 'topic-select',
              'data-key': `select\n${n.path}`,
              'aria-pressed': String(panel.selected() === n.path),
              'aria-label': `${n.path}: messages, publish`,
              onclick: (e: Event) => {
                e.preventDefault();
                choose(info);
              },
            },
            n.name || '(empty)',
          )
        : n.name || '(empty)',
      h('span', { class: 'count' }, ` ${n.messages.toLocaleString('en')} msg`),
      info?.retained ? h('span', { class: 'badge retained', 'data-mark': 'retained' }, 'retained') : null,
      info && info.qos > 0 ? h('span', { class: 'badge', 'data-mark': 'qos' }, `QoS ${info.qos}`) : null,
      info?.device ? h('span', { class: 'badge' }, 'device') : null,
    );
    const detail = info
      ? h(
          'div',
          { class: 'topic-info' },
          h(
            'p',
            { class: 'muted small' },
            `${info.topic} · QoS ${info.qos} · ${info.payloadBytes} bytes · ${fmt.ago(info.lastSeenMs)}`,
          ),
          h('pre', { class: info.truncated ? 'payload truncated' : 'payload' }, fmt.payload(info)),
          seriesRow(info),
          ...info.fields.map((f) => charts.get(key(info.topic, f))?.el),
        )
      : null;
    if (n.children.length === 0) return h('div', { class: 'leaf', 'data-topic': n.path }, label, detail);
    const open = filtering(q)
      ? !foldedInResults.has(n.path)
      : folded.has(n.path)
        ? false
        : opened.has(n.path) || openByDefault(n);
    const below = h('span', { class: 'count below' }, ` · ${fmt.plural(topicsUnder(n), 'topic')}`);
    // A folded level's children are not drawn at all, so a home of thousands of topics costs
    // only what is open.
    const d = h(
      'details',
      { open, 'data-topic': n.path },
      // Keyed, so opening a level by click or Enter (which focuses the summary) redraws the
      // tree with its children and gives the summary its focus back.
      h('summary', { 'data-key': `fold\n${n.path}` }, label, open ? null : below),
      detail,
      open ? h('div', { class: 'children' }, ...n.children.filter((c) => matches(c, q)).map((c) => node(c, q))) : null,
    );
    d.addEventListener('toggle', () => {
      const now = (d as HTMLDetailsElement).open;
      if (now === open) return;
      if (filtering(q)) {
        if (now) foldedInResults.delete(n.path);
        else foldedInResults.add(n.path);
      } else if (now) {
        folded.delete(n.path);
        opened.add(n.path);
      } else {
        opened.delete(n.path);
        folded.add(n.path);
      }
      render();
    });
    return d;
  };
  // A small tree and the way to the selected topic are open; in a large tree the levels start
  // folded, as in MQTT Explorer.
  const openByDefault = (n: TopicNode): boolean =>
    rows.size <= SMALL_TREE || (panel.selected() ?? '').startsWith(n.path + '/');
  // Drawn again at most every 250 ms (as often as `topics_changed` comes); not while
  // someone is inside a chart, whose controls would lose their focus.
  let held = false;
  const render = () => {
    const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const inside = active !== null && root.contains(active);
    const key = inside ? (active.dataset.key ?? active.dataset.chart) : undefined;
    if (inside && key === undefined) {
      held = true;
      return;
    }
    held = false;
    tree = buildTree(rows.values());
    const q = search.value.trim();
    const shown = tree.filter((n) => matches(n, q));
    replace(
      root,
      shown.length === 0
        ? h('p', { class: 'muted' }, tree.length === 0 ? 'No messages seen yet.' : 'No topic matches.')
        : shown.map((n) => node(n, q)),
    );
    if (key !== undefined) {
      const again =
        root.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`) ??
        root.querySelector<HTMLElement>(`[data-chart="${CSS.escape(key)}"]`);
      again?.focus();
    }
  };
  root.addEventListener('focusout', (e) => {
    if (held && !(e.relatedTarget instanceof Node && root.contains(e.relatedTarget))) render();
  });
  const refilter = () => {
    foldedInResults.clear();
    render();
  };
  search.addEventListener('input', refilter);
  unclaimed.addEventListener('change', refilter);
  const deviceNames = () =>
    hub.devices().then(
      (rooms) => new Map(rooms.flatMap((r) => r.devices.map((d) => [d.id, d.name] as const))),
      () => names,
    );
  let loaded = false;
  const early: TopicInfo[] = [];
  const stop = loading(
    root,
    () => Promise.all([hub.topics(), deviceNames(), loadUnit(hub)]),
    ([t, n]) => {
      rows = flatten(t);
      // What changed while the tree was on its way is newer than the tree.
      early.forEach((r) => rows.set(r.topic, r));
      names = n;
      loaded = true;
      render();
    },
  );
  // An answer asked for before an event arrived is older than that event: the newer row stays.
  const reload = () =>
    hub.topics().then(
      (t) => {
        const fresh = flatten(t);
        for (const [topic, r] of rows) {
          const f = fresh.get(topic);
          if (f && f.messages < r.messages) fresh.set(topic, r);
        }
        rows = fresh;
        render();
      },
      () => {},
    );
  return {
    onLive: () => void (loaded && reload()),
    onEvent(e) {
      if (e.type === 'reading') charts.get(key(e.topic, e.field))?.onReading(e);
      else if (e.type === 'device_updated') names.set(e.id, e.name);
      else if (e.type === 'topics_changed' && !loaded) early.push(...e.topics);
      else if (e.type === 'topics_changed') {
        if (e.reload) return void reload();
        for (const t of e.topics) {
          rows.set(t.topic, t);
          panel.changed(t);
        }
        render();
      }
    },
    leave() {
      stop();
      charts.forEach((c) => c.destroy());
    },
  };
}
