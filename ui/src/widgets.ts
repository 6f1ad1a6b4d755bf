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

/** A secret shown once, with a button that copies it: the Clipboard API where the page may use
 * it (this PC, HTTPS, the desktop window), else selecting it and the older copy command, which
 * works on a phone over plain HTTP too. The field is selectable by hand when both fail. */
export function copyable(text: string, what: string): HTMLElement {
  const field = h('input', {
    type: 'text',
    class: 'password',
    readonly: true,
    value: text,
    'aria-label': what,
    spellcheck: 'false',
  }) as HTMLInputElement;
  const said = h('span', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  const legacy = () => {
    field.focus();
    field.select();
    return document.execCommand('copy');
  };
  const copy = async () => {
    let done = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        done = true;
      }
    } catch {
      // Refused (no permission, or the window is not focused): the older way below.
    }
    if (!done) done = legacy();
    said.className = done ? 'status-line ok' : 'status-line bad';
    said.textContent = done ? 'Copied' : 'Cannot copy here: select it and copy it by hand';
  };
  return h(
    'span',
    { class: 'copyable' },
    field,
    h('button', { type: 'button', onclick: () => void copy(), 'aria-label': `Copy ${what}` }, 'Copy'),
    said,
  );
}
