// The Topics page's tree, built from the flat rows the hub sends: levels in natural order,
// message counts summed, and how many topics lie under a level.

import type { TopicInfo, TopicNode } from './types';

/** Levels in natural order: room2 before room10. */
const LEVELS = new Intl.Collator('en', { numeric: true });

/** The topic tree of `rows`, as `/api/topics` gives it: levels sorted, counts summed. */
export function buildTree(rows: Iterable<TopicInfo>): TopicNode[] {
  interface N {
    info: TopicInfo | null;
    children: Map<string, N>;
  }
  const root: N = { info: null, children: new Map() };
  for (const r of rows) {
    let n = root;
    for (const level of r.topic.split('/')) {
      let c = n.children.get(level);
      if (!c) n.children.set(level, (c = { info: null, children: new Map() }));
      n = c;
    }
    n.info = r;
  }
  const convert = (m: Map<string, N>, prefix: string | null): TopicNode[] =>
    [...m.entries()]
      .sort(([a], [b]) => LEVELS.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, n]) => {
        const path = prefix === null ? name : `${prefix}/${name}`;
        const children = convert(n.children, path);
        const messages = (n.info?.messages ?? 0) + children.reduce((s, c) => s + c.messages, 0);
        return { name, path, messages, info: n.info, children };
      });
  return convert(root.children, null);
}

/** Up to this many topics, every level of the tree starts open. */
export const SMALL_TREE = 60;

export function topicsUnder(n: TopicNode): number {
  return n.children.reduce((sum, c) => sum + (c.info ? 1 : 0) + topicsUnder(c), 0);
}
