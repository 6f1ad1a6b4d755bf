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

  // Rows by topic, with what they showed: a report that comes back the same leaves the page
  // alone, and one that changed draws only its changed rows again, so a Clear button someone
  // tabbed to keeps its focus while a busy home's retained states change around it.
  let rows = new Map<string, { sig: string; el: HTMLElement }>();
  let order = '';
  let summary: HTMLElement | null = null;
  const summaryOf = (rep: RetainedReport) =>
    h(
      'p',
      { class: 'retained-summary' },
      `${rep.count.toLocaleString('en')} retained ${rep.count === 1 ? 'message' : 'messages'}, ${size(rep.bytes)} in all`,
      rep.flagged > 0 ? h('strong', { class: 'warning' }, ` · ${rep.flagged} flagged`) : null,
    );
  const refocus = (had: HTMLElement | undefined, el: HTMLElement) => {
    if (had?.contains(document.activeElement)) el.querySelector<HTMLElement>('button')?.focus();
  };

  const show = (rep: RetainedReport): void => {
    held = new Set(rep.messages.map((m) => m.topic));
    // A question being asked is not swept away by a reload.
    if (root.querySelector('.confirm [role=alert]')) return;
    const next = rep.messages.map((m) => m.topic).join('\n');
    const sum = summaryOf(rep);
    if (summary && rep.count > 0 && next === order) {
      for (const r of rep.messages) {
        const had = rows.get(r.topic)!;
        const sig = JSON.stringify(r);
        if (had.sig === sig) continue;
        const el = item(r);
        had.el.replaceWith(el);
        refocus(had.el, el);
        rows.set(r.topic, { sig, el });
      }
      if (summary.textContent !== sum.textContent) summary.replaceWith((summary = sum));
      return;
    }
    const focused = document.activeElement?.closest<HTMLElement>('li[data-topic]')?.dataset.topic;
    rows = new Map(rep.messages.map((r) => [r.topic, { sig: JSON.stringify(r), el: item(r) }]));
    order = next;
    summary = sum;
    replace(
      root,
      sum,
      rep.count === 0
        ? h('p', { class: 'muted' }, 'The broker keeps no retained message.')
        : h('ul', { class: 'retained-list' }, ...[...rows.values()].map((r) => r.el)),
    );
    // The row focused before, or the first row when it went away.
    if (focused !== undefined)
      (rows.get(focused)?.el ?? root).querySelector<HTMLElement>('.retained-list button, li button')?.focus();
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
    onLive: later,
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
