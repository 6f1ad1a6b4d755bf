// Devices: every device grouped by room, with a temperature's sparkline and a light's switch
// and the fate of its last command, kept live by the hub's events.

import type uPlot from 'uplot';
import { sparkline } from '../charts';
import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import type { BrokerStatus, Command, Device, Room } from '../types';

export function devicesPage({ hub, app }: PageContext): Page {
  const root = h('section', { 'aria-labelledby': 'h-devices' });
  replace(app, h('h1', { id: 'h-devices' }, 'Devices'), root);
  const cards = new Map<string, { el: HTMLElement; device: Device }>();
  const sparks: uPlot[] = [];
  let pendingSwitch = new Set<string>();

  const renderCard = (d: Device): HTMLElement => {
    const silent = fmt.isSilent(d.lastSeenMs);
    const body: (Node | string)[] = [];
    if (d.kind === 'temperature') {
      body.push(h('p', { class: 'value' }, fmt.temperature(d.temperature)));
      const sp = h('div', { class: 'spark', 'aria-hidden': 'true' });
      body.push(sp);
      const now = Date.now() / 1000;
      hub.history(d.stateTopic, d.temperatureField ?? '', now - 86_400, now + 1, 48).then(
        (s) => {
          if (s.history.ts.length > 0)
            sparks.push(sparkline(sp, s.history, Math.min(240, sp.clientWidth || 200), now - 86_400, now));
        },
        () => sp.replaceChildren(),
      );
    } else if (d.kind === 'light') {
      const on = d.light?.state === 'on';
      const state = d.light?.state ?? 'unknown';
      const busy = d.lastCommand?.outcome === 'pending' || pendingSwitch.has(d.id);
      body.push(
        h(
          'div',
          { class: 'light-row' },
          h('span', { class: `state state-${state}` }, state.toUpperCase()),
          h(
            'button',
            {
              class: 'switch',
              role: 'switch',
              'aria-checked': String(on),
              'aria-label': `${d.name} in ${d.room}`,
              disabled: busy,
              onclick: () => {
                pendingSwitch.add(d.id);
                update(d);
                hub.switchLight(d.id, !on).then(
                  (c) => {
                    pendingSwitch.delete(d.id);
                    const cur = cards.get(d.id)?.device ?? d;
                    // The command's own events may have overtaken this answer: keep the newer.
                    if (!cur.lastCommand || cur.lastCommand.id < c.id) update({ ...cur, lastCommand: c });
                    else update(cur);
                  },
                  (e: Error) => {
                    pendingSwitch.delete(d.id);
                    update(d);
                    alert(`Could not switch ${d.name}: ${e.message}`);
                  },
                );
              },
            },
            h('span', { class: 'knob' }),
          ),
        ),
      );
      if (d.lastCommand) body.push(commandLine(d.lastCommand));
    } else {
      body.push(h('p', { class: 'value small' }, d.lastPayload));
    }
    return h(
      'article',
      { class: `card${silent ? ' silent' : ''}`, 'data-device': d.id, 'data-kind': d.kind },
      h(
        'div',
        { class: 'card-head' },
        h('a', { class: 'name', href: `#/device/${encodeURIComponent(d.room)}/${encodeURIComponent(d.name)}` }, d.name),
        h('span', { class: 'kind' }, d.kind),
      ),
      ...body,
      h(
        'p',
        { class: 'seen muted' },
        silent ? `silent since ${fmt.ago(d.lastSeenMs)}` : `seen ${fmt.ago(d.lastSeenMs)}`,
      ),
    );
  };

  const update = (d: Device) => {
    const c = cards.get(d.id);
    if (!c) return void reload();
    const el = renderCard(d);
    c.el.replaceWith(el);
    cards.set(d.id, { el, device: d });
  };

  const show = ([rooms, broker]: [Room[], BrokerStatus]) => {
    cards.clear();
    if (rooms.length === 0) {
      const mqtt = broker.listeners.find((l) => l.name === 'mqtt');
      const host = mqtt ? mqtt.address.replace(/:\d+$/, '') : '<this PC>';
      const port = mqtt ? mqtt.address.split(':').pop() : 1883;
      replace(
        root,
        h(
          'div',
          { class: 'empty' },
          h('h2', {}, 'No devices yet'),
          h(
            'p',
            {},
            'Point a device or an MQTT client at the hub and publish to a topic like home/livingroom/temperature:',
          ),
          h('pre', {}, `mosquitto_pub -h ${host} -p ${port} -t home/livingroom/temperature -m 21.5`),
          h(
            'p',
            { class: 'muted' },
            mqtt ? `Broker: ${mqtt.address} (MQTT 3.1.1 and 5)` : `Broker: ${broker.externalBroker ?? 'not running'}`,
          ),
        ),
      );
      return;
    }
    replace(
      root,
      ...rooms.map((r) =>
        h(
          'section',
          { class: 'room', 'aria-label': r.room },
          h('h2', {}, r.room),
          h(
            'div',
            { class: 'cards' },
            ...r.devices.map((d) => {
              const el = renderCard(d);
              cards.set(d.id, { el, device: d });
              return el;
            }),
          ),
        ),
      ),
    );
  };
  let stop = () => {};
  const reload = () => {
    stop();
    stop = loading(root, () => Promise.all([hub.devices(), hub.broker()]), show);
  };
  reload();
  const tick = setInterval(
    () =>
      cards.forEach((c) => {
        const seen = c.el.querySelector('.seen');
        if (seen)
          seen.textContent = fmt.isSilent(c.device.lastSeenMs)
            ? `silent since ${fmt.ago(c.device.lastSeenMs)}`
            : `seen ${fmt.ago(c.device.lastSeenMs)}`;
      }),
    5000,
  );

  return {
    onEvent(e) {
      if (e.type === 'device_updated') {
        const { type: _t, ...d } = e;
        const cur = cards.get(d.id)?.device;
        if (!cur) return void reload();
        if (
          cur.lastSeenMs !== d.lastSeenMs ||
          cur.temperature !== d.temperature ||
          cur.light?.state !== d.light?.state
        ) {
          update({ ...d, lastCommand: newer(cur.lastCommand, d.lastCommand) });
        }
      } else if (e.type === 'command_updated' && e.origin === 'hub') {
        const { type: _t, ...c } = e;
        const cur = cards.get(c.light)?.device;
        if (cur && (!cur.lastCommand || cur.lastCommand.id <= c.id)) update({ ...cur, lastCommand: c });
      } else if (e.type === 'light_state') {
        const { type: _t, ...l } = e;
        const cur = cards.get(l.light)?.device;
        if (cur) update({ ...cur, light: l, lastSeenMs: l.updatedMs });
      }
    },
    leave() {
      stop();
      clearInterval(tick);
      sparks.forEach((s) => s.destroy());
      pendingSwitch = new Set();
    },
  };
}

function newer(a?: Command | null, b?: Command | null): Command | null | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}

export function commandLine(c: Command): HTMLElement {
  return h(
    'p',
    { class: `fate fate-${c.outcome}`, 'data-outcome': c.outcome, 'data-command': c.id },
    c.outcome === 'pending' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    fmt.outcome(c),
  );
}
