import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLabelDelay, LABEL_DELAY_MIN_LABELS, observeLabelDelays } from './label-delay';

const MIN = 60_000;

test('observeLabelDelays: p50 and p95 with linear interpolation, and the share later than the configured delay', () => {
  // 1..100 minutes, shuffled: p50 = 50.5 min, p95 = 95.05 min (numpy's linear quantiles).
  const delays = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100 + 1) * MIN);
  const observed = observeLabelDelays(delays, 60 * MIN);
  assert.ok(observed);
  assert.equal(observed.labels, 100);
  assert.equal(observed.p50_ms, 50.5 * MIN);
  assert.equal(observed.p95_ms, 95.05 * MIN);
  assert.equal(observed.late_share, 0.4, '61..100 minutes are later than 60');
  assert.equal(observeLabelDelays(delays, 100 * MIN)?.late_share, 0, 'a label exactly at the delay is in time');
  assert.deepEqual(observeLabelDelays([5], 1), { labels: 1, p50_ms: 5, p95_ms: 5, late_share: 1 });
  assert.equal(observeLabelDelays([], 1), undefined);
});

test('judgeLabelDelay: too short when most labels arrive after it, too long past the p95, silent in between', () => {
  // Labels arrive 10–30 minutes after their event: p50 20 min, p95 29 min.
  const delays = Array.from({ length: 201 }, (_, i) => (10 + i / 10) * MIN);
  const judge = (configured: number) => judgeLabelDelay(observeLabelDelays(delays, configured), configured);

  const short = judge(15 * MIN);
  assert.equal(short?.kind, 'too_short');
  assert.match(short.message, /label_delay 15m is shorter than most labels take \(observed p50 20m, p95 29m\): 75 % of labels arrive after/);

  const long = judge(3_600_000);
  assert.equal(long?.kind, 'too_long');
  assert.match(long.message, /label_delay 1h is longer than the observed p95 29m \(p50 20m\): every prediction waits 31m more than 95 % of labels need/);

  for (const fits of [20 * MIN, 25 * MIN, 29 * MIN]) assert.equal(judge(fits), undefined, `${fits / MIN} min`);
  assert.equal(judge(29.5 * MIN)?.kind, 'too_long');
});

test('judgeLabelDelay: no judgement on too few labels', () => {
  const few = Array.from({ length: LABEL_DELAY_MIN_LABELS - 1 }, () => 20 * MIN);
  assert.equal(judgeLabelDelay(observeLabelDelays(few, MIN), MIN), undefined);
  assert.equal(judgeLabelDelay(observeLabelDelays([...few, 20 * MIN], MIN), MIN)?.kind, 'too_short');
  assert.equal(judgeLabelDelay(undefined, MIN), undefined);
});
