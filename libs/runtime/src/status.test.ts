import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lagOf } from './status';

test('lag: high watermark minus committed offset per partition; an uncommitted partition counts from its low offset', () => {
  const ends = new Map([[0, { low: 0, high: 10 }], [1, { low: 5, high: 9 }], [2, { low: 0, high: 0 }]]);
  assert.deepEqual(lagOf(ends, [{ partition: 0, offset: '7' }, { partition: 1, offset: '-1' }]), { lag: 3 + 4, partitions: 3 });
  assert.deepEqual(lagOf(ends, [{ partition: 0, offset: '10' }, { partition: 1, offset: '9' }, { partition: 2, offset: '0' }]), { lag: 0, partitions: 3 });
  // A committed offset past the end (the topic was recreated) is no negative lag.
  assert.deepEqual(lagOf(new Map([[0, { low: 0, high: 2 }]]), [{ partition: 0, offset: '50' }]), { lag: 0, partitions: 1 });
});
