// Access: who may connect (the anonymous and discovery settings, credentials and their topic
// rules), "test a topic", and where clients connect. It manages security, so the hub answers
// it only on its own PC.

import { h, replace } from '../dom';
import * as fmt from '../format';
import { loading, type Page, type PageContext } from '../page';
import { rulesEditor } from '../rules';
import type { AccessInfo, Credential, Role } from '../types';
import { confirmButton, copyable, failure, statusLine } from '../widgets';

const ROLE_HELP: Record<Role, string> = {
  user: 'a person’s MQTT client: publish and subscribe under home/#',
  device: 'a sensor or light: publish and subscribe under its own topic',
  phone: 'an MQTT app on a phone: read home/#, switch lights',
};

const ANON_HELP = {
  off: 'Nobody: every client needs credentials, on this PC too.',
  local: 'Clients on this PC only (loopback), with full access. The LAN needs credentials.',
  on: 'Anyone on your network, limited by the anonymous rules below. Only for a network you fully trust.',
};

export function accessPage({ hub, app }: PageContext): Page {
  const settingsBox = h('section', { 'aria-labelledby': 'h-settings' });
  const credsBox = h('section', { 'aria-labelledby': 'h-creds' });
  const testBox = h('section', { 'aria-labelledby': 'h-test' });
  const connectBox = h('section', { 'aria-labelledby': 'h-connect' });
  replace(app, h('h1', {}, 'Access'), settingsBox, credsBox, testBox, connectBox);
  let creds: Credential[] = [];
  let open: number | 'anonymous' | null = null;
  const created = h('div', { role: 'status', 'aria-live': 'polite' });

  const showSettings = (i: AccessInfo) => {
    const status = statusLine();
    const anon = h(
      'select',
      { id: 'anon', onchange: () => apply() },
      h('option', { value: 'off', selected: i.settings.anonymous === 'off' }, 'Off'),
      h('option', { value: 'local', selected: i.settings.anonymous === 'local' }, 'This PC only'),
      h('option', { value: 'on', selected: i.settings.anonymous === 'on' }, 'Everyone on the LAN'),
    );
    const mdns = h('input', {
      type: 'checkbox',
      id: 'mdns',
      checked: i.settings.mdns,
      onchange: () => apply(),
    }) as HTMLInputElement;
    const apply = () => {
      const anonymous = (anon as HTMLSelectElement).value as AccessInfo['settings']['anonymous'];
      if (
        anonymous === 'on' &&
        !confirm('Anyone on your network will be able to connect without a password. Turn anonymous access on?')
      ) {
        (anon as HTMLSelectElement).value = i.settings.anonymous;
        return;
      }
      hub.setAccessSettings({ anonymous, mdns: mdns.checked }).then(
        () =>
          hub.accessInfo().then((n) => {
            showSettings(n);
          }),
        status.err,
      );
    };
    replace(
      settingsBox,
      i.externalBroker
        ? h(
            'p',
            { class: 'warning' },
            'This hub uses an external broker: its credentials and rules are managed there, not here.',
          )
        : null,
      h('h2', { id: 'h-settings', class: 'plain' }, 'Settings'),
      h('div', { class: 'form-row' }, h('label', { for: 'anon' }, 'Anonymous MQTT access'), anon),
      h('p', { class: i.settings.anonymous === 'on' ? 'warning' : 'muted small' }, ANON_HELP[i.settings.anonymous]),
      h('div', { class: 'form-row' }, mdns, h('label', { for: 'mdns' }, 'Advertise the hub on the LAN (mDNS)')),
      h(
        'p',
        { class: 'muted small' },
        i.mdnsRunning ? `Advertised as “${i.mdnsName}”: _mqtt._tcp, _secure-mqtt._tcp, _http._tcp.` : 'Not advertised.',
      ),
      status.el,
      open === 'anonymous'
        ? h(
            'div',
            { class: 'panel' },
            h('h3', {}, 'Rules for anonymous LAN clients'),
            rulesEditor(i.anonymousRules, (r) => hub.setRules(null, r)),
            h(
              'button',
              {
                type: 'button',
                onclick: () => {
                  open = null;
                  showSettings(i);
                },
              },
              'Close',
            ),
          )
        : h(
            'button',
            {
              type: 'button',
              onclick: () => {
                open = 'anonymous';
                showSettings(i);
              },
            },
            'Edit anonymous rules',
          ),
    );
    showConnect(i);
  };

  const showConnect = (i: AccessInfo) => {
    replace(
      connectBox,
      h('h2', { id: 'h-connect', class: 'plain' }, 'Where clients connect'),
      h(
        'table',
        { class: 'stats' },
        h(
          'tbody',
          {},
          ...i.endpoints.map((e) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, e.name),
              h('td', {}, e.url, e.lan ? '' : h('span', { class: 'badge' }, 'this PC only')),
            ),
          ),
        ),
      ),
      i.caFingerprint
        ? h(
            'p',
            { class: 'small' },
            'TLS uses the hub’s own certificate authority. ',
            h('a', { href: caLink(i), download: 'hearth-ca.crt' }, 'Download the CA certificate'),
            h('br', {}),
            h('span', { class: 'muted' }, 'SHA-256 ', h('code', { class: 'fingerprint' }, i.caFingerprint)),
          )
        : h('p', { class: 'muted small' }, 'TLS is off.'),
    );
  };

  const renderCreds = () => {
    const username = h('input', {
      id: 'new-user',
      required: true,
      placeholder: 'kitchen-light',
      autocomplete: 'off',
    }) as HTMLInputElement;
    const role = h(
      'select',
      {
        id: 'new-role',
        onchange: () => {
          topicRow.hidden = (role as HTMLSelectElement).value !== 'device';
          help.textContent = ROLE_HELP[(role as HTMLSelectElement).value as Role];
        },
      },
      ...(['device', 'user', 'phone'] as Role[]).map((r) => h('option', { value: r }, r)),
    ) as HTMLSelectElement;
    const topic = h('input', { id: 'new-topic', placeholder: 'home/kitchen/light' }) as HTMLInputElement;
    const password = h('input', {
      id: 'new-password',
      type: 'password',
      placeholder: 'leave empty for a strong one',
      autocomplete: 'new-password',
    }) as HTMLInputElement;
    const topicRow = h('div', { class: 'form-row' }, h('label', { for: 'new-topic' }, 'Device topic'), topic);
    const help = h('p', { class: 'muted small' }, ROLE_HELP.device);
    const status = statusLine();
    const form = h(
      'form',
      {
        class: 'panel',
        'aria-label': 'New credential',
        onsubmit: (e: Event) => {
          e.preventDefault();
          hub
            .createCredential({
              username: username.value.trim(),
              role: role.value as Role,
              password: password.value || undefined,
              topic: role.value === 'device' && topic.value.trim() ? topic.value.trim() : undefined,
            })
            .then((c) => {
              replace(
                created,
                h(
                  'div',
                  { class: 'secret' },
                  h('p', {}, `Credential “${c.credential.username}” made. Its password, shown only now:`),
                  copyable(c.password, `password of ${c.credential.username}`),
                ),
              );
              reload();
            }, status.err);
        },
      },
      h('h3', {}, 'New credential'),
      h('div', { class: 'form-row' }, h('label', { for: 'new-user' }, 'Username'), username),
      h('div', { class: 'form-row' }, h('label', { for: 'new-role' }, 'Role'), role),
      help,
      topicRow,
      h('div', { class: 'form-row' }, h('label', { for: 'new-password' }, 'Password'), password),
      h('button', { type: 'submit', class: 'primary' }, 'Create'),
      status.el,
    );

    const rows = creds.map((c) => {
      const revoked = c.revokedMs != null;
      const act = statusLine();
      const count = (n: number) => `${n} rule${n === 1 ? '' : 's'}`;
      const ruleCount = h('td', {}, count(c.rules.length));
      const tr = h(
        'tr',
        { class: revoked ? 'revoked' : '' },
        h('td', {}, h('strong', {}, c.username), c.label ? h('div', { class: 'muted small' }, c.label) : null),
        h('td', {}, c.role),
        h(
          'td',
          {},
          revoked ? `revoked ${fmt.ago(c.revokedMs!)}` : c.sessions > 0 ? `${c.sessions} connected` : 'not connected',
        ),
        ruleCount,
        h(
          'td',
          { class: 'row-actions' },
          h(
            'button',
            {
              type: 'button',
              onclick: () => {
                open = open === c.id ? null : c.id;
                renderCreds();
              },
            },
            open === c.id ? 'Close' : 'Rules',
          ),
          revoked
            ? null
            : confirmButton('Revoke', `Revoke ${c.username}? Its connections end now.`, () =>
                hub.revokeCredential(c.id).then(reload, act.err),
              ),
          confirmButton(
            'Delete',
            `Delete ${c.username} and its rules?`,
            () => hub.deleteCredential(c.id).then(reload, act.err),
            false,
          ),
          act.el,
        ),
      );
      const rulesRow =
        open === c.id
          ? h(
              'tr',
              {},
              h(
                'td',
                { colspan: 5 },
                rulesEditor(c.rules, (r) =>
                  hub.setRules(c.id, r).then((saved) => {
                    c.rules = saved;
                    ruleCount.textContent = count(saved.length);
                    return saved;
                  }),
                ),
              ),
            )
          : null;
      return [tr, rulesRow];
    });
    replace(
      credsBox,
      h('h2', { id: 'h-creds', class: 'plain' }, 'Credentials'),
      created,
      creds.length === 0
        ? h('p', { class: 'muted' }, 'No credentials yet. Devices and people on the LAN need one each to connect.')
        : h(
            'table',
            { class: 'creds' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Username'),
                h('th', {}, 'Role'),
                h('th', {}, 'Status'),
                h('th', {}, 'Rules'),
                h('th', {}, ''),
              ),
            ),
            h('tbody', {}, ...rows.flat()),
          ),
      form,
    );
    renderTest();
  };

  const renderTest = () => {
    const who = h(
      'select',
      { id: 'test-who', 'aria-label': 'Credential' },
      ...creds.map((c) => h('option', { value: String(c.id) }, c.username)),
      h('option', { value: 'anonymous' }, '(anonymous LAN client)'),
    ) as HTMLSelectElement;
    const req = h(
      'select',
      { id: 'test-req', 'aria-label': 'Request' },
      h('option', { value: 'publish' }, 'publish to'),
      h('option', { value: 'subscribe' }, 'subscribe to'),
    ) as HTMLSelectElement;
    const topic = h('input', {
      id: 'test-topic',
      placeholder: 'home/kitchen/light',
      'aria-label': 'Topic',
      required: true,
    }) as HTMLInputElement;
    const clientId = h('input', {
      id: 'test-client',
      placeholder: 'client id (for %c)',
      'aria-label': 'Client id',
    }) as HTMLInputElement;
    const answer = h('p', { class: 'verdict', role: 'status', 'aria-live': 'polite' });
    replace(
      testBox,
      h('h2', { id: 'h-test', class: 'plain' }, 'Test a topic'),
      h(
        'form',
        {
          class: 'inline-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            hub
              .testAcl({
                credential: who.value === 'anonymous' ? null : Number(who.value),
                request: req.value as 'publish' | 'subscribe',
                topic: topic.value.trim(),
                clientId: clientId.value.trim() || undefined,
              })
              .then(
                (t) => {
                  answer.className = `verdict ${t.allowed ? 'ok' : 'bad'}`;
                  answer.textContent = t.explanation;
                },
                (err) => {
                  answer.className = 'verdict bad';
                  answer.textContent = failure(err);
                },
              );
          },
        },
        who,
        req,
        topic,
        clientId,
        h('button', { type: 'submit' }, 'Test'),
      ),
      answer,
    );
  };

  const reload = () =>
    hub.credentials().then(
      (c) => {
        creds = c;
        renderCreds();
      },
      () => {},
    );
  const stopSettings = loading(settingsBox, () => hub.accessInfo(), showSettings);
  const stopCreds = loading(
    credsBox,
    () => hub.credentials(),
    (c) => {
      creds = c;
      renderCreds();
    },
  );
  // Sessions come and go: refresh the list, unless the user is editing it.
  const refresh = setInterval(() => {
    if (open === null && !credsBox.contains(document.activeElement)) reload();
  }, 5000);
  return {
    leave() {
      stopSettings();
      stopCreds();
      clearInterval(refresh);
    },
  };
}

/** The CA download: from this page's origin in a browser, from the hub's HTTP listener in the desktop window. */
function caLink(i: AccessInfo): string {
  if (location.protocol.startsWith('http')) return '/ca.crt';
  const http = i.endpoints.find((e) => e.name === 'http');
  return http ? http.url.replace(/^http:\/\/[^:/]+/, 'http://127.0.0.1') + '/ca.crt' : '/ca.crt';
}
