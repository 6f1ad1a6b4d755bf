// How values read on screen.

import type { Availability, Command, Reading, TopicInfo } from './types';

/** The household's choice of temperature unit (`GET /api/preferences`). */
export type TempUnit = '°C' | '°F';

export function isTempUnit(u: unknown): u is TempUnit {
  return u === '°C' || u === '°F';
}

/**
 * A value in the unit the household reads: only temperatures change, and only when their own
 * unit is known (a series without one is shown as it came rather than guessed at).
 */
export function toUnit(v: number, from: string | null | undefined, to: TempUnit): number {
  if (from === '°C' && to === '°F') return (v * 9) / 5 + 32;
  if (from === '°F' && to === '°C') return ((v - 32) * 5) / 9;
  return v;
}

/** The unit a series is shown in once converted. */
export function shownUnit(from: string | null | undefined, household: TempUnit): string {
  return isTempUnit(from) ? household : (from ?? '');
}

export function temperature(v: number | null | undefined, unit: string = '°C'): string {
  return v == null || !Number.isFinite(v) ? '—' : `${v.toFixed(1)} ${unit}`;
}

const QUANTITY: Record<Reading['quantity'], string> = {
  temperature: 'Temperature',
  humidity: 'Humidity',
  battery: 'Battery',
  linkQuality: 'Link quality',
  power: 'Power',
};

export function quantity(q: Reading['quantity']): string {
  return QUANTITY[q] ?? q;
}

/** A reading with its unit, temperatures in the household's unit. */
export function reading(r: Pick<Reading, 'quantity' | 'value' | 'unit'>, household: TempUnit): string {
  switch (r.quantity) {
    case 'temperature':
      return temperature(toUnit(r.value, r.unit, household), shownUnit(r.unit, household) || '°');
    case 'humidity':
    case 'battery':
      return `${Math.round(r.value)} ${r.unit ?? '%'}`;
    case 'power':
      return `${r.value < 10 ? r.value.toFixed(1) : Math.round(r.value)} ${r.unit ?? 'W'}`;
    default:
      // Link quality has no unit worth naming (Zigbee LQI 0–255, Wi-Fi RSSI in dBm varies).
      return r.unit ? `${r.value} ${r.unit}` : String(r.value);
  }
}

const CONVENTION: Record<string, string> = {
  home: 'MQTT',
  tasmota: 'Tasmota',
  z2m: 'Zigbee2MQTT',
  shelly: 'Shelly',
  esphome: 'ESPHome',
  homie: 'Homie',
  ha: 'Home Assistant',
};

export function convention(c: string): string {
  return CONVENTION[c] ?? c;
}

/** A time of day, with the date too when it is not today. */
export function clock(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === new Date(now).toDateString()
    ? time
    : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** "1 topic", "1,204 topics": a count with its noun, in English's two forms. */
export function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}

/** A device named so it cannot be mistaken for another: "light in kitchen". */
export function deviceLabel(d: { name: string; room?: string | null }): string {
  return d.room ? `${d.name} in ${d.room}` : d.name;
}

/** "Online", "Offline since 10:42", "Silent since 10:40", "Unknown". */
export function availability(a: Availability, now = Date.now()): string {
  const since = a.sinceMs != null ? ` since ${clock(a.sinceMs, now)}` : '';
  switch (a.state) {
    case 'online':
      return 'Online';
    case 'offline':
      return `Offline${since}`;
    case 'silent':
      return `Silent${since}`;
    default:
      return 'Unknown';
  }
}

/** Which message decided the availability, so a surprising "Offline" can be traced. */
export function availabilitySource(a: Availability): string {
  if (a.topic) return `${a.topic} said “${a.payload ?? ''}”`;
  return a.state === 'unknown' ? 'Nothing has said yet' : 'From the device’s own reports';
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function latency(ms: number | null | undefined): string {
  if (ms == null) return '';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** What a person needs to know of a command's fate, in a few words. */
export function outcome(c: Command): string {
  const what = c.desired ? c.desired.toUpperCase() : '';
  switch (c.outcome) {
    case 'pending':
      return `${what} sent, waiting for the light…`;
    case 'confirmed':
      return `${what} confirmed in ${latency(c.latencyMs)}`;
    case 'mismatch':
      return `Light replied ${c.reply ?? '?'} to ${what}`;
    case 'timed_out': {
      const waited = c.resolvedMs != null ? Math.max(1, Math.round((c.resolvedMs - c.sentMs) / 1000)) : null;
      if (c.reply) return `No clear reply (got “${c.reply}”)`;
      return waited == null ? 'No reply' : `No reply after ${waited} s`;
    }
    case 'superseded':
      return `${what} replaced by a newer command`;
    case 'failed':
      return `${what} failed: ${c.detail ?? 'refused'}`;
    case 'external':
      return `Switched ${c.replyState?.toUpperCase() ?? c.reply ?? ''} from elsewhere`;
  }
}

/** A payload for display: JSON pretty-printed, with a visible marker when the hub cut it. */
export function payload(t: Pick<TopicInfo, 'lastPayload' | 'truncated' | 'payloadBytes'>): string {
  let text = t.lastPayload;
  if (!t.truncated) {
    try {
      const v = JSON.parse(text);
      if (v !== null && typeof v === 'object') text = JSON.stringify(v, null, 2);
    } catch {
      // Not JSON: shown as it came.
    }
  }
  return t.truncated ? `${text}… [truncated: ${t.payloadBytes} bytes in all]` : text;
}

export function rate(perSec: number | null | undefined): string {
  if (perSec == null) return '—';
  return perSec < 10 ? perSec.toFixed(1) : Math.round(perSec).toLocaleString('en');
}

/** A number as a person wrote it: the float noise of averaging (`19.075000000000003`) goes,
 * the sensor's own precision stays. */
export function plainNumber(v: number): string {
  return String(Number(v.toPrecision(12)));
}

/** One CSV row per bucket between `from` and `to` (Unix seconds, inclusive): time (ISO), min,
 * avg, max, with the unit in the header. Min and max are readings as the device sent them. */
export function historyCsv(
  ts: number[],
  min: (number | null)[],
  avg: (number | null)[],
  max: (number | null)[],
  unit = '',
  from = -Infinity,
  to = Infinity,
): string {
  const cell = (v: number | null) => (v == null ? '' : plainNumber(v));
  // An average of 18.9 and 19.2 is not 19.0333333333: it gets one digit more than the
  // readings themselves have, which min and max show.
  const decimals = (v: number | null) => (v == null ? 0 : (plainNumber(v).split('.')[1] ?? '').length);
  const places = Math.min(6, Math.max(0, ...min.map(decimals), ...max.map(decimals)) + 1);
  const mean = (v: number | null) => (v == null ? '' : plainNumber(Number(v.toFixed(places))));
  const rows: string[] = [];
  ts.forEach((t, i) => {
    if (t >= from && t <= to)
      rows.push(`${new Date(t * 1000).toISOString()},${cell(min[i])},${mean(avg[i])},${cell(max[i])}`);
  });
  const head = unit ? `time,min (${unit}),avg (${unit}),max (${unit})` : 'time,min,avg,max';
  return [head, ...rows].join('\n') + '\n';
}

/** A CSV's file name: what it is the history of, and the window it holds, safe on every disk. */
export function csvName(what: string, from: number, to: number): string {
  const stamp = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace(':', '');
  return `${what}-${stamp(from)}-${stamp(to)}`.replace(/[^\w.-]+/g, '-');
}

/** The host to reach a listener at from this PC: one on every address (`0.0.0.0`, `[::]`)
 * is reached at 127.0.0.1. */
export function hostFromHere(address: string): string {
  const host = address.replace(/:\d+$/, '');
  return ['0.0.0.0', '[::]', '::'].includes(host) ? '127.0.0.1' : host;
}

/** Whether an MQTT filter (`home/+/light`, `zigbee2mqtt/#`) matches a topic, as a broker
 * decides: `+` is one level, a trailing `#` this level and all below, and a wildcard in the
 * first level does not match a topic starting with `$`. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0].startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
