import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DATA_QUALITY, type DataQualitySpec } from '@streamloop/config';
import { checkDirection, describeCheck, evaluateDataQuality, referenceRanges, referenceVariety, type WindowProfile } from './index';

const limits: DataQualitySpec = { ...DEFAULT_DATA_QUALITY, minRows: 10, minLabelled: 5, outOfRange: { tolerance: 0.5, maxShare: 0.05 } };

test('referenceRanges: finite values only, widened by tolerance × range on each side', () => {
  const r = referenceRanges({ a: [1, 5, Number.NaN, 3, Number.POSITIVE_INFINITY], b: [2, 2], c: [Number.NaN], d: [] }, 0.5);
  assert.deepEqual(r.get('a'), { lo: 1 - 0.5 * 4, hi: 5 + 0.5 * 4 });
  assert.deepEqual(r.get('b'), { lo: 2, hi: 2 }, 'a constant reference admits its value only');
  assert.equal(r.has('c'), false, 'no finite value: no range');
  assert.equal(r.has('d'), false);
  assert.throws(() => referenceRanges({ a: [1] }, -1), RangeError);
});

const healthy = (): WindowProfile => ({
  rows: 100, duplicateEvents: 0, labelled: 100, positives: 5, otherVersionRows: 0,
  features: [{ feature: 'amount', rows: 100, missing: 10, distinct: 80, topCount: 3, outOfRange: 2 }],
});

test('a healthy window passes every check; each check is one row with its value and limit', () => {
  const out = evaluateDataQuality(healthy(), limits, { championVersion: 'v1' });
  assert.equal(out.passed, true);
  assert.deepEqual(out.failed, []);
  const byCheck = Object.fromEntries(out.checks.map((c) => [`${c.check}/${c.feature}`, [c.value, c.limit, c.passed]]));
  assert.deepEqual(byCheck, {
    'min_rows/': [100, 10, true],
    'max_duplicate_share/': [0, 0.01, true],
    'min_label_rate/': [0.05, 0.001, true],
    'max_label_rate/': [0.05, 0.999, true],
    'feature_spec_version/': [0, 0, true],
    'max_missing_rate/amount': [0.1, 0.5, true],
    'max_out_of_range_share/amount': [2 / 90, 0.05, true],
    'min_distinct/amount': [80, 2, true],
    'max_top_value_share/amount': [3 / 90, 0.999, true],
  });
});

test('each limit fails on its own side; min checks fail below, max checks above', () => {
  const p = healthy();
  p.rows = 9;
  p.duplicateEvents = 1; // 1/9 > 0.01
  p.positives = 0; // rate 0 < 0.001
  p.otherVersionRows = 9;
  p.features = [
    { feature: 'mostly_missing', rows: 9, missing: 6, distinct: 3, topCount: 1 }, // 6/9 > 0.5, no range: no out-of-range row
    { feature: 'constant', rows: 9, missing: 0, distinct: 1, topCount: 9, outOfRange: 1 }, // distinct 1 < 2, top 1 > 0.999, 1/9 > 0.05
  ];
  const out = evaluateDataQuality(p, limits, { championVersion: 'v1', referenceVariety: new Map([['constant', { distinct: 5, topShare: 0.3 }]]) });
  assert.equal(out.passed, false);
  assert.deepEqual(out.failed.map((c) => `${c.check}/${c.feature}`).sort(), [
    'feature_spec_version/', 'max_duplicate_share/', 'max_missing_rate/mostly_missing', 'max_out_of_range_share/constant',
    'max_top_value_share/constant', 'min_distinct/constant', 'min_label_rate/', 'min_rows/',
  ]);
  assert.equal(out.checks.some((c) => c.check === 'max_out_of_range_share' && c.feature === 'mostly_missing'), false);
  assert.equal(describeCheck(out.failed.find((c) => c.check === 'max_missing_rate')!), 'max_missing_rate(mostly_missing) = 0.6667 > 0.5');
  assert.equal(describeCheck(out.failed.find((c) => c.check === 'min_rows')!), 'min_rows = 9 < 10');
  assert.equal(checkDirection('min_distinct'), 'below');
  assert.equal(checkDirection('max_label_rate'), 'above');
});

test('the label rate is judged only with enough labels; an all-missing feature fails its missing rate only', () => {
  const p = healthy();
  p.labelled = 4;
  p.positives = 4;
  p.features = [{ feature: 'gone', rows: 100, missing: 100, distinct: 0, topCount: 0, outOfRange: 0 }];
  const out = evaluateDataQuality(p, limits, { championVersion: 'v1' });
  assert.equal(out.checks.some((c) => c.check.endsWith('label_rate')), false);
  assert.deepEqual(out.failed.map((c) => c.check), ['max_missing_rate']);
  assert.equal(out.checks.filter((c) => c.feature === 'gone').length, 1, 'no share of present values without one');
});

test('feature spec version: no champion warns; a mismatch blocks unless the rule is warn', () => {
  const none = evaluateDataQuality(healthy(), limits);
  assert.equal(none.passed, true);
  assert.deepEqual(none.warnings.map((c) => [c.check, c.passed, c.blocking]), [['feature_spec_version', false, false]]);
  const other = { ...healthy(), otherVersionRows: 100 };
  assert.equal(evaluateDataQuality(other, limits, { championVersion: 'v0' }).passed, false);
  const warned = evaluateDataQuality(other, { ...limits, featureSpecVersion: 'warn' }, { championVersion: 'v0' });
  assert.equal(warned.passed, true);
  assert.deepEqual(warned.warnings.map((c) => c.check), ['feature_spec_version']);
});

test('an empty window fails min_rows and has no share to judge', () => {
  const out = evaluateDataQuality({ rows: 0, duplicateEvents: 0, labelled: 0, positives: 0, otherVersionRows: 0, features: [{ feature: 'a', rows: 0, missing: 0, distinct: 0, topCount: 0 }] }, limits, { championVersion: 'v1' });
  assert.deepEqual(out.checks.map((c) => `${c.check}:${c.passed}`), ['min_rows:false']);
});

test('referenceVariety: distinct present values and the top share; NaN is missing, −0 is 0', () => {
  const v = referenceVariety({ a: [1, 1, 2, Number.NaN], z: [0, -0, 0, 1], none: [Number.NaN], empty: [] });
  assert.deepEqual(v.get('a'), { distinct: 2, topShare: 2 / 3 });
  assert.deepEqual(v.get('z'), { distinct: 2, topShare: 3 / 4 });
  assert.equal(v.has('none'), false);
  assert.equal(v.has('empty'), false);
});

test('a feature as constant in the reference as in the window (a one-hot column never hit) only warns', () => {
  const p = healthy();
  p.features = [{ feature: 'cat=__other__', rows: 100, missing: 0, distinct: 1, topCount: 100, outOfRange: 0 }];
  const sameAsReference = evaluateDataQuality(p, limits, { championVersion: 'v1', referenceVariety: new Map([['cat=__other__', { distinct: 1, topShare: 1 }]]) });
  assert.equal(sameAsReference.passed, true);
  assert.deepEqual(sameAsReference.warnings.map((c) => c.check).sort(), ['max_top_value_share', 'min_distinct']);
  const noReference = evaluateDataQuality(p, limits, { championVersion: 'v1' });
  assert.equal(noReference.passed, true);
  const becameConstant = evaluateDataQuality(p, limits, { championVersion: 'v1', referenceVariety: new Map([['cat=__other__', { distinct: 2, topShare: 0.9 }]]) });
  assert.deepEqual(becameConstant.failed.map((c) => c.check).sort(), ['max_top_value_share', 'min_distinct']);
});
