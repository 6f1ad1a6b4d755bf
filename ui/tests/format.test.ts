import { describe, expect, it } from 'vitest';
import * as fmt from '../src/format';
import type { Command } from '../src/types';

const cmd = (over: Partial<Command>): Command => ({
  id: 1,
  light: 'hall/light',
  origin: 'hub',
  topic: 'home/hall/light',
  convention: 'same-topic',
  desired: 'on',
  payload: 'ON',
  outcome: 'pending',
  reply: null,
  replyState: null,
  detail: null,
  sentMs: 0,
  resolvedMs: null,
  latencyMs: null,
  ...over,
});

describe('format', () => {
  it('temperatures carry their unit, and nothing shows as a dash', () => {
    expect(fmt.temperature(21.456)).toBe('21.5 °C');
    expect(fmt.temperature(-3)).toBe('-3.0 °C');
    expect(fmt.temperature(null)).toBe('—');
    expect(fmt.temperature(Number.NaN)).toBe('—');
    expect(fmt.temperature(70.25, '°F')).toBe('70.3 °F');
  });

  it('converts temperatures to the household unit, and leaves other units alone', () => {
    expect(fmt.toUnit(20, '°C', '°F')).toBe(68);
    expect(fmt.toUnit(212, '°F', '°C')).toBe(100);
    expect(fmt.toUnit(40, '%', '°F')).toBe(40);
    expect(fmt.reading({ quantity: 'temperature', value: 68.4, unit: '°F' }, '°C')).toBe('20.2 °C');
    expect(fmt.reading({ quantity: 'humidity', value: 44.72, unit: '%' }, '°C')).toBe('45 %');
    expect(fmt.reading({ quantity: 'linkQuality', value: 120, unit: null }, '°C')).toBe('120');
  });

  it('says how long ago', () => {
    const now = 1_000_000_000;
    expect(fmt.ago(now - 1000, now)).toBe('just now');
    expect(fmt.ago(now - 42_000, now)).toBe('42 s ago');
    expect(fmt.ago(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(fmt.ago(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(fmt.ago(now - 2 * 86_400_000, now)).toBe('2 d ago');
    expect(fmt.ago(now + 5000, now)).toBe('just now');
  });

  it('matches MQTT filters as a broker does', () => {
    expect(fmt.topicMatches('home/+/light', 'home/kitchen/light')).toBe(true);
    expect(fmt.topicMatches('home/+/light', 'home/kitchen/light/set')).toBe(false);
    expect(fmt.topicMatches('home/#', 'home')).toBe(true);
    expect(fmt.topicMatches('home/#', 'home/a/b')).toBe(true);
    expect(fmt.topicMatches('#', '$SYS/brokers')).toBe(false);
    expect(fmt.topicMatches('homie/+/$state', 'homie/dev/$state')).toBe(true);
    expect(fmt.topicMatches('home/+', 'home')).toBe(false);
    expect(fmt.topicMatches('home/#/x', 'home/a/x')).toBe(false);
  });

  it('says where to reach a listener from this PC', () => {
    expect(fmt.hostFromHere('0.0.0.0:1883')).toBe('127.0.0.1');
    expect(fmt.hostFromHere('[::]:1883')).toBe('127.0.0.1');
    expect(fmt.hostFromHere('192.168.1.20:1883')).toBe('192.168.1.20');
  });

  it("tells a command's fate in words", () => {
    expect(fmt.outcome(cmd({}))).toBe('ON sent, waiting for the light…');
    expect(fmt.outcome(cmd({ outcome: 'confirmed', latencyMs: 0.84 }))).toBe('ON confirmed in 0.8 ms');
    expect(fmt.outcome(cmd({ outcome: 'confirmed', latencyMs: 41.6 }))).toBe('ON confirmed in 42 ms');
    expect(fmt.outcome(cmd({ outcome: 'timed_out', sentMs: 1000, resolvedMs: 6003 }))).toBe('No reply after 5 s');
    expect(fmt.outcome(cmd({ outcome: 'timed_out' }))).toBe('No reply');
    expect(fmt.outcome(cmd({ outcome: 'timed_out', reply: 'dim' }))).toBe('No clear reply (got “dim”)');
    expect(fmt.outcome(cmd({ outcome: 'mismatch', reply: 'OFF' }))).toBe('Light replied OFF to ON');
    expect(fmt.outcome(cmd({ outcome: 'failed', detail: 'refused (0x87)' }))).toBe('ON failed: refused (0x87)');
    expect(fmt.outcome(cmd({ outcome: 'external', origin: 'external', desired: null, replyState: 'off' }))).toBe(
      'Switched OFF from elsewhere',
    );
  });

  it('pretty-prints JSON payloads and marks cut ones', () => {
    expect(fmt.payload({ lastPayload: '{"a":1}', truncated: false, payloadBytes: 7 })).toBe('{\n  "a": 1\n}');
    expect(fmt.payload({ lastPayload: '21.5', truncated: false, payloadBytes: 4 })).toBe('21.5');
    expect(fmt.payload({ lastPayload: '{"a":', truncated: true, payloadBytes: 900 })).toBe(
      '{"a":… [truncated: 900 bytes in all]',
    );
  });

  it('exports history as CSV with gaps left empty', () => {
    expect(fmt.historyCsv([0, 60], [1, null], [1.5, null], [2, null])).toBe(
      'time,min,avg,max\n1970-01-01T00:00:00.000Z,1,1.5,2\n1970-01-01T00:01:00.000Z,,,\n',
    );
  });

  it('exports only the window shown, without float noise, with the unit', () => {
    const csv = fmt.historyCsv(
      [0, 60, 120, 180],
      [1, 19.075000000000003, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      '°C',
      60,
      120,
    );
    expect(csv).toBe(
      'time,min (°C),avg (°C),max (°C)\n1970-01-01T00:01:00.000Z,19.075,2,2\n1970-01-01T00:02:00.000Z,3,3,3\n',
    );
    expect(fmt.historyCsv([0], [18.9], [19.033333333333], [19.2])).toBe(
      'time,min,avg,max\n1970-01-01T00:00:00.000Z,18.9,19.03,19.2\n',
    );
    expect(fmt.plainNumber(0.1 + 0.2)).toBe('0.3');
    expect(fmt.plainNumber(-21.123456)).toBe('-21.123456');
  });

  it('counts in the singular and the plural', () => {
    expect(fmt.plural(1, 'topic')).toBe('1 topic');
    expect(fmt.plural(1204, 'topic')).toBe('1,204 topics');
    expect(fmt.plural(0, 'point')).toBe('0 points');
  });

  it('names a CSV after its window', () => {
    expect(fmt.csvName('home/kitchen temp', 0, 3600)).toBe('home-kitchen-temp-1970-01-01T0000-1970-01-01T0100');
  });

  it('rates', () => {
    expect(fmt.rate(1.25)).toBe('1.3');
    expect(fmt.rate(12345.6)).toBe('12,346');
    expect(fmt.rate(null)).toBe('—');
  });
});
