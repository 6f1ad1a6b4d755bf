// Broker: clients, message rates and listeners, refreshed by the hub's stats events.

import { desktopSettings } from '../desktop';
import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import type { BrokerStatus } from '../types';

export function brokerPage({ hub, app }: PageContext): Page {
  const root = h('section', {});
  replace(app, h('h1', {}, 'Broker'), root, desktopSettings(hub));
  const show = (b: BrokerStatus) => {
    const row = (k: string, v: string | number) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, String(v)));
    replace(
      root,
      h(
        'table',
        { class: 'stats' },
        h(
          'tbody',
          {},
          row('Mode', b.mode === 'embedded' ? 'embedded broker' : `external broker ${b.externalBroker}`),
          row('Hub client', b.hubConnected ? 'connected' : 'not connected'),
          row('Clients connected', b.clients ?? '—'),
          row('Messages in / s', fmt.rate(b.messagesInPerSec)),
          row('Messages out / s', fmt.rate(b.messagesOutPerSec)),
          row('Messages in (total)', b.messagesInTotal.toLocaleString('en')),
          row('Topics', b.topics.toLocaleString('en')),
          row('Readings stored', b.readingsStored.toLocaleString('en')),
          row('Commands waiting', b.pendingCommands),
          row('Up for', `${Math.floor(b.uptimeSecs / 60)} min`),
        ),
      ),
      h('h2', {}, 'Listeners'),
      h('table', { class: 'stats' }, h('tbody', {}, ...b.listeners.map((l) => row(l.name, l.address)))),
    );
  };
  const stop = loading(root, () => hub.broker(), show);
  return {
    onEvent(e) {
      if (e.type === 'broker_stats') {
        const { type: _t, ...b } = e;
        show(b);
      }
    },
    leave: stop,
  };
}
