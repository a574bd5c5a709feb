/**
 * Column-wise preprocessing learned on the training split only, in the manner of scikit-learn's ColumnTransformer:
 * each named column is declared numeric (imputation + optional standardization), one-hot (categories learned in
 * training plus an unknown bucket) or hashed (MurmurHash3 into k buckets). Every statistic comes from the rows given
 * to `fit`; held-out and serving rows only go through `transform`, so nothing leaks from them.
 *
 * Output layout (one Float64Array per row), fixed whatever order the columns are declared in:
 *   1. numeric columns, in declaration order (the ONNX `features` input, same order);
 *   2. one block per one-hot column, in declaration order: its kept categories in code-point order, then the
 *      unknown bucket (the ONNX `categories` input, same column order);
 *   3. one block of k buckets per hashed column, in declaration order (computed outside the ONNX graph).
 * `outputNames` names every output column.
 *
 * Reference semantics (checked against scikit-learn by preprocessor.test.ts):
 *   numeric  Pipeline(SimpleImputer(strategy, keep_empty_features=True), StandardScaler()): NaN / null / absent is
 *            replaced by the mean, median, most frequent value (smallest on ties) or a constant of the observed
 *            training values; a column with nothing observed imputes 0 (constant: the fill value). The scaler is
 *            fitted on the imputed column: mean and population std (ddof 0) over all training rows, std 1 for a
 *            (numerically) constant column by sklearn's _is_constant_feature bound.
 *   one-hot  OneHotEncoder(handle_unknown='infrequent_if_exist', min_frequency, max_categories): the unknown bucket
 *            is sklearn's "infrequent" column, but always present. It receives infrequent training categories, values
 *            never seen in training, and missing values (null, undefined, absent or ''). sklearn differs in two
 *            places only: with no infrequent category it has no such column (an unknown value is all zeros), and it
 *            treats a missing value as a category of its own. max_categories counts the unknown bucket, as in sklearn.
 *   hashed   FeatureHasher(n_features=k, input_type='dict', alternate_sign) applied to {column: value}: the token is
 *            `${column}=${value}`, h = signed MurmurHash3 x86 32-bit (seed 0) of its UTF-8 bytes, bucket |h| mod k,
 *            value +1, or −1 when alternateSign and h < 0. A missing value hashes nothing (all zeros).
 */
import { murmurhash3_32 } from './murmur3';
import { categoryValue, checkRow, numericValue, type RawRow } from './values';

export type ImputeStrategy = 'mean' | 'median' | 'most_frequent' | 'constant';
export const IMPUTE_STRATEGIES: readonly ImputeStrategy[] = ['mean', 'median', 'most_frequent', 'constant'];

export interface NumericColumnSpec {
  name: string;
  type: 'numeric';
  /** Default 'mean'. */
  impute?: ImputeStrategy;
  /** The value imputed by 'constant' (default 0, as sklearn); not allowed with the other strategies. */
  fillValue?: number;
  /** Centre and scale to unit variance after imputation. Default false. */
  standardize?: boolean;
}

export interface OneHotColumnSpec {
  name: string;
  type: 'onehot';
  /** Output columns at most, the unknown bucket included (≥ 1); the least frequent categories fold into the bucket. */
  maxCategories?: number;
  /** An integer ≥ 1: categories seen fewer times fold into the unknown bucket; a number in (0, 1): a share of the training rows. */
  minFrequency?: number;
}

export interface HashedColumnSpec {
  name: string;
  type: 'hashed';
  /** k ≥ 1 output columns. */
  buckets: number;
  /** Signed hashing (sklearn's alternate_sign): collisions tend to cancel. Default true. */
  alternateSign?: boolean;
}

export type ColumnSpec = NumericColumnSpec | OneHotColumnSpec | HashedColumnSpec;

export type { RawRow, RawValue } from './values';

export interface NumericColumnState {
  name: string;
  type: 'numeric';
  impute: ImputeStrategy;
  /** The 'constant' fill value, else null. */
  fillValue: number | null;
  /** What replaces a missing value. */
  imputedValue: number;
  /** Scaler mean and std (after imputation), or null when the column is not standardized. */
  mean: number | null;
  std: number | null;
}

export interface OneHotColumnState {
  name: string;
  type: 'onehot';
  maxCategories: number | null;
  minFrequency: number | null;
  /** Categories with their own output column, in code-point order; the unknown bucket follows them. */
  categories: string[];
  /** Training categories folded into the unknown bucket (by minFrequency / maxCategories), for the model card. */
  infrequent: string[];
}

export interface HashedColumnState {
  name: string;
  type: 'hashed';
  buckets: number;
  alternateSign: boolean;
}

export type ColumnState = NumericColumnState | OneHotColumnState | HashedColumnState;

export interface PreprocessorJSON {
  kind: 'preprocessor';
  version: 1;
  /** Rows the statistics were learned from. */
  trainRows: number;
  /** In declaration order. */
  columns: ColumnState[];
}

export interface TransformOptions {
  /**
   * Reproduce the ONNX graph's float32 arithmetic bit for bit: the input rounded to float32, the imputed value,
   * mean and 1/std as float32, y = fround(fround(x − mean) · (1/std)) (onnxruntime's Scaler). Tree models split on
   * exact values, so the TypeScript reference of a parity check, or a tree model meant to see exactly what it will
   * be served, uses this. Default false (float64, scikit-learn's numbers).
   */
  float32?: boolean;
}

/** The name of a one-hot column's unknown bucket in outputNames. */
export const unknownBucketName = (column: string) => `${column}=<unknown>`;
const hashedBucketName = (column: string, b: number) => `${column}#${b}`;

/** Orders strings by Unicode code point, as Python (and so scikit-learn) sorts them; JS's default order is by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800–DFFF, the halves of code points ≥ U+10000) must sort after U+E000–FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Smallest among the most frequent values of a sorted array. */
function mostFrequentSorted(sorted: Float64Array): number {
  let best = sorted[0], bestCount = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > bestCount) {
      bestCount = j - i;
      best = sorted[i];
    }
    i = j;
  }
  return best;
}

function fitNumeric(rows: readonly RawRow[], spec: NumericColumnSpec): NumericColumnState {
  const what = 'Preprocessor.fit';
  const { name } = spec;
  const impute = spec.impute ?? 'mean';
  if (!IMPUTE_STRATEGIES.includes(impute)) throw new RangeError(`${what}: column '${name}' impute is ${JSON.stringify(impute)}; expected one of ${IMPUTE_STRATEGIES.join(', ')}`);
  if (spec.fillValue !== undefined && impute !== 'constant') throw new RangeError(`${what}: column '${name}' has a fillValue but impute '${impute}'; fillValue goes with impute 'constant'`);
  const fillValue = impute === 'constant' ? (spec.fillValue ?? 0) : null;
  if (fillValue !== null && !Number.isFinite(fillValue)) throw new RangeError(`${what}: column '${name}' fillValue is ${fillValue}; expected a finite number`);
  if (spec.standardize !== undefined && typeof spec.standardize !== 'boolean') throw new TypeError(`${what}: column '${name}' standardize must be true or false`);

  const n = rows.length;
  const x = new Float64Array(n);
  let observed = 0;
  for (let i = 0; i < n; i++) {
    const v = numericValue(rows[i], name, i, what);
    if (!Number.isNaN(v)) {
      if (!Number.isFinite(v)) throw new RangeError(`${what}: column '${name}' of row ${i} is ${v}; expected a finite number or NaN (missing)`);
      observed++;
    }
    x[i] = v;
  }
  let imputedValue: number;
  if (fillValue !== null) imputedValue = fillValue;
  else if (observed === 0) imputedValue = 0; // sklearn's keep_empty_features=True
  else {
    const values = new Float64Array(observed);
    let k = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(x[i])) values[k++] = x[i];
    if (impute === 'mean') {
      let s = 0;
      for (const v of values) s += v;
      imputedValue = s / observed;
    } else {
      values.sort();
      const mid = observed >> 1;
      imputedValue = impute === 'median' ? (observed % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2) : mostFrequentSorted(values);
    }
  }
  let mean: number | null = null, std: number | null = null;
  if (spec.standardize) {
    for (let i = 0; i < n; i++) if (Number.isNaN(x[i])) x[i] = imputedValue;
    let s = 0;
    for (const v of x) s += v;
    mean = s / n;
    // Two passes with the rounding correction of the second (Chan, Golub & LeVeque), as sklearn does.
    let correction = 0, squares = 0;
    for (const v of x) {
      const d = v - mean;
      correction += d;
      squares += d * d;
    }
    const variance = (squares - (correction * correction) / n) / n;
    const eps = Number.EPSILON;
    const constant = variance <= n * eps * variance + (n * mean * eps) ** 2;
    std = constant ? 1 : Math.sqrt(variance);
  }
  return { name, type: 'numeric', impute, fillValue, imputedValue, mean, std };
}

function fitOneHot(rows: readonly RawRow[], spec: OneHotColumnSpec): OneHotColumnState {
  const what = 'Preprocessor.fit';
  const { name } = spec;
  const maxCategories = spec.maxCategories ?? null;
  const minFrequency = spec.minFrequency ?? null;
  if (maxCategories !== null && !(Number.isInteger(maxCategories) && maxCategories >= 1)) {
    throw new RangeError(`${what}: column '${name}' maxCategories is ${maxCategories}; expected an integer ≥ 1 (the unknown bucket included)`);
  }
  if (minFrequency !== null && !(Number.isInteger(minFrequency) ? minFrequency >= 1 : minFrequency > 0 && minFrequency < 1)) {
    throw new RangeError(`${what}: column '${name}' minFrequency is ${minFrequency}; expected an integer ≥ 1 (a count) or a number in (0, 1) (a share of the rows)`);
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const v = categoryValue(rows[i], name, i, what);
    if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const all = [...counts.keys()].sort(compareCodePoints);
  const count = all.map((c) => counts.get(c)!);
  // sklearn's _identify_infrequent, over the categories in sorted order.
  const infrequent = all.map((_, k) =>
    minFrequency === null ? false : Number.isInteger(minFrequency) ? count[k] < minFrequency : count[k] < rows.length * minFrequency,
  );
  const kept = infrequent.filter((f) => !f).length;
  if (maxCategories !== null && maxCategories < kept + 1) {
    const frequentCount = maxCategories - 1;
    // Stable ascending sort by count: on ties the categories later in sorted order are the ones kept.
    const order = all.map((_, k) => k).sort((p, q) => count[p] - count[q] || p - q);
    for (const k of order.slice(0, order.length - frequentCount)) infrequent[k] = true;
  }
  return {
    name,
    type: 'onehot',
    maxCategories,
    minFrequency,
    categories: all.filter((_, k) => !infrequent[k]),
    infrequent: all.filter((_, k) => infrequent[k]),
  };
}

function fitHashed(spec: HashedColumnSpec): HashedColumnState {
  const { name, buckets } = spec;
  if (!(Number.isInteger(buckets) && buckets >= 1 && buckets <= 1 << 20)) {
    throw new RangeError(`Preprocessor.fit: column '${name}' buckets is ${buckets}; expected an integer in 1..${1 << 20}`);
  }
  const alternateSign = spec.alternateSign ?? true;
  if (typeof alternateSign !== 'boolean') throw new TypeError(`Preprocessor.fit: column '${name}' alternateSign must be true or false`);
  return { name, type: 'hashed', buckets, alternateSign };
}

export class Preprocessor {
  /** Fitted state per column, in declaration order. */
  readonly columns: readonly ColumnState[];
  readonly trainRows: number;
  readonly numeric: readonly NumericColumnState[];
  readonly onehot: readonly OneHotColumnState[];
  readonly hashed: readonly HashedColumnState[];
  /** Name of every output column, in output order. */
  readonly outputNames: readonly string[];
  private readonly categoryIndex: ReadonlyArray<ReadonlyMap<string, number>>;
  private readonly f32: { imputed: Float32Array; offset: Float32Array; scale: Float32Array };

  constructor(columns: readonly ColumnState[], trainRows: number) {
    if (!Array.isArray(columns) || columns.length === 0) throw new RangeError('Preprocessor: needs at least one column');
    const names = new Set<string>();
    for (const c of columns) {
      if (typeof c?.name !== 'string' || c.name.length === 0) throw new TypeError(`Preprocessor: every column needs a non-empty name, got ${JSON.stringify(c?.name)}`);
      if (names.has(c.name)) throw new RangeError(`Preprocessor: column '${c.name}' is declared twice`);
      names.add(c.name);
      checkState(c);
    }
    this.columns = columns.map((c) => structuredClone(c));
    this.trainRows = trainRows;
    this.numeric = this.columns.filter((c): c is NumericColumnState => c.type === 'numeric');
    this.onehot = this.columns.filter((c): c is OneHotColumnState => c.type === 'onehot');
    this.hashed = this.columns.filter((c): c is HashedColumnState => c.type === 'hashed');
    this.categoryIndex = this.onehot.map((c) => new Map(c.categories.map((cat, k) => [cat, k])));
    this.outputNames = [
      ...this.numeric.map((c) => c.name),
      ...this.onehot.flatMap((c) => [...c.categories.map((cat) => `${c.name}=${cat}`), unknownBucketName(c.name)]),
      ...this.hashed.flatMap((c) => Array.from({ length: c.buckets }, (_, b) => hashedBucketName(c.name, b))),
    ];
    this.f32 = {
      imputed: Float32Array.from(this.numeric, (c) => c.imputedValue),
      offset: Float32Array.from(this.numeric, (c) => c.mean ?? 0),
      scale: Float32Array.from(this.numeric, (c) => (c.std === null ? 1 : 1 / c.std)),
    };
  }

  /** Learns every column's statistics from the training rows (and only from them). */
  static fit(rows: readonly RawRow[], spec: readonly ColumnSpec[]): Preprocessor {
    const what = 'Preprocessor.fit';
    if (!Array.isArray(rows) || rows.length === 0) throw new RangeError(`${what}: needs at least one training row`);
    if (!Array.isArray(spec) || spec.length === 0) throw new RangeError(`${what}: needs at least one column spec`);
    rows.forEach((row, i) => checkRow(row, i, what));
    const states = spec.map((s) => {
      if (typeof s?.name !== 'string' || s.name.length === 0) throw new TypeError(`${what}: every column spec needs a non-empty name, got ${JSON.stringify(s?.name)}`);
      // An absent column is missing in a row, but absent from every row it is most likely a misspelt name.
      if (!rows.some((r) => s.name in r)) throw new RangeError(`${what}: column '${s.name}' is in none of the ${rows.length} training rows`);
      switch (s.type) {
        case 'numeric':
          return fitNumeric(rows, s);
        case 'onehot':
          return fitOneHot(rows, s);
        case 'hashed':
          return fitHashed(s);
        default:
          throw new RangeError(`${what}: column '${(s as ColumnSpec).name}' type is ${JSON.stringify((s as { type?: unknown }).type)}; expected 'numeric', 'onehot' or 'hashed'`);
      }
    });
    return new Preprocessor(states, rows.length);
  }

  /** Output columns per row. */
  get width(): number {
    return this.outputNames.length;
  }

  get numericColumns(): string[] {
    return this.numeric.map((c) => c.name);
  }

  /** The one-hot columns, in the order of the ONNX `categories` input. */
  get categoricalColumns(): string[] {
    return this.onehot.map((c) => c.name);
  }

  get hashedColumns(): string[] {
    return this.hashed.map((c) => c.name);
  }

  /** Width of the hashed blocks (the ONNX `hashed` input). */
  get hashedWidth(): number {
    return this.hashed.reduce((s, c) => s + c.buckets, 0);
  }

  /** One output row into `out` (allocated when omitted). */
  transformRow(row: RawRow, opts: TransformOptions = {}, out: Float64Array = new Float64Array(this.width), rowIndex = 0): Float64Array {
    const what = 'Preprocessor.transform';
    checkRow(row, rowIndex, what);
    if (out.length !== this.width) throw new RangeError(`${what}: output row has ${out.length} slots, expected ${this.width}`);
    let o = 0;
    const { imputed, offset, scale } = this.f32;
    for (let j = 0; j < this.numeric.length; j++) {
      const c = this.numeric[j];
      const v = numericValue(row, c.name, rowIndex, what);
      if (opts.float32) {
        const x = Number.isNaN(v) ? imputed[j] : Math.fround(v);
        out[o++] = c.std === null ? x : Math.fround(Math.fround(x - offset[j]) * scale[j]);
      } else {
        const x = Number.isNaN(v) ? c.imputedValue : v;
        out[o++] = c.std === null ? x : (x - c.mean!) / c.std;
      }
    }
    for (let j = 0; j < this.onehot.length; j++) {
      const c = this.onehot[j];
      const v = categoryValue(row, c.name, rowIndex, what);
      const k = v === null ? undefined : this.categoryIndex[j].get(v);
      const size = c.categories.length + 1;
      out.fill(0, o, o + size);
      out[o + (k ?? c.categories.length)] = 1;
      o += size;
    }
    this.hashRow(row, out.subarray(o), rowIndex);
    return out;
  }

  transform(rows: readonly RawRow[], opts: TransformOptions = {}): Float64Array[] {
    if (!Array.isArray(rows)) throw new TypeError('Preprocessor.transform: expected an array of rows');
    return rows.map((row, i) => this.transformRow(row, opts, new Float64Array(this.width), i));
  }

  /** The hashed blocks of one row (the last hashedWidth outputs of transformRow; the ONNX graph's `hashed` input). */
  hashRow(row: RawRow, out: Float64Array = new Float64Array(this.hashedWidth), rowIndex = 0): Float64Array {
    const what = 'Preprocessor.transform';
    checkRow(row, rowIndex, what);
    if (out.length !== this.hashedWidth) throw new RangeError(`${what}: hashed output has ${out.length} slots, expected ${this.hashedWidth}`);
    out.fill(0);
    let o = 0;
    for (const c of this.hashed) {
      const v = categoryValue(row, c.name, rowIndex, what);
      if (v !== null) {
        const h = murmurhash3_32(`${c.name}=${v}`, 0);
        // |−2³¹| mod k is what sklearn computes for that one hash too.
        out[o + (Math.abs(h) % c.buckets)] += c.alternateSign && h < 0 ? -1 : 1;
      }
      o += c.buckets;
    }
    return out;
  }

  toJSON(): PreprocessorJSON {
    return { kind: 'preprocessor', version: 1, trainRows: this.trainRows, columns: this.columns.map((c) => structuredClone(c)) };
  }

  static fromJSON(json: unknown): Preprocessor {
    const j = json as Partial<PreprocessorJSON> | null;
    if (!j || j.kind !== 'preprocessor') throw new TypeError(`Preprocessor.fromJSON: expected kind 'preprocessor', got ${JSON.stringify(j?.kind)}`);
    if (j.version !== 1) throw new TypeError(`Preprocessor.fromJSON: unsupported version ${JSON.stringify(j.version)}, expected 1`);
    if (!Number.isInteger(j.trainRows) || j.trainRows! < 1) throw new TypeError(`Preprocessor.fromJSON: trainRows must be an integer ≥ 1, got ${JSON.stringify(j.trainRows)}`);
    if (!Array.isArray(j.columns)) throw new TypeError('Preprocessor.fromJSON: columns must be an array');
    return new Preprocessor(j.columns, j.trainRows!);
  }
}

/** Validates a fitted column state (from fit or from JSON); errors name the column and field. */
function checkState(c: ColumnState): void {
  const bad = (field: string, expected: string, got: unknown) =>
    new TypeError(`Preprocessor: column '${c.name}' ${field} is ${JSON.stringify(got)}; expected ${expected}`);
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  switch (c.type) {
    case 'numeric':
      if (!IMPUTE_STRATEGIES.includes(c.impute)) throw bad('impute', IMPUTE_STRATEGIES.join(' | '), c.impute);
      if (c.impute === 'constant' ? !finite(c.fillValue) : c.fillValue !== null) throw bad('fillValue', 'a finite number for constant imputation, else null', c.fillValue);
      if (!finite(c.imputedValue)) throw bad('imputedValue', 'a finite number', c.imputedValue);
      if (c.mean === null ? c.std !== null : !finite(c.mean)) throw bad('mean', 'a finite number (with std) or null (not standardized)', c.mean);
      if (c.std !== null && !(finite(c.std) && c.std > 0 && Number.isFinite(1 / c.std))) throw bad('std', 'a finite positive number or null', c.std);
      break;
    case 'onehot': {
      const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0);
      if (!strings(c.categories)) throw bad('categories', 'an array of non-empty strings', c.categories);
      if (!strings(c.infrequent)) throw bad('infrequent', 'an array of non-empty strings', c.infrequent);
      if (new Set(c.categories).size !== c.categories.length) throw bad('categories', 'distinct strings', c.categories);
      if (c.maxCategories !== null && !(Number.isInteger(c.maxCategories) && c.maxCategories >= 1)) throw bad('maxCategories', 'an integer ≥ 1 or null', c.maxCategories);
      if (c.minFrequency !== null && !finite(c.minFrequency)) throw bad('minFrequency', 'a number or null', c.minFrequency);
      break;
    }
    case 'hashed':
      if (!(Number.isInteger(c.buckets) && c.buckets >= 1)) throw bad('buckets', 'an integer ≥ 1', c.buckets);
      if (typeof c.alternateSign !== 'boolean') throw bad('alternateSign', 'true or false', c.alternateSign);
      break;
    default:
      throw new TypeError(`Preprocessor: column '${(c as ColumnState).name}' type is ${JSON.stringify((c as { type?: unknown }).type)}; expected 'numeric', 'onehot' or 'hashed'`);
  }
}
