import { describe, expect, it, vi } from 'vitest';
import type { Command } from '../src/types';

vi.mock('uplot', () => ({ default: class {} }));
vi.mock('uplot/dist/uPlot.min.css', () => ({}));

const { fateDone, CONFIRMED_SHOWN_MS } = await import('../src/cards');

const command = (outcome: Command['outcome'], resolvedMs: number | null) =>
  ({ outcome, sentMs: 1000, resolvedMs }) as Command;

describe('a light card’s command line', () => {
  it('goes once a confirmation has been seen for a minute; a failure stays', () => {
    const at = 1000 + CONFIRMED_SHOWN_MS;
    expect(fateDone(command('confirmed', 1000), at)).toBe(false);
    expect(fateDone(command('confirmed', 1000), at + 1)).toBe(true);
    expect(fateDone(command('timed_out', 1000), at + 1e6)).toBe(false);
    expect(fateDone(command('pending', null), at + 1e6)).toBe(false);
  });
});
