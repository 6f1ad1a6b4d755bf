import { describe, expect, it } from 'vitest';
import { buildTree, topicsUnder } from '../src/topic-tree';
import type { TopicInfo } from '../src/types';

const row = (topic: string, messages = 1) => ({ topic, messages }) as unknown as TopicInfo;

describe('the topic tree', () => {
  it('orders levels naturally and sums the messages below each', () => {
    const tree = buildTree([row('room10/t', 2), row('room2/t', 3), row('room1/a/b', 4), row('Room3/t')]);
    expect(tree.map((n) => n.name)).toEqual(['room1', 'room2', 'Room3', 'room10']);
    expect(tree[0].messages).toBe(4);
    expect(tree[0].children[0].path).toBe('room1/a');
    expect(topicsUnder(tree[0])).toBe(1);
  });
});
