import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeSplit } from './index';

test('the most recent fraction is held out, in time order, without mutating the input', () => {
  const rows = [5, 1, 9, 3, 7, 2, 8, 4, 6, 0].map((t) => ({ t, id: `r${t}` }));
  const copy = rows.map((r) => ({ ...r }));
  const { train, test: held, cutoff } = timeSplit(rows, { timeKey: 't', holdoutFraction: 0.3 });
  assert.deepEqual(train.map((r) => r.t), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(held.map((r) => r.t), [7, 8, 9]);
  assert.equal(cutoff, 7);
  assert.deepEqual(rows, copy);
});

test('rows sharing a timestamp stay on one side of the boundary', () => {
  const rows = [1, 2, 3, 4, 4, 4, 5, 6].map((t, i) => ({ t, i }));
  const { train, test: held } = timeSplit(rows, { timeKey: 't', holdoutFraction: 0.25 });
  // 2 rows wanted (5, 6); no tie there.
  assert.deepEqual(held.map((r) => r.t), [5, 6]);
  const tied = timeSplit(rows, { timeKey: 't', holdoutFraction: 0.5 });
  // 4 wanted would cut the 4s (indices 3..5): the boundary moves earlier so all 4s are held out.
  assert.deepEqual(tied.train.map((r) => r.t), [1, 2, 3]);
  assert.deepEqual(tied.test.map((r) => r.t), [4, 4, 4, 5, 6]);
  assert.ok(Math.max(...train.map((r) => r.t)) < Math.min(...held.map((r) => r.t)));
  // Ties keep input order (stable).
  assert.deepEqual(tied.test.slice(0, 3).map((r) => r.i), [3, 4, 5]);
});

test('Date and bigint times; clear errors', () => {
  const rows = [new Date(3000), new Date(1000), new Date(2000)].map((at) => ({ at }));
  assert.deepEqual(timeSplit(rows, { timeKey: 'at', holdoutFraction: 0.34 }).test.map((r) => r.at.getTime()), [3000]);
  assert.equal(timeSplit([{ t: 2n }, { t: 1n }], { timeKey: 't', holdoutFraction: 0.5 }).cutoff, 2);
  assert.throws(() => timeSplit([{ t: 1 }, { t: 1 }], { timeKey: 't', holdoutFraction: 0.5 }), /all 2 rows share one t/);
  assert.throws(() => timeSplit([{ t: 1 }, { t: 'x' }], { timeKey: 't', holdoutFraction: 0.5 }), /row 1 has t = x/);
  assert.throws(() => timeSplit([{ t: 1 }, { t: 2 }], { timeKey: 't', holdoutFraction: 1 }), /holdoutFraction must be in \(0, 1\)/);
});
