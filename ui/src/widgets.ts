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

/**
 * A button that asks in the page, not in a browser dialog (which phones and the desktop
 * window show differently): the question with the action and Cancel appears in its place.
 */
export function confirmInline(label: string, question: string, action: string, act: () => unknown): HTMLElement {
  const box = h('div', { class: 'confirm' });
  const ask = (): void => {
    const yes = h(
      'button',
      { type: 'button', class: 'danger', onclick: () => void Promise.resolve(act()).finally(() => idle()) },
      action,
    );
    const no = h('button', { type: 'button', onclick: () => idle(true) }, 'Cancel');
    box.replaceChildren(h('p', { role: 'alert' }, question), h('div', { class: 'actions' }, yes, no));
    yes.focus();
  };
  const idle = (focus = false): void => {
    const b = h('button', { type: 'button', class: 'danger', onclick: ask }, label);
    box.replaceChildren(b);
    if (focus) b.focus();
  };
  idle();
  return box;
}

/** "512 B", "1.5 kB", "2.3 MB". */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The two views of Topics: every topic, and the retained messages. */
export function topicViews(current: 'all' | 'retained'): HTMLElement {
  const link = (href: string, text: string, here: boolean) =>
    h('a', { href, 'aria-current': here ? 'page' : undefined }, text);
  return h(
    'nav',
    { class: 'subnav', 'aria-label': 'Topic views' },
    link('#/topics', 'All topics', current === 'all'),
    link('#/topics/retained', 'Retained messages', current === 'retained'),
  );
}
