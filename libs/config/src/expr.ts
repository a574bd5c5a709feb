// The `expr` transform's language: a hand-written tokenizer and recursive-descent parser into a small AST. The spec
// loader parses each expression once and checks its names against the event schema and the earlier features;
// @streamloop/features evaluates the AST by walking it. Nothing here ever runs text as code.
//
//   expr       := or
//   or         := and ('or' and)*
//   and        := not ('and' not)*
//   not        := 'not' not | comparison
//   comparison := additive (('<' | '<=' | '>' | '>=' | '==' | '!=') additive)?
//   additive   := term (('+' | '-') term)*
//   term       := unary (('*' | '/') unary)*
//   unary      := '-' unary | primary
//   primary    := number | 'true' | 'false' | 'null' | name | function '(' expr (',' expr)* ')' | '(' expr ')'

export type ExprArithmeticOp = '+' | '-' | '*' | '/';
export type ExprComparisonOp = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type ExprBinaryOp = ExprArithmeticOp | ExprComparisonOp | 'and' | 'or';

/** The functions and how many arguments each takes (max Infinity: any number from min). */
export const EXPR_FUNCTIONS = {
  if: { min: 3, max: 3 },
  min: { min: 2, max: Infinity },
  max: { min: 2, max: Infinity },
  abs: { min: 1, max: 1 },
  log1p: { min: 1, max: 1 },
  sqrt: { min: 1, max: 1 },
  coalesce: { min: 2, max: 2 },
} as const;
export type ExprFunction = keyof typeof EXPR_FUNCTIONS;

/** A node of a parsed expression; `column` (1-based) is where it starts in the text, for error messages. */
export type ExprNode =
  | { kind: 'number'; value: number; column: number }
  /** `null`: a missing value (NaN when evaluated). Kept apart from number so the AST stays plain JSON. */
  | { kind: 'null'; column: number }
  | { kind: 'name'; name: string; column: number }
  | { kind: 'negate' | 'not'; operand: ExprNode; column: number }
  | { kind: 'binary'; op: ExprBinaryOp; left: ExprNode; right: ExprNode; column: number }
  | { kind: 'call'; fn: ExprFunction; args: ExprNode[]; column: number };

/** A problem with an expression at a column (1-based) of its text. */
export class ExprError extends Error {
  constructor(readonly column: number, readonly problem: string) {
    super(`column ${column}: ${problem}`);
  }
}

type Token =
  | { type: 'number'; value: number; text: string; column: number }
  | { type: 'name'; text: string; column: number }
  | { type: 'op'; text: string; column: number }
  | { type: 'end'; text: ''; column: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'null']);
const OPERATORS = ['<=', '>=', '==', '!=', '<', '>', '+', '-', '*', '/', '(', ')', ','];
// Spellings from other languages, refused with the one to use.
const MISSPELLED: Record<string, string> = { '&&': 'and', '||': 'or', '!': 'not', '=': '==', '^': 'no power operator; multiply', '%': 'no modulo operator' };
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const column = i + 1;
    const rest = text.slice(i);
    const number = NUMBER.exec(rest);
    if (number) {
      // "2x" is neither a number nor a name.
      if (/^[A-Za-z_]/.test(rest.slice(number[0].length))) throw new ExprError(column, `"${number[0]}${NAME.exec(rest.slice(number[0].length))?.[0] ?? ''}" is not a number or a name`);
      tokens.push({ type: 'number', value: Number(number[0]), text: number[0], column });
      i += number[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      tokens.push({ type: 'name', text: name[0], column });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ type: 'op', text: op, column });
      i += op.length;
      continue;
    }
    const wrong = Object.keys(MISSPELLED).find((w) => rest.startsWith(w));
    if (wrong) {
      const hint = MISSPELLED[wrong];
      throw new ExprError(column, `unexpected "${wrong}"; ${hint.startsWith('no ') ? hint : `write ${hint}`}`);
    }
    throw new ExprError(column, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ type: 'end', text: '', column: text.length + 1 });
  return tokens;
}

const describeToken = (t: Token) => (t.type === 'end' ? 'the end' : `"${t.text}"`);

/** Limits that keep parsing and evaluation (both recursive) far from the stack's end; no real feature comes near. */
export const EXPR_MAX_LENGTH = 2000;
const MAX_NESTING = 50;

/** Parses an expression; throws ExprError (with the column) on a syntax error, an unknown function or a wrong argument count. */
export function parseExpr(text: string): ExprNode {
  if (text.length > EXPR_MAX_LENGTH) throw new ExprError(EXPR_MAX_LENGTH + 1, `an expression has at most ${EXPR_MAX_LENGTH} characters, this one ${text.length}`);
  const tokens = tokenize(text);
  let pos = 0;
  let nesting = 0;
  /** Parentheses, calls, not and unary minus nest; each level is a few stack frames here and in the evaluator. */
  const nested = <T>(column: number, parse: () => T): T => {
    if (++nesting > MAX_NESTING) throw new ExprError(column, `nested more than ${MAX_NESTING} levels deep (parentheses, calls, not, unary minus)`);
    const node = parse();
    nesting--;
    return node;
  };
  const peek = () => tokens[pos];
  const isOp = (...ops: string[]) => peek().type === 'op' && ops.includes(peek().text);
  const isKeyword = (word: string) => peek().type === 'name' && peek().text === word;
  const expect = (op: string, what: string) => {
    if (!isOp(op)) throw new ExprError(peek().column, `expected ${what}, got ${describeToken(peek())}`);
    pos++;
  };

  const or = (): ExprNode => {
    let left = and();
    while (isKeyword('or')) {
      const column = tokens[pos++].column;
      left = { kind: 'binary', op: 'or', left, right: and(), column };
    }
    return left;
  };
  const and = (): ExprNode => {
    let left = not();
    while (isKeyword('and')) {
      const column = tokens[pos++].column;
      left = { kind: 'binary', op: 'and', left, right: not(), column };
    }
    return left;
  };
  const not = (): ExprNode => {
    if (!isKeyword('not')) return comparison();
    const column = tokens[pos++].column;
    return { kind: 'not', operand: nested(column, not), column };
  };
  const comparison = (): ExprNode => {
    const left = additive();
    if (!isOp('<', '<=', '>', '>=', '==', '!=')) return left;
    const { text: op, column } = tokens[pos++];
    const node: ExprNode = { kind: 'binary', op: op as ExprComparisonOp, left, right: additive(), column };
    // a < b < c would compare a 0/1 with c: almost never what was meant.
    if (isOp('<', '<=', '>', '>=', '==', '!=')) throw new ExprError(peek().column, 'comparisons do not chain; write (a < b) and (b < c)');
    return node;
  };
  const additive = (): ExprNode => {
    let left = term();
    while (isOp('+', '-')) {
      const { text: op, column } = tokens[pos++];
      left = { kind: 'binary', op: op as ExprArithmeticOp, left, right: term(), column };
    }
    return left;
  };
  const term = (): ExprNode => {
    let left = unary();
    while (isOp('*', '/')) {
      const { text: op, column } = tokens[pos++];
      left = { kind: 'binary', op: op as ExprArithmeticOp, left, right: unary(), column };
    }
    return left;
  };
  const unary = (): ExprNode => {
    if (!isOp('-')) return primary();
    const column = tokens[pos++].column;
    return { kind: 'negate', operand: nested(column, unary), column };
  };
  const primary = (): ExprNode => {
    const t = tokens[pos];
    if (t.type === 'number') {
      pos++;
      return { kind: 'number', value: t.value, column: t.column };
    }
    if (t.type === 'op' && t.text === '(') {
      pos++;
      const inner = nested(t.column, or);
      expect(')', `")" to close the "(" at column ${t.column}`);
      return inner;
    }
    if (t.type !== 'name') throw new ExprError(t.column, `expected a number, a name, a function call or "(", got ${describeToken(t)}`);
    pos++;
    if (t.text === 'true' || t.text === 'false') return { kind: 'number', value: t.text === 'true' ? 1 : 0, column: t.column };
    if (t.text === 'null') return { kind: 'null', column: t.column };
    // `a - not b` as in Python: not binds looser than arithmetic and comparisons.
    if (t.text === 'not') throw new ExprError(t.column, 'a "not" inside arithmetic or a comparison needs parentheses: (not x)');
    if (KEYWORDS.has(t.text)) throw new ExprError(t.column, `expected a value, got the operator "${t.text}"`);
    if (!isOp('(')) return { kind: 'name', name: t.text, column: t.column };
    if (!Object.hasOwn(EXPR_FUNCTIONS, t.text)) throw new ExprError(t.column, `unknown function "${t.text}"; the functions are ${Object.keys(EXPR_FUNCTIONS).join(', ')}`);
    const fn = t.text as ExprFunction;
    pos++;
    const args: ExprNode[] = [];
    if (!isOp(')')) {
      args.push(nested(t.column, or));
      while (isOp(',')) {
        pos++;
        args.push(nested(t.column, or));
      }
    }
    expect(')', `"," or ")" to close the call of ${fn} at column ${t.column}`);
    const { min, max } = EXPR_FUNCTIONS[fn];
    if (args.length < min || args.length > max) {
      const wanted = min === max ? `${min}` : `at least ${min}`;
      throw new ExprError(t.column, `${fn} takes ${wanted} argument${min === 1 && max === 1 ? '' : 's'}, got ${args.length}`);
    }
    return { kind: 'call', fn, args, column: t.column };
  };

  const ast = or();
  if (peek().type !== 'end') throw new ExprError(peek().column, `expected an operator or the end, got ${describeToken(peek())}`);
  return ast;
}

/** Every name an expression reads, once each with the column of its first use, in order of appearance. */
export function exprNames(node: ExprNode): Array<{ name: string; column: number }> {
  const seen = new Map<string, number>();
  const walk = (n: ExprNode): void => {
    switch (n.kind) {
      case 'name':
        if (!seen.has(n.name)) seen.set(n.name, n.column);
        return;
      case 'negate':
      case 'not':
        return walk(n.operand);
      case 'binary':
        walk(n.left);
        return walk(n.right);
      case 'call':
        return n.args.forEach(walk);
      default:
        return;
    }
  };
  walk(node);
  return [...seen].map(([name, column]) => ({ name, column }));
}
