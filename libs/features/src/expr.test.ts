// The expr transform at run time: values of the language's operators and functions, what a missing value does, and
// what a compiled expr reads (features before event fields).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr, type TransformSpec } from '@streamloop/config';
import { evaluateExpr } from './expr';
import { compileTransform } from './transforms';

/** The value of `text` with the given names (any other name is missing: NaN). */
const value = (text: string, names: Record<string, number> = {}) => evaluateExpr(parseExpr(text), (n) => names[n] ?? Number.NaN);

test('arithmetic and precedence', () => {
  assert.equal(value('1 + 2 * 3'), 7);
  assert.equal(value('(1 + 2) * 3'), 9);
  assert.equal(value('-2 * 3 + 10 / 4'), -3.5);
  assert.equal(value('8 / 4 / 2'), 1);
  assert.equal(value('10 - 4 - 3'), 3);
  assert.equal(value('- -2'), 2);
  assert.equal(value('2 * -a', { a: 3 }), -6);
  assert.equal(value('1.5e2 + .5'), 150.5);
  assert.equal(value('true + true + false'), 2);
});

test('comparisons and logic give 1 or 0; any non-zero value is true', () => {
  const cases: Array<[string, number]> = [
    ['1 < 2', 1], ['2 < 2', 0], ['2 <= 2', 1], ['3 > 2', 1], ['2 > 3', 0], ['2 >= 3', 0], ['0.5 == 1 / 2', 1], ['1 != 1', 0],
    ['1 + 1 == 2', 1], ['2 and 0.5', 1], ['2 and 0', 0], ['0 or 0', 0], ['0 or -3', 1], ['not 0', 1], ['not 7', 0],
    ['1 < 2 and 3 > 4 or not 0', 1], ['not 1 == 2', 1], ['(1 < 2) + (3 < 4)', 2],
  ];
  for (const [text, expected] of cases) assert.equal(value(text), expected, text);
});

test('functions', () => {
  assert.equal(value('if(1, 10, 20)'), 10);
  assert.equal(value('if(0, 10, 20)'), 20);
  assert.equal(value('if(a > 2, a, -a)', { a: 1 }), -1);
  assert.equal(value('min(3, 1, 2)'), 1);
  assert.equal(value('max(3, 1, 2, 7.5)'), 7.5);
  assert.equal(value('min(-1, -2)'), -2);
  assert.equal(value('abs(-2.5) + abs(2)'), 4.5);
  assert.equal(value('log1p(0)'), 0);
  assert.equal(value('log1p(a)', { a: Math.E - 1 }), 1);
  assert.equal(value('sqrt(16)'), 4);
  assert.equal(value('coalesce(4, 5)'), 4);
  assert.equal(value('coalesce(missing, 5)'), 5);
});

test('missing values: null, a missing name or NaN give NaN through every operator unless coalesced', () => {
  for (const text of [
    'null', 'missing', 'missing + 1', '1 - null', 'null * 0', '-missing', 'missing < 1', 'missing == missing', 'missing != 1',
    '0 and missing', '1 or missing', 'not missing', 'min(1, missing)', 'max(missing, 1)', 'abs(null)', 'log1p(missing)', 'sqrt(null)',
    'if(missing, 1, 2)', 'coalesce(missing, null)',
    // As ratio: no value where there is no quotient.
    '1 / 0', '0 / 0', 'a / (a - a)',
    // As the log1p transform and Math.sqrt: no value outside the domain.
    'log1p(-1)', 'log1p(-2)', 'sqrt(-1)',
  ]) {
    assert.ok(Number.isNaN(value(text, { a: 2 })), text);
  }
  assert.equal(value('coalesce(missing + 1, 0)'), 0);
  assert.equal(value('coalesce(1 / 0, -1)'), -1);
  assert.equal(value('coalesce(null, coalesce(missing, 3))'), 3);
  // Only the chosen branch counts: a missing value in the other one does not make the result missing.
  assert.equal(value('if(a > 0, a, missing)', { a: 2 }), 2);
  assert.equal(value('if(a > 0, log1p(a), 0)', { a: -5 }), 0);
});

const EVENT = { amount: 40, online: true, amount_text: '2.5', nothing: null };

test('a compiled expr reads features (aggregates, earlier transforms) before event fields; booleans as 1/0', () => {
  const t: TransformSpec = { name: 'z', op: 'expr', expr: 'amount / mean + online + amount_text', ast: parseExpr('amount / mean + online + amount_text') };
  const compiled = compileTransform(t);
  assert.deepEqual(compiled.columns, ['z']);
  const out: number[] = [];
  compiled.write({ event: EVENT, time: 0, features: new Map([['mean', 20]]) }, out);
  // A feature named like a field wins: `amount` is 10 here, the event says 40.
  compiled.write({ event: EVENT, time: 0, features: new Map([['mean', 20], ['amount', 10]]) }, out);
  compiled.write({ event: EVENT, time: 0, features: new Map([['mean', Number.NaN]]) }, out);
  assert.deepEqual(out, [2 + 1 + 2.5, 0.5 + 1 + 2.5, Number.NaN]);
});

test('a hand-built spec may carry only the text: it is parsed when compiled', () => {
  const out: number[] = [];
  compileTransform({ name: 'z', op: 'expr', expr: 'coalesce(nothing, -1) * 2' }).write({ event: EVENT, time: 0, features: new Map() }, out);
  assert.deepEqual(out, [-2]);
  assert.throws(() => compileTransform({ name: 'z', op: 'expr', expr: 'amount +' }), /column 9: expected a number/);
});

test('a ratio reads an earlier transform like an aggregate', () => {
  const out: number[] = [];
  compileTransform({ name: 'r', op: 'ratio', numerator: 'z', denominator: 'amount' }).write({ event: EVENT, time: 0, features: new Map([['z', 10]]) }, out);
  assert.deepEqual(out, [0.25]);
});
