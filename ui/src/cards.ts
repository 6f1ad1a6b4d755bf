// A device as a card, and the pieces of it the device page shows too: the convention badge,
// availability with the message behind it, readings in the household's unit, and a light's
// switch with its state and the fate of its last command.

import { h } from './dom';
import * as fmt from './format';
import { deviceHref } from './page';
import { preview } from './search';
import type { Availability, Command, Device, Reading } from './types';

export function conventionBadge(convention: string): HTMLElement {
  return h(
    'span',
    { class: `badge conv conv-${convention}`, 'data-convention': convention },
    fmt.convention(convention),
  );
}

/** "Aqara WSDCGQ11LM", or nothing when the device does not say. */
export function makeAndModel(d: Pick<Device, 'manufacturer' | 'model'>): string {
  return [d.manufacturer, d.model].filter(Boolean).join(' ');
}

export function availabilityLine(a: Availability, withSource: boolean): HTMLElement[] {
  const source = fmt.availabilitySource(a);
  const line = h(
    'p',
    { class: 'avail', 'data-state': a.state, title: source },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    fmt.availability(a),
  );
  return withSource ? [line, h('p', { class: 'avail-src muted small' }, source)] : [line];
}

/** Why an offline light cannot be switched, until the hub's own refusal says it better. */
export function offlineReason(d: Device): string | null {
  const a = d.availability;
  if (a.state !== 'offline') return null;
  const when = a.sinceMs != null ? ` ${fmt.ago(a.sinceMs)}` : '';
  return a.topic ? `Cannot switch: ${a.topic} said “${a.payload ?? ''}”${when}.` : `Cannot switch: offline${when}.`;
}

export function readingsList(readings: Reading[], unit: fmt.TempUnit, skip?: Reading['quantity']): HTMLElement | null {
  const shown = readings.filter((r) => r.quantity !== skip);
  if (shown.length === 0) return null;
  return h(
    'dl',
    { class: 'readings' },
    ...shown.map((r) =>
      h(
        'div',
        { 'data-quantity': r.quantity },
        h('dt', {}, fmt.quantity(r.quantity)),
        h('dd', {}, fmt.reading(r, unit)),
      ),
    ),
  );
}

/** The device's temperature in the household's unit, with the unit. */
export function temperatureText(d: Device, unit: fmt.TempUnit): string {
  if (d.temperature == null) return '—';
  const from = d.temperatureUnit ?? null;
  return fmt.temperature(fmt.toUnit(d.temperature, from, unit), fmt.shownUnit(from, unit) || '°');
}

/** How long a confirmed command's line stays on its card: after that the switch's state says
 * it all, while a failure stays until the next command. */
export const CONFIRMED_SHOWN_MS = 60_000;

/** Whether a command's line has said what it had to. */
export function fateDone(c: Command, now = Date.now()): boolean {
  return c.outcome === 'confirmed' && now - (c.resolvedMs ?? c.sentMs) > CONFIRMED_SHOWN_MS;
}

export function commandLine(c: Command): HTMLElement {
  return h(
    'p',
    {
      class: `fate fate-${c.outcome}`,
      'data-outcome': c.outcome,
      'data-command': c.id,
      'data-at': c.resolvedMs ?? c.sentMs,
    },
    c.outcome === 'pending' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    fmt.outcome(c),
  );
}

export interface CardState {
  unit: fmt.TempUnit;
  /** A switch request is on its way to the hub. */
  busy: boolean;
  /** What the hub answered when it refused to switch. */
  refusal?: string;
  /** The card's sparkline, kept across re-renders so each reading does not fetch it again. */
  spark?: HTMLElement;
  onSwitch(on: boolean): void;
  /** Whether the household starred it; the star is shown only when `onStar` is given. */
  favourite?: boolean;
  onStar?(): void;
  /** Its room, said on the card where cards of many rooms meet (the favourites). */
  room?: string;
}

/** The star that pins a device to the top of Devices for the whole household. */
export function starButton(name: string, on: boolean, toggle: () => void): HTMLElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'star',
      'data-focus': 'star',
      'aria-pressed': String(on),
      'aria-label': `Favourite: ${name}`,
      title: on ? 'Unpin from the favourites' : 'Pin to the favourites',
      onclick: toggle,
    },
    h('span', { 'aria-hidden': 'true' }, on ? '★' : '☆'),
  );
}

export function deviceCard(d: Device, s: CardState): HTMLElement {
  const a = d.availability;
  const body: (Node | null)[] = [];
  if (d.kind === 'temperature') {
    body.push(h('p', { class: 'value' }, temperatureText(d, s.unit)));
    if (s.spark) body.push(s.spark);
  }
  if (d.kind === 'light') {
    const on = d.light?.state === 'on';
    const state = d.light?.state ?? 'unknown';
    const reason = offlineReason(d);
    const busy = s.busy || d.lastCommand?.outcome === 'pending';
    const room = d.room ? ` in ${d.room}` : '';
    const why = `why-${d.id.replace(/[^\w-]/g, '_')}`;
    body.push(
      h(
        'div',
        { class: 'light-row' },
        h(
          'span',
          { class: `state state-${state}`, title: d.light ? `Last status: ${d.light.payload}` : undefined },
          state.toUpperCase(),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'switch',
            role: 'switch',
            'data-focus': 'switch',
            'aria-checked': String(on),
            'aria-label': `${d.name}${room}`,
            'aria-describedby': reason || s.refusal ? why : undefined,
            // Busy is aria-disabled, not disabled: a disabled button drops the keyboard's focus
            // to the page, and the card redraws with the command's fate a moment later.
            disabled: reason !== null,
            'aria-disabled': busy ? 'true' : undefined,
            onclick: () => {
              if (!busy) s.onSwitch(!on);
            },
          },
          h('span', { class: 'knob' }),
        ),
      ),
    );
    if (s.refusal) body.push(h('p', { class: 'refusal', id: why, role: 'alert' }, s.refusal));
    else if (reason) body.push(h('p', { class: 'refusal', id: why }, reason));
    if (d.lastCommand && !fateDone(d.lastCommand)) body.push(commandLine(d.lastCommand));
  }
  body.push(readingsList(d.readings, s.unit, d.kind === 'temperature' ? 'temperature' : undefined));
  // A payload can be anything up to a megabyte (a firmware blob, a JSON dump): a card shows
  // one short line of it, the device page the rest.
  if (d.kind === 'other' && d.readings.length === 0)
    body.push(
      h('p', { class: 'value small payload-line', title: preview(d.lastPayload, 200) }, preview(d.lastPayload)),
    );
  const made = makeAndModel(d);
  return h(
    'article',
    {
      class: `card avail-${a.state}`,
      'data-device': d.id,
      'data-kind': d.kind,
      'data-convention': d.convention,
      'data-availability': a.state,
    },
    h(
      'div',
      { class: 'card-head' },
      h('a', { class: 'name', href: deviceHref(d.id) }, d.name),
      conventionBadge(d.convention),
      // Named with its room, as the switch is: a home has many lights called "light".
      s.onStar ? starButton(d.room ? `${d.name} in ${d.room}` : d.name, s.favourite ?? false, s.onStar) : null,
    ),
    s.room !== undefined ? h('p', { class: 'made muted small' }, s.room || 'No room') : null,
    made ? h('p', { class: 'made muted small' }, made) : null,
    // An offline light says why under its switch already.
    ...availabilityLine(a, a.state === 'silent' || (a.state === 'offline' && d.kind !== 'light')),
    ...body,
    h('p', { class: 'seen muted' }, seenText(d)),
  );
}

export function seenText(d: Device): string {
  return `seen ${fmt.ago(d.lastSeenMs)}`;
}
