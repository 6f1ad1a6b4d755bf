// What only the desktop window shows: which hub it shows when it attached to one already
// running on this PC, the first run's question about starting at login, and the switch for it
// (on the Broker page). In a browser all of this is absent.

import { h, replace } from './dom';
import { TauriHub, attachedHub, type Autostart } from './tauri';
import type { Hub } from './adapter';

const QUESTION = 'Start Hearth when you log in, so it keeps recording after a restart?';

/** A notice above the page: the attached hub, or the login question once. */
export function desktopNotices(hub: Hub): void {
  const origin = attachedHub();
  if (origin) {
    notice(
      h(
        'p',
        {},
        h('strong', {}, `Showing the Hearth service already running on this PC (${origin}).`),
        ' This window does not run a hub of its own; Quit in the tray closes it and leaves that hub running.',
      ),
      'attached',
    );
    return;
  }
  if (!(hub instanceof TauriHub)) return;
  hub.autostart().then(
    (a) => {
      if (a.asked) return;
      const el = notice(h('p', {}), 'autostart-question');
      const answer = (on: boolean) =>
        hub.setAutostart(on).then(
          () => el.remove(),
          (e: Error) => replace(el, h('p', { class: 'warning' }, e.message)),
        );
      replace(
        el,
        h('p', { id: 'autostart-q' }, QUESTION),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'primary', onclick: () => answer(true) }, 'Yes, start at login'),
          h('button', { type: 'button', onclick: () => answer(false) }, 'Not now'),
        ),
      );
      el.setAttribute('aria-labelledby', 'autostart-q');
    },
    () => {},
  );
}

function notice(body: HTMLElement, kind: string): HTMLElement {
  const el = h('section', { class: 'desktop-notice', 'data-notice': kind, role: 'region' }, body);
  el.setAttribute('aria-label', kind === 'attached' ? 'Which hub this window shows' : 'Start at login');
  document.querySelector('header.top')?.after(el);
  return el;
}

/** The Broker page's "This PC" section: the login switch, in the desktop window only. */
export function desktopSettings(hub: Hub): HTMLElement | null {
  if (!(hub instanceof TauriHub)) return null;
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const box = h('section', { 'aria-labelledby': 'h-desktop' }, status);
  const show = (a: Autostart) => {
    const input = h('input', {
      type: 'checkbox',
      id: 'autostart',
      checked: a.enabled,
      onchange: () => {
        input.disabled = true;
        hub.setAutostart(input.checked).then(show, (e: Error) => {
          input.checked = !input.checked;
          input.disabled = false;
          status.textContent = e.message;
        });
      },
    }) as HTMLInputElement;
    replace(
      box,
      h('h2', { id: 'h-desktop' }, 'This PC'),
      h('div', { class: 'form-row' }, input, h('label', { for: 'autostart' }, 'Start Hearth when I log in')),
      status,
    );
    status.textContent = a.enabled
      ? `Starts hidden in the tray and records from login (${a.entry}).`
      : 'Hearth records only while it runs: after a restart, until someone opens it.';
  };
  hub.autostart().then(show, (e: Error) => (status.textContent = e.message));
  return box;
}
