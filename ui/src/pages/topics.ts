// Topics: every topic seen, as a tree with message counts and last payloads, and a filter. A
// topic with numeric series offers a chart of each, and a topic a device owns links to it, so
// what no convention recognised can still be followed and what one did can be traced.

import { h, replace } from '../dom';
import * as fmt from '../format';
import { deviceHref, loading, type Page, type PageContext } from '../page';
import { seriesChart, type SeriesChart } from '../series';
import type { TopicInfo, TopicNode } from '../types';
import { loadUnit } from '../units';

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
  replace(app, h('h1', {}, 'Topics'), h('div', { class: 'topic-filters' }, search, unclaimedLabel), root);
  let tree: TopicNode[] = [];
  let names = new Map<string, string>();
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
      n.name || '(empty)',
      h('span', { class: 'count' }, ` ${n.messages.toLocaleString('en')} msg`),
      info?.retained ? h('span', { class: 'badge' }, 'retained') : null,
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
    return h(
      'details',
      { open: true, 'data-topic': n.path },
      h('summary', {}, label),
      detail,
      h('div', { class: 'children' }, ...n.children.filter((c) => matches(c, q)).map((c) => node(c, q))),
    );
  };
  const render = () => {
    const q = search.value.trim();
    const shown = tree.filter((n) => matches(n, q));
    replace(
      root,
      shown.length === 0
        ? h('p', { class: 'muted' }, tree.length === 0 ? 'No messages seen yet.' : 'No topic matches.')
        : shown.map((n) => node(n, q)),
    );
  };
  search.addEventListener('input', render);
  unclaimed.addEventListener('change', render);
  const deviceNames = () =>
    hub.devices().then(
      (rooms) => new Map(rooms.flatMap((r) => r.devices.map((d) => [d.id, d.name] as const))),
      () => names,
    );
  const stop = loading(
    root,
    () => Promise.all([hub.topics(), deviceNames(), loadUnit(hub)]),
    ([t, n]) => {
      tree = t;
      names = n;
      render();
    },
  );
  const refresh = setInterval(
    () =>
      Promise.all([hub.topics(), deviceNames()]).then(
        ([t, n]) => {
          tree = t;
          names = n;
          // Redrawing under someone's focus would lose their place (a range button, a date).
          if (!root.querySelector(':focus')) render();
        },
        () => {},
      ),
    5000,
  );
  return {
    onEvent(e) {
      if (e.type === 'reading') charts.get(key(e.topic, e.field))?.onReading(e);
    },
    leave() {
      stop();
      clearInterval(refresh);
      charts.forEach((c) => c.destroy());
    },
  };
}
