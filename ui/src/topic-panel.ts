// The selected topic on the Topics page, as MQTT Explorer shows it: its marks, its last
// messages with their times, QoS and retain flags (live), clearing its retained message,
// and a form to publish a message, prefilled with the topic.

import type { Hub } from './adapter';
import { h, replace } from './dom';
import * as fmt from './format';
import type { TopicInfo, TopicMessage } from './types';
import { confirmInline, failure, size, statusLine } from './widgets';

/** "14:03:07.215", with the date when not today. */
function when(ms: number, now = new Date()): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  return d.toDateString() === now.toDateString() ? time : `${d.toLocaleDateString('en-CA')} ${time}`;
}

function message(m: TopicMessage): HTMLElement {
  const cut = m.payloadBytes > new TextEncoder().encode(m.payload).length;
  return h(
    'li',
    { class: 'message' },
    h(
      'div',
      { class: 'message-head' },
      h('time', { datetime: new Date(m.atMs).toISOString() }, when(m.atMs)),
      h('span', { class: 'badge' }, `QoS ${m.qos}`),
      m.retained
        ? h('span', { class: 'badge retained', 'data-mark': 'retained' }, m.replay ? 'retained, replayed' : 'retained')
        : null,
      h('span', { class: 'muted small' }, size(m.payloadBytes)),
    ),
    h(
      'pre',
      { class: cut ? 'payload truncated' : 'payload' },
      m.payloadBytes === 0 ? '(empty)' : cut ? `${m.payload}… [${m.payloadBytes} bytes in all]` : m.payload,
    ),
  );
}

export interface TopicPanel {
  el: HTMLElement;
  /** Shows `info`'s topic (or nothing), and puts it in the publish form. */
  select(info: TopicInfo | null): void;
  /** The selected topic's row changed (a new message, its mark). */
  changed(info: TopicInfo): void;
  selected(): string | null;
}

export function topicPanel(hub: Hub): TopicPanel {
  let current: TopicInfo | null = null;
  let fetching = false;
  let again = false;
  const head = h('div', {});
  const clear = h('div', {});
  const list = h('div', {});

  const topic = h('input', { id: 'pub-topic', required: true, autocomplete: 'off' }) as HTMLInputElement;
  const payload = h('textarea', { id: 'pub-payload', rows: 3 }) as HTMLTextAreaElement;
  const qos = h(
    'select',
    { id: 'pub-qos' },
    ...[0, 1, 2].map((q) => h('option', { value: q }, `QoS ${q}`)),
  ) as HTMLSelectElement;
  const retain = h('input', { id: 'pub-retain', type: 'checkbox' }) as HTMLInputElement;
  const status = statusLine();
  const form = h(
    'form',
    {
      class: 'publish-form',
      'aria-label': 'Publish a message',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const m = { topic: topic.value, payload: payload.value, qos: Number(qos.value), retain: retain.checked };
        hub.publish(m).then(
          () => status.ok(`Published to ${m.topic}${m.retain ? ' (retained)' : ''}.`),
          (err: unknown) => status.err(err),
        );
      },
    },
    h('label', { for: 'pub-topic' }, 'Topic'),
    topic,
    h('label', { for: 'pub-payload' }, 'Payload'),
    payload,
    h(
      'div',
      { class: 'inline-form' },
      h('label', { for: 'pub-qos', class: 'sr-only' }, 'QoS'),
      qos,
      h('label', { for: 'pub-retain', class: 'check' }, retain, ' Retain'),
      h('button', { type: 'submit', class: 'primary' }, 'Publish'),
    ),
    status.el,
  );

  const loadMessages = (): void => {
    if (!current) return;
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    const name = current.topic;
    hub.topicMessages(name).then(
      (ms) => {
        fetching = false;
        if (current?.topic !== name) return;
        replace(
          list,
          ms.length === 0
            ? h('p', { class: 'muted' }, 'No messages kept.')
            : h(
                'ol',
                { class: 'messages', 'aria-label': `Last messages on ${name}`, reversed: true },
                ...ms.reverse().map(message),
              ),
        );
        if (again) {
          again = false;
          loadMessages();
        }
      },
      (e: unknown) => {
        fetching = false;
        replace(list, h('p', { class: 'error' }, `Cannot load the messages: ${failure(e)}`));
      },
    );
  };

  const showHead = (info: TopicInfo): void => {
    replace(
      head,
      h('h2', { class: 'plain selected-topic' }, info.topic),
      h(
        'p',
        { class: 'marks' },
        info.retained
          ? h('span', { class: 'badge retained', 'data-mark': 'retained' }, 'retained')
          : h('span', { class: 'muted small' }, 'not retained'),
        h('span', { class: 'badge' }, `QoS ${info.qos}`),
        h('span', { class: 'muted small' }, ` ${info.messages.toLocaleString('en')} msg · ${fmt.ago(info.lastSeenMs)}`),
      ),
    );
    // Kept while the mark stays, so a question being asked is not swept away by a message.
    if (!info.retained) replace(clear);
    else if (!clear.firstChild)
      replace(
        clear,
        confirmInline(
          'Clear retained message…',
          `Clear the retained message on ${info.topic}? Devices and apps that subscribe will no longer get it when they connect.`,
          'Clear',
          () =>
            hub.clearRetained(info.topic).then(
              () => {
                replace(clear);
                status.ok(`Cleared the retained message on ${info.topic}.`);
              },
              (e: unknown) => {
                replace(clear);
                status.err(e);
              },
            ),
        ),
      );
  };

  const intro = h(
    'p',
    { class: 'muted' },
    'Select a topic to see its last messages, publish to it or clear its retained message.',
  );
  // Folded on a phone, where it would push the tree below the fold.
  const publish = h(
    'details',
    { class: 'publish', open: window.matchMedia('(min-width: 901px)').matches },
    h('summary', {}, 'Publish a message'),
    form,
  );
  const el = h(
    'section',
    { class: 'panel topic-panel', 'aria-label': 'Selected topic' },
    intro,
    head,
    clear,
    list,
    publish,
  );

  return {
    el,
    select(info) {
      current = info;
      replace(clear);
      if (!info) {
        intro.hidden = false;
        replace(head);
        replace(list);
        return;
      }
      intro.hidden = true;
      topic.value = info.topic;
      qos.value = String(info.qos);
      showHead(info);
      replace(list, h('p', { class: 'muted' }, 'Loading…'));
      loadMessages();
    },
    changed(info) {
      if (current?.topic !== info.topic) return;
      current = info;
      showHead(info);
      loadMessages();
    },
    selected: () => current?.topic ?? null,
  };
}
