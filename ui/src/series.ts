// One recorded series as a chart with its quick ranges, a custom range, CSV export and live
// readings: the device page and the Topics page show the same thing, so it is built once here.
// Temperatures are converted to the household's unit as they arrive, the chart, the CSV and
// the live points alike, because the hub records them in whatever unit the device sent.

import type uPlot from 'uplot';
import { HubError, type Hub } from './adapter';
import { detailChart, toData } from './charts';
import { h, replace } from './dom';
import * as fmt from './format';
import type { ReadingEvent } from './types';
import { householdUnit } from './units';

const RANGES: [string, number][] = [
  ['1 h', 3600],
  ['24 h', 86_400],
  ['7 d', 7 * 86_400],
  ['30 d', 30 * 86_400],
];

type Column = (number | null)[];

export interface SeriesChart {
  el: HTMLElement;
  onReading(e: ReadingEvent): void;
  destroy(): void;
}

/** A chart of `topic`'s `field` ("" for a plain number); `label` names it for screen readers and the CSV. */
export function seriesChart(hub: Hub, topic: string, field: string, label: string, file: string): SeriesChart {
  let chart: uPlot | null = null;
  let live = true;
  let data: { ts: number[]; min: Column; avg: Column; max: Column } | null = null;
  // The unit the hub recorded the series in; readings are converted from it.
  let source: string | null = null;
  let gone = false;

  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': `${label} history` });
  const note = h('p', { class: 'chart-note muted small', 'aria-live': 'polite' });
  const shown = () => fmt.shownUnit(source, householdUnit());
  const convert = (col: Column): Column => col.map((v) => (v == null ? null : fmt.toUnit(v, source, householdUnit())));

  const load = (from: number, to: number, isLive: boolean) => {
    live = isLive;
    hub.history(topic, field, from, to, 600).then(
      (s) => {
        if (gone) return;
        source = s.unit ?? null;
        const hist = s.history;
        data = { ts: hist.ts, min: convert(hist.min), avg: convert(hist.avg), max: convert(hist.max) };
        const unit = shown();
        const filled = hist.avg.filter((v) => v !== null).length;
        note.textContent =
          `${filled} ${filled === 1 ? 'point' : 'points'}, ${hist.resolution} data, ${hist.bucketSecs} s buckets` +
          `${unit ? `, in ${unit}` : ''}. Drag to zoom, double-click to zoom out.`;
        chart?.destroy();
        chartBox.replaceChildren();
        chart = detailChart(
          chartBox,
          { ...hist, ...data },
          Math.max(260, chartBox.clientWidth || 600),
          unit.startsWith('°') ? unit : unit ? ` ${unit}` : '',
          from,
          to,
        );
      },
      (e: Error) => {
        if (gone) return;
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

  const from = h('input', { type: 'datetime-local', 'aria-label': `${label}: from` }) as HTMLInputElement;
  const to = h('input', { type: 'datetime-local', 'aria-label': `${label}: to` }) as HTMLInputElement;
  const press = (b: HTMLElement | null) => {
    for (const other of controls.querySelectorAll('button[aria-pressed]')) other.setAttribute('aria-pressed', 'false');
    b?.setAttribute('aria-pressed', 'true');
  };
  const controls = h(
    'div',
    { class: 'ranges', role: 'group', 'aria-label': `${label}: range` },
    ...RANGES.map(([text, secs], i) =>
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(i === 0),
          onclick: (ev: Event) => {
            press(ev.currentTarget as HTMLElement);
            const now = Date.now() / 1000;
            load(now - secs, now + 1, true);
          },
        },
        text,
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
          type: 'button',
          onclick: () => {
            const f = Date.parse(from.value) / 1000;
            const t = Date.parse(to.value) / 1000;
            if (Number.isFinite(f) && Number.isFinite(t) && t > f) {
              press(null);
              load(f, t, false);
            } else note.textContent = 'Pick a start, and an end after it.';
          },
        },
        'Show',
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          if (!data) return;
          const csv = fmt.historyCsv(data.ts, data.min, data.avg, data.max, shown());
          hub.saveFile(`${file.replace(/[^\w.-]+/g, '-')}.csv`, csv).then(
            (where) => {
              if (where) note.textContent = `Saved to ${where}`;
            },
            (e: Error) => {
              note.textContent = `Cannot save the CSV: ${e.message}`;
            },
          );
        },
      },
      'Export CSV',
    ),
  );

  // The chart is drawn at a fixed width: follow the box when a phone turns or a window resizes.
  const resize = new ResizeObserver(() => {
    const w = chartBox.clientWidth;
    if (chart && w > 0 && Math.abs(chart.width - w) > 4) chart.setSize({ width: Math.max(260, w), height: 280 });
  });
  resize.observe(chartBox);

  const now = Date.now() / 1000;
  load(now - 3600, now + 1, true);

  return {
    el: h('div', { class: 'series', 'data-topic': topic, 'data-field': field }, controls, chartBox, note),
    onReading(e) {
      if (!live || !chart || !data || e.topic !== topic || e.field !== field) return;
      const t = Math.floor(e.tsMs / 1000);
      const v = fmt.toUnit(e.value, source, householdUnit());
      data.ts.push(t);
      data.min.push(v);
      data.avg.push(v);
      data.max.push(v);
      const end = chart.scales.x.max ?? t;
      chart.setData(toData({ ...data, bucketSecs: 0, resolution: 'raw' }), false);
      // Follow new readings unless the person has zoomed into the past.
      if (end >= t - 120) chart.setScale('x', { min: chart.scales.x.min ?? t - 3600, max: Math.max(end, t + 1) });
    },
    destroy() {
      gone = true;
      resize.disconnect();
      chart?.destroy();
      chart = null;
    },
  };
}
