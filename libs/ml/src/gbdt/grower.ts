/**
 * Growth of one regression tree on binned data from per-row gradients and hessians, leaf-wise (best-first):
 * the leaf whose best split gains most is split next, until maxLeafNodes leaves exist or no split gains.
 * Histograms hold (Σg, Σh, count) per feature and bin (layout in kernels.ts); they are built by the wasm kernels in
 * the fit's GrowerWorkspace, on several threads when it has helpers. A child's histogram is built only for the
 * smaller child, the larger one is the parent's minus it (the sibling-subtraction trick). Histogram buffers are
 * pooled in the workspace, so growing a tree allocates almost nothing.
 * The split gain is LightGBM's / scikit-learn's  G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)  (no ½, no γ).
 */
import { MISSING_BIN } from './binning';
import { SLOT_F64, slotOf } from './kernels';
import type { GrowerWorkspace } from './workspace';

export interface GrowerContext {
  /** Bins, gradients, hessians and the row order of the fit (see GrowerWorkspace). */
  workspace: GrowerWorkspace;
  /** Number of observed-value bins per feature (thresholds + 1). */
  observedBins: Int32Array;
  /** 1 when the feature had a NaN among the training rows (then both missing directions are tried). */
  hasMissing: Uint8Array;
}

/** Per feature and bin: Σg, Σh, count at slotOf(feature, bin) + 0, 1, 2. */
type Hist = Float64Array;

/** Float64 entries per feature in a histogram. */
const FEATURE_F64 = slotOf(1, 0);

export interface GrowerParams {
  maxLeafNodes: number;
  /** Root has depth 0; null = unlimited. */
  maxDepth: number | null;
  minSamplesLeaf: number;
  l2: number;
  learningRate: number;
}

/** A tree in flat arrays, node 0 the root; leaves have feature −1 and left = right = −1. */
export interface GrownTree {
  feature: Int32Array;
  /** Split bin: rows with bin ≤ binThreshold go left (NaN follows missingGoesLeft). */
  binThreshold: Int32Array;
  missingGoesLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf value already multiplied by the learning rate (for internal nodes: the value the node would have as a leaf). */
  value: Float64Array;
  /** Split gain of internal nodes (0 for leaves). */
  gain: Float64Array;
  /** Training rows (of the subsample) that reached the node. */
  count: Int32Array;
  /** The node's rows are rows[start[k]..end[k]) of the rows array growTree reordered (leaves partition it). */
  start: Int32Array;
  end: Int32Array;
}

const MIN_HESSIAN = 1e-3; // scikit-learn's min_hessian_to_split

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  nLeft: number;
}

interface Node {
  id: number;
  start: number;
  end: number;
  depth: number;
  sumG: number;
  sumH: number;
  hist: Hist | null;
  split: Split | null;
}

export function growTree(
  ctx: GrowerContext,
  /** The tree grows on workspace.rows[0..nRows) (the subsample, ascending), which it reorders in place. */
  nRows: number,
  /** The features allowed in this tree (column subsample), ascending. */
  features: Int32Array,
  p: GrowerParams,
): GrownTree {
  const { workspace: ws, observedBins, hasMissing } = ctx;
  const { d, rows, gradients, hessians } = ws;
  if (nRows > ws.n) throw new RangeError(`growTree: ${nRows} rows for a workspace of ${ws.n}`);
  const lambda = p.l2;
  const nodes: Array<{ feature: number; bin: number; missingLeft: boolean; left: number; right: number; value: number; gain: number; count: number; start: number; end: number }> = [];
  const leafValue = (g: number, h: number) => (-p.learningRate * g) / (h + lambda + 1e-15);
  const allFeatures = features.length === d;
  if (!allFeatures) ws.features.set(features);

  /** The histogram of rows[start..end); with a parent, the parent becomes its sibling's (parent − this one). */
  const buildHist = (start: number, end: number, parent: Hist | null = null): Hist => {
    const hist = ws.take();
    ws.buildHistogram(hist, start, end, features.length, !allFeatures, parent);
    return hist;
  };

  const minLeaf = p.minSamplesLeaf;
  const findSplit = (node: Node): Split | null => {
    const hist = node.hist!;
    const count = node.end - node.start;
    const G = node.sumG, H = node.sumH;
    const parentScore = (G * G) / (H + lambda);
    // The best candidate so far as scalars (an object only at the end): a split must gain strictly more than 0
    // (min_gain_to_split = 0), and a later candidate must gain strictly more than an earlier one.
    let bestGain = 0, bestFeature = -1, bestBin = -1, bestMissingLeft = false, bestLeft = 0;
    for (let fi = 0; fi < features.length; fi++) {
      const j = features[fi];
      const base = j * FEATURE_F64;
      const nb = observedBins[j];
      const miss = hasMissing[j];
      // Missing values go right: the last observed bin may go left only when NaNs exist to go right.
      let gl = 0, hl = 0, cl = 0;
      const end = nb - 1 + miss;
      for (let b = 0; b < end; b++) {
        const o = base + b * SLOT_F64;
        gl += hist[o];
        hl += hist[o + 1];
        cl += hist[o + 2];
        const cr = count - cl;
        if (cl < minLeaf) continue;
        if (cr < minLeaf) break;
        const hr = H - hl;
        if (hl < MIN_HESSIAN) continue;
        if (hr < MIN_HESSIAN) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = j;
          bestBin = b;
          bestMissingLeft = false;
          bestLeft = cl;
        }
      }
      if (!miss) continue;
      // Missing values go left: accumulate the right side from the top bin down.
      let gr = 0, hr = 0, cr = 0;
      for (let b = nb - 2; b >= 0; b--) {
        const o = base + (b + 1) * SLOT_F64;
        gr += hist[o];
        hr += hist[o + 1];
        cr += hist[o + 2];
        const cl2 = count - cr;
        if (cr < minLeaf) continue;
        if (cl2 < minLeaf) break;
        const hl2 = H - hr;
        if (hr < MIN_HESSIAN) continue;
        if (hl2 < MIN_HESSIAN) break;
        const gl2 = G - gr;
        const gain = (gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = j;
          bestBin = b;
          bestMissingLeft = true;
          bestLeft = cl2;
        }
      }
    }
    return bestFeature < 0 ? null : { gain: bestGain, feature: bestFeature, bin: bestBin, missingLeft: bestMissingLeft, nLeft: bestLeft };
  };

  const addNode = (node: Node): void => {
    nodes[node.id] = { feature: -1, bin: -1, missingLeft: false, left: -1, right: -1, value: leafValue(node.sumG, node.sumH), gain: 0, count: node.end - node.start, start: node.start, end: node.end };
  };

  const canSplit = (node: Node) =>
    node.end - node.start >= 2 * p.minSamplesLeaf && (p.maxDepth === null || node.depth < p.maxDepth) && node.sumH >= 2 * MIN_HESSIAN;

  let sumG = 0, sumH = 0;
  for (let k = 0; k < nRows; k++) {
    sumG += gradients[rows[k]];
    sumH += hessians[rows[k]];
  }
  ws.gatherOrdered(nRows);
  const root: Node = { id: 0, start: 0, end: nRows, depth: 0, sumG, sumH, hist: null, split: null };
  let nextId = 1;
  addNode(root);
  const open: Node[] = [];
  if (canSplit(root) && p.maxLeafNodes > 1) {
    root.hist = buildHist(root.start, root.end);
    root.split = findSplit(root);
    if (root.split) open.push(root);
  }
  let leaves = 1;

  while (open.length > 0 && leaves < p.maxLeafNodes) {
    // Best gain first; ties go to the older node so growth is deterministic.
    let bi = 0;
    for (let k = 1; k < open.length; k++) if (open[k].split!.gain > open[bi].split!.gain) bi = k;
    const node = open[bi];
    open.splice(bi, 1);
    const s = node.split!;

    // Stable partition of the node's rows: left rows first, then right rows.
    const goesLeft = ws.goesLeft;
    for (let b = 0; b < 256; b++) goesLeft[b] = b === MISSING_BIN ? (s.missingLeft ? 1 : 0) : b <= s.bin ? 1 : 0;
    const mid = ws.partition(node.start, node.end, s.feature);

    const hist = node.hist!;
    let lg = 0, lh = 0;
    {
      for (let b = 0; b <= s.bin; b++) {
        lg += hist[slotOf(s.feature, b)];
        lh += hist[slotOf(s.feature, b) + 1];
      }
      if (s.missingLeft) {
        lg += hist[slotOf(s.feature, MISSING_BIN)];
        lh += hist[slotOf(s.feature, MISSING_BIN) + 1];
      }
    }
    const left: Node = { id: nextId++, start: node.start, end: mid, depth: node.depth + 1, sumG: lg, sumH: lh, hist: null, split: null };
    const right: Node = { id: nextId++, start: mid, end: node.end, depth: node.depth + 1, sumG: node.sumG - lg, sumH: node.sumH - lh, hist: null, split: null };
    addNode(left);
    addNode(right);
    const rec = nodes[node.id];
    rec.feature = s.feature;
    rec.bin = s.bin;
    // A feature with no NaN in training sends NaN (seen only at prediction) to the child with more rows.
    rec.missingLeft = hasMissing[s.feature] ? s.missingLeft : left.end - left.start > right.end - right.start;
    rec.left = left.id;
    rec.right = right.id;
    rec.gain = s.gain;
    leaves++;
    node.hist = null;

    if (leaves >= p.maxLeafNodes) {
      ws.give(hist);
      break;
    }
    const splitL = canSplit(left), splitR = canSplit(right);
    if (!splitL && !splitR) {
      ws.give(hist);
      continue;
    }
    const leftSmaller = left.end - left.start <= right.end - right.start;
    const small = leftSmaller ? left : right;
    const large = leftSmaller ? right : left;
    // The parent's buffer becomes the larger child's histogram: parent − smaller.
    small.hist = buildHist(small.start, small.end, hist);
    large.hist = hist;
    for (const child of [left, right]) {
      if (!(child === left ? splitL : splitR)) {
        ws.give(child.hist);
        child.hist = null;
        continue;
      }
      child.split = findSplit(child);
      if (child.split) open.push(child);
      else {
        ws.give(child.hist);
        child.hist = null;
      }
    }
  }
  for (const node of open) ws.give(node.hist);

  const m = nodes.length;
  const tree: GrownTree = {
    feature: new Int32Array(m),
    binThreshold: new Int32Array(m),
    missingGoesLeft: new Uint8Array(m),
    left: new Int32Array(m),
    right: new Int32Array(m),
    value: new Float64Array(m),
    gain: new Float64Array(m),
    count: new Int32Array(m),
    start: new Int32Array(m),
    end: new Int32Array(m),
  };
  for (let k = 0; k < m; k++) {
    const x = nodes[k];
    tree.feature[k] = x.feature;
    tree.binThreshold[k] = x.bin;
    tree.missingGoesLeft[k] = x.missingLeft ? 1 : 0;
    tree.left[k] = x.left;
    tree.right[k] = x.right;
    tree.value[k] = x.value;
    tree.gain[k] = x.gain;
    tree.count[k] = x.count;
    tree.start[k] = x.start;
    tree.end[k] = x.end;
  }
  return tree;
}

/** Adds the tree's leaf value for every row of row-major binned data to `raw`. */
export function addTreeBinned(tree: GrownTree, bins: Uint8Array, n: number, d: number, raw: Float64Array): void {
  const { feature, binThreshold, missingGoesLeft, left, right, value } = tree;
  for (let i = 0; i < n; i++) {
    const off = i * d;
    let k = 0;
    while (left[k] >= 0) {
      const b = bins[off + feature[k]];
      k = (b === MISSING_BIN ? missingGoesLeft[k] === 1 : b <= binThreshold[k]) ? left[k] : right[k];
    }
    raw[i] += value[k];
  }
}

/**
 * Adds each leaf's value to the raw margins of the rows growTree put in that leaf (rows as it left them): the same
 * result as addTreeBinned for those rows, without walking the tree.
 */
export function addTreeLeaves(tree: GrownTree, rows: Uint32Array, raw: Float64Array): void {
  const { left, value, start, end } = tree;
  for (let k = 0; k < left.length; k++) {
    if (left[k] >= 0) continue;
    const v = value[k];
    for (let q = start[k]; q < end[k]; q++) raw[rows[q]] += v;
  }
}
