import { matrixShape, numbersFromJson, type Matrix } from './data';

export interface StandardizerJSON {
  kind: 'standardizer';
  version: 1;
  /** Per column: the mean of the observed (non-NaN) training values; also the value imputed for NaN. */
  means: number[];
  /** Per column: the population standard deviation (ddof 0) of the observed training values; 1 for a constant column. */
  stds: number[];
}

/**
 * Per-column centring and scaling, z = (x - mean) / std, with NaN imputed by the training mean (so a
 * missing value standardizes to exactly 0). Fit it on the training split only: statistics from held-out
 * rows would leak into the evaluation.
 *
 * Mean and std are computed over the observed values of each column, as scikit-learn's StandardScaler does
 * with NaN; a column with no observed values gets mean 0 and std 1, a constant column std 1.
 * ±Infinity is refused at fit time: it has no mean, and the ONNX Imputer replaces NaN only.
 */
export class Standardizer {
  readonly means: Float64Array;
  readonly stds: Float64Array;
  private readonly inv: Float64Array;

  constructor(means: ArrayLike<number>, stds: ArrayLike<number>) {
    if (means.length !== stds.length) throw new RangeError(`Standardizer: ${means.length} means but ${stds.length} stds`);
    this.means = Float64Array.from(means);
    this.stds = Float64Array.from(stds);
    for (let j = 0; j < this.stds.length; j++) {
      if (!Number.isFinite(this.means[j])) throw new RangeError(`Standardizer: mean of column ${j} is ${this.means[j]}, expected a finite number`);
      if (!(this.stds[j] > 0 && Number.isFinite(this.stds[j]))) throw new RangeError(`Standardizer: std of column ${j} is ${this.stds[j]}, expected a finite positive number`);
    }
    this.inv = this.stds.map((s) => 1 / s);
  }

  get width(): number {
    return this.means.length;
  }

  static fit(X: Matrix, opts: { featureNames?: readonly string[] } = {}): Standardizer {
    const { n, d } = matrixShape(X, 'Standardizer.fit', opts.featureNames?.length);
    const name = (j: number) => (opts.featureNames ? `'${opts.featureNames[j]}'` : `${j}`);
    const means = new Float64Array(d);
    const stds = new Float64Array(d);
    const counts = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const row = X[i];
      for (let j = 0; j < d; j++) {
        const v = row[j];
        if (Number.isNaN(v)) continue;
        if (!Number.isFinite(v)) throw new RangeError(`Standardizer.fit: column ${name(j)} row ${i} is ${v}; expected a finite number or NaN (missing)`);
        means[j] += v;
        counts[j]++;
      }
    }
    for (let j = 0; j < d; j++) means[j] = counts[j] > 0 ? means[j] / counts[j] : 0;
    // Second pass over deviations: sum-of-squares minus squared sum loses digits on large offsets.
    for (let i = 0; i < n; i++) {
      const row = X[i];
      for (let j = 0; j < d; j++) {
        const v = row[j];
        if (Number.isNaN(v)) continue;
        const dv = v - means[j];
        stds[j] += dv * dv;
      }
    }
    for (let j = 0; j < d; j++) {
      const s = counts[j] > 0 ? Math.sqrt(stds[j] / counts[j]) : 0;
      // Near-zero spread relative to the magnitude is rounding noise: treat the column as constant.
      stds[j] = s > 1e-12 * Math.max(1, Math.abs(means[j])) ? s : 1;
    }
    return new Standardizer(means, stds);
  }

  /** Standardizes one row into `out` (allocated when omitted); NaN becomes 0 (the imputed mean). */
  transformRow(row: ArrayLike<number>, out: Float64Array = new Float64Array(this.means.length)): Float64Array {
    const d = this.means.length;
    if (row.length !== d) throw new RangeError(`Standardizer: row has ${row.length} values, expected ${d}`);
    for (let j = 0; j < d; j++) {
      const v = row[j];
      out[j] = Number.isNaN(v) ? 0 : (v - this.means[j]) * this.inv[j];
    }
    return out;
  }

  transform(X: Matrix): Float64Array[] {
    matrixShape(X, 'Standardizer.transform', this.means.length);
    return X.map((row) => this.transformRow(row));
  }

  /** Row-major n * d standardized copy, the layout LogisticRegression trains on. */
  transformFlat(X: Matrix): Float64Array {
    const { n, d } = matrixShape(X, 'Standardizer.transform', this.means.length);
    const out = new Float64Array(n * d);
    for (let i = 0; i < n; i++) this.transformRow(X[i], out.subarray(i * d, (i + 1) * d));
    return out;
  }

  toJSON(): StandardizerJSON {
    return { kind: 'standardizer', version: 1, means: Array.from(this.means), stds: Array.from(this.stds) };
  }

  static fromJSON(json: unknown): Standardizer {
    const j = json as Partial<StandardizerJSON> | null;
    if (!j || j.kind !== 'standardizer') throw new TypeError(`Standardizer.fromJSON: expected kind 'standardizer', got ${JSON.stringify(j?.kind)}`);
    if (j.version !== 1) throw new TypeError(`Standardizer.fromJSON: unsupported version ${JSON.stringify(j.version)}, expected 1`);
    const means = numbersFromJson(j.means, 'Standardizer.fromJSON means');
    return new Standardizer(means, numbersFromJson(j.stds, 'Standardizer.fromJSON stds', means.length));
  }
}
