// One device: a temperature's history chart (ranges, custom range, zoom, CSV), or a light's
// switch and command log.

import type uPlot from 'uplot';
import { HubError } from '../adapter';
import { detailChart, toData } from '../charts';
import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import type { Device } from '../types';

const RANGES: [string, number][] = [
  ['1 h', 3600],
  ['24 h', 86_400],
  ['7 d', 7 * 86_400],
  ['30 d', 30 * 86_400],
];

export function devicePage({ hub, app }: PageContext, id: string): Page {
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
        const { ts, resolution, bucketSecs } = s.history;
        note.textContent = `${ts.length} points, ${resolution} data, ${bucketSecs} s buckets. Drag to zoom, double-click to zoom out.`;
        chart?.destroy();
        chartBox.replaceChildren();
        chart = detailChart(chartBox, s.history, Math.max(280, chartBox.clientWidth || 600), '°', from, to);
      },
      (e: Error) => {
        chart?.destroy();
        chart = null;
        data = null;
        replace(
          chartBox,
          h(
            'p',
            { class: 'muted' },
            e instanceof HubError && e.code === 'not_found'
              ? 'No readings recorded in this range yet.'
              : `Cannot load the history: ${e.message}`,
          ),
        );
        note.textContent = '';
      },
    );
  };

  const rangeButtons = () => {
    const from = h('input', { type: 'datetime-local', 'aria-label': 'From' }) as HTMLInputElement;
    const to = h('input', { type: 'datetime-local', 'aria-label': 'To' }) as HTMLInputElement;
    return h(
      'div',
      { class: 'ranges', role: 'group', 'aria-label': 'Range' },
      ...RANGES.map(([label, secs], i) =>
        h(
          'button',
          {
            'aria-pressed': String(i === 0),
            onclick: (ev: Event) => {
              for (const b of (ev.currentTarget as HTMLElement).parentElement!.querySelectorAll('button[aria-pressed]'))
                b.setAttribute('aria-pressed', 'false');
              (ev.currentTarget as HTMLElement).setAttribute('aria-pressed', 'true');
              const now = Date.now() / 1000;
              loadRange(now - secs, now + 1, true);
            },
          },
          label,
        ),
      ),
      h(
        'span',
        { class: 'custom' },
        from,
        to,
        h(
          'button',
          {
            onclick: () => {
              const f = Date.parse(from.value) / 1000;
              const t = Date.parse(to.value) / 1000;
              if (Number.isFinite(f) && Number.isFinite(t) && t > f) loadRange(f, t, false);
              else alert('Pick a start and an end after it.');
            },
          },
          'Show',
        ),
      ),
      h(
        'button',
        {
          onclick: () => {
            if (!data || !device) return;
            const blob = new Blob([fmt.historyCsv(data.ts, data.min, data.avg, data.max)], { type: 'text/csv' });
            const a = h('a', {
              href: URL.createObjectURL(blob),
              download: `${device.id.replace('/', '-')}.csv`,
            }) as HTMLAnchorElement;
            a.click();
            URL.revokeObjectURL(a.href);
          },
        },
        'Export CSV',
      ),
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

  const stop = loading(
    root,
    () => hub.device(id),
    (d) => {
      device = d;
      field = d.temperatureField ?? '';
      const head = h(
        'header',
        { class: 'detail-head' },
        h('h1', {}, `${d.name}`, h('span', { class: 'muted' }, ` · ${d.room}`)),
        h(
          'p',
          { class: 'muted' },
          `${d.stateTopic} · ${d.kind}${d.convention ? ' · ' + d.convention : ''} · seen ${fmt.ago(d.lastSeenMs)}`,
        ),
      );
      if (d.kind === 'light') {
        log = h('div', {});
        replace(
          root,
          head,
          h('p', {}, `State: ${(d.light?.state ?? 'unknown').toUpperCase()}`),
          h(
            'div',
            { class: 'light-actions' },
            h(
              'button',
              { onclick: () => hub.switchLight(d.id, true).catch((e: Error) => alert(e.message)) },
              'Switch ON',
            ),
            h(
              'button',
              { onclick: () => hub.switchLight(d.id, false).catch((e: Error) => alert(e.message)) },
              'Switch OFF',
            ),
          ),
          h('h2', {}, 'Command log'),
          log,
        );
        loadLog();
      } else {
        replace(
          root,
          head,
          h('p', { class: 'value' }, d.kind === 'temperature' ? fmt.temperature(d.temperature) : d.lastPayload),
          rangeButtons(),
          chartBox,
          note,
        );
        const now = Date.now() / 1000;
        loadRange(now - 3600, now + 1, true);
      }
    },
  );

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
