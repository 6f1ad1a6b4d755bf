// Retained messages (a view of Topics): every message the broker keeps and hands each new
// subscriber, with its age and size, the usual traps flagged with why — a retained command
// that switches a light at every boot, the discovery config of a device long gone, a large
// payload — and a clear button for each (the MQTT way: an empty retained message).

import { h, replace } from '../dom';
import * as fmt from '../format';
import { deviceHref, loading, type Page, type PageContext } from '../page';
import type { RetainedReport, RetainedRow, TrapKind } from '../types';
import { confirmInline, size, statusLine, topicViews } from '../widgets';

const TRAP_NAMES: Record<TrapKind, string> = {
  retained_command: 'Retained command',
  stale_discovery: 'Ghost device',
  large: 'Large',
};

export function retainedPage({ hub, app }: PageContext): Page {
  const root = h('div', {});
  const status = statusLine();
  replace(
    app,
    h('h1', {}, 'Topics'),
    topicViews('retained'),
    h(
      'p',
      { class: 'muted' },
      'A retained message is kept by the broker and sent to every client that subscribes, at every connect.',
    ),
    status.el,
    root,
  );
  let held = new Set<string>();

  const item = (r: RetainedRow): HTMLElement =>
    h(
      'li',
      { class: r.traps.length > 0 ? 'retained-item flagged' : 'retained-item', 'data-topic': r.topic },
      h('h2', { class: 'plain retained-topic' }, r.topic),
      h(
        'p',
        { class: 'muted small' },
        `${fmt.ago(r.sinceMs)} · ${size(r.payloadBytes)} · QoS ${r.qos}`,
        r.device ? ' · ' : null,
        r.device ? h('a', { href: deviceHref(r.device) }, 'device') : null,
      ),
      r.traps.length > 0
        ? h(
            'ul',
            { class: 'traps' },
            ...r.traps.map((t) =>
              h('li', { class: 'trap', 'data-trap': t.kind }, h('strong', {}, TRAP_NAMES[t.kind]), ': ', t.why),
            ),
          )
        : null,
      h('pre', { class: 'payload' }, r.payloadBytes > r.preview.length ? `${r.preview}…` : r.preview),
      confirmInline(
        'Clear…',
        `Clear the retained message on ${r.topic}? Clients that subscribe will no longer get it.`,
        'Clear',
        () =>
          hub.clearRetained(r.topic).then(
            () => status.ok(`Cleared the retained message on ${r.topic}.`),
            (e: unknown) => status.err(e),
          ),
      ),
    );

  const show = (rep: RetainedReport): void => {
    held = new Set(rep.messages.map((m) => m.topic));
    // A question being asked is not swept away by a reload.
    if (root.querySelector('.confirm [role=alert]')) return;
    replace(
      root,
      h(
        'p',
        { class: 'retained-summary' },
        `${rep.count.toLocaleString('en')} retained ${rep.count === 1 ? 'message' : 'messages'}, ${size(rep.bytes)} in all`,
        rep.flagged > 0 ? h('strong', { class: 'warning' }, ` · ${rep.flagged} flagged`) : null,
      ),
      rep.count === 0
        ? h('p', { class: 'muted' }, 'The broker keeps no retained message.')
        : h('ul', { class: 'retained-list' }, ...rep.messages.map(item)),
    );
  };
  const stop = loading(root, () => hub.retained(), show);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      hub.retained().then(show, () => {});
    }, 500);
  };
  return {
    onEvent(e) {
      // Live: a retained message set, replaced or cleared.
      if (e.type === 'topics_changed' && (e.reload || e.topics.some((t) => t.retained || held.has(t.topic)))) later();
    },
    leave() {
      stop();
      clearTimeout(timer);
    },
  };
}
