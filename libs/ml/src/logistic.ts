import { binaryLabels, flatten, matrixShape, numbersFromJson, type Matrix } from './data';

/** 'balanced': n / (2 · count(class)) per class, as scikit-learn; or explicit weights per class. */
export type ClassWeight = 'balanced' | { 0?: number; 1?: number } | null;
export type Solver = 'auto' | 'newton' | 'lbfgs';

export interface LogisticRegressionOptions {
  /**
   * L2 penalty strength λ ≥ 0. The fitted (w, b) minimise
   *   Σ_i s_i · logloss(y_i, σ(b + w·x_i)) + (λ / 2) · ‖w‖²
   * where s_i is the sample weight times its class weight; the intercept b is not penalised.
   * This is scikit-learn's objective with λ = 1 / C (LogisticRegression(C=1/λ)); note that the loss is
   * a sum over rows, not a mean, so the same λ regularises less as the training set grows. Default 1 (C = 1).
   */
  l2?: number;
  classWeight?: ClassWeight;
  /** Per-row weights (non-negative), multiplied by the class weights. */
  sampleWeight?: ArrayLike<number>;
  /** 'newton': IRLS with a Cholesky solve of the (d+1)² Hessian; 'lbfgs' for wide data; 'auto' picks newton up to 200 features. */
  solver?: Solver;
  /** Iteration cap; default 100 for newton, 1000 for lbfgs. */
  maxIter?: number;
  /** Converged when max_j |∂objective/∂β_j| / Σ s_i ≤ tol (the gradient of the per-row mean). Default 1e-8. */
  tol?: number;
  /** Default true. Without it the decision function has no constant term. */
  fitIntercept?: boolean;
}

export interface FitInfo {
  solver: 'newton' | 'lbfgs';
  iterations: number;
  converged: boolean;
  /** The objective at the solution (weighted sum of log losses plus the penalty). */
  objective: number;
  /** max |gradient| / Σ weights at the solution. */
  gradientNorm: number;
}

export interface LogisticRegressionJSON {
  kind: 'logistic_regression';
  version: 1;
  coefficients: number[];
  intercept: number;
  options: { l2: number; classWeight: ClassWeight; solver: Solver; maxIter: number | null; tol: number; fitIntercept: boolean };
  fitInfo: FitInfo | null;
}

const DEFAULT_TOL = 1e-8;
const LBFGS_MEMORY = 10;

/** σ(z) without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Binary logistic regression with an L2 penalty, fitted by Newton's method (IRLS) or L-BFGS.
 * Deterministic: no randomness, a fixed summation order, so the same data gives the same coefficients.
 */
export class LogisticRegression {
  private coef: Float64Array | null = null;
  private b = 0;
  private readonly opts: Required<Omit<LogisticRegressionOptions, 'sampleWeight' | 'maxIter'>> & { maxIter: number | null };
  fitInfo: FitInfo | null = null;

  constructor(opts: LogisticRegressionOptions = {}) {
    this.opts = normalizeOptions(opts);
  }

  /** A fitted model from known parameters (e.g. read back from storage). */
  static fromParameters(coefficients: ArrayLike<number>, intercept: number, opts: LogisticRegressionOptions = {}): LogisticRegression {
    const m = new LogisticRegression(opts);
    m.coef = Float64Array.from(coefficients);
    m.b = intercept;
    return m;
  }

  static fit(X: Matrix, y: ArrayLike<number>, opts: LogisticRegressionOptions = {}): LogisticRegression {
    return new LogisticRegression(opts).fit(X, y, opts);
  }

  get coefficients(): Float64Array {
    return this.fitted().coef;
  }

  get intercept(): number {
    this.fitted();
    return this.b;
  }

  get options(): LogisticRegressionJSON['options'] {
    return { ...this.opts };
  }

  /** Fits on the rows of X (options given here override the constructor's) and returns this model. */
  fit(X: Matrix, y: ArrayLike<number>, opts: LogisticRegressionOptions = {}): this {
    const { n, d } = matrixShape(X, 'LogisticRegression.fit');
    return this.fitFlat(flatten(X, d), n, d, y, opts);
  }

  /** As fit, on a row-major n × d Float64Array (the layout the loops use; the pipeline passes its standardized copy). */
  fitFlat(Xf: Float64Array, n: number, d: number, y: ArrayLike<number>, opts: LogisticRegressionOptions = {}): this {
    if (Xf.length !== n * d) throw new RangeError(`LogisticRegression.fit: ${Xf.length} values for ${n} rows × ${d} columns`);
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as LogisticRegressionOptions;
    Object.assign(this.opts, normalizeOptions({ ...this.opts, maxIter: this.opts.maxIter ?? undefined, ...given }));
    for (let k = 0; k < Xf.length; k++) {
      if (!Number.isFinite(Xf[k])) {
        throw new RangeError(`LogisticRegression.fit: row ${Math.floor(k / d)} column ${k % d} is ${Xf[k]}; impute or standardize first (TabularPipeline does)`);
      }
    }
    const labels = binaryLabels(y, n, 'LogisticRegression.fit');
    const weights = rowWeights(labels, this.opts.classWeight, opts.sampleWeight);
    const solver = this.opts.solver === 'auto' ? (d <= 200 ? 'newton' : 'lbfgs') : this.opts.solver;
    const problem = new Problem(Xf, n, d, labels, weights, this.opts.l2, this.opts.fitIntercept);
    const maxIter = this.opts.maxIter ?? (solver === 'newton' ? 100 : 1000);
    const result = solver === 'newton' ? newton(problem, maxIter, this.opts.tol) : lbfgs(problem, maxIter, this.opts.tol);
    this.coef = result.beta.slice(0, d);
    this.b = result.beta[d];
    this.fitInfo = { solver, iterations: result.iterations, converged: result.converged, objective: result.objective, gradientNorm: result.gradientNorm };
    return this;
  }

  /** b + w·x per row. NaN in a row gives NaN: impute first (TabularPipeline does). */
  decisionFunction(X: Matrix): Float64Array {
    const { coef } = this.fitted();
    const { n } = matrixShape(X, 'LogisticRegression.predict', coef.length);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.decisionRow(X[i]);
    return out;
  }

  decisionRow(row: ArrayLike<number>): number {
    const { coef } = this.fitted();
    let z = this.b;
    for (let j = 0; j < coef.length; j++) z += coef[j] * row[j];
    return z;
  }

  /** Probability of the positive class (label 1) per row. */
  predictProba(X: Matrix): Float64Array {
    const z = this.decisionFunction(X);
    for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]);
    return z;
  }

  /** 1 where the probability is at or above the threshold. */
  predict(X: Matrix, threshold = 0.5): Uint8Array {
    const p = this.predictProba(X);
    return Uint8Array.from(p, (v) => (v >= threshold ? 1 : 0));
  }

  /** coef_j · x_j per feature: the row's logit is their sum plus the intercept. */
  contributions(row: ArrayLike<number>): Float64Array {
    const { coef } = this.fitted();
    if (row.length !== coef.length) throw new RangeError(`LogisticRegression.contributions: row has ${row.length} values, expected ${coef.length}`);
    return Float64Array.from(coef, (w, j) => w * row[j]);
  }

  toJSON(): LogisticRegressionJSON {
    const { coef } = this.fitted();
    return { kind: 'logistic_regression', version: 1, coefficients: Array.from(coef), intercept: this.b, options: this.options, fitInfo: this.fitInfo };
  }

  static fromJSON(json: unknown): LogisticRegression {
    const j = json as Partial<LogisticRegressionJSON> | null;
    if (!j || j.kind !== 'logistic_regression') throw new TypeError(`LogisticRegression.fromJSON: expected kind 'logistic_regression', got ${JSON.stringify(j?.kind)}`);
    if (j.version !== 1) throw new TypeError(`LogisticRegression.fromJSON: unsupported version ${JSON.stringify(j.version)}, expected 1`);
    if (typeof j.intercept !== 'number' || !Number.isFinite(j.intercept)) throw new TypeError(`LogisticRegression.fromJSON: intercept must be a finite number`);
    const coef = numbersFromJson(j.coefficients, 'LogisticRegression.fromJSON coefficients');
    coef.forEach((c, k) => {
      if (!Number.isFinite(c)) throw new TypeError(`LogisticRegression.fromJSON: coefficient ${k} is ${c}`);
    });
    const o = j.options ?? ({} as Partial<LogisticRegressionJSON['options']>);
    const m = LogisticRegression.fromParameters(coef, j.intercept, { ...o, maxIter: o.maxIter ?? undefined });
    m.fitInfo = j.fitInfo ?? null;
    return m;
  }

  private fitted(): { coef: Float64Array } {
    if (!this.coef) throw new Error('LogisticRegression: the model is not fitted yet (call fit first)');
    return { coef: this.coef };
  }
}

function normalizeOptions(o: LogisticRegressionOptions): Required<Omit<LogisticRegressionOptions, 'sampleWeight' | 'maxIter'>> & { maxIter: number | null } {
  const l2 = o.l2 ?? 1;
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new RangeError(`LogisticRegression: l2 must be a finite number ≥ 0, got ${l2}`);
  const tol = o.tol ?? DEFAULT_TOL;
  if (!(tol > 0 && Number.isFinite(tol))) throw new RangeError(`LogisticRegression: tol must be a finite number > 0, got ${tol}`);
  const maxIter = o.maxIter ?? null;
  if (maxIter !== null && !(Number.isInteger(maxIter) && maxIter >= 1)) throw new RangeError(`LogisticRegression: maxIter must be an integer ≥ 1, got ${maxIter}`);
  const solver = o.solver ?? 'auto';
  if (!['auto', 'newton', 'lbfgs'].includes(solver)) throw new RangeError(`LogisticRegression: solver must be 'auto', 'newton' or 'lbfgs', got ${JSON.stringify(solver)}`);
  const classWeight = o.classWeight ?? null;
  if (classWeight !== null && classWeight !== 'balanced') {
    if (typeof classWeight !== 'object') throw new RangeError(`LogisticRegression: classWeight must be 'balanced', null or { 0: w0, 1: w1 }, got ${JSON.stringify(classWeight)}`);
    for (const k of Object.keys(classWeight)) {
      const w = (classWeight as Record<string, unknown>)[k];
      if (k !== '0' && k !== '1') throw new RangeError(`LogisticRegression: classWeight has key ${JSON.stringify(k)}, expected 0 or 1`);
      if (!(typeof w === 'number' && w >= 0 && Number.isFinite(w))) throw new RangeError(`LogisticRegression: classWeight[${k}] must be a finite number ≥ 0, got ${String(w)}`);
    }
  }
  return { l2, tol, maxIter, solver, classWeight, fitIntercept: o.fitIntercept ?? true };
}

function rowWeights(y: Uint8Array, classWeight: ClassWeight, sampleWeight: ArrayLike<number> | undefined): Float64Array {
  const n = y.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i];
  if (pos === 0 || pos === n) {
    throw new RangeError(`LogisticRegression.fit: needs both classes, but all ${n} labels are ${pos === 0 ? 0 : 1}`);
  }
  let w0 = 1, w1 = 1;
  if (classWeight === 'balanced') {
    w0 = n / (2 * (n - pos));
    w1 = n / (2 * pos);
  } else if (classWeight) {
    w0 = classWeight[0] ?? 1;
    w1 = classWeight[1] ?? 1;
  }
  if (sampleWeight && sampleWeight.length !== n) throw new RangeError(`LogisticRegression.fit: ${sampleWeight.length} sample weights for ${n} rows`);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sw = sampleWeight ? sampleWeight[i] : 1;
    if (!(sw >= 0 && Number.isFinite(sw))) throw new RangeError(`LogisticRegression.fit: sample weight of row ${i} is ${sw}, expected a finite number ≥ 0`);
    s[i] = sw * (y[i] === 1 ? w1 : w0);
  }
  return s;
}

/** The penalised objective over β = (w_0..w_{d-1}, b). */
class Problem {
  readonly p: number;
  readonly sumWeights: number;
  private readonly z: Float64Array;

  constructor(
    readonly X: Float64Array,
    readonly n: number,
    readonly d: number,
    readonly y: Uint8Array,
    readonly s: Float64Array,
    readonly l2: number,
    readonly fitIntercept: boolean,
  ) {
    this.p = d + 1;
    this.z = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i];
    if (!(sum > 0)) throw new RangeError('LogisticRegression.fit: all row weights are 0');
    this.sumWeights = sum;
  }

  /** Objective at β; fills grad when given and leaves the logits in this.z for the Hessian. */
  value(beta: Float64Array, grad?: Float64Array): number {
    const { X, n, d, y, s, z } = this;
    let f = 0;
    if (grad) grad.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let zi = beta[d];
      for (let j = 0; j < d; j++) zi += beta[j] * X[o + j];
      z[i] = zi;
      const si = s[i];
      if (si === 0) continue;
      // -log σ(z) = softplus(-z) for y = 1, -log(1 - σ(z)) = softplus(z) for y = 0: no cancellation.
      f += si * (y[i] === 1 ? softplus(-zi) : softplus(zi));
      if (grad) {
        const r = si * (sigmoid(zi) - y[i]);
        for (let j = 0; j < d; j++) grad[j] += r * X[o + j];
        grad[d] += r;
      }
    }
    let pen = 0;
    for (let j = 0; j < d; j++) pen += beta[j] * beta[j];
    f += 0.5 * this.l2 * pen;
    if (grad) {
      for (let j = 0; j < d; j++) grad[j] += this.l2 * beta[j];
      if (!this.fitIntercept) grad[d] = 0;
    }
    return f;
  }

  /** Hessian at the β of the last value() call, row-major p × p (only the lower triangle is used). */
  hessian(H: Float64Array): void {
    const { X, n, d, s, z, p } = this;
    H.fill(0);
    for (let i = 0; i < n; i++) {
      const si = s[i];
      if (si === 0) continue;
      const q = sigmoid(z[i]);
      const h = si * q * (1 - q);
      if (h === 0) continue;
      const o = i * d;
      for (let j = 0; j < d; j++) {
        const hx = h * X[o + j];
        const row = j * p;
        for (let k = 0; k <= j; k++) H[row + k] += hx * X[o + k];
      }
      const last = d * p;
      for (let k = 0; k < d; k++) H[last + k] += h * X[o + k];
      H[last + d] += h;
    }
    for (let j = 0; j < d; j++) H[j * p + j] += this.l2;
    if (!this.fitIntercept) {
      for (let k = 0; k < d; k++) H[d * p + k] = 0;
      H[d * p + d] = 1;
    }
  }

  gradNorm(g: Float64Array): number {
    let m = 0;
    for (let j = 0; j < g.length; j++) m = Math.max(m, Math.abs(g[j]));
    return m / this.sumWeights;
  }
}

interface SolveResult {
  beta: Float64Array;
  iterations: number;
  converged: boolean;
  objective: number;
  gradientNorm: number;
}

/** In-place Cholesky of the lower triangle of A (p × p); false when A is not positive definite. */
function cholesky(A: Float64Array, p: number): boolean {
  for (let j = 0; j < p; j++) {
    let diag = A[j * p + j];
    for (let k = 0; k < j; k++) diag -= A[j * p + k] * A[j * p + k];
    if (!(diag > 0)) return false;
    const ljj = Math.sqrt(diag);
    A[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let v = A[i * p + j];
      for (let k = 0; k < j; k++) v -= A[i * p + k] * A[j * p + k];
      A[i * p + j] = v / ljj;
    }
  }
  return true;
}

/** Solves L Lᵀ x = b given the factor from cholesky(); b is overwritten with x. */
function choleskySolve(L: Float64Array, p: number, b: Float64Array): void {
  for (let i = 0; i < p; i++) {
    let v = b[i];
    for (let k = 0; k < i; k++) v -= L[i * p + k] * b[k];
    b[i] = v / L[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let v = b[i];
    for (let k = i + 1; k < p; k++) v -= L[k * p + i] * b[k];
    b[i] = v / L[i * p + i];
  }
}

/** Backtracking (Armijo) along dir from beta; returns the accepted step's objective or null when none decreases it. */
function lineSearch(problem: Problem, beta: Float64Array, f: number, g: Float64Array, dir: Float64Array, t0: number, out: Float64Array, gOut: Float64Array): number | null {
  let slope = 0;
  for (let j = 0; j < dir.length; j++) slope += g[j] * dir[j];
  if (!(slope < 0)) return null;
  let t = t0;
  for (let k = 0; k < 60; k++) {
    for (let j = 0; j < dir.length; j++) out[j] = beta[j] + t * dir[j];
    const fNew = problem.value(out, gOut);
    if (fNew <= f + 1e-4 * t * slope) return fNew;
    t *= 0.5;
  }
  return null;
}

function newton(problem: Problem, maxIter: number, tol: number): SolveResult {
  const p = problem.p;
  let beta = new Float64Array(p);
  let next = new Float64Array(p);
  let g = new Float64Array(p);
  let gNext = new Float64Array(p);
  const H = new Float64Array(p * p);
  const L = new Float64Array(p * p);
  const dir = new Float64Array(p);
  let f = problem.value(beta, g);
  let it = 0;
  let converged = problem.gradNorm(g) <= tol;
  while (!converged && it < maxIter) {
    it++;
    problem.hessian(H);
    // With λ = 0 the Hessian may be singular (collinear or separable data): add a growing ridge until it factors.
    let jitter = 0;
    let maxDiag = 0;
    for (let j = 0; j < p; j++) maxDiag = Math.max(maxDiag, H[j * p + j]);
    for (;;) {
      L.set(H);
      for (let j = 0; j < p; j++) L[j * p + j] += jitter;
      if (cholesky(L, p)) break;
      jitter = jitter === 0 ? 1e-12 * Math.max(maxDiag, 1) : jitter * 10;
      if (jitter > 1e6 * Math.max(maxDiag, 1)) throw new Error('LogisticRegression.fit: the Hessian cannot be factored (non-finite data?)');
    }
    for (let j = 0; j < p; j++) dir[j] = -g[j];
    choleskySolve(L, p, dir);
    const fNew = lineSearch(problem, beta, f, g, dir, 1, next, gNext);
    if (fNew === null) break; // no descent possible at machine precision: we are at the optimum
    [beta, next] = [next, beta];
    [g, gNext] = [gNext, g];
    f = fNew;
    converged = problem.gradNorm(g) <= tol;
  }
  // value() must leave z for β; the final objective is already f.
  return { beta, iterations: it, converged: converged || problem.gradNorm(g) <= tol, objective: f, gradientNorm: problem.gradNorm(g) };
}

function lbfgs(problem: Problem, maxIter: number, tol: number): SolveResult {
  const p = problem.p;
  let beta = new Float64Array(p);
  let next = new Float64Array(p);
  let g = new Float64Array(p);
  let gNext = new Float64Array(p);
  const dir = new Float64Array(p);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(LBFGS_MEMORY);
  let stalled = 0;
  let f = problem.value(beta, g);
  let it = 0;
  let converged = problem.gradNorm(g) <= tol;
  while (!converged && it < maxIter) {
    it++;
    // Two-loop recursion: dir = -H_k g with H_0 = γI, γ = sᵀy / yᵀy of the latest pair.
    for (let j = 0; j < p; j++) dir[j] = -g[j];
    for (let m = S.length - 1; m >= 0; m--) {
      let a = 0;
      for (let j = 0; j < p; j++) a += S[m][j] * dir[j];
      a *= rho[m];
      alpha[m] = a;
      for (let j = 0; j < p; j++) dir[j] -= a * Y[m][j];
    }
    let t0 = 1;
    if (S.length > 0) {
      const last = S.length - 1;
      let yy = 0;
      for (let j = 0; j < p; j++) yy += Y[last][j] * Y[last][j];
      const gamma = 1 / (rho[last] * yy);
      for (let j = 0; j < p; j++) dir[j] *= gamma;
    } else {
      // First step: plain gradient, scaled so it moves about one unit.
      let gn = 0;
      for (let j = 0; j < p; j++) gn += g[j] * g[j];
      t0 = Math.min(1, 1 / Math.sqrt(gn));
    }
    for (let m = 0; m < S.length; m++) {
      let b = 0;
      for (let j = 0; j < p; j++) b += Y[m][j] * dir[j];
      b *= rho[m];
      for (let j = 0; j < p; j++) dir[j] += S[m][j] * (alpha[m] - b);
    }
    let fNew = lineSearch(problem, beta, f, g, dir, t0, next, gNext);
    if (fNew === null && S.length > 0) {
      // The quasi-Newton direction failed: drop the history and retry along the gradient.
      S.length = 0; Y.length = 0; rho.length = 0;
      for (let j = 0; j < p; j++) dir[j] = -g[j];
      let gn = 0;
      for (let j = 0; j < p; j++) gn += g[j] * g[j];
      fNew = lineSearch(problem, beta, f, g, dir, Math.min(1, 1 / Math.sqrt(gn)), next, gNext);
    }
    if (fNew === null) break;
    const s = new Float64Array(p);
    const yv = new Float64Array(p);
    let sy = 0;
    for (let j = 0; j < p; j++) {
      s[j] = next[j] - beta[j];
      yv[j] = gNext[j] - g[j];
      sy += s[j] * yv[j];
    }
    // Keep only pairs with positive curvature so H_k stays positive definite.
    if (sy > 1e-12 * problem.sumWeights * Math.max(1e-300, Math.hypot(...s))) {
      if (S.length === LBFGS_MEMORY) {
        S.shift(); Y.shift(); rho.shift();
      }
      S.push(s); Y.push(yv); rho.push(1 / sy);
    }
    [beta, next] = [next, beta];
    [g, gNext] = [gNext, g];
    // Below ~1e-15 relative change the objective is at float64 resolution: more steps cannot help.
    stalled = f - fNew <= 1e-15 * Math.max(1, Math.abs(f)) ? stalled + 1 : 0;
    f = fNew;
    converged = problem.gradNorm(g) <= tol;
    if (stalled >= 5) break;
  }
  return { beta, iterations: it, converged, objective: f, gradientNorm: problem.gradNorm(g) };
}
