// Topics: every topic seen, as a tree with message counts and last payloads, and a filter.

import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import type { TopicNode } from '../types';

export function topicsPage({ hub, app }: PageContext): Page {
  const root = h('section', {});
  const search = h('input', {
    type: 'search',
    placeholder: 'Filter topics',
    'aria-label': 'Filter topics',
  }) as HTMLInputElement;
  replace(app, h('h1', {}, 'Topics'), search, root);
  let tree: TopicNode[] = [];
  const matches = (n: TopicNode, q: string): boolean =>
    n.path.toLowerCase().includes(q) || n.children.some((c) => matches(c, q));
  const node = (n: TopicNode, q: string): HTMLElement => {
    const info = n.info;
    const label = h(
      'span',
      { class: 'topic-name' },
      n.name || '(empty)',
      h('span', { class: 'count' }, ` ${n.messages.toLocaleString('en')} msg`),
      info?.retained ? h('span', { class: 'badge' }, 'retained') : null,
    );
    const detail = info
      ? h(
          'div',
          { class: 'topic-info' },
          h(
            'p',
            { class: 'muted small' },
            `${info.topic} · QoS ${info.qos} · ${info.payloadBytes} bytes · ${fmt.ago(info.lastSeenMs)}`,
          ),
          h('pre', { class: info.truncated ? 'payload truncated' : 'payload' }, fmt.payload(info)),
        )
      : null;
    if (n.children.length === 0) return h('div', { class: 'leaf' }, label, detail);
    return h(
      'details',
      { open: true },
      h('summary', {}, label),
      detail,
      h('div', { class: 'children' }, ...n.children.filter((c) => matches(c, q)).map((c) => node(c, q))),
    );
  };
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = tree.filter((n) => matches(n, q));
    replace(
      root,
      shown.length === 0
        ? h('p', { class: 'muted' }, tree.length === 0 ? 'No messages seen yet.' : 'No topic matches.')
        : shown.map((n) => node(n, q)),
    );
  };
  search.addEventListener('input', render);
  const stop = loading(
    root,
    () => hub.topics(),
    (t) => {
      tree = t;
      render();
    },
  );
  const refresh = setInterval(
    () =>
      hub.topics().then(
        (t) => {
          tree = t;
          if (!root.querySelector(':focus')) render();
        },
        () => {},
      ),
    5000,
  );
  return {
    leave() {
      stop();
      clearInterval(refresh);
    },
  };
}
