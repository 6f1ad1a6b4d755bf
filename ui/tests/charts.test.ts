import { describe, expect, it, vi } from 'vitest';

vi.mock('uplot', () => ({ default: class {} }));
vi.mock('uplot/dist/uPlot.min.css', () => ({}));

const { toData } = await import('../src/charts');

describe('the detail chart’s data', () => {
  it('leaves out empty buckets and keeps a break only for an outage', () => {
    // Readings every 2 s in 1 s buckets, then 60 s of silence, then two more.
    const ts = [0, 1, 2, 3, 4, 64, 66];
    const v = [1, null, 2, null, 3, 4, 5];
    const [t, , avg] = toData({ ts, min: v, avg: v, max: v });
    expect(t).toEqual([0, 2, 4, 34, 64, 66]);
    expect(avg).toEqual([1, 2, 3, null, 4, 5]);
  });
});
