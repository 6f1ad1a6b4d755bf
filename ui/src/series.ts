// One recorded series as a chart with its quick ranges, a custom range, zoom, CSV export and
// live readings: the device page and the Topics page show the same thing, so it is built once
// here. Temperatures are converted to the household's unit as they arrive, the chart, the CSV
// and the live points alike, because the hub records them in whatever unit the device sent.
//
// Two ranges are kept apart: the one the person chose (a quick range or a custom one) and the
// window shown, which a zoom narrows. A zoom asks the hub again for that window, so zooming into
// a day of hourly buckets shows its minutes; zooming out returns to the chosen range, and the
// CSV holds what is shown.

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
/** Buckets asked for: about one per pixel of a wide chart. */
const POINTS = 600;

type Column = (number | null)[];
type Chosen = { secs: number } | { from: number; to: number };

export interface SeriesChart {
  el: HTMLElement;
  onReading(e: ReadingEvent): void;
  destroy(): void;
}

/** Whether this screen is driven by touch, so the hint speaks of taps rather than clicks. */
const touchFirst = () => typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches;

function clock(secs: number, span: number): string {
  const d = new Date(secs * 1000);
  return span > 2 * 86_400
    ? d.toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

function chosenText(c: Chosen): string {
  if ('secs' in c) return `the last ${RANGES.find(([, s]) => s === c.secs)?.[0] ?? `${c.secs} s`}`;
  return `${clock(c.from, c.to - c.from)}–${clock(c.to, c.to - c.from)}`;
}

/** A chart of `topic`'s `field` ("" for a plain number); `label` names it for screen readers and the CSV. */
export function seriesChart(hub: Hub, topic: string, field: string, label: string, file: string): SeriesChart {
  let chart: uPlot | null = null;
  let chosen: Chosen = { secs: 3600 };
  // The window on screen: the chosen range, or a zoom into it.
  let shownFrom = 0;
  let shownTo = 0;
  let zoomed = false;
  let data: { ts: number[]; min: Column; avg: Column; max: Column } | null = null;
  // The unit the hub recorded the series in; readings are converted from it.
  let source: string | null = null;
  let gone = false;
  // Answers can cross: only the last request asked for is drawn.
  let asked = 0;

  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': `${label} history` });
  const note = h('p', { class: 'chart-note muted small', 'aria-live': 'polite' });
  const shown = () => fmt.shownUnit(source, householdUnit());
  const convert = (col: Column): Column => col.map((v) => (v == null ? null : fmt.toUnit(v, source, householdUnit())));
  const live = () => !zoomed && 'secs' in chosen;

  const hint = () =>
    zoomed
      ? `Zoomed in to ${chosenText({ from: shownFrom, to: shownTo })}. ${touchFirst() ? 'Double-tap' : 'Double-click'} the chart to go back to ${chosenText(chosen)}.`
      : touchFirst()
        ? 'Drag sideways across the chart to zoom, double-tap to zoom out.'
        : 'Drag across the chart to zoom, double-click to zoom out.';

  const draw = (from: number, to: number) => {
    const id = ++asked;
    shownFrom = from;
    shownTo = to;
    hub.history(topic, field, from, to, POINTS).then(
      (s) => {
        if (gone || id !== asked) return;
        source = s.unit ?? null;
        const hist = s.history;
        data = { ts: hist.ts, min: convert(hist.min), avg: convert(hist.avg), max: convert(hist.max) };
        const unit = shown();
        const filled = hist.avg.filter((v) => v !== null).length;
        note.textContent =
          (filled === 0
            ? 'No readings in this window'
            : `${fmt.plural(filled, 'point')}, ${hist.resolution} data, ${hist.bucketSecs} s buckets` +
              `${unit ? `, in ${unit}` : ''}`) + `. ${hint()}`;
        chart?.destroy();
        chartBox.replaceChildren();
        chart = detailChart(
          chartBox,
          { ...hist, ...data },
          Math.max(260, chartBox.clientWidth || 600),
          unit.startsWith('°') ? unit : unit ? ` ${unit}` : '',
          from,
          to,
          { zoom, zoomOut },
        );
        chartBox.dataset.from = String(Math.floor(from));
        chartBox.dataset.to = String(Math.ceil(to));
        chartBox.dataset.bucketSecs = String(hist.bucketSecs);
      },
      (e: Error) => {
        if (gone || id !== asked) return;
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
        note.textContent = zoomed ? hint() : '';
      },
    );
  };

  const choose = (c: Chosen) => {
    chosen = c;
    zoomed = false;
    const now = Date.now() / 1000;
    if ('secs' in c) draw(now - c.secs, now + 1);
    else draw(c.from, c.to);
  };

  function zoom(from: number, to: number) {
    zoomed = true;
    draw(from, to);
  }

  function zoomOut() {
    if (zoomed) choose(chosen);
  }

  const from = h('input', { type: 'datetime-local', 'aria-label': `${label}: from` }) as HTMLInputElement;
  const to = h('input', { type: 'datetime-local', 'aria-label': `${label}: to` }) as HTMLInputElement;
  const press = (b: HTMLElement | null) => {
    for (const other of controls.querySelectorAll('button[aria-pressed]')) other.setAttribute('aria-pressed', 'false');
    b?.setAttribute('aria-pressed', 'true');
  };
  const custom = h(
    'details',
    { class: 'custom' },
    h('summary', {}, 'Custom range'),
    h(
      'span',
      { class: 'custom-fields' },
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
              choose({ from: f, to: t });
            } else note.textContent = 'Pick a start, and an end after it.';
          },
        },
        'Show',
      ),
    ),
  );
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
            choose({ secs });
          },
        },
        text,
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          if (!data) return;
          // What is on screen: the zoomed window, or the chosen range up to now.
          const lo = chart?.scales.x.min ?? shownFrom;
          const hi = chart?.scales.x.max ?? shownTo;
          const csv = fmt.historyCsv(data.ts, data.min, data.avg, data.max, shown(), lo, hi);
          hub.saveFile(`${fmt.csvName(file, lo, hi)}.csv`, csv).then(
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
    custom,
  );

  // The chart is drawn at a fixed width: follow the box when a phone turns or a window resizes.
  const resize = new ResizeObserver(() => {
    const w = chartBox.clientWidth;
    if (chart && w > 0 && Math.abs(chart.width - w) > 4) chart.setSize({ width: Math.max(260, w), height: 280 });
  });
  resize.observe(chartBox);

  choose(chosen);

  return {
    el: h('div', { class: 'series', 'data-topic': topic, 'data-field': field }, controls, chartBox, note),
    onReading(e) {
      if (!live() || !chart || !data || e.topic !== topic || e.field !== field) return;
      const t = Math.floor(e.tsMs / 1000);
      const v = fmt.toUnit(e.value, source, householdUnit());
      data.ts.push(t);
      data.min.push(v);
      data.avg.push(v);
      data.max.push(v);
      const end = chart.scales.x.max ?? t;
      chart.setData(toData(data), false);
      shownTo = Math.max(end, t + 1);
      chart.setScale('x', { min: chart.scales.x.min ?? t - 3600, max: shownTo });
    },
    destroy() {
      gone = true;
      resize.disconnect();
      chart?.destroy();
      chart = null;
    },
  };
}
