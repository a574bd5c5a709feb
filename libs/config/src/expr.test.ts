// The expr transform's language as the spec loader sees it: the parser (AST, precedence, syntax errors with their
// column) and the checks of a spec's expressions against the event schema and the earlier features.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExprError, exprNames, parseExpr, parsePipelineSpec, SpecError, type ExprNode } from './index';

/** An AST as compact text, every operation in parentheses: what the parser understood. */
function shape(n: ExprNode): string {
  switch (n.kind) {
    case 'number':
      return String(n.value);
    case 'null':
      return 'null';
    case 'name':
      return n.name;
    case 'negate':
      return `(-${shape(n.operand)})`;
    case 'not':
      return `(not ${shape(n.operand)})`;
    case 'binary':
      return `(${shape(n.left)} ${n.op} ${shape(n.right)})`;
    case 'call':
      return `${n.fn}(${n.args.map(shape).join(', ')})`;
  }
}
const parsed = (text: string) => shape(parseExpr(text));

test('precedence: unary minus, then * /, then + -, then comparisons, then not, and, or; left to right', () => {
  assert.equal(parsed('1 + 2 * 3'), '(1 + (2 * 3))');
  assert.equal(parsed('(1 + 2) * 3'), '((1 + 2) * 3)');
  assert.equal(parsed('8 / 4 / 2'), '((8 / 4) / 2)');
  assert.equal(parsed('a - b - c'), '((a - b) - c)');
  assert.equal(parsed('-a * b'), '((-a) * b)');
  assert.equal(parsed('--a'), '(-(-a))');
  assert.equal(parsed('a + 1 > b * 2'), '((a + 1) > (b * 2))');
  assert.equal(parsed('a < 1 or b >= 2 and not c == 3'), '((a < 1) or ((b >= 2) and (not (c == 3))))');
  assert.equal(parsed('not not a'), '(not (not a))');
  assert.equal(parsed('a != b and c <= d or e'), '(((a != b) and (c <= d)) or e)');
  assert.equal(parsed('if(a > 0, min(a, b, 3), coalesce(c, -1))'), 'if((a > 0), min(a, b, 3), coalesce(c, (-1)))');
});

test('literals: numbers with fraction and exponent, true and false as 1 and 0, null', () => {
  assert.equal(parsed('1.5e3 + .25 + 2. + 7E-1'), '(((1500 + 0.25) + 2) + 0.7)');
  assert.deepEqual(parseExpr('true'), { kind: 'number', value: 1, column: 1 });
  assert.deepEqual(parseExpr(' false'), { kind: 'number', value: 0, column: 2 });
  assert.deepEqual(parseExpr('null'), { kind: 'null', column: 1 });
  // The AST is plain JSON (it travels inside the loaded spec).
  const ast = parseExpr('coalesce(amount, null) / -2');
  assert.deepEqual(JSON.parse(JSON.stringify(ast)), ast);
});

test('exprNames: each name once, with the column of its first use', () => {
  assert.deepEqual(exprNames(parseExpr('a + max(b, a) * if(c, b, 1)')), [{ name: 'a', column: 1 }, { name: 'b', column: 9 }, { name: 'c', column: 20 }]);
});

/** The column and message of the ExprError that parsing `text` throws. */
function syntaxError(text: string): string {
  try {
    parseExpr(text);
  } catch (error) {
    assert.ok(error instanceof ExprError, String(error));
    assert.equal(error.message, `column ${error.column}: ${error.problem}`);
    return error.message;
  }
  assert.fail(`${text} parsed`);
}

test('syntax errors say what was expected and at which column', () => {
  assert.equal(syntaxError('amount +'), 'column 9: expected a number, a name, a function call or "(", got the end');
  assert.equal(syntaxError('(amount + 1'), 'column 12: expected ")" to close the "(" at column 1, got the end');
  assert.equal(syntaxError('amount 2'), 'column 8: expected an operator or the end, got "2"');
  assert.equal(syntaxError('amount )'), 'column 8: expected an operator or the end, got ")"');
  assert.equal(syntaxError('amount # 2'), 'column 8: unexpected character "#"');
  assert.equal(syntaxError('"NL"'), 'column 1: unexpected character "\\""');
  assert.equal(syntaxError('a = 1'), 'column 3: unexpected "="; write ==');
  assert.equal(syntaxError('a && b'), 'column 3: unexpected "&&"; write and');
  assert.equal(syntaxError('a || b'), 'column 3: unexpected "||"; write or');
  assert.equal(syntaxError('!a'), 'column 1: unexpected "!"; write not');
  assert.equal(syntaxError('a ^ 2'), 'column 3: unexpected "^"; no power operator; multiply');
  assert.equal(syntaxError('2x'), 'column 1: "2x" is not a number or a name');
  assert.equal(syntaxError('a < b < c'), 'column 7: comparisons do not chain; write (a < b) and (b < c)');
  assert.equal(syntaxError('a and or b'), 'column 7: expected a value, got the operator "or"');
  assert.equal(syntaxError('1 - not a'), 'column 5: a "not" inside arithmetic or a comparison needs parentheses: (not x)');
  assert.equal(parsed('1 - (not a)'), '(1 - (not a))');
  assert.equal(syntaxError('max(a b)'), 'column 7: expected "," or ")" to close the call of max at column 1, got "b"');
  assert.equal(syntaxError('max(a,)'), 'column 7: expected a number, a name, a function call or "(", got ")"');
  assert.equal(syntaxError(''), 'column 1: expected a number, a name, a function call or "(", got the end');
});

test('limits: length and nesting stay far from the stack\'s end, refused with a message instead', () => {
  assert.equal(parsed(`${'('.repeat(50)}a${')'.repeat(50)}`), 'a');
  assert.equal(syntaxError(`${'('.repeat(51)}a${')'.repeat(51)}`), 'column 51: nested more than 50 levels deep (parentheses, calls, not, unary minus)');
  assert.equal(syntaxError(`${'-'.repeat(60)}a`), 'column 51: nested more than 50 levels deep (parentheses, calls, not, unary minus)');
  assert.equal(syntaxError(`${'abs('.repeat(51)}a${')'.repeat(51)}`), 'column 201: nested more than 50 levels deep (parentheses, calls, not, unary minus)');
  // A long flat chain is fine up to the length limit.
  assert.equal(parseExpr(Array.from({ length: 500 }, () => 'a').join(' + ')).kind, 'binary');
  assert.equal(syntaxError('a + '.repeat(500) + 'a'), 'column 2001: an expression has at most 2000 characters, this one 2001');
});

test('functions: an unknown one and a wrong argument count are refused at the call', () => {
  assert.equal(syntaxError('1 + lg(amount)'), 'column 5: unknown function "lg"; the functions are if, min, max, abs, log1p, sqrt, coalesce');
  assert.equal(syntaxError('abs(a, b)'), 'column 1: abs takes 1 argument, got 2');
  assert.equal(syntaxError('sqrt()'), 'column 1: sqrt takes 1 argument, got 0');
  assert.equal(syntaxError('log1p(a, 1)'), 'column 1: log1p takes 1 argument, got 2');
  assert.equal(syntaxError('2 * min(a)'), 'column 5: min takes at least 2 arguments, got 1');
  assert.equal(syntaxError('max(a)'), 'column 1: max takes at least 2 arguments, got 1');
  assert.equal(syntaxError('if(a, b)'), 'column 1: if takes 3 arguments, got 2');
  assert.equal(syntaxError('coalesce(a, b, c)'), 'column 1: coalesce takes 2 arguments, got 3');
  assert.equal(parsed('max(a, b, c, d)'), 'max(a, b, c, d)');
});

// ---------------------------------------------------------------------------------------------------------
// In a spec: fraud.yaml with one more transform (features.transforms[9]).

const FRAUD = fileURLToPath(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url));
const text = readFileSync(FRAUD, 'utf8');
const RATIO_LINE = '    - { name: amount_vs_card_mean, op: ratio, numerator: amount, denominator: card_amount_mean_24h }\n';
/** fraud.yaml with an expr transform after the ratio (index 9); the expression is written as a YAML double-quoted string. */
const withExpr = (expr: string, name = 'x') => parsePipelineSpec(text.replace(RATIO_LINE, `${RATIO_LINE}    - { name: ${name}, op: expr, expr: ${JSON.stringify(expr)} }\n`), FRAUD);
function problemsOf(expr: string): string[] {
  try {
    withExpr(expr);
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.problems;
  }
  assert.fail(`${expr} was accepted`);
}

test('a spec\'s expr is parsed once by the loader: the AST travels with the transform', () => {
  const spec = withExpr('coalesce(amount / card_amount_mean_24h, 1) + is_online + amount_vs_card_mean', 'amount_vs_mean_or_1');
  const t = spec.features.transforms[9];
  assert.equal(t.op, 'expr');
  assert.equal(t.name, 'amount_vs_mean_or_1');
  assert.ok(t.op === 'expr' && t.ast);
  assert.equal(shape(t.ast), '((coalesce((amount / card_amount_mean_24h), 1) + is_online) + amount_vs_card_mean)');
});

test('names resolve to aggregates, earlier one-number transforms and number or boolean event fields; anything else is refused with its column', () => {
  for (const ok of ['merchant_txn_count_1h', 'log_amount * foreign', 'if(is_online, amount, 0)', 'hour_of_day >= 22 or hour_of_day < 6', 'event_time / 1000']) {
    assert.doesNotThrow(() => withExpr(ok), ok);
  }
  assert.deepEqual(problemsOf('amout / 2'), [
    'features.transforms[9].expr: column 1: "amout" is neither an aggregate (card_txn_count_1h, card_txn_count_24h, card_amount_mean_24h, card_amount_max_24h, card_secs_since_last, merchant_txn_count_1h), an earlier transform (amount, log_amount, is_online, hour_of_day, amount_clipped, amount_bucket, foreign, amount_vs_card_mean) nor an event field (transaction_id, event_time, card_id, merchant_id, merchant_category, amount, currency, country, is_online, device_id)',
  ]);
  // A string field in arithmetic; every bad name is reported, once, at its first use.
  assert.deepEqual(problemsOf('amount * 2 + country - merchant_category + country'), [
    'features.transforms[9].expr: column 14: field "country" is string in the event schema, expected a number or boolean',
    'features.transforms[9].expr: column 24: field "merchant_category" is enum in the event schema, expected a number or boolean',
  ]);
  assert.deepEqual(problemsOf('category + 1'), ['features.transforms[9].expr: column 1: "category" is a one_hot transform (features.transforms[4]) of several columns, not one number']);
  assert.deepEqual(problemsOf('x + 1'), ['features.transforms[9].expr: column 1: "x" is features.transforms[9], this transform itself; a transform reads only the transforms before it']);
});

test('a later transform is not readable; a syntax error, unknown function or argument count names the key and column', () => {
  const later = text.replace('    - { name: amount, op: passthrough, field: amount }\n', '    - { name: amount_2x, op: expr, expr: "amount_clipped * 2" }\n    - { name: amount, op: passthrough, field: amount }\n');
  assert.throws(() => parsePipelineSpec(later, FRAUD), (e: unknown) => {
    assert.ok(e instanceof SpecError);
    assert.deepEqual(e.problems, ['features.transforms[0].expr: column 1: "amount_clipped" is features.transforms[6], declared after this one; a transform reads only the transforms before it']);
    return true;
  });
  assert.deepEqual(problemsOf('amount * (2 + '), ['features.transforms[9].expr: column 15: expected a number, a name, a function call or "(", got the end']);
  assert.deepEqual(problemsOf('logp(amount)'), ['features.transforms[9].expr: column 1: unknown function "logp"; the functions are if, min, max, abs, log1p, sqrt, coalesce']);
  assert.deepEqual(problemsOf('1 + coalesce(amount)'), ['features.transforms[9].expr: column 5: coalesce takes 2 arguments, got 1']);
  assert.throws(() => withExpr(''), /features\.transforms\[9\]\.expr: expected at least 1 character\(s\), got ""/);
});
