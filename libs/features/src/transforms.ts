import { hashColumns, oneHotColumns, parseExpr, type TransformSpec } from '@streamloop/config';
import { evaluateExpr } from './expr';
import { hashString } from './hll';

/** What a transform can read besides the event: its event time and the features computed before it. */
export interface TransformInput {
  event: Record<string, unknown>;
  /** Event time, epoch ms. */
  time: number;
  /**
   * By feature name: every aggregate (from the entity's state before this event) and each one-number transform
   * computed so far, i.e. declared before the one reading it.
   */
  features: ReadonlyMap<string, number>;
}

/** A transform compiled once per spec: its output column names and a function writing them in that order. */
export interface CompiledTransform {
  columns: string[];
  write(input: TransformInput, out: number[]): void;
}

/**
 * Numbers as the models see them: numbers as they are, booleans 1/0, numeric strings (REST callers send
 * JSON) parsed; null, missing and anything else NaN.
 */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

const missing = (v: unknown) => v === null || v === undefined;

/**
 * The text a one-hot or hash compares: strings and enum symbols as they are, int and long in decimal digits (avsc
 * decodes a long as a number and refuses one beyond 2^53, so its digits are exact), booleans "true"/"false". REST
 * callers may send 3 or "3": both are the category "3".
 */
export function categoryText(v: unknown): string {
  return String(v);
}

/** Compiles one transform of a validated spec. New ops are a new case here plus their schema in @streamloop/config. */
export function compileTransform(t: TransformSpec): CompiledTransform {
  const one = (f: (input: TransformInput) => number): CompiledTransform => ({ columns: [t.name], write: (input, out) => void out.push(f(input)) });
  switch (t.op) {
    case 'passthrough':
      return one(({ event }) => toNumber(event[t.field]));
    case 'log1p':
      return one(({ event }) => {
        const x = toNumber(event[t.field]);
        return x > -1 ? Math.log1p(x) : Number.NaN;
      });
    case 'clip':
      return one(({ event }) => {
        const x = toNumber(event[t.field]);
        return Number.isNaN(x) ? x : Math.min(t.max, Math.max(t.min, x));
      });
    case 'bucketize': {
      const boundaries = [...t.boundaries];
      return one(({ event }) => {
        const x = toNumber(event[t.field]);
        if (Number.isNaN(x)) return x;
        // How many boundaries are ≤ x: bucket 0 below the first boundary (numpy.digitize, right=False).
        let i = 0;
        while (i < boundaries.length && boundaries[i] <= x) i++;
        return i;
      });
    }
    case 'one_hot': {
      const index = new Map(t.categories.map((c, i) => [c, i]));
      const width = t.categories.length + 1;
      return {
        columns: oneHotColumns(t.name, t.categories),
        write: ({ event }, out) => {
          const v = event[t.field];
          if (missing(v)) {
            // Missing is not a category: NaN in every column, like any other missing input.
            for (let i = 0; i < width; i++) out.push(Number.NaN);
            return;
          }
          const hit = index.get(categoryText(v)) ?? width - 1; // the last column is name=__other__
          for (let i = 0; i < width; i++) out.push(i === hit ? 1 : 0);
        },
      };
    }
    case 'hash': {
      // Feature hashing: 1 in column murmur3_32(UTF-8 of the value) mod buckets, 0 elsewhere. Unlike one-hot it needs
      // no category list and has a fixed width, at the price of collisions (two values may share a column).
      return {
        columns: hashColumns(t.name, t.buckets),
        write: ({ event }, out) => {
          const v = event[t.field];
          const hit = missing(v) ? -1 : hashString(categoryText(v)) % t.buckets;
          // Missing is not a value: NaN in every column, as for one-hot.
          for (let i = 0; i < t.buckets; i++) out.push(hit < 0 ? Number.NaN : i === hit ? 1 : 0);
        },
      };
    }
    case 'hour_of_day':
      return one(({ time }) => new Date(time).getUTCHours());
    case 'day_of_week':
      // 0 = Sunday … 6 = Saturday (getUTCDay); ClickHouse's toDayOfWeek counts differently, hence documented.
      return one(({ time }) => new Date(time).getUTCDay());
    case 'not_equal':
      return one(({ event }) => {
        const v = event[t.field];
        if (missing(v)) return Number.NaN;
        return v === t.value ? 0 : 1;
      });
    case 'ratio':
      return one((input) => {
        const d = operandOf(t.denominator, input);
        if (d === 0 || Number.isNaN(d)) return Number.NaN;
        return operandOf(t.numerator, input) / d;
      });
    case 'expr': {
      // The loader has parsed and checked it; a hand-built spec may carry only the text.
      const ast = t.ast ?? parseExpr(t.expr);
      return one((input) => evaluateExpr(ast, (name) => operandOf(name, input)));
    }
  }
}

/** A name a ratio or an expr reads: a feature computed before it wins over an event field of that name (as checked by the loader). */
function operandOf(name: string, { event, features }: TransformInput): number {
  return features.get(name) ?? toNumber(event[name]);
}
