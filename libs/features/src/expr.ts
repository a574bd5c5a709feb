import type { ExprNode } from '@streamloop/config';

/** A name's value for an expression: a feature computed before it, else the event field as a number (NaN if missing). */
export type ExprReader = (name: string) => number;

// Every value is a double; NaN is "missing" (a null or absent field, an aggregate without history, a failed operation).
// Comparisons and logic give 1/0 and, like arithmetic, NaN when an operand is NaN: only coalesce turns NaN into a value.
const truth = (x: number) => (Number.isNaN(x) ? Number.NaN : x !== 0 ? 1 : 0);

/** The value of a parsed expression (docs/pipeline-spec.md, `expr`), by walking its AST. */
export function evaluateExpr(node: ExprNode, read: ExprReader): number {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'null':
      return Number.NaN;
    case 'name':
      return read(node.name);
    case 'negate':
      return -evaluateExpr(node.operand, read);
    case 'not': {
      const x = truth(evaluateExpr(node.operand, read));
      return Number.isNaN(x) ? x : 1 - x;
    }
    case 'binary': {
      const a = evaluateExpr(node.left, read);
      const b = evaluateExpr(node.right, read);
      if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
      switch (node.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          // As ratio: a zero denominator is no value, not ±Infinity.
          return b === 0 ? Number.NaN : a / b;
        case '<':
          return a < b ? 1 : 0;
        case '<=':
          return a <= b ? 1 : 0;
        case '>':
          return a > b ? 1 : 0;
        case '>=':
          return a >= b ? 1 : 0;
        case '==':
          return a === b ? 1 : 0;
        case '!=':
          return a !== b ? 1 : 0;
        case 'and':
          return a !== 0 && b !== 0 ? 1 : 0;
        case 'or':
          return a !== 0 || b !== 0 ? 1 : 0;
      }
      break;
    }
    case 'call': {
      const args = node.args;
      switch (node.fn) {
        case 'if': {
          // Only the chosen branch is evaluated: if(x > 0, log1p(x), 0) is 0, not NaN, for x ≤ 0.
          const cond = truth(evaluateExpr(args[0], read));
          return Number.isNaN(cond) ? cond : evaluateExpr(args[cond === 1 ? 1 : 2], read);
        }
        case 'coalesce': {
          const x = evaluateExpr(args[0], read);
          return Number.isNaN(x) ? evaluateExpr(args[1], read) : x;
        }
        case 'min':
          // Math.min/max are NaN when any argument is.
          return Math.min(...args.map((a) => evaluateExpr(a, read)));
        case 'max':
          return Math.max(...args.map((a) => evaluateExpr(a, read)));
        case 'abs':
          return Math.abs(evaluateExpr(args[0], read));
        case 'log1p': {
          // As the log1p transform: NaN, not -Infinity, for x ≤ −1.
          const x = evaluateExpr(args[0], read);
          return x > -1 ? Math.log1p(x) : Number.NaN;
        }
        case 'sqrt':
          return Math.sqrt(evaluateExpr(args[0], read));
      }
    }
  }
  throw new Error(`expr: unknown node ${JSON.stringify(node)}`);
}
