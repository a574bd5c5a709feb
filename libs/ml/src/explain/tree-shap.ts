/**
 * Exact SHAP values for GradientBoostedTrees with the polynomial-time, path-dependent TreeSHAP algorithm
 * (Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree ensembles", Algorithm 2).
 *
 * The value of a feature subset S is the tree's conditional expectation E[f(x) | x_S]: at a split on a feature in S
 * the row's own branch is followed (NaN follows missingGoesLeft); at a split on any other feature both branches are
 * averaged, weighted by the training rows (node counts, "cover") that went each way. The contributions φ_j are the
 * Shapley values of that game, so for every row Σ_j φ_j = margin − expectedValue, where expectedValue is the baseline
 * plus each tree's cover-weighted mean leaf value. Cost: O(leaves · depth²) per tree and row.
 */
import { matrixShape, type Matrix } from '../data';
import type { GbdtTree, GradientBoostedTrees } from '../gbdt';

/** What TreeSHAP reads from a model: the public fields of GradientBoostedTrees. */
export type TreeEnsemble = Pick<GradientBoostedTrees, 'baseline' | 'trees' | 'featureNames'>;

export interface TreeShapResult {
  /** E[margin] over the cover: the margin with no feature known. */
  expectedValue: number;
  /** One array per row, one contribution per feature; each row sums to its margin − expectedValue. */
  contributions: Float64Array[];
}

/** A tree as typed arrays with its cover split precomputed. */
interface PreparedTree {
  feature: Int32Array;
  threshold: Float64Array;
  missingGoesLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  /** Share of the node's cover that went left (the right share is 1 − this); internal nodes only. */
  leftShare: Float64Array;
  /** Edges from the root to the deepest leaf. */
  depth: number;
  /** Cover-weighted mean of the leaf values. */
  expected: number;
}

function prepareTree(t: GbdtTree, ti: number, width: number): PreparedTree {
  const m = t.feature.length;
  if (m === 0) throw new RangeError(`treeShap: tree ${ti} has no node`);
  const leftShare = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const f = t.feature[k];
    if (f < 0) continue;
    if (f >= width) throw new RangeError(`treeShap: tree ${ti} node ${k} splits on feature ${f}, expected one below ${width}`);
    const l = t.left[k], r = t.right[k];
    if (!(l > k && r > k && l < m && r < m)) throw new RangeError(`treeShap: tree ${ti} node ${k}: children ${l}, ${r} must be node indices after ${k} and below ${m}`);
    const cl = t.count[l], cr = t.count[r];
    if (!(cl >= 0 && cr >= 0 && Number.isFinite(cl + cr))) throw new RangeError(`treeShap: tree ${ti} node ${k}: child counts ${cl}, ${cr}, expected finite numbers ≥ 0`);
    // The children's counts rather than the node's own, so the shares sum to 1 even for a hand-edited model;
    // a split no training row reached is weighted evenly.
    leftShare[k] = cl + cr > 0 ? cl / (cl + cr) : 0.5;
  }
  // Children come after their parent, so one backward pass gets each subtree's expectation and depth.
  const expectedAt = new Float64Array(m);
  const depthAt = new Int32Array(m);
  for (let k = m - 1; k >= 0; k--) {
    if (t.feature[k] < 0) {
      expectedAt[k] = t.value[k];
      continue;
    }
    const l = t.left[k], r = t.right[k];
    expectedAt[k] = leftShare[k] * expectedAt[l] + (1 - leftShare[k]) * expectedAt[r];
    depthAt[k] = 1 + Math.max(depthAt[l], depthAt[r]);
  }
  return {
    feature: Int32Array.from(t.feature),
    threshold: Float64Array.from(t.threshold),
    missingGoesLeft: Uint8Array.from(t.missingGoesLeft, (v) => (v ? 1 : 0)),
    left: Int32Array.from(t.left),
    right: Int32Array.from(t.right),
    value: Float64Array.from(t.value),
    leftShare,
    depth: depthAt[0],
    expected: expectedAt[0],
  };
}

/**
 * The "unique path" of Algorithm 2 for every recursion level at once: level L keeps its path at offset L·stride so
 * a child extends its own copy and the parent's stays intact for the sibling. Per element: the split feature,
 * zeroFraction (share of the cover kept when the feature is unknown), oneFraction (1 when the row follows this path
 * when the feature is known, else 0) and pweight (the subset-size weights the leaf contributions are built from).
 */
class PathBuffers {
  readonly stride: number;
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;

  constructor(maxDepth: number) {
    // A path holds the root's dummy element plus at most one element per split on it.
    this.stride = maxDepth + 2;
    const size = this.stride * (maxDepth + 1);
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
  }
}

/** EXTEND: appends (feature, zero, one) to the path of `length` elements at `off` and updates the weights. */
function extendPath(p: PathBuffers, off: number, length: number, zero: number, one: number, feature: number): number {
  const { weight } = p;
  p.feature[off + length] = feature;
  p.zero[off + length] = zero;
  p.one[off + length] = one;
  weight[off + length] = length === 0 ? 1 : 0;
  // Each subset size i either gains the new feature (moves to i + 1, weighted by `one`) or not (stays, by `zero`).
  for (let i = length - 1; i >= 0; i--) {
    weight[off + i + 1] += (one * weight[off + i] * (i + 1)) / (length + 1);
    weight[off + i] = (zero * weight[off + i] * (length - i)) / (length + 1);
  }
  return length + 1;
}

/** UNWIND: removes element `at` from the path (undoing its EXTEND on the weights); returns the new length. */
function unwindPath(p: PathBuffers, off: number, length: number, at: number): number {
  const { weight } = p;
  const one = p.one[off + at], zero = p.zero[off + at];
  let next = weight[off + length - 1];
  for (let j = length - 2; j >= 0; j--) {
    if (one !== 0) {
      const kept = weight[off + j];
      weight[off + j] = (next * length) / ((j + 1) * one);
      next = kept - (weight[off + j] * zero * (length - j - 1)) / length;
    } else {
      weight[off + j] = (weight[off + j] * length) / (zero * (length - j - 1));
    }
  }
  for (let j = at; j < length - 1; j++) {
    p.feature[off + j] = p.feature[off + j + 1];
    p.zero[off + j] = p.zero[off + j + 1];
    p.one[off + j] = p.one[off + j + 1];
  }
  return length - 1;
}

/** Σ of the weights UNWIND(at) would leave, without changing the path. */
function unwoundWeightSum(p: PathBuffers, off: number, length: number, at: number): number {
  const { weight } = p;
  const one = p.one[off + at], zero = p.zero[off + at];
  let next = weight[off + length - 1];
  let total = 0;
  for (let j = length - 2; j >= 0; j--) {
    if (one !== 0) {
      const w = (next * length) / ((j + 1) * one);
      total += w;
      next = weight[off + j] - (w * zero * (length - j - 1)) / length;
    } else {
      total += (weight[off + j] * length) / (zero * (length - j - 1));
    }
  }
  return total;
}

/** Adds one tree's SHAP values for `row` to `phi` (RECURSE of Algorithm 2, from the root). */
function shapTree(t: PreparedTree, row: ArrayLike<number>, phi: Float64Array, p: PathBuffers): void {
  shapNode(t, row, phi, p, 0, 0, 0, 1, 1, -1);
}

/**
 * RECURSE: extends the parent's path (`parentLength` elements at level − 1) with the split that led here, then either
 * credits the leaf value to every feature on the path or descends into both children.
 */
function shapNode(t: PreparedTree, row: ArrayLike<number>, phi: Float64Array, p: PathBuffers, node: number, level: number, parentLength: number, zero: number, one: number, feature: number): void {
  const off = level * p.stride;
  if (level > 0) {
    const from = off - p.stride;
    for (let i = 0; i < parentLength; i++) {
      p.feature[off + i] = p.feature[from + i];
      p.zero[off + i] = p.zero[from + i];
      p.one[off + i] = p.one[from + i];
      p.weight[off + i] = p.weight[from + i];
    }
  }
  let length = extendPath(p, off, parentLength, zero, one, feature);
  const f = t.feature[node];
  if (f < 0) {
    const v = t.value[node];
    // Element 0 is the root's dummy.
    for (let i = 1; i < length; i++) {
      const w = unwoundWeightSum(p, off, length, i);
      phi[p.feature[off + i]] += w * (p.one[off + i] - p.zero[off + i]) * v;
    }
    return;
  }
  const x = row[f];
  const goesLeft = Number.isNaN(x) ? t.missingGoesLeft[node] === 1 : x <= t.threshold[node];
  const hot = goesLeft ? t.left[node] : t.right[node];
  const cold = goesLeft ? t.right[node] : t.left[node];
  const hotShare = goesLeft ? t.leftShare[node] : 1 - t.leftShare[node];
  // A feature split on again further down keeps a single path element: take its fractions over and drop it.
  let inZero = 1, inOne = 1;
  for (let k = 1; k < length; k++) {
    if (p.feature[off + k] === f) {
      inZero = p.zero[off + k];
      inOne = p.one[off + k];
      length = unwindPath(p, off, length, k);
      break;
    }
  }
  // A branch with both fractions 0 has zero weight in every subset: nothing to add (and unwinding it would divide by 0).
  if (inZero * hotShare !== 0 || inOne !== 0) shapNode(t, row, phi, p, hot, level + 1, length, inZero * hotShare, inOne, f);
  if (inZero * (1 - hotShare) !== 0) shapNode(t, row, phi, p, cold, level + 1, length, inZero * (1 - hotShare), 0, f);
}

/** Computes TreeSHAP for many rows of one model, reusing the prepared trees and path buffers. */
export class TreeShapExplainer {
  /** E[margin] over the cover: baseline + Σ cover-weighted mean leaf value per tree. */
  readonly expectedValue: number;
  readonly width: number;
  private readonly prepared: PreparedTree[];
  private readonly paths: PathBuffers;

  constructor(model: TreeEnsemble) {
    this.width = model.featureNames.length;
    this.prepared = model.trees.map((t, ti) => prepareTree(t, ti, this.width));
    let expected = model.baseline;
    let maxDepth = 0;
    for (const t of this.prepared) {
      expected += t.expected;
      maxDepth = Math.max(maxDepth, t.depth);
    }
    this.expectedValue = expected;
    this.paths = new PathBuffers(maxDepth);
  }

  /** Contributions of one row (length = number of features); they sum to the row's margin − expectedValue. */
  explainRow(row: ArrayLike<number>): Float64Array {
    if (row == null || row.length !== this.width) throw new RangeError(`TreeShapExplainer.explainRow: row has ${row?.length} values, expected ${this.width}`);
    const phi = new Float64Array(this.width);
    for (const t of this.prepared) if (t.feature[0] >= 0) shapTree(t, row, phi, this.paths);
    return phi;
  }

  explain(X: Matrix): TreeShapResult {
    matrixShape(X, 'TreeShapExplainer.explain', this.width);
    return { expectedValue: this.expectedValue, contributions: X.map((row) => this.explainRow(row)) };
  }
}

/** Per-row SHAP contributions to the margin (log-odds for classification) and the expected value they start from. */
export function treeShap(model: TreeEnsemble, X: Matrix): TreeShapResult {
  return new TreeShapExplainer(model).explain(X);
}

/** Global importance: mean |SHAP contribution| per feature over the rows (in margin units; zeros for no rows). */
export function meanAbsShap(model: TreeEnsemble, X: Matrix): Float64Array {
  const explainer = new TreeShapExplainer(model);
  matrixShape(X, 'meanAbsShap', explainer.width);
  const out = new Float64Array(explainer.width);
  for (const row of X) {
    const phi = explainer.explainRow(row);
    for (let j = 0; j < phi.length; j++) out[j] += Math.abs(phi[j]);
  }
  if (X.length > 0) for (let j = 0; j < out.length; j++) out[j] /= X.length;
  return out;
}

export interface FeatureImportance {
  feature: string;
  /** Share of the total split gain (GradientBoostedTrees.featureImportanceGain). */
  gain: number;
  /** Mean |SHAP| over the rows given, in margin units. */
  meanAbsShap: number;
}

/** Both global importances per feature, most important (by mean |SHAP|) first. */
export function featureImportance(model: TreeEnsemble & Pick<GradientBoostedTrees, 'featureImportanceGain'>, X: Matrix): FeatureImportance[] {
  const gain = model.featureImportanceGain();
  const shap = meanAbsShap(model, X);
  return model.featureNames
    .map((feature, j) => ({ feature, gain: gain[j], meanAbsShap: shap[j] }))
    .sort((a, b) => b.meanAbsShap - a.meanAbsShap || b.gain - a.gain);
}
