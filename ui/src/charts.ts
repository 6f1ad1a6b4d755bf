// A sparkline for a card (SVG) and the detail chart (uPlot: min–max band, average line).
// Data is the hub's columnar history: uPlot takes it as it comes.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { History } from './types';

function css(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** The x axis shows the range asked for, however few points it holds. */
function showRange(u: uPlot, from: number, to: number): uPlot {
  u.setScale('x', { min: from, max: to });
  return u;
}

const SPARK_W = 240;
const SPARK_H = 36;

/**
 * A card's sparkline as one SVG path. Cheaper than a chart per card: no canvas, no measuring of
 * the page (a uPlot reads the layout as it is made, which with 100 cards is 100 forced layouts),
 * and it stretches to its box. A glance, not a record: gaps between buckets are bridged (a
 * sensor reporting every 2 s in 1 s buckets is a line, not dots); the detail chart keeps them.
 */
export function sparkline(h: History, from: number, to: number): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const values = h.avg.filter((v): v is number => v !== null);
  if (values.length === 0) return svg;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = Math.max(to - from, 1);
  const pad = 3;
  const y = (v: number) => (hi === lo ? SPARK_H / 2 : pad + ((hi - v) / (hi - lo)) * (SPARK_H - 2 * pad));
  let d = '';
  h.ts.forEach((t, i) => {
    const v = h.avg[i];
    if (v === null) return;
    const x = Math.min(Math.max(((t - from) / span) * SPARK_W, 0), SPARK_W);
    d += `${d ? 'L' : 'M'}${x.toFixed(1)} ${y(v).toFixed(1)}`;
  });
  // One bucket is a dot: a zero-length segment with round caps.
  if (values.length === 1) d += 'h0';
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

/** The detail chart. Drag across it to zoom; double-click to zoom back out. */
export function detailChart(el: HTMLElement, h: History, width: number, unit: string, from: number, to: number): uPlot {
  const accent = css('--accent', '#d9480f');
  const band = css('--band', 'rgba(217,72,15,0.15)');
  const axis = css('--muted', '#666');
  const grid = css('--grid', 'rgba(128,128,128,0.2)');
  const u = new uPlot(
    {
      width,
      height: 280,
      scales: { x: { time: true } },
      axes: [
        { stroke: axis, grid: { stroke: grid } },
        {
          stroke: axis,
          grid: { stroke: grid },
          values: (_u, vals) => vals.map((v) => `${v}${unit}`),
          // uPlot's default width clips labels with a unit ("21.6°C"); size it to the longest.
          size: (_u, vals) => (vals ? Math.max(...vals.map((v) => String(v).length)) * 7 + 20 : 50),
        },
      ],
      series: [
        {},
        { label: 'min', stroke: band, width: 1, points: { show: false } },
        { label: 'avg', stroke: accent, width: 2 },
        { label: 'max', stroke: band, width: 1, points: { show: false } },
      ],
      bands: [{ series: [3, 1], fill: band }],
    },
    toData(h),
    el,
  );
  return showRange(u, from, to);
}

export function toData(h: History): uPlot.AlignedData {
  return [h.ts, h.min, h.avg, h.max] as uPlot.AlignedData;
}
