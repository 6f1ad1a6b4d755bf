// The rule editor of the Access page: an ordered list of allow/deny rules with add, move,
// remove and save, for a credential or for anonymous LAN clients.

import { h, replace } from './dom';
import type { Rule } from './types';
import { statusLine } from './widgets';

/** An ordered rule list with add, move, remove, and a save button. */
export function rulesEditor(initial: Rule[], save: (r: Rule[]) => Promise<Rule[]>): HTMLElement {
  let rules = initial.map((r) => ({ ...r }));
  const box = h('div', { class: 'rules' });
  const status = statusLine();
  const render = () => {
    const rows = rules.map((r, i) => {
      const perm = h(
        'select',
        {
          'aria-label': `Rule ${i + 1} permission`,
          onchange: (e: Event) => (r.permission = (e.target as HTMLSelectElement).value as Rule['permission']),
        },
        ...['allow', 'deny'].map((v) => h('option', { value: v, selected: r.permission === v }, v)),
      );
      const act = h(
        'select',
        {
          'aria-label': `Rule ${i + 1} action`,
          onchange: (e: Event) => (r.action = (e.target as HTMLSelectElement).value as Rule['action']),
        },
        ...[
          ['publish', 'publish'],
          ['subscribe', 'subscribe'],
          ['both', 'publish + subscribe'],
        ].map(([v, t]) => h('option', { value: v, selected: r.action === v }, t)),
      );
      const filter = h('input', {
        value: r.filter,
        'aria-label': `Rule ${i + 1} topic filter`,
        placeholder: 'home/+/light',
        oninput: (e: Event) => (r.filter = (e.target as HTMLInputElement).value),
      });
      const move = (d: number) => () => {
        const j = i + d;
        if (j < 0 || j >= rules.length) return;
        [rules[i], rules[j]] = [rules[j], rules[i]];
        render();
      };
      return h(
        'tr',
        {},
        h('td', { class: 'num' }, String(i + 1)),
        h('td', {}, perm),
        h('td', {}, act),
        h('td', { class: 'grow' }, filter),
        h(
          'td',
          { class: 'row-actions' },
          h(
            'button',
            { type: 'button', 'aria-label': `Move rule ${i + 1} up`, disabled: i === 0, onclick: move(-1) },
            '↑',
          ),
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Move rule ${i + 1} down`,
              disabled: i === rules.length - 1,
              onclick: move(1),
            },
            '↓',
          ),
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Remove rule ${i + 1}`,
              onclick: () => {
                rules.splice(i, 1);
                render();
              },
            },
            '✕',
          ),
        ),
      );
    });
    replace(
      box,
      rules.length === 0
        ? h('p', { class: 'muted small' }, 'No rules: everything is denied.')
        : h(
            'table',
            { class: 'rule-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, '#'),
                h('th', {}, 'Permission'),
                h('th', {}, 'Action'),
                h('th', {}, 'Topic filter'),
                h('th', {}, ''),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
      h(
        'p',
        { class: 'muted small' },
        'The first rule that applies decides; what no rule allows is denied. + is one level, # the rest; %u is the username, %c the client id.',
      ),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              rules.push({ permission: 'allow', action: 'both', filter: '' });
              render();
            },
          },
          'Add rule',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: () =>
              save(rules).then((r) => {
                rules = r.map((x) => ({ ...x }));
                render();
                status.ok('Rules saved. Clients connected with them reconnect to apply them.');
              }, status.err),
          },
          'Save rules',
        ),
      ),
      status.el,
    );
  };
  render();
  return box;
}
