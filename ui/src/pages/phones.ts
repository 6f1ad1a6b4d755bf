// Phones: pairing a phone's browser by QR code, the paired phones, and MQTT settings for a
// phone's MQTT app. Managed on the hub's PC only.

import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import type { MqttSetup, Pairing, Phone } from '../types';
import { confirmButton, copyable, statusLine, svgSrc } from '../widgets';

export function phonesPage({ hub, app }: PageContext): Page {
  const pairBox = h('section', { 'aria-labelledby': 'h-pair' });
  const listBox = h('section', { 'aria-labelledby': 'h-phones' });
  const mqttBox = h('section', { 'aria-labelledby': 'h-mqtt' });
  replace(app, h('h1', {}, 'Phones'), pairBox, listBox, mqttBox);
  let countdown: ReturnType<typeof setInterval> | undefined;

  const showPairing = (p: Pairing | null) => {
    clearInterval(countdown);
    const status = statusLine();
    const start = h(
      'button',
      { type: 'button', class: 'primary', onclick: () => hub.startPairing().then(showPairing, status.err) },
      p ? 'New code' : 'Show pairing code',
    );
    if (!p) {
      replace(
        pairBox,
        h('h2', { id: 'h-pair', class: 'plain' }, 'Pair a phone'),
        h(
          'p',
          {},
          'Scan the code with the phone’s camera while it is on the same network. The phone opens the dashboard and stays signed in.',
        ),
        start,
        status.el,
      );
      return;
    }
    const left = h('span', { class: 'muted' });
    const tick = () => {
      const s = Math.max(0, Math.round((p.expiresMs - Date.now()) / 1000));
      left.textContent =
        s > 0
          ? `Works once, for ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} more.`
          : 'Expired: make a new code.';
      if (s === 0) clearInterval(countdown);
    };
    tick();
    countdown = setInterval(tick, 1000);
    replace(
      pairBox,
      h('h2', { id: 'h-pair', class: 'plain' }, 'Pair a phone'),
      h(
        'div',
        { class: 'qr-block' },
        h('img', { class: 'qr', src: svgSrc(p.qrSvg), alt: 'Pairing QR code', width: 240, height: 240 }),
        h(
          'div',
          {},
          p.lanReachable
            ? null
            : h(
                'p',
                { class: 'warning' },
                'The dashboard listens on this PC only (http-listen is a loopback address): a phone cannot open this until it listens on the LAN.',
              ),
          h('p', {}, 'Scan with the phone’s camera, or open:'),
          h('p', {}, h('code', { class: 'url', id: 'pair-url' }, p.url)),
          p.otherUrls.length
            ? h(
                'details',
                {},
                h('summary', { class: 'small' }, 'Other addresses of this PC'),
                h('ul', { class: 'small' }, ...p.otherUrls.map((u) => h('li', {}, h('code', {}, u)))),
              )
            : null,
          left,
          h('p', {}, start),
          status.el,
        ),
      ),
    );
  };

  const showPhones = (phones: Phone[]) => {
    const status = statusLine();
    replace(
      listBox,
      h('h2', { id: 'h-phones', class: 'plain' }, 'Paired phones'),
      phones.length === 0
        ? h('p', { class: 'muted' }, 'No phone is paired yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Paired'), h('th', {}, 'Last seen'), h('th', {}, '')),
            ),
            h(
              'tbody',
              {},
              ...phones.map((p) =>
                h(
                  'tr',
                  { class: p.revokedMs ? 'revoked' : '' },
                  h('td', {}, p.name),
                  h('td', {}, fmt.ago(p.pairedMs)),
                  h('td', {}, p.revokedMs ? `revoked ${fmt.ago(p.revokedMs)}` : fmt.ago(p.lastSeenMs)),
                  h(
                    'td',
                    {},
                    p.revokedMs
                      ? null
                      : confirmButton('Revoke', `Revoke ${p.name}? It will have to pair again.`, () =>
                          hub.revokePhone(p.id).then(() => hub.phones().then(showPhones), status.err),
                        ),
                  ),
                ),
              ),
            ),
          ),
      status.el,
    );
  };

  const showMqtt = (m: MqttSetup | null) => {
    const name = h('input', { id: 'mqtt-name', placeholder: 'Ann’s phone', required: true }) as HTMLInputElement;
    const status = statusLine();
    const form = h(
      'form',
      {
        class: 'inline-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          hub.phoneMqtt(name.value.trim()).then(showMqtt, status.err);
        },
      },
      h('label', { for: 'mqtt-name' }, 'For'),
      name,
      h('button', { type: 'submit' }, 'Make MQTT settings'),
    );
    const row = (k: string, v?: string | number | HTMLElement | null) =>
      v == null
        ? null
        : h(
            'tr',
            {},
            h('th', { scope: 'row' }, k),
            h('td', {}, v instanceof HTMLElement ? v : h('code', {}, String(v))),
          );
    replace(
      mqttBox,
      h('h2', { id: 'h-mqtt', class: 'plain' }, 'MQTT app on a phone'),
      h(
        'p',
        { class: 'muted small' },
        'For MQTT apps (MQTT Dash, IoT MQTT Panel, …): a new credential with the phone role — read home/#, switch lights — and its settings as a QR code.',
      ),
      form,
      status.el,
      m
        ? h(
            'div',
            { class: 'qr-block' },
            h('img', { class: 'qr', src: svgSrc(m.qrSvg), alt: 'MQTT settings QR code', width: 240, height: 240 }),
            h(
              'table',
              { class: 'stats' },
              h(
                'tbody',
                {},
                row('Host', m.host),
                row('Port', m.port),
                row('TLS port', m.tlsPort),
                row('WebSocket port', m.wsPort),
                row('Secure WebSocket port', m.wssPort),
                row('Username', m.username),
                row('Password (shown once)', copyable(m.password, 'MQTT password')),
                m.caUrl
                  ? h(
                      'tr',
                      {},
                      h('th', { scope: 'row' }, 'CA certificate'),
                      h('td', {}, h('a', { href: m.caUrl }, m.caUrl)),
                    )
                  : null,
              ),
            ),
          )
        : null,
    );
  };

  showPairing(null);
  showMqtt(null);
  const stop = loading(listBox, () => hub.phones(), showPhones);
  const refresh = setInterval(() => hub.phones().then(showPhones, () => {}), 5000);
  return {
    leave() {
      stop();
      clearInterval(refresh);
      clearInterval(countdown);
    },
  };
}
