// Small pieces several pages use: a status line for the last action, and images from the
// hub's SVG.

import { h } from './dom';

/** An error's message, whatever was thrown. */
export function failure(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A line that says how the last action went. */
export function statusLine(): { el: HTMLElement; ok(m: string): void; err(e: unknown): void } {
  const el = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    ok(m) {
      el.className = 'status-line ok';
      el.textContent = m;
    },
    err(e) {
      el.className = 'status-line bad';
      el.textContent = failure(e);
    },
  };
}

/** An SVG document as an <img> source. */
export function svgSrc(svg: string): string {
  return 'data:image/svg+xml;base64,' + btoa(svg);
}

/** A button that asks `question` first, then does `act`; `danger` marks what cannot be undone. */
export function confirmButton(label: string, question: string, act: () => unknown, danger = true): HTMLElement {
  return h(
    'button',
    { type: 'button', class: danger ? 'danger' : undefined, onclick: () => confirm(question) && act() },
    label,
  );
}
