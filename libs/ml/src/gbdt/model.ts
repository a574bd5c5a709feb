/**
 * Histogram-based gradient-boosted trees for binary classification (log loss) and regression (squared
 * error), in the manner of LightGBM and scikit-learn's HistGradientBoosting*: quantile bins with a NaN bin,
 * leaf-wise trees on gradient/hessian histograms, learned default direction for missing values, row and
 * column subsampling and early stopping on a validation split. Deterministic for a given seed.
 */
import { binaryLabels, flatten, matrixShape, type Matrix } from '../data';
import { seededRandom } from '../random';
import { BinMapper, MAX_BINS_LIMIT, MISSING_BIN } from './binning';
import { addTreeBinned, addTreeLeaves, growTree, type GrownTree, type GrowerContext } from './grower';
import { gbdtThreads, GrowerWorkspace } from './workspace';

export type GbdtTask = 'classification' | 'regression';

export interface GbdtOptions {
  /** 'classification': labels 0/1, log loss; 'regression': real targets, squared error. Default 'classification'. */
  task?: GbdtTask;
  /** Boosting iterations (trees) at most. Default 100. */
  maxIter?: number;
  /** Shrinkage applied to every leaf value. Default 0.1. */
  learningRate?: number;
  /** Leaves per tree at most (≥ 2). Default 31. */
  maxLeafNodes?: number;
  /** Depth limit (root = 0); default none. */
  maxDepth?: number | null;
  /** Rows per leaf at least. Default 20. */
  minSamplesLeaf?: number;
  /** λ in the leaf value −G/(H+λ) and the gain. Default 0. */
  l2Regularization?: number;
  /** Observed-value bins per feature (2..255); NaN has its own bin on top. Default 255. */
  maxBins?: number;
  /** Fraction of the training rows drawn (without replacement) for each tree. Default 1. */
  subsample?: number;
  /** Fraction of the features drawn for each tree. Default 1. */
  colsample?: number;
  /** true, false or 'auto' (on when there are more than 10 000 rows, as in scikit-learn). Default 'auto'. */
  earlyStopping?: boolean | 'auto';
  /** Share of the rows held out (stratified for classification) to score early stopping. Default 0.1. */
  validationFraction?: number;
  /** Stop when the last nIterNoChange iterations did not improve the validation loss by more than tol. Default 10. */
  nIterNoChange?: number;
  /** Default 1e-7. */
  tol?: number;
  /** Seed of every random choice (validation split, subsampling). Default 0. */
  seed?: number;
  /**
   * Threads of the fit, helpers included (1: none); the model is the same bit for bit whatever the count. Default the
   * available cores up to ML_DEFAULTS.gbdtThreadsCap (see gbdtThreads).
   */
  threads?: number;
  /** Names for the model card and the ONNX metadata; default f0, f1, … */
  featureNames?: string[];
}

/** One fitted tree as plain arrays indexed by node (node 0 is the root). Leaves have feature = left = right = −1. */
export interface GbdtTree {
  feature: number[];
  /** Go left when x ≤ threshold (a float32 value; +Infinity means "every observed value left, NaN right"). */
  threshold: number[];
  /** Where NaN goes. */
  missingGoesLeft: boolean[];
  left: number[];
  right: number[];
  /** Leaf contribution to the margin (learning rate included); internal nodes hold the value they would have as a leaf. */
  value: number[];
  /** Split gain of internal nodes (0 for leaves). */
  gain: number[];
  /** Training rows that reached the node (cover, for explanations). */
  count: number[];
}

export interface GbdtFitHistory {
  /** Mean training loss after 0, 1, … iterations (log loss, or half squared error). */
  trainLoss: number[];
  /** Same on the validation split when early stopping is on (else empty). */
  validationLoss: number[];
  /** Whether early stopping ended the fit before maxIter. */
  stoppedEarly: boolean;
}

export interface GbdtJSON {
  kind: 'gbdt';
  version: 1;
  task: GbdtTask;
  featureNames: string[];
  baseline: number;
  learningRate: number;
  /** Thresholds serialised with "Infinity" for +∞ (JSON has no infinity). */
  trees: Array<Omit<GbdtTree, 'threshold'> & { threshold: Array<number | 'Infinity'> }>;
}

interface Resolved {
  task: GbdtTask;
  maxIter: number;
  learningRate: number;
  maxLeafNodes: number;
  maxDepth: number | null;
  minSamplesLeaf: number;
  l2Regularization: number;
  maxBins: number;
  subsample: number;
  colsample: number;
  earlyStopping: boolean | 'auto';
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
  seed: number;
}

function resolve(o: GbdtOptions): Resolved {
  const r: Resolved = {
    task: o.task ?? 'classification',
    maxIter: o.maxIter ?? 100,
    learningRate: o.learningRate ?? 0.1,
    maxLeafNodes: o.maxLeafNodes ?? 31,
    maxDepth: o.maxDepth ?? null,
    minSamplesLeaf: o.minSamplesLeaf ?? 20,
    l2Regularization: o.l2Regularization ?? 0,
    maxBins: o.maxBins ?? MAX_BINS_LIMIT,
    subsample: o.subsample ?? 1,
    colsample: o.colsample ?? 1,
    earlyStopping: o.earlyStopping ?? 'auto',
    validationFraction: o.validationFraction ?? 0.1,
    nIterNoChange: o.nIterNoChange ?? 10,
    tol: o.tol ?? 1e-7,
    seed: o.seed ?? 0,
  };
  const bad = (name: string, v: unknown, expected: string) => new RangeError(`GradientBoostedTrees: option ${name} is ${String(v)}, expected ${expected}`);
  if (r.task !== 'classification' && r.task !== 'regression') throw bad('task', r.task, "'classification' or 'regression'");
  const int = (name: keyof Resolved, min: number, max = Infinity) => {
    const v = r[name] as number;
    if (!Number.isInteger(v) || v < min || v > max) throw bad(name, v, `an integer in ${min}..${max}`);
  };
  int('maxIter', 0);
  int('maxLeafNodes', 2);
  int('minSamplesLeaf', 1);
  int('maxBins', 2, MAX_BINS_LIMIT);
  int('nIterNoChange', 1);
  if (r.maxDepth !== null) int('maxDepth', 1);
  if (!(r.learningRate > 0 && Number.isFinite(r.learningRate))) throw bad('learningRate', r.learningRate, 'a finite number > 0');
  if (!(r.l2Regularization >= 0 && Number.isFinite(r.l2Regularization))) throw bad('l2Regularization', r.l2Regularization, 'a finite number ≥ 0');
  if (!(r.subsample > 0 && r.subsample <= 1)) throw bad('subsample', r.subsample, 'a number in (0, 1]');
  if (!(r.colsample > 0 && r.colsample <= 1)) throw bad('colsample', r.colsample, 'a number in (0, 1]');
  if (!(r.validationFraction > 0 && r.validationFraction < 1)) throw bad('validationFraction', r.validationFraction, 'a number in (0, 1)');
  if (!(r.tol >= 0 && Number.isFinite(r.tol))) throw bad('tol', r.tol, 'a finite number ≥ 0');
  if (!Number.isFinite(r.seed)) throw bad('seed', r.seed, 'a finite number');
  if (r.earlyStopping !== true && r.earlyStopping !== false && r.earlyStopping !== 'auto') throw bad('earlyStopping', r.earlyStopping, "true, false or 'auto'");
  return r;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Mean loss of raw margins: log loss log(1 + e^r) − y·r, or half squared error. */
function meanLoss(task: GbdtTask, y: Float64Array, raw: Float64Array): number {
  let s = 0;
  if (task === 'classification') {
    for (let i = 0; i < y.length; i++) {
      const r = raw[i];
      s += (r > 0 ? r + Math.log1p(Math.exp(-r)) : Math.log1p(Math.exp(r))) - y[i] * r;
    }
  } else {
    for (let i = 0; i < y.length; i++) {
      const e = y[i] - raw[i];
      s += 0.5 * e * e;
    }
  }
  return y.length === 0 ? 0 : s / y.length;
}

/** Uniform choice of k of the indices 0..n-1 (partial Fisher–Yates), ascending. */
function sampleIndices(n: number, k: number, rnd: () => number, into: Uint32Array): Uint32Array {
  for (let i = 0; i < n; i++) into[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    const t = into[i];
    into[i] = into[j];
    into[j] = t;
  }
  return into.subarray(0, k).sort();
}

function treeFromGrown(t: GrownTree, thresholds: Float64Array[]): GbdtTree {
  const m = t.feature.length;
  const threshold: number[] = new Array(m);
  for (let k = 0; k < m; k++) {
    const f = t.feature[k];
    if (f < 0) threshold[k] = 0;
    else {
      const th = thresholds[f];
      // Bin b holds thresholds[b-1] < x ≤ thresholds[b]; the top observed bin has no upper edge.
      threshold[k] = t.binThreshold[k] < th.length ? th[t.binThreshold[k]] : Infinity;
    }
  }
  return {
    feature: Array.from(t.feature),
    threshold,
    missingGoesLeft: Array.from(t.missingGoesLeft, (v) => v === 1),
    left: Array.from(t.left),
    right: Array.from(t.right),
    value: Array.from(t.value),
    gain: Array.from(t.gain),
    count: Array.from(t.count),
  };
}

export class GradientBoostedTrees {
  /** Fit history (empty for a model read with fromJSON). */
  history: GbdtFitHistory = { trainLoss: [], validationLoss: [], stoppedEarly: false };

  private constructor(
    readonly task: GbdtTask,
    readonly featureNames: string[],
    /** The margin before any tree: log-odds of the positive rate, or the target mean. */
    readonly baseline: number,
    readonly learningRate: number,
    readonly trees: GbdtTree[],
  ) {}

  /** Number of boosting iterations kept (one tree each). */
  get nIter(): number {
    return this.trees.length;
  }

  get width(): number {
    return this.featureNames.length;
  }

  /**
   * Fits on the rows of X. Histograms and gradients of large data sets (≥ 2^20 bin values) are shared with helper
   * threads: `opts.threads` in all, by default the cores up to ML_DEFAULTS.gbdtThreadsCap. The model is the same bit for bit whatever the
   * thread count (see workspace.ts).
   */
  static fit(X: Matrix, y: ArrayLike<number>, opts: GbdtOptions = {}): GradientBoostedTrees {
    const o = resolve(opts);
    const threads = gbdtThreads(opts.threads);
    const { n, d } = matrixShape(X, 'GradientBoostedTrees.fit');
    if (n === 0 || d === 0) throw new RangeError(`GradientBoostedTrees.fit: needs at least one row and one feature, got ${n} × ${d}`);
    const featureNames = opts.featureNames ?? Array.from({ length: d }, (_, j) => `f${j}`);
    if (featureNames.length !== d) throw new RangeError(`GradientBoostedTrees.fit: ${featureNames.length} feature names for ${d} features`);
    let target: Float64Array;
    if (o.task === 'classification') target = Float64Array.from(binaryLabels(y, n, 'GradientBoostedTrees.fit'));
    else {
      if (y == null || y.length !== n) throw new RangeError(`GradientBoostedTrees.fit: ${y?.length} targets for ${n} rows`);
      target = Float64Array.from(y as ArrayLike<number>);
      for (let i = 0; i < n; i++) if (!Number.isFinite(target[i])) throw new RangeError(`GradientBoostedTrees.fit: target of row ${i} is ${y[i]}, expected a finite number`);
    }
    const flat = flatten(X, d);
    const rnd = seededRandom(o.seed);

    // Validation split (stratified by class for classification), drawn before binning so bins see training rows only.
    const early = o.earlyStopping === 'auto' ? n > 10_000 : o.earlyStopping;
    let trainRows: Uint32Array, valRows: Uint32Array;
    if (early) {
      const isVal = new Uint8Array(n);
      const groups: number[][] = o.task === 'classification' ? [[], []] : [[]];
      for (let i = 0; i < n; i++) groups[o.task === 'classification' ? target[i] : 0].push(i);
      for (const g of groups) {
        const k = Math.round(g.length * o.validationFraction);
        const pick = sampleIndices(g.length, k, rnd, new Uint32Array(g.length));
        for (const p of pick) isVal[g[p]] = 1;
      }
      const tr: number[] = [], va: number[] = [];
      for (let i = 0; i < n; i++) (isVal[i] ? va : tr).push(i);
      if (tr.length === 0 || va.length === 0) throw new RangeError(`GradientBoostedTrees.fit: early stopping needs rows on both sides of the validation split (${n} rows, validationFraction ${o.validationFraction})`);
      trainRows = Uint32Array.from(tr);
      valRows = Uint32Array.from(va);
    } else {
      trainRows = new Uint32Array(n);
      for (let i = 0; i < n; i++) trainRows[i] = i;
      valRows = new Uint32Array(0);
    }
    const nTr = trainRows.length, nVa = valRows.length;
    const yTr = Float64Array.from(trainRows, (i) => target[i]);
    const yVa = Float64Array.from(valRows, (i) => target[i]);

    const mapper = BinMapper.fit(flat, d, trainRows, o.maxBins);
    const binnedTr = mapper.transform(flat, d, trainRows);
    const binnedVa = mapper.transform(flat, d, valRows);
    const observedBins = Int32Array.from(mapper.thresholds, (t) => t.length + 1);
    const hasMissing = new Uint8Array(d);
    {
      const bins = binnedTr.bins;
      for (let off = 0; off < bins.length; off += d) for (let j = 0; j < d; j++) if (bins[off + j] === MISSING_BIN) hasMissing[j] = 1;
    }
    let baseline: number;
    {
      let s = 0;
      for (let i = 0; i < nTr; i++) s += yTr[i];
      const mean = s / nTr;
      if (o.task === 'classification') {
        // Clipped so a one-class training set still gives a finite margin.
        const p = Math.min(Math.max(mean, 1e-12), 1 - 1e-12);
        baseline = Math.log(p / (1 - p));
      } else baseline = mean;
    }
    const rawVa = new Float64Array(nVa).fill(baseline);

    const nSub = Math.max(1, Math.floor(o.subsample * nTr));
    const nCols = Math.max(1, Math.round(o.colsample * d));
    const rowBuf = new Uint32Array(nTr);
    const colBuf = new Uint32Array(d);
    const allFeatures = Int32Array.from({ length: d }, (_, j) => j);
    const params = { maxLeafNodes: o.maxLeafNodes, maxDepth: o.maxDepth, minSamplesLeaf: o.minSamplesLeaf, l2: o.l2Regularization, learningRate: o.learningRate };

    const grown: GrownTree[] = [];
    const history: GbdtFitHistory = { trainLoss: [], validationLoss: [], stoppedEarly: false };
    // Scores are negated losses, compared as scikit-learn's _should_stop does.
    const scores: number[] = [];
    if (early) {
      history.validationLoss.push(meanLoss(o.task, yVa, rawVa));
      scores.push(-history.validationLoss[0]);
    }
    // The margins, targets, gradients and hessians live in the workspace with the bins, where the threads read them.
    const workspace = new GrowerWorkspace(binnedTr.bins, nTr, d, threads);
    const ctx: GrowerContext = { workspace, observedBins, hasMissing };
    const { gradients: g, hessians: h, rows, raw, loss: lossTerms } = workspace;
    try {
      raw.fill(baseline);
      workspace.targets.set(yTr);
      if (o.task === 'regression') h.fill(1);
      for (let it = 0; it < o.maxIter; it++) {
        // The training loss of the current margins (after `it` trees) comes out of the gradient pass, which already
        // has e^−|r|: the same value meanLoss gives, without a second pass over the rows.
        let loss = 0;
        if (o.task === 'classification') {
          // Per row r = raw[i], y = yTr[i] (gradientChunk in workspace.ts, rows split over the workspace's threads):
          //   e = exp(−|r|),  p = r ≥ 0 ? 1/(1+e) : e/(1+e),  g = p − y,  h = p(1 − p) (float32),
          //   loss term = (r > 0 ? r + log1p(e) : log1p(e)) − y·r, summed here in row order.
          workspace.logisticGradients();
          for (let i = 0; i < nTr; i++) loss += lossTerms[i];
        } else {
          for (let i = 0; i < nTr; i++) {
            const e = yTr[i] - raw[i];
            loss += 0.5 * e * e;
            g[i] = -e;
          }
        }
        history.trainLoss.push(loss / nTr);
        // Rows in ascending order each time, so every tree sums its histograms in the same order as a fresh fit would.
        if (nSub < nTr) rows.set(sampleIndices(nTr, nSub, rnd, rowBuf));
        else for (let i = 0; i < nTr; i++) rows[i] = i;
        const features = nCols < d ? Int32Array.from(sampleIndices(d, nCols, rnd, colBuf)) : allFeatures;
        const tree = growTree(ctx, nSub, features, params);
        grown.push(tree);
        // Without row subsampling the leaves partition every training row: add leaf values by partition.
        if (nSub === nTr) addTreeLeaves(tree, rows, raw);
        else addTreeBinned(tree, binnedTr.bins, nTr, d, raw);
        if (early) {
          addTreeBinned(tree, binnedVa.bins, nVa, d, rawVa);
          const vloss = meanLoss(o.task, yVa, rawVa);
          history.validationLoss.push(vloss);
          scores.push(-vloss);
          if (shouldStop(scores, o.nIterNoChange, o.tol)) {
            history.stoppedEarly = it + 1 < o.maxIter;
            break;
          }
        }
      }
    } finally {
      workspace.close();
    }
    history.trainLoss.push(meanLoss(o.task, yTr, raw));
    const model = new GradientBoostedTrees(o.task, featureNames.slice(), baseline, o.learningRate, grown.map((t) => treeFromGrown(t, mapper.thresholds)));
    model.history = history;
    return model;
  }

  /** The margin per row: baseline + Σ leaf values (log-odds for classification, the prediction for regression). */
  predictRaw(X: Matrix): Float64Array {
    const { n } = matrixShape(X, 'GradientBoostedTrees.predictRaw', this.width);
    const out = new Float64Array(n).fill(this.baseline);
    for (const t of this.trees) {
      const { feature, threshold, missingGoesLeft, left, right, value } = t;
      for (let i = 0; i < n; i++) {
        const row = X[i];
        let k = 0;
        while (left[k] >= 0) {
          const x = row[feature[k]];
          k = (Number.isNaN(x) ? missingGoesLeft[k] : x <= threshold[k]) ? left[k] : right[k];
        }
        out[i] += value[k];
      }
    }
    return out;
  }

  /** P(class 1) per row (classification only). */
  predictProba(X: Matrix): Float64Array {
    if (this.task !== 'classification') throw new Error('GradientBoostedTrees.predictProba: the model is a regressor; use predict or predictRaw');
    const raw = this.predictRaw(X);
    for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]);
    return raw;
  }

  /** Class 0/1 (1 when the margin is > 0, i.e. p > 0.5) for classification; the predicted value for regression. */
  predict(X: Matrix): Float64Array {
    const raw = this.predictRaw(X);
    if (this.task === 'classification') for (let i = 0; i < raw.length; i++) raw[i] = raw[i] > 0 ? 1 : 0;
    return raw;
  }

  /** Total split gain per feature, normalised to sum to 1 (all zeros when no tree split). */
  featureImportanceGain(): Float64Array {
    const imp = new Float64Array(this.width);
    for (const t of this.trees) for (let k = 0; k < t.feature.length; k++) if (t.feature[k] >= 0) imp[t.feature[k]] += t.gain[k];
    let s = 0;
    for (const v of imp) s += v;
    if (s > 0) for (let j = 0; j < imp.length; j++) imp[j] /= s;
    return imp;
  }

  toJSON(): GbdtJSON {
    return {
      kind: 'gbdt',
      version: 1,
      task: this.task,
      featureNames: this.featureNames.slice(),
      baseline: this.baseline,
      learningRate: this.learningRate,
      trees: this.trees.map((t) => ({ ...t, threshold: t.threshold.map((v) => (v === Infinity ? 'Infinity' : v)) })),
    };
  }

  static fromJSON(json: unknown): GradientBoostedTrees {
    const j = json as Partial<GbdtJSON> | null;
    const fail = (msg: string): never => {
      throw new TypeError(`GradientBoostedTrees.fromJSON: ${msg}`);
    };
    if (!j || typeof j !== 'object' || j.kind !== 'gbdt') fail(`expected an object with kind 'gbdt'`);
    if (j!.version !== 1) fail(`unsupported version ${String(j!.version)}, expected 1`);
    if (j!.task !== 'classification' && j!.task !== 'regression') fail(`task is ${String(j!.task)}, expected 'classification' or 'regression'`);
    if (!Array.isArray(j!.featureNames) || j!.featureNames.some((s) => typeof s !== 'string')) fail('featureNames must be an array of strings');
    if (typeof j!.baseline !== 'number' || !Number.isFinite(j!.baseline)) fail('baseline must be a finite number');
    if (typeof j!.learningRate !== 'number') fail('learningRate must be a number');
    if (!Array.isArray(j!.trees)) fail('trees must be an array');
    const d = j!.featureNames!.length;
    const trees = j!.trees!.map((t, ti): GbdtTree => {
      const keys = ['feature', 'threshold', 'missingGoesLeft', 'left', 'right', 'value', 'gain', 'count'] as const;
      for (const key of keys) if (!Array.isArray(t?.[key])) fail(`tree ${ti}: '${key}' must be an array`);
      const m = t.feature.length;
      if (m === 0) fail(`tree ${ti} has no node`);
      for (const key of keys) if (t[key].length !== m) fail(`tree ${ti}: '${key}' has ${t[key].length} entries, expected ${m}`);
      for (let k = 0; k < m; k++) {
        const f = t.feature[k], l = t.left[k], r = t.right[k];
        if (f === -1) {
          if (l !== -1 || r !== -1) fail(`tree ${ti} node ${k}: a leaf (feature −1) must have left = right = −1`);
        } else {
          if (!Number.isInteger(f) || f < 0 || f >= d) fail(`tree ${ti} node ${k}: feature ${f} outside 0..${d - 1}`);
          // Children come after their parent, so traversal always terminates.
          if (!Number.isInteger(l) || !Number.isInteger(r) || l <= k || r <= k || l >= m || r >= m) fail(`tree ${ti} node ${k}: children ${l}, ${r} must be node indices after ${k} and below ${m}`);
        }
        if (typeof t.value[k] !== 'number' || !Number.isFinite(t.value[k])) fail(`tree ${ti} node ${k}: value must be a finite number`);
      }
      const threshold = t.threshold.map((v, k) => {
        if (v === 'Infinity') return Infinity;
        if (typeof v !== 'number' || Number.isNaN(v)) fail(`tree ${ti} node ${k}: threshold must be a number or "Infinity"`);
        return v as number;
      });
      return {
        feature: t.feature.slice(),
        threshold,
        missingGoesLeft: t.missingGoesLeft.map(Boolean),
        left: t.left.slice(),
        right: t.right.slice(),
        value: t.value.slice(),
        gain: t.gain.slice(),
        count: t.count.slice(),
      };
    });
    return new GradientBoostedTrees(j!.task!, j!.featureNames!.slice(), j!.baseline!, j!.learningRate!, trees);
  }
}

/** scikit-learn's rule: stop when none of the last nIterNoChange scores beats the one before them by more than tol. */
function shouldStop(scores: number[], nIterNoChange: number, tol: number): boolean {
  const ref = nIterNoChange + 1;
  if (scores.length < ref) return false;
  const reference = scores[scores.length - ref] + tol;
  for (let k = scores.length - ref + 1; k < scores.length; k++) if (scores[k] > reference) return false;
  return true;
}
