// uPlot charts: a sparkline for a card and the detail chart (min–max band, average line).
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

export function sparkline(el: HTMLElement, h: History, width: number, from: number, to: number): uPlot {
  const line = css('--accent', '#d9480f');
  const u = new uPlot(
    {
      width,
      height: 36,
      cursor: { show: false },
      legend: { show: false },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      axes: [{ show: false }, { show: false }],
      scales: { x: { time: true } },
      series: [{}, { stroke: line, width: 1.5, spanGaps: false }],
    },
    [h.ts, h.avg as number[]],
    el,
  );
  return showRange(u, from, to);
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
