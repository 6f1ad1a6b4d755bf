import { describe, expect, it } from 'vitest';
import { fold, haystack, matches, preview, words } from '../src/search';
import type { Device } from '../src/types';

const device = (over: Partial<Device>): Device =>
  ({
    id: 'salon/temperature',
    name: 'Thermomètre',
    room: 'Salón',
    kind: 'temperature',
    convention: 'seed',
    stateTopic: 'home/salon/temperature',
    readings: [{ quantity: 'humidity', topic: 'zigbee2mqtt/Ä-sensor', field: 'humidity', value: 40 }],
    ...over,
  }) as Device;

describe('search', () => {
  it('folds case and accents', () => {
    expect(fold('Küche ÉTÉ')).toBe('kuche ete');
  });
  it('finds a device by name, room, id or topic, every word', () => {
    const hay = haystack(device({}));
    expect(matches(hay, words('salon'))).toBe(true);
    expect(matches(hay, words('THERMOMETRE'))).toBe(true);
    expect(matches(hay, words('a-sensor'))).toBe(true);
    expect(matches(hay, words('salon temp'))).toBe(true);
    expect(matches(hay, words('salon light'))).toBe(false);
    expect(matches(hay, words('   '))).toBe(true);
  });
  it('previews a payload as one short line', () => {
    expect(preview('a\n  b\tc')).toBe('a b c');
    const long = preview('x'.repeat(100_000));
    expect(long.length).toBe(60);
    expect(long.endsWith('…')).toBe(true);
  });
});
