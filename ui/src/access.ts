// The Access page (who may connect, what each may publish and subscribe to, the anonymous
// and discovery settings) and the Phones page (pairing by QR code, paired phones, MQTT app
// settings). Both manage security, so the hub answers them only on its own PC.

import type { Hub } from './adapter';
import { h, replace } from './dom';
import * as fmt from './format';
import type { AccessInfo, Credential, MqttSetup, Pairing, Phone, Role, Rule } from './types';

export interface Page {
  leave?(): void;
}

type Loading = <T>(target: HTMLElement, load: () => Promise<T>, show: (v: T) => void) => () => void;

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

/** An SVG document as an <img> source. */
function svgSrc(svg: string): string {
  return 'data:image/svg+xml;base64,' + btoa(svg);
}

function failure(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A line that says how the last action went. */
function statusLine(): { el: HTMLElement; ok(m: string): void; err(e: unknown): void } {
  const el = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    ok(m) {
      el.className = 'status-line ok';
      el.textContent = m;
    },
    err(e) {
      el.className = 'status-line bad';
      el.textContent = failure(e);
    },
  };
}

/** An ordered rule list with add, move, remove, and a save button. */
function rulesEditor(initial: Rule[], save: (r: Rule[]) => Promise<Rule[]>): HTMLElement {
  let rules = initial.map((r) => ({ ...r }));
  const box = h('div', { class: 'rules' });
  const status = statusLine();
  const render = () => {
    const rows = rules.map((r, i) => {
      const perm = h('select', { 'aria-label': `Rule ${i + 1} permission`, onchange: (e: Event) => (r.permission = (e.target as HTMLSelectElement).value as Rule['permission']) },
        ...['allow', 'deny'].map((v) => h('option', { value: v, selected: r.permission === v }, v)));
      const act = h('select', { 'aria-label': `Rule ${i + 1} action`, onchange: (e: Event) => (r.action = (e.target as HTMLSelectElement).value as Rule['action']) },
        ...[['publish', 'publish'], ['subscribe', 'subscribe'], ['both', 'publish + subscribe']].map(([v, t]) => h('option', { value: v, selected: r.action === v }, t)));
      const filter = h('input', { value: r.filter, 'aria-label': `Rule ${i + 1} topic filter`, placeholder: 'home/+/light', oninput: (e: Event) => (r.filter = (e.target as HTMLInputElement).value) });
      const move = (d: number) => () => {
        const j = i + d;
        if (j < 0 || j >= rules.length) return;
        [rules[i], rules[j]] = [rules[j], rules[i]];
        render();
      };
      return h('tr', {},
        h('td', { class: 'num' }, String(i + 1)), h('td', {}, perm), h('td', {}, act), h('td', { class: 'grow' }, filter),
        h('td', { class: 'row-actions' },
          h('button', { type: 'button', 'aria-label': `Move rule ${i + 1} up`, disabled: i === 0, onclick: move(-1) }, '↑'),
          h('button', { type: 'button', 'aria-label': `Move rule ${i + 1} down`, disabled: i === rules.length - 1, onclick: move(1) }, '↓'),
          h('button', { type: 'button', 'aria-label': `Remove rule ${i + 1}`, onclick: () => { rules.splice(i, 1); render(); } }, '✕')));
    });
    replace(box,
      rules.length === 0 ? h('p', { class: 'muted small' }, 'No rules: everything is denied.') : h('table', { class: 'rule-table' },
        h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Permission'), h('th', {}, 'Action'), h('th', {}, 'Topic filter'), h('th', {}, ''))),
        h('tbody', {}, ...rows)),
      h('p', { class: 'muted small' }, 'The first rule that applies decides; what no rule allows is denied. + is one level, # the rest; %u is the username, %c the client id.'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => { rules.push({ permission: 'allow', action: 'both', filter: '' }); render(); } }, 'Add rule'),
        h('button', {
          type: 'button', class: 'primary',
          onclick: () => save(rules).then((r) => { rules = r.map((x) => ({ ...x })); render(); status.ok('Rules saved. Clients connected with them reconnect to apply them.'); }, status.err),
        }, 'Save rules')),
      status.el);
  };
  render();
  return box;
}

export function accessPage(hub: Hub, app: HTMLElement, loading: Loading): Page {
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
    const anon = h('select', { id: 'anon', onchange: () => apply() },
      h('option', { value: 'off', selected: i.settings.anonymous === 'off' }, 'Off'),
      h('option', { value: 'local', selected: i.settings.anonymous === 'local' }, 'This PC only'),
      h('option', { value: 'on', selected: i.settings.anonymous === 'on' }, 'Everyone on the LAN'));
    const mdns = h('input', { type: 'checkbox', id: 'mdns', checked: i.settings.mdns, onchange: () => apply() }) as HTMLInputElement;
    const apply = () => {
      const anonymous = (anon as HTMLSelectElement).value as AccessInfo['settings']['anonymous'];
      if (anonymous === 'on' && !confirm('Anyone on your network will be able to connect without a password. Turn anonymous access on?')) {
        (anon as HTMLSelectElement).value = i.settings.anonymous;
        return;
      }
      hub.setAccessSettings({ anonymous, mdns: mdns.checked }).then(
        () => hub.accessInfo().then((n) => { showSettings(n); }),
        status.err,
      );
    };
    replace(settingsBox,
      i.externalBroker ? h('p', { class: 'warning' }, 'This hub uses an external broker: its credentials and rules are managed there, not here.') : null,
      h('h2', { id: 'h-settings', class: 'plain' }, 'Settings'),
      h('div', { class: 'form-row' }, h('label', { for: 'anon' }, 'Anonymous MQTT access'), anon),
      h('p', { class: i.settings.anonymous === 'on' ? 'warning' : 'muted small' }, ANON_HELP[i.settings.anonymous]),
      h('div', { class: 'form-row' }, mdns, h('label', { for: 'mdns' }, 'Advertise the hub on the LAN (mDNS)')),
      h('p', { class: 'muted small' }, i.mdnsRunning ? `Advertised as “${i.mdnsName}”: _mqtt._tcp, _secure-mqtt._tcp, _http._tcp.` : 'Not advertised.'),
      status.el,
      open === 'anonymous'
        ? h('div', { class: 'panel' }, h('h3', {}, 'Rules for anonymous LAN clients'), rulesEditor(i.anonymousRules, (r) => hub.setRules(null, r)),
          h('button', { type: 'button', onclick: () => { open = null; showSettings(i); } }, 'Close'))
        : h('button', { type: 'button', onclick: () => { open = 'anonymous'; showSettings(i); } }, 'Edit anonymous rules'));
    showConnect(i);
  };

  const showConnect = (i: AccessInfo) => {
    replace(connectBox,
      h('h2', { id: 'h-connect', class: 'plain' }, 'Where clients connect'),
      h('table', { class: 'stats' }, h('tbody', {},
        ...i.endpoints.map((e) => h('tr', {}, h('th', { scope: 'row' }, e.name), h('td', {}, e.url, e.lan ? '' : h('span', { class: 'badge' }, 'this PC only')))))),
      i.caFingerprint
        ? h('p', { class: 'small' }, 'TLS uses the hub’s own certificate authority. ', h('a', { href: caLink(i), download: 'hearth-ca.crt' }, 'Download the CA certificate'),
          h('br', {}), h('span', { class: 'muted' }, 'SHA-256 ', h('code', { class: 'fingerprint' }, i.caFingerprint)))
        : h('p', { class: 'muted small' }, 'TLS is off.'));
  };

  const renderCreds = () => {
    const username = h('input', { id: 'new-user', required: true, placeholder: 'kitchen-light', autocomplete: 'off' }) as HTMLInputElement;
    const role = h('select', { id: 'new-role', onchange: () => { topicRow.hidden = (role as HTMLSelectElement).value !== 'device'; help.textContent = ROLE_HELP[(role as HTMLSelectElement).value as Role]; } },
      ...(['device', 'user', 'phone'] as Role[]).map((r) => h('option', { value: r }, r))) as HTMLSelectElement;
    const topic = h('input', { id: 'new-topic', placeholder: 'home/kitchen/light' }) as HTMLInputElement;
    const password = h('input', { id: 'new-password', type: 'password', placeholder: 'leave empty for a strong one', autocomplete: 'new-password' }) as HTMLInputElement;
    const topicRow = h('div', { class: 'form-row' }, h('label', { for: 'new-topic' }, 'Device topic'), topic);
    const help = h('p', { class: 'muted small' }, ROLE_HELP.device);
    const status = statusLine();
    const form = h('form', {
      class: 'panel', 'aria-label': 'New credential',
      onsubmit: (e: Event) => {
        e.preventDefault();
        hub.createCredential({
          username: username.value.trim(), role: role.value as Role,
          password: password.value || undefined,
          topic: role.value === 'device' && topic.value.trim() ? topic.value.trim() : undefined,
        }).then((c) => {
          replace(created, h('div', { class: 'secret' },
            h('p', {}, `Credential “${c.credential.username}” made. Its password, shown only now:`),
            h('code', { class: 'password' }, c.password)));
          reload();
        }, status.err);
      },
    },
    h('h3', {}, 'New credential'),
    h('div', { class: 'form-row' }, h('label', { for: 'new-user' }, 'Username'), username),
    h('div', { class: 'form-row' }, h('label', { for: 'new-role' }, 'Role'), role), help,
    topicRow,
    h('div', { class: 'form-row' }, h('label', { for: 'new-password' }, 'Password'), password),
    h('button', { type: 'submit', class: 'primary' }, 'Create'), status.el);

    const rows = creds.map((c) => {
      const revoked = c.revokedMs !== null;
      const act = statusLine();
      const count = (n: number) => `${n} rule${n === 1 ? '' : 's'}`;
      const ruleCount = h('td', {}, count(c.rules.length));
      const tr = h('tr', { class: revoked ? 'revoked' : '' },
        h('td', {}, h('strong', {}, c.username), c.label ? h('div', { class: 'muted small' }, c.label) : null),
        h('td', {}, c.role),
        h('td', {}, revoked ? `revoked ${fmt.ago(c.revokedMs!)}` : c.sessions > 0 ? `${c.sessions} connected` : 'not connected'),
        ruleCount,
        h('td', { class: 'row-actions' },
          h('button', { type: 'button', onclick: () => { open = open === c.id ? null : c.id; renderCreds(); } }, open === c.id ? 'Close' : 'Rules'),
          revoked ? null : h('button', {
            type: 'button', class: 'danger',
            onclick: () => confirm(`Revoke ${c.username}? Its connections end now.`) && hub.revokeCredential(c.id).then(reload, act.err),
          }, 'Revoke'),
          h('button', {
            type: 'button',
            onclick: () => confirm(`Delete ${c.username} and its rules?`) && hub.deleteCredential(c.id).then(reload, act.err),
          }, 'Delete'), act.el));
      const rulesRow = open === c.id
        ? h('tr', {}, h('td', { colspan: 5 }, rulesEditor(c.rules, (r) => hub.setRules(c.id, r).then((saved) => {
          c.rules = saved;
          ruleCount.textContent = count(saved.length);
          return saved;
        }))))
        : null;
      return [tr, rulesRow];
    });
    replace(credsBox,
      h('h2', { id: 'h-creds', class: 'plain' }, 'Credentials'),
      created,
      creds.length === 0
        ? h('p', { class: 'muted' }, 'No credentials yet. Devices and people on the LAN need one each to connect.')
        : h('table', { class: 'creds' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Username'), h('th', {}, 'Role'), h('th', {}, 'Status'), h('th', {}, 'Rules'), h('th', {}, ''))),
          h('tbody', {}, ...rows.flat())),
      form);
    renderTest();
  };

  const renderTest = () => {
    const who = h('select', { id: 'test-who', 'aria-label': 'Credential' },
      ...creds.map((c) => h('option', { value: String(c.id) }, c.username)),
      h('option', { value: 'anonymous' }, '(anonymous LAN client)')) as HTMLSelectElement;
    const req = h('select', { id: 'test-req', 'aria-label': 'Request' }, h('option', { value: 'publish' }, 'publish to'), h('option', { value: 'subscribe' }, 'subscribe to')) as HTMLSelectElement;
    const topic = h('input', { id: 'test-topic', placeholder: 'home/kitchen/light', 'aria-label': 'Topic', required: true }) as HTMLInputElement;
    const clientId = h('input', { id: 'test-client', placeholder: 'client id (for %c)', 'aria-label': 'Client id' }) as HTMLInputElement;
    const answer = h('p', { class: 'verdict', role: 'status', 'aria-live': 'polite' });
    replace(testBox,
      h('h2', { id: 'h-test', class: 'plain' }, 'Test a topic'),
      h('form', {
        class: 'inline-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          hub.testAcl({
            credential: who.value === 'anonymous' ? null : Number(who.value),
            request: req.value as 'publish' | 'subscribe',
            topic: topic.value.trim(),
            clientId: clientId.value.trim() || undefined,
          }).then((t) => {
            answer.className = `verdict ${t.allowed ? 'ok' : 'bad'}`;
            answer.textContent = t.explanation;
          }, (err) => {
            answer.className = 'verdict bad';
            answer.textContent = failure(err);
          });
        },
      }, who, req, topic, clientId, h('button', { type: 'submit' }, 'Test')),
      answer);
  };

  const reload = () => hub.credentials().then((c) => { creds = c; renderCreds(); }, () => {});
  const stopSettings = loading(settingsBox, () => hub.accessInfo(), showSettings);
  const stopCreds = loading(credsBox, () => hub.credentials(), (c) => { creds = c; renderCreds(); });
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

export function phonesPage(hub: Hub, app: HTMLElement, loading: Loading): Page {
  const pairBox = h('section', { 'aria-labelledby': 'h-pair' });
  const listBox = h('section', { 'aria-labelledby': 'h-phones' });
  const mqttBox = h('section', { 'aria-labelledby': 'h-mqtt' });
  replace(app, h('h1', {}, 'Phones'), pairBox, listBox, mqttBox);
  let countdown: ReturnType<typeof setInterval> | undefined;

  const showPairing = (p: Pairing | null) => {
    clearInterval(countdown);
    const status = statusLine();
    const start = h('button', { type: 'button', class: 'primary', onclick: () => hub.startPairing().then(showPairing, status.err) }, p ? 'New code' : 'Show pairing code');
    if (!p) {
      replace(pairBox, h('h2', { id: 'h-pair', class: 'plain' }, 'Pair a phone'),
        h('p', {}, 'Scan the code with the phone’s camera while it is on the same network. The phone opens the dashboard and stays signed in.'),
        start, status.el);
      return;
    }
    const left = h('span', { class: 'muted' });
    const tick = () => {
      const s = Math.max(0, Math.round((p.expiresMs - Date.now()) / 1000));
      left.textContent = s > 0 ? `Works once, for ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} more.` : 'Expired: make a new code.';
      if (s === 0) clearInterval(countdown);
    };
    tick();
    countdown = setInterval(tick, 1000);
    replace(pairBox, h('h2', { id: 'h-pair', class: 'plain' }, 'Pair a phone'),
      h('div', { class: 'qr-block' },
        h('img', { class: 'qr', src: svgSrc(p.qrSvg), alt: 'Pairing QR code', width: 240, height: 240 }),
        h('div', {},
          p.lanReachable ? null : h('p', { class: 'warning' }, 'The dashboard listens on this PC only (http-listen is a loopback address): a phone cannot open this until it listens on the LAN.'),
          h('p', {}, 'Scan with the phone’s camera, or open:'),
          h('p', {}, h('code', { class: 'url', id: 'pair-url' }, p.url)),
          p.otherUrls.length ? h('details', {}, h('summary', { class: 'small' }, 'Other addresses of this PC'), h('ul', { class: 'small' }, ...p.otherUrls.map((u) => h('li', {}, h('code', {}, u))))) : null,
          left, h('p', {}, start), status.el)));
  };

  const showPhones = (phones: Phone[]) => {
    const status = statusLine();
    replace(listBox, h('h2', { id: 'h-phones', class: 'plain' }, 'Paired phones'),
      phones.length === 0 ? h('p', { class: 'muted' }, 'No phone is paired yet.') :
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Paired'), h('th', {}, 'Last seen'), h('th', {}, ''))),
          h('tbody', {}, ...phones.map((p) => h('tr', { class: p.revokedMs ? 'revoked' : '' },
            h('td', {}, p.name), h('td', {}, fmt.ago(p.pairedMs)),
            h('td', {}, p.revokedMs ? `revoked ${fmt.ago(p.revokedMs)}` : fmt.ago(p.lastSeenMs)),
            h('td', {}, p.revokedMs ? null : h('button', {
              type: 'button', class: 'danger',
              onclick: () => confirm(`Revoke ${p.name}? It will have to pair again.`) && hub.revokePhone(p.id).then(() => hub.phones().then(showPhones), status.err),
            }, 'Revoke')))))),
      status.el);
  };

  const showMqtt = (m: MqttSetup | null) => {
    const name = h('input', { id: 'mqtt-name', placeholder: 'Ann’s phone', required: true }) as HTMLInputElement;
    const status = statusLine();
    const form = h('form', {
      class: 'inline-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        hub.phoneMqtt(name.value.trim()).then(showMqtt, status.err);
      },
    }, h('label', { for: 'mqtt-name' }, 'For'), name, h('button', { type: 'submit' }, 'Make MQTT settings'));
    const row = (k: string, v: string | number | null) => v === null ? null : h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, h('code', {}, String(v))));
    replace(mqttBox, h('h2', { id: 'h-mqtt', class: 'plain' }, 'MQTT app on a phone'),
      h('p', { class: 'muted small' }, 'For MQTT apps (MQTT Dash, IoT MQTT Panel, …): a new credential with the phone role — read home/#, switch lights — and its settings as a QR code.'),
      form, status.el,
      m ? h('div', { class: 'qr-block' },
        h('img', { class: 'qr', src: svgSrc(m.qrSvg), alt: 'MQTT settings QR code', width: 240, height: 240 }),
        h('table', { class: 'stats' }, h('tbody', {},
          row('Host', m.host), row('Port', m.port), row('TLS port', m.tlsPort), row('WebSocket port', m.wsPort), row('Secure WebSocket port', m.wssPort),
          row('Username', m.username), row('Password (shown once)', m.password),
          m.caUrl ? h('tr', {}, h('th', { scope: 'row' }, 'CA certificate'), h('td', {}, h('a', { href: m.caUrl }, m.caUrl))) : null))) : null);
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
