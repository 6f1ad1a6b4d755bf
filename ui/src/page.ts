// What every page shares: the contract between a page and the router, the hub it talks to,
// and `loading`, which shows a page's data or says why it cannot (and, on a phone that is not
// paired, how to pair).

import { HubError, deviceSegments, type Hub } from './adapter';
import { h, replace } from './dom';
import type { Event as HubEvent } from './types';

/** The page on screen: it hears every event and is told when it is left. */
export interface Page {
  onEvent?(e: HubEvent): void;
  /** The live link (re)opened: what happened while it was down, or before it first opened,
   * was not heard, so a page that shows live state asks again. */
  onLive?(): void;
  leave?(): void;
}

/** What a page gets: the hub, and the element it draws in. */
export interface PageContext {
  hub: Hub;
  app: HTMLElement;
}

/** The dashboard's own route to a device's page; the router decodes it back to the id. */
export function deviceHref(id: string): string {
  return `#/device/${deviceSegments(id)}`;
}

const link = () => document.getElementById('link');

/** Set once the hub said this browser is not paired: the live link then says so too. */
let unpaired = false;

/** Shows the live link's state, unless the hub said this browser is not paired. */
export function showLink(text: string, state: string): void {
  const el = link();
  if (!el || (unpaired && state !== 'open')) return;
  unpaired = false;
  el.textContent = text;
  el.dataset.state = state;
}

function notPaired(target: HTMLElement): void {
  unpaired = true;
  const el = link();
  if (el) {
    el.textContent = 'not paired';
    el.dataset.state = 'retrying';
  }
  replace(
    target,
    h(
      'div',
      { class: 'empty', role: 'alert' },
      h('h2', { class: 'plain' }, 'This device is not paired with the hub'),
      h('p', {}, 'On the hub’s PC, open the Phones page and scan its QR code with this phone’s camera.'),
    ),
  );
}

/** Shows `load`'s result via `show`; on failure says why and tries again every 3 s, except when
 * what was asked for does not exist: asking again would not change that, so `missing` says so
 * instead (the page may load again when an event tells it the thing has appeared). */
export function loading<T>(
  target: HTMLElement,
  load: () => Promise<T>,
  show: (v: T) => void,
  missing?: (e: HubError) => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let gone = false;
  replace(target, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const attempt = () =>
    load().then(
      (v) => !gone && show(v),
      (e: unknown) => {
        if (gone) return;
        if (e instanceof HubError && e.code === 'unauthorized') return notPaired(target);
        if (missing && e instanceof HubError && e.code === 'not_found') return missing(e);
        const unreachable = e instanceof HubError && e.code === 'unreachable';
        replace(
          target,
          h(
            'div',
            { class: 'error', role: 'alert' },
            unreachable ? 'Cannot reach the hub. Retrying…' : `The hub answered: ${(e as Error).message}. Retrying…`,
          ),
        );
        timer = setTimeout(attempt, 3000);
      },
    );
  attempt();
  return () => {
    gone = true;
    clearTimeout(timer);
  };
}
