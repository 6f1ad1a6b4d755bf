// Finding devices by what people remember of them: a word of the name, the room, the id or a
// topic, in any case and with or without accents ("salon" finds "Salón").

import type { Device } from './types';

/** Lower case without diacritics, so "Küche" and "kuche" compare equal. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Everything a search looks in, folded once per device rather than at every keystroke. */
export function haystack(d: Device): string {
  const topics = [d.stateTopic, d.temperatureTopic, ...d.readings.map((r) => r.topic)];
  return fold([d.name, d.room ?? '', d.id, d.manufacturer, d.model, ...topics].filter(Boolean).join('\n'));
}

/** The words of a query, folded; a device matches when it has every one of them. */
export function words(query: string): string[] {
  return fold(query).split(/\s+/).filter(Boolean);
}

export function matches(hay: string, ws: string[]): boolean {
  return ws.every((w) => hay.includes(w));
}

/** A payload as one short line for a card: whitespace runs as one space, cut at `max`. */
export function preview(payload: string, max = 60): string {
  const line = payload.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
