// The dashboard's entry: picks how to reach the hub (IPC in the desktop window, HTTP in a
// browser), trades a pairing code for a token when opened from a pairing QR code, keeps the
// live link's state in the header, and routes between the pages (one module each, in pages/).

import './locale';
import './style.css';
import { HttpHub, type Hub } from './adapter';
import { h, replace } from './dom';
import { showLink, type Page, type PageContext } from './page';
import { accessPage } from './pages/access';
import { brokerPage } from './pages/broker';
import { devicePage } from './pages/device';
import { devicesPage } from './pages/devices';
import { phonesPage } from './pages/phones';
import { retainedPage } from './pages/retained';
import { topicsPage } from './pages/topics';
import { desktopNotices } from './desktop';
import { TauriHub, ownWindow } from './tauri';

// The desktop window's own page uses IPC; when the window shows a hub already running on this
// PC, that hub's page talks HTTP to it like any browser.
const hub: Hub = ownWindow() ? new TauriHub() : new HttpHub();
const app = document.getElementById('app')!;
const ctx: PageContext = { hub, app };
let page: Page = {};

/** A phone's name for the hub's list, from what its browser says it is. */
function deviceName(): string {
  const ua = navigator.userAgent;
  const android = /Android [\d.]+; ([^;)]+)/.exec(ua);
  if (android && android[1].trim() !== 'K') return android[1].trim();
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return 'Android phone';
  return 'Browser';
}

/** Opened from a pairing QR code: trade its code for this browser's token, then go on. */
async function pairFromUrl(): Promise<boolean> {
  if (location.pathname !== '/pair' || !(hub instanceof HttpHub)) return true;
  const code = new URLSearchParams(location.search).get('code') ?? '';
  try {
    const phone = await hub.pair(code, deviceName());
    history.replaceState(null, '', '/#/devices');
    sessionStorage.setItem('hearth-paired', phone.name);
    return true;
  } catch (e) {
    replace(
      app,
      h('h1', {}, 'Pairing failed'),
      h('div', { class: 'error', role: 'alert' }, (e as Error).message),
      h('p', {}, 'Each code works once and for a few minutes. On the hub’s PC, open Phones and show a new code.'),
    );
    return false;
  }
}

/** Access and phones are managed on the hub's PC only: a browser elsewhere does not see them. */
function hideLocalOnlyPages(): void {
  if (!(hub instanceof HttpHub)) return;
  const host = location.hostname.replace(/^\[|\]$/g, '');
  const local = host === 'localhost' || /^127\./.test(host) || host === '::1';
  if (local) return;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-page="access"], nav a[data-page="phones"]'))
    a.hidden = true;
}

function start(): void {
  hideLocalOnlyPages();
  desktopNotices(hub);
  hub.subscribe(
    (e) => page.onEvent?.(e),
    (s, retry) => {
      if (s === 'open') page.onLive?.();
      const text =
        s === 'open'
          ? 'live'
          : s === 'connecting'
            ? 'connecting…'
            : `offline, retrying in ${Math.ceil((retry ?? 0) / 1000)} s`;
      showLink(text, s);
    },
  );
  window.addEventListener('hashchange', route);
  route();
  const paired = sessionStorage.getItem('hearth-paired');
  if (paired) {
    sessionStorage.removeItem('hearth-paired');
    showLink(`paired as ${paired}`, 'open');
  }
}

function route(): void {
  page.leave?.();
  page = {};
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const name = parts[0] || 'devices';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    a.toggleAttribute('aria-current', a.dataset.page === name || (name === 'device' && a.dataset.page === 'devices'));
  }
  if (name === 'device' && parts.length >= 3) page = devicePage(ctx, `${parts[1]}/${parts.slice(2).join('/')}`);
  else if (name === 'topics' && parts[1] === 'retained') page = retainedPage(ctx);
  else if (name === 'topics') page = topicsPage(ctx, parts[1] === 'unclaimed');
  else if (name === 'broker') page = brokerPage(ctx);
  else if (name === 'access') page = accessPage(ctx);
  else if (name === 'phones') page = phonesPage(ctx);
  else page = devicesPage(ctx);
  app.focus({ preventScroll: true });
}

void pairFromUrl().then((ok) => ok && start());
