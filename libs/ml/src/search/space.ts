import type { ModelParamValue } from '../trainer';

/** How one hyperparameter is drawn. Bounds are inclusive. */
export type ParamDistribution =
  | { type: 'uniform'; low: number; high: number }
  /** Uniform in log space: as likely to land in [0.001, 0.01] as in [0.1, 1]. */
  | { type: 'log_uniform'; low: number; high: number }
  /** An integer in [low, high], each equally likely (or log-uniform in [low, high + 1) floored when log). */
  | { type: 'int'; low: number; high: number; log?: boolean }
  | { type: 'choice'; values: readonly ModelParamValue[] };

/** Parameter name (spec-style, e.g. learning_rate) → distribution, or a fixed value used by every trial. */
export type SearchSpace = Record<string, ParamDistribution | ModelParamValue>;

export type ParamValues = Record<string, ModelParamValue>;

const isFixed = (v: unknown): v is ModelParamValue => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${where}: expected a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates a search space read from JSON/YAML (e.g. a pipeline spec's `search.space`), with errors naming the field. */
export function parseSearchSpace(input: unknown, what = 'search.space'): SearchSpace {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new TypeError(`${what}: expected an object of parameter → distribution`);
  const space: SearchSpace = {};
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) throw new RangeError(`${what}: no parameters`);
  for (const [name, spec] of entries) {
    const where = `${what}.${name}`;
    if (isFixed(spec)) {
      if (typeof spec === 'number') finite(spec, where);
      space[name] = spec;
      continue;
    }
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new TypeError(`${where}: expected a distribution object or a fixed value`);
    const s = spec as Record<string, unknown>;
    if (s.type === 'uniform' || s.type === 'log_uniform' || s.type === 'int') {
      const low = finite(s.low, `${where}.low`), high = finite(s.high, `${where}.high`);
      if (!(low <= high)) throw new RangeError(`${where}: low (${low}) must not exceed high (${high})`);
      if (s.type === 'log_uniform' && !(low > 0)) throw new RangeError(`${where}.low: log_uniform needs low > 0, got ${low}`);
      if (s.type === 'int') {
        if (!Number.isInteger(low) || !Number.isInteger(high)) throw new RangeError(`${where}: int bounds must be integers, got ${low}..${high}`);
        if (s.log !== undefined && typeof s.log !== 'boolean') throw new TypeError(`${where}.log: expected true or false, got ${JSON.stringify(s.log)}`);
        if (s.log && !(low > 0)) throw new RangeError(`${where}.low: a log int needs low > 0, got ${low}`);
        space[name] = { type: 'int', low, high, ...(s.log ? { log: true } : {}) };
      } else space[name] = { type: s.type, low, high };
    } else if (s.type === 'choice') {
      if (!Array.isArray(s.values) || s.values.length === 0) throw new RangeError(`${where}.values: expected a non-empty array`);
      s.values.forEach((v, i) => {
        if (!isFixed(v)) throw new TypeError(`${where}.values[${i}]: expected a number, string or boolean, got ${JSON.stringify(v)}`);
      });
      space[name] = { type: 'choice', values: [...(s.values as ModelParamValue[])] };
    } else {
      throw new RangeError(`${where}.type: expected uniform, log_uniform, int or choice, got ${JSON.stringify(s.type)}`);
    }
  }
  return space;
}

function draw(d: ParamDistribution, u: number): ModelParamValue {
  switch (d.type) {
    case 'uniform':
      return d.low + u * (d.high - d.low);
    case 'log_uniform':
      return Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low)));
    case 'int':
      if (d.log) return Math.min(d.high, Math.floor(Math.exp(Math.log(d.low) + u * (Math.log(d.high + 1) - Math.log(d.low)))));
      return Math.min(d.high, d.low + Math.floor(u * (d.high - d.low + 1)));
    case 'choice':
      return d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))];
  }
}

/**
 * One parameter set from the space. Parameters are visited in sorted name order and each distribution uses
 * exactly one uniform draw, so a seed gives the same sets whatever order the space was written in.
 */
export function sampleParams(space: SearchSpace, uniform: () => number): ParamValues {
  const out: ParamValues = {};
  for (const name of Object.keys(space).sort()) {
    const spec = space[name];
    out[name] = isFixed(spec) ? spec : draw(spec, uniform());
  }
  return out;
}
