/**
 * Growth of one regression tree on binned data from per-row gradients and hessians, leaf-wise (best-first):
 * the leaf whose best split gains most is split next, until maxLeafNodes leaves exist or no split gains.
 * Histograms hold (Σg, Σh, count) per feature and bin; a child's histogram is built only for the smaller
 * child, the larger one is the parent's minus it (the sibling-subtraction trick).
 * The split gain is LightGBM's / scikit-learn's  G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)  (no ½, no γ).
 */
import { MISSING_BIN } from './binning';

export interface GrowerContext {
  /** Column-major bins, n rows × d features. */
  bins: Uint8Array;
  n: number;
  d: number;
  /** Number of observed-value bins per feature (thresholds + 1). */
  observedBins: Int32Array;
  /** 1 when the feature had a NaN among the training rows (then both missing directions are tried). */
  hasMissing: Uint8Array;
}

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
}

const STRIDE = 256 * 3; // per feature: 256 bins × (Σg, Σh, count)
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
  hist: Float64Array | null;
  split: Split | null;
}

export function growTree(
  ctx: GrowerContext,
  /** float32, as in LightGBM and scikit-learn: half the memory traffic; the histograms sum in float64. */
  gradients: Float32Array,
  hessians: Float32Array,
  /** The rows to grow on (the subsample); reordered in place. */
  rows: Uint32Array,
  /** The features allowed in this tree (column subsample), ascending. */
  features: Int32Array,
  p: GrowerParams,
): GrownTree {
  const { bins, n, d, observedBins, hasMissing } = ctx;
  const lambda = p.l2;
  const scratch = new Uint32Array(rows.length);
  const nodes: Array<{ feature: number; bin: number; missingLeft: boolean; left: number; right: number; value: number; gain: number; count: number }> = [];
  const leafValue = (g: number, h: number) => (-p.learningRate * g) / (h + lambda + 1e-15);

  const buildHist = (start: number, end: number): Float64Array => {
    const hist = new Float64Array(d * STRIDE);
    for (let fi = 0; fi < features.length; fi++) {
      const j = features[fi];
      const col = j * n;
      const base = j * STRIDE;
      for (let k = start; k < end; k++) {
        const i = rows[k];
        const o = base + bins[col + i] * 3;
        hist[o] += gradients[i];
        hist[o + 1] += hessians[i];
        hist[o + 2] += 1;
      }
    }
    return hist;
  };

  const findSplit = (node: Node): Split | null => {
    const hist = node.hist!;
    const count = node.end - node.start;
    const G = node.sumG, H = node.sumH;
    const parentScore = (G * G) / (H + lambda);
    let best: Split | null = null;
    let bestGain = 0; // a split must gain strictly more than 0 (min_gain_to_split = 0)
    for (let fi = 0; fi < features.length; fi++) {
      const j = features[fi];
      const base = j * STRIDE;
      const nb = observedBins[j];
      const miss = hasMissing[j];
      // Missing values go right: the last observed bin may go left only when NaNs exist to go right.
      let gl = 0, hl = 0, cl = 0;
      const end = nb - 1 + miss;
      for (let b = 0; b < end; b++) {
        const o = base + b * 3;
        gl += hist[o];
        hl += hist[o + 1];
        cl += hist[o + 2];
        const cr = count - cl;
        if (cl < p.minSamplesLeaf) continue;
        if (cr < p.minSamplesLeaf) break;
        const hr = H - hl;
        if (hl < MIN_HESSIAN) continue;
        if (hr < MIN_HESSIAN) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { gain, feature: j, bin: b, missingLeft: false, nLeft: cl };
        }
      }
      if (!miss) continue;
      // Missing values go left: accumulate the right side from the top bin down.
      let gr = 0, hr = 0, cr = 0;
      for (let b = nb - 2; b >= 0; b--) {
        const o = base + (b + 1) * 3;
        gr += hist[o];
        hr += hist[o + 1];
        cr += hist[o + 2];
        const cl2 = count - cr;
        if (cr < p.minSamplesLeaf) continue;
        if (cl2 < p.minSamplesLeaf) break;
        const hl2 = H - hr;
        if (hr < MIN_HESSIAN) continue;
        if (hl2 < MIN_HESSIAN) break;
        const gl2 = G - gr;
        const gain = (gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { gain, feature: j, bin: b, missingLeft: true, nLeft: cl2 };
        }
      }
    }
    return best;
  };

  const addNode = (node: Node): void => {
    nodes[node.id] = { feature: -1, bin: -1, missingLeft: false, left: -1, right: -1, value: leafValue(node.sumG, node.sumH), gain: 0, count: node.end - node.start };
  };

  const canSplit = (node: Node) =>
    node.end - node.start >= 2 * p.minSamplesLeaf && (p.maxDepth === null || node.depth < p.maxDepth) && node.sumH >= 2 * MIN_HESSIAN;

  let sumG = 0, sumH = 0;
  for (let k = 0; k < rows.length; k++) {
    sumG += gradients[rows[k]];
    sumH += hessians[rows[k]];
  }
  const root: Node = { id: 0, start: 0, end: rows.length, depth: 0, sumG, sumH, hist: null, split: null };
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
    const col = s.feature * n;
    let l = node.start, r = 0;
    for (let k = node.start; k < node.end; k++) {
      const i = rows[k];
      const b = bins[col + i];
      const goLeft = b === MISSING_BIN ? s.missingLeft : b <= s.bin;
      if (goLeft) rows[l++] = i;
      else scratch[r++] = i;
    }
    rows.set(scratch.subarray(0, r), l);
    const mid = l;

    const hist = node.hist!;
    let lg = 0, lh = 0;
    {
      const base = s.feature * STRIDE;
      for (let b = 0; b <= s.bin; b++) {
        lg += hist[base + b * 3];
        lh += hist[base + b * 3 + 1];
      }
      if (s.missingLeft) {
        lg += hist[base + MISSING_BIN * 3];
        lh += hist[base + MISSING_BIN * 3 + 1];
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

    if (leaves >= p.maxLeafNodes) break;
    const splitL = canSplit(left), splitR = canSplit(right);
    if (!splitL && !splitR) continue;
    const leftSmaller = left.end - left.start <= right.end - right.start;
    const small = leftSmaller ? left : right;
    const large = leftSmaller ? right : left;
    small.hist = buildHist(small.start, small.end);
    const lhist = hist; // reuse the parent's buffer for the larger child: parent − smaller
    const sh = small.hist;
    for (let fi = 0; fi < features.length; fi++) {
      const base = features[fi] * STRIDE;
      for (let k = base; k < base + STRIDE; k++) lhist[k] -= sh[k];
    }
    large.hist = lhist;
    for (const child of [left, right]) {
      if (!(child === left ? splitL : splitR)) {
        child.hist = null;
        continue;
      }
      child.split = findSplit(child);
      if (child.split) open.push(child);
      else child.hist = null;
    }
  }

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
  }
  return tree;
}

/** Adds the tree's leaf value for every row of column-major binned data to `raw`. */
export function addTreeBinned(tree: GrownTree, bins: Uint8Array, n: number, raw: Float64Array): void {
  const { feature, binThreshold, missingGoesLeft, left, right, value } = tree;
  for (let i = 0; i < n; i++) {
    let k = 0;
    while (left[k] >= 0) {
      const b = bins[feature[k] * n + i];
      k = (b === MISSING_BIN ? missingGoesLeft[k] === 1 : b <= binThreshold[k]) ? left[k] : right[k];
    }
    raw[i] += value[k];
  }
}
