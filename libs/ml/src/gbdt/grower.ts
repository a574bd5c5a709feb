/**
 * Growth of one regression tree on binned data from per-row gradients and hessians, leaf-wise (best-first):
 * the leaf whose best split gains most is split next, until maxLeafNodes leaves exist or no split gains.
 * Histograms hold (Σg, Σh, count) per feature and bin, interleaved so one update touches one cache line (with the
 * row-major bins this measured faster than three separate arrays); a child's histogram is built only for the smaller child, the larger one is the parent's
 * minus it (the sibling-subtraction trick). Histogram buffers and the partition scratch are pooled in a workspace that
 * lives on the context, so growing a tree allocates almost nothing.
 * The split gain is LightGBM's / scikit-learn's  G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)  (no ½, no γ).
 */
import { MISSING_BIN } from './binning';

export interface GrowerContext {
  /** Row-major bins, n rows × d features (feature j of row i at i * d + j): read by histogram building. */
  bins: Uint8Array;
  /**
   * The same bins column-major (feature j of row i at j * n + i): read by the partition, which scans one feature of a
   * node's rows in ascending order and so walks this column forwards instead of striding over whole rows.
   */
  columns: Uint8Array;
  n: number;
  d: number;
  /** Number of observed-value bins per feature (thresholds + 1). */
  observedBins: Int32Array;
  /** 1 when the feature had a NaN among the training rows (then both missing directions are tried). */
  hasMissing: Uint8Array;
  /** Reusable buffers, created by the first growTree call on this context. */
  workspace?: GrowerWorkspace;
}

/** Per feature and bin (slot (feature << 8) | bin): Σg, Σh, count at 3·slot, 3·slot + 1, 3·slot + 2. */
type Hist = Float64Array;

/** Buffers reused across the trees grown on one context. */
export class GrowerWorkspace {
  readonly scratch: Uint32Array;
  /** Per bin, 1 when the split being applied sends it left. */
  readonly goesLeft = new Uint8Array(256);
  private readonly pool: Hist[] = [];
  constructor(
    n: number,
    private readonly d: number,
  ) {
    this.scratch = new Uint32Array(n);
  }

  /** A zeroed histogram. */
  take(): Hist {
    const h = this.pool.pop();
    if (!h) return new Float64Array(this.d * 256 * 3);
    h.fill(0);
    return h;
  }

  give(h: Hist | null): void {
    if (h) this.pool.push(h);
  }
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
  /** float32, as in LightGBM and scikit-learn: half the memory traffic; the histograms sum in float64. */
  gradients: Float32Array,
  hessians: Float32Array,
  /** The rows to grow on (the subsample); reordered in place. */
  rows: Uint32Array,
  /** The features allowed in this tree (column subsample), ascending. */
  features: Int32Array,
  p: GrowerParams,
): GrownTree {
  const { bins, columns, n, d, observedBins, hasMissing } = ctx;
  if (rows.length > n) throw new RangeError(`growTree: ${rows.length} rows for a context of ${n}`);
  const ws = ctx.workspace ?? (ctx.workspace = new GrowerWorkspace(n, d));
  const lambda = p.l2;
  const scratch = ws.scratch;
  const nodes: Array<{ feature: number; bin: number; missingLeft: boolean; left: number; right: number; value: number; gain: number; count: number; start: number; end: number }> = [];
  const leafValue = (g: number, h: number) => (-p.learningRate * g) / (h + lambda + 1e-15);
  const allFeatures = features.length === d;

  const buildHist = (start: number, end: number): Hist => {
    const hist = ws.take();
    if (allFeatures) histAll(hist, bins, d, rows, start, end, gradients, hessians);
    else histSome(hist, bins, d, features, rows, start, end, gradients, hessians);
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
      const base = j * 768;
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
    nodes[node.id] = { feature: -1, bin: -1, missingLeft: false, left: -1, right: -1, value: leafValue(node.sumG, node.sumH), gain: 0, count: node.end - node.start, start: node.start, end: node.end };
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
    const goesLeft = ws.goesLeft;
    for (let b = 0; b < 256; b++) goesLeft[b] = b === MISSING_BIN ? (s.missingLeft ? 1 : 0) : b <= s.bin ? 1 : 0;
    const l = partitionRows(rows, scratch, node.start, node.end, columns, s.feature * n, goesLeft);
    const mid = l;

    const hist = node.hist!;
    let lg = 0, lh = 0;
    {
      const base = s.feature * 768;
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
    small.hist = buildHist(small.start, small.end);
    // Reuse the parent's buffer for the larger child: parent − smaller.
    const sh = small.hist;
    for (let fi = 0; fi < features.length; fi++) {
      const base = features[fi] * 768;
      for (let k = base; k < base + 768; k++) hist[k] -= sh[k];
    }
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

/**
 * Stable partition of rows[start..end) by goesLeft[bin of the row]: left rows first (from start), right rows after;
 * returns where the right rows begin. Branch-free: each row is written to both sides and only one cursor advances
 * (safe in place because the left cursor never passes the read position).
 */
function partitionRows(rows: Uint32Array, scratch: Uint32Array, start: number, end: number, columns: Uint8Array, col: number, goesLeft: Uint8Array): number {
  let l = start, r = 0;
  for (let k = start; k < end; k++) {
    const i = rows[k];
    const left = goesLeft[columns[col + i]];
    rows[l] = i;
    scratch[r] = i;
    l += left;
    r += 1 - left;
  }
  rows.set(scratch.subarray(0, r), l);
  return l;
}

// Histograms, row by row over every (allowed) feature: the rows of a node are scattered, but each row's bins share a
// cache line. Per (feature, bin) the rows are still added in node order, so the sums do not depend on the layout.
// Top-level functions with everything passed in (not closures) so the optimiser keeps the arrays in registers.
function histAll(hist: Hist, bins: Uint8Array, d: number, rows: Uint32Array, start: number, end: number, gradients: Float32Array, hessians: Float32Array): void {
  for (let k = start; k < end; k++) {
    const i = rows[k];
    const gi = gradients[i], hi = hessians[i];
    const off = i * d;
    for (let j = 0; j < d; j++) {
      const o = ((j << 8) | bins[off + j]) * 3;
      hist[o] += gi;
      hist[o + 1] += hi;
      hist[o + 2] += 1;
    }
  }
}

function histSome(hist: Hist, bins: Uint8Array, d: number, features: Int32Array, rows: Uint32Array, start: number, end: number, gradients: Float32Array, hessians: Float32Array): void {
  const nf = features.length;
  for (let k = start; k < end; k++) {
    const i = rows[k];
    const gi = gradients[i], hi = hessians[i];
    const off = i * d;
    for (let fi = 0; fi < nf; fi++) {
      const j = features[fi];
      const o = ((j << 8) | bins[off + j]) * 3;
      hist[o] += gi;
      hist[o + 1] += hi;
      hist[o + 2] += 1;
    }
  }
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
