// How values read on screen.

import type { Command, TopicInfo } from './types';

export function temperature(v: number | null | undefined): string {
  return v == null || !Number.isFinite(v) ? '—' : `${v.toFixed(1)} °C`;
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

/** A device is silent when it has not been heard from for this long. */
export const SILENT_AFTER_MS = 5 * 60_000;

export function isSilent(lastSeenMs: number, now = Date.now()): boolean {
  return now - lastSeenMs > SILENT_AFTER_MS;
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

/** One CSV row per bucket: time (ISO), min, avg, max. */
export function historyCsv(
  ts: number[],
  min: (number | null)[],
  avg: (number | null)[],
  max: (number | null)[],
): string {
  const cell = (v: number | null) => (v == null ? '' : String(v));
  const rows = ts.map((t, i) => `${new Date(t * 1000).toISOString()},${cell(min[i])},${cell(avg[i])},${cell(max[i])}`);
  return ['time,min,avg,max', ...rows].join('\n') + '\n';
}
