// The paired comparisons against independent references (MLstatkit's DeLong test, scipy's ttest_rel and
// distributions), from fixtures made by scripts/python/promotion_reference/make_fixtures.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalPpf, normalSf, studentTPpf, studentTSf } from './distributions';
import { delongTest, pairedLogLossTest } from './paired-tests';

interface Fixture {
  cases: Array<{
    name: string; labels: number[]; a: number[]; b: number[];
    delong: { method: string; z: number; p_value: number; auc_a: number; auc_b: number; var_diff: number };
    log_loss: { a: number; b: number; t: number; p_value: number; df: number };
  }>;
  special: { norm_sf: Array<[number, number]>; norm_ppf: Array<[number, number]>; t_sf: Array<[number, number, number]> };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/paired_tests.json', import.meta.url), 'utf8')) as Fixture;

/** |actual − expected| within `rel` of expected (or `abs` near zero). */
function close(actual: number, expected: number, rel: number, what: string, abs = 1e-300): void {
  assert.ok(Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

test('normal and Student-t tails match scipy', () => {
  for (const [x, sf] of fixture.special.norm_sf) close(normalSf(x), sf, 1e-12, `norm.sf(${x})`);
  for (const [q, x] of fixture.special.norm_ppf) close(normalPpf(q), x, 1e-12, `norm.ppf(${q})`, 1e-15);
  for (const [x, df, sf] of fixture.special.t_sf) close(studentTSf(x, df), sf, 1e-10, `t.sf(${x}, ${df})`);
  // The t quantile inverts the survival function.
  for (const df of [1, 5, 39, 999]) for (const q of [0.025, 0.5, 0.9, 0.975]) close(1 - studentTSf(studentTPpf(q, df), df), q, 1e-10, `t.ppf(${q}, ${df})`);
});

for (const c of fixture.cases) {
  test(`DeLong on "${c.name}" matches MLstatkit`, () => {
    assert.equal(c.delong.method, 'delong', 'the reference took the DeLong path, not its bootstrap fallback');
    const r = delongTest(c.labels, c.a, c.b);
    close(r.aucChampion, c.delong.auc_a, 1e-12, 'AUC champion');
    close(r.aucCandidate, c.delong.auc_b, 1e-12, 'AUC candidate');
    close(r.standardError ** 2, c.delong.var_diff, 1e-9, 'variance of the difference');
    close(r.z, c.delong.z, 1e-9, 'z');
    close(r.pValue, c.delong.p_value, 1e-8, 'p-value');
    const [lo, hi] = r.confidenceInterval;
    close((lo + hi) / 2, r.difference, 1e-12, 'interval centred on the difference');
    close((hi - lo) / 2, 1.959963984540054 * r.standardError, 1e-9, 'interval half-width at 95 %');
    assert.equal(r.positives + r.negatives, c.labels.length);
  });

  test(`paired log-loss t-test on "${c.name}" matches scipy.stats.ttest_rel`, () => {
    const r = pairedLogLossTest(c.labels, c.a, c.b);
    close(r.logLossChampion, c.log_loss.a, 1e-12, 'log loss champion');
    close(r.logLossCandidate, c.log_loss.b, 1e-12, 'log loss candidate');
    close(r.t, c.log_loss.t, 1e-9, 't');
    close(r.pValue, c.log_loss.p_value, 1e-7, 'p-value', 1e-300);
    assert.equal(r.degreesOfFreedom, c.log_loss.df);
    // The interval excludes 0 exactly when p < 0.05.
    assert.equal(r.confidenceInterval[0] > 0 || r.confidenceInterval[1] < 0, r.pValue < 0.05);
  });
}

test('identical scorings: no difference, p = 1; swapped roles flip the sign only', () => {
  const c = fixture.cases[1];
  const same = delongTest(c.labels, c.a, c.a);
  assert.deepEqual([same.difference, same.standardError, same.z, same.pValue], [0, 0, 0, 1]);
  const forward = delongTest(c.labels, c.a, c.b);
  const backward = delongTest(c.labels, c.b, c.a);
  close(backward.z, -forward.z, 1e-12, 'z swapped');
  close(backward.pValue, forward.pValue, 1e-12, 'p swapped');
  assert.equal(pairedLogLossTest(c.labels, c.a, c.a).pValue, 1);
});

test('bad input names what is wrong', () => {
  assert.throws(() => delongTest([1, 0], [0.5], [0.5, 0.4]), /one value per event, got 2, 1 and 2/);
  assert.throws(() => delongTest([1, 1], [0.5, 0.4], [0.5, 0.4]), /at least one positive and one negative label, got 2 and 0/);
  assert.throws(() => delongTest([1, 2], [0.5, 0.4], [0.5, 0.4]), /label 1 is 2, expected 0 or 1/);
  assert.throws(() => pairedLogLossTest([1, 0], [0.5, Number.NaN], [0.5, 0.4]), /score 1 is not a finite number/);
  assert.throws(() => delongTest([1, 0], [0.5, 0.4], [0.5, 0.4], { confidence: 95 }), /confidence must be in \(0, 1\), got 95/);
});
