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

/** What the person asks of the detail chart: a window to look into, or to go back out. */
export interface Zooming {
  zoom(from: number, to: number): void;
  zoomOut(): void;
}

/** A drag narrower than this is a tap or a slip of the finger, not a choice. */
const MIN_ZOOM_PX = 8;
/** Two taps closer than this are a double-tap. */
const DOUBLE_TAP_MS = 350;

/** The detail chart. Drag across it (a finger drags sideways) to zoom; double-click or
 * double-tap to zoom back out. The chart does not rescale itself: it says what was chosen and
 * the caller fetches that window at a finer resolution. */
export function detailChart(
  el: HTMLElement,
  h: History,
  width: number,
  unit: string,
  from: number,
  to: number,
  zooming: Zooming,
): uPlot {
  const accent = css('--accent', '#d9480f');
  const band = css('--band', 'rgba(217,72,15,0.15)');
  const axis = css('--muted', '#666');
  const grid = css('--grid', 'rgba(128,128,128,0.2)');
  const u = new uPlot(
    {
      width,
      height: 280,
      scales: { x: { time: true } },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        // uPlot's own double-click returns to the data's span; the chosen range is the caller's.
        bind: { dblclick: () => null },
      },
      hooks: { setSelect: [(u) => chose(u)] },
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
  let down = false;
  const chose = (u: uPlot) => {
    // A finger still on the glass is still choosing.
    if (down) return;
    const { left, width: w } = u.select;
    if (w <= 0) return;
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (w >= MIN_ZOOM_PX) zooming.zoom(u.posToVal(left, 'x'), u.posToVal(left + w, 'x'));
  };
  u.over.addEventListener('dblclick', () => zooming.zoomOut());
  touchZoom(
    u,
    () => zooming.zoomOut(),
    (d) => (down = d),
    chose,
  );
  return showRange(u, from, to);
}

/** uPlot reads the mouse only: a finger dragging sideways draws the same selection (the page
 * still scrolls vertically, `touch-action: pan-y`), and a double-tap zooms out. */
function touchZoom(u: uPlot, zoomOut: () => void, holding: (down: boolean) => void, chose: (u: uPlot) => void): void {
  const over = u.over;
  over.style.touchAction = 'pan-y';
  let start: number | null = null;
  let lastTap = 0;
  const x = (e: PointerEvent) => Math.min(Math.max(e.clientX - over.getBoundingClientRect().left, 0), over.clientWidth);
  over.addEventListener('pointerdown', (e) => {
    if (e.pointerType !== 'touch') return;
    start = x(e);
    holding(true);
    over.setPointerCapture(e.pointerId);
  });
  over.addEventListener('pointermove', (e) => {
    if (start === null || e.pointerType !== 'touch') return;
    const at = x(e);
    u.setSelect({ left: Math.min(start, at), width: Math.abs(at - start), top: 0, height: over.clientHeight }, false);
  });
  const end = (e: PointerEvent, cancelled: boolean) => {
    if (start === null || e.pointerType !== 'touch') return;
    start = null;
    holding(false);
    const w = u.select.width;
    if (cancelled) {
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      return;
    }
    if (w >= MIN_ZOOM_PX) {
      lastTap = 0;
      chose(u);
      return;
    }
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (e.timeStamp - lastTap < DOUBLE_TAP_MS) {
      lastTap = 0;
      zoomOut();
    } else lastTap = e.timeStamp;
  };
  over.addEventListener('pointerup', (e) => end(e, false));
  over.addEventListener('pointercancel', (e) => end(e, true));
}

/** A gap this many times the usual spacing of readings is an outage, drawn as a break. */
const OUTAGE = 10;

/** The history as uPlot draws it. Buckets finer than the sensor reports (a zoom into a few
 * minutes of a 2 s sensor gives 1 s buckets) are mostly empty: drawn as they are, the line
 * falls apart into dots. Empty buckets are left out, and a break is kept only where readings
 * stopped for much longer than usual. */
export function toData(h: Pick<History, 'ts' | 'min' | 'avg' | 'max'>): uPlot.AlignedData {
  const kept = h.ts.flatMap((_, i) => (h.avg[i] == null ? [] : [i]));
  const steps = kept
    .slice(1)
    .map((i, k) => h.ts[i] - h.ts[kept[k]])
    .sort((a, b) => a - b);
  const usual = steps.length > 0 ? steps[Math.floor(steps.length / 2)] : 0;
  const cols: [number[], (number | null)[], (number | null)[], (number | null)[]] = [[], [], [], []];
  kept.forEach((i, k) => {
    const prev = k > 0 ? h.ts[kept[k - 1]] : undefined;
    if (prev !== undefined && usual > 0 && h.ts[i] - prev > OUTAGE * usual) {
      cols[0].push(Math.floor((prev + h.ts[i]) / 2));
      cols[1].push(null);
      cols[2].push(null);
      cols[3].push(null);
    }
    cols[0].push(h.ts[i]);
    cols[1].push(h.min[i]);
    cols[2].push(h.avg[i]);
    cols[3].push(h.max[i]);
  });
  return cols as uPlot.AlignedData;
}
