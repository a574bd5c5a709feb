import { seededRandom, shuffledIndices } from '../random';

/** One cross-validation split: row indices into the dataset. */
export interface Fold {
  train: number[];
  test: number[];
}

export interface KFoldOptions {
  /** Number of folds, ≥ 2. Default 5. */
  k?: number;
  /** Shuffle rows before cutting folds (seeded). Default false: contiguous folds, exactly scikit-learn's. */
  shuffle?: boolean;
  seed?: number;
}

function checkK(k: number, n: number, what: string): void {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`${what}: k must be an integer ≥ 2, got ${k}`);
  if (k > n) throw new RangeError(`${what}: k = ${k} folds but only ${n} rows`);
}

/** Train = every row not in the test set, in increasing index order. */
function foldsFromAssignment(testFold: Int32Array, k: number): Fold[] {
  const folds: Fold[] = Array.from({ length: k }, () => ({ train: [], test: [] }));
  for (let i = 0; i < testFold.length; i++) {
    for (let f = 0; f < k; f++) (f === testFold[i] ? folds[f].test : folds[f].train).push(i);
  }
  return folds;
}

/**
 * scikit-learn's KFold: the (optionally shuffled) rows are cut into k consecutive test blocks, the first n mod k
 * of them one row larger. Without shuffling the folds are identical to scikit-learn's; with shuffling the
 * permutation comes from this library's seeded generator (not numpy's), so only the fold sizes match.
 */
export function kFoldSplit(n: number, opts: KFoldOptions = {}): Fold[] {
  const k = opts.k ?? 5;
  checkK(k, n, 'kFoldSplit');
  const order = opts.shuffle ? shuffledIndices(n, seededRandom(opts.seed ?? 0)) : Uint32Array.from({ length: n }, (_, i) => i);
  const testFold = new Int32Array(n);
  const base = Math.floor(n / k), larger = n % k;
  let pos = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < larger ? 1 : 0);
    for (let j = 0; j < size; j++) testFold[order[pos++]] = f;
  }
  return foldsFromAssignment(testFold, k);
}

/**
 * scikit-learn's StratifiedKFold (≥ 0.22): classes are numbered by first appearance, the per-fold class counts
 * come from dealing the class-sorted labels round robin over the folds, and each class's rows (in index order)
 * receive the fold numbers in blocks 0,0,…,1,1,…. Without shuffling the folds are identical to scikit-learn's;
 * with shuffling each class's block sequence is permuted by this library's seeded generator. As in
 * scikit-learn, k may exceed the size of some classes (those folds lack the class) but not of every class.
 */
export function stratifiedKFoldSplit(y: ArrayLike<number>, opts: KFoldOptions = {}): Fold[] {
  const n = y.length;
  const k = opts.k ?? 5;
  checkK(k, n, 'stratifiedKFoldSplit');
  const classOf = new Map<number, number>();
  const encoded = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(y[i])) throw new RangeError(`stratifiedKFoldSplit: label of row ${i} is NaN`);
    let c = classOf.get(y[i]);
    if (c === undefined) classOf.set(y[i], (c = classOf.size));
    encoded[i] = c;
  }
  const nClasses = classOf.size;
  const counts = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < n; i++) counts[encoded[i]]++;
  if (counts.every((c) => c < k)) throw new RangeError(`stratifiedKFoldSplit: k = ${k} is greater than the number of rows of every class (${counts.join(', ')})`);
  // allocation[f][c]: rows of class c in test fold f, from dealing the sorted encoded labels round robin.
  const allocation = Array.from({ length: k }, () => new Array<number>(nClasses).fill(0));
  let position = 0;
  for (let c = 0; c < nClasses; c++) {
    for (let j = 0; j < counts[c]; j++) allocation[position++ % k][c]++;
  }
  const rnd = opts.shuffle ? seededRandom(opts.seed ?? 0) : null;
  const testFold = new Int32Array(n);
  for (let c = 0; c < nClasses; c++) {
    const blocks: number[] = [];
    for (let f = 0; f < k; f++) for (let j = 0; j < allocation[f][c]; j++) blocks.push(f);
    const order = rnd ? shuffledIndices(blocks.length, rnd) : null;
    let next = 0;
    for (let i = 0; i < n; i++) if (encoded[i] === c) testFold[i] = blocks[order ? order[next++] : next++];
  }
  return foldsFromAssignment(testFold, k);
}

export interface TimeSeriesSplitOptions {
  /** Number of train/test splits, ≥ 1. Default 5. */
  nSplits?: number;
  /** Rows per test fold; default floor(n / (nSplits + 1)). */
  testSize?: number;
  /** Rows left out between the end of training and the start of the test fold. Default 0. */
  gap?: number;
  /** Cap on the training rows (a sliding instead of an expanding window); default none. */
  maxTrainSize?: number;
  /**
   * Time of each row (e.g. epoch ms). Rows are ordered by it (stably) before splitting, and a training set
   * never holds a row whose time is at or after the first test row's time (rows sharing a timestamp with the
   * test fold are dropped from training). Without it the row order is taken as the time order.
   */
  times?: ArrayLike<number>;
}

/**
 * Time-ordered (expanding window) cross-validation: scikit-learn's TimeSeriesSplit(n_splits, test_size, gap,
 * max_train_size). The last nSplits · testSize rows form consecutive test folds; each trains on every earlier row
 * (up to `gap` rows before the fold), so a model never sees the future of what it is scored on. Without `times`
 * the folds are identical to scikit-learn's. Indices are returned in time order.
 */
export function timeSeriesSplit(n: number, opts: TimeSeriesSplitOptions = {}): Fold[] {
  const nSplits = opts.nSplits ?? 5;
  const gap = opts.gap ?? 0;
  if (!Number.isInteger(nSplits) || nSplits < 1) throw new RangeError(`timeSeriesSplit: nSplits must be an integer ≥ 1, got ${nSplits}`);
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`timeSeriesSplit: gap must be an integer ≥ 0, got ${gap}`);
  if (nSplits + 1 > n) throw new RangeError(`timeSeriesSplit: nSplits + 1 = ${nSplits + 1} folds but only ${n} rows`);
  const testSize = opts.testSize ?? Math.floor(n / (nSplits + 1));
  if (!Number.isInteger(testSize) || testSize < 1) throw new RangeError(`timeSeriesSplit: testSize must be an integer ≥ 1, got ${testSize}`);
  if (opts.maxTrainSize !== undefined && !(Number.isInteger(opts.maxTrainSize) && opts.maxTrainSize >= 1)) {
    throw new RangeError(`timeSeriesSplit: maxTrainSize must be an integer ≥ 1, got ${opts.maxTrainSize}`);
  }
  if (n - gap - testSize * nSplits <= 0) throw new RangeError(`timeSeriesSplit: ${nSplits} splits of ${testSize} test rows with gap ${gap} need more than ${n} rows`);

  let order: number[] = Array.from({ length: n }, (_, i) => i);
  const times = opts.times;
  if (times) {
    if (times.length !== n) throw new RangeError(`timeSeriesSplit: ${times.length} times for ${n} rows`);
    for (let i = 0; i < n; i++) if (Number.isNaN(times[i])) throw new RangeError(`timeSeriesSplit: time of row ${i} is NaN`);
    order = order.sort((a, b) => times[a] - times[b] || a - b);
  }
  const folds: Fold[] = [];
  for (let testStart = n - nSplits * testSize; testStart < n; testStart += testSize) {
    let trainEnd = testStart - gap;
    const trainStart = opts.maxTrainSize !== undefined && opts.maxTrainSize < trainEnd ? trainEnd - opts.maxTrainSize : 0;
    if (times) {
      const cutoff = times[order[testStart]];
      while (trainEnd > trainStart && times[order[trainEnd - 1]] >= cutoff) trainEnd--;
      if (trainEnd === trainStart) throw new RangeError(`timeSeriesSplit: the test fold starting at time ${cutoff} has no earlier rows to train on`);
    }
    folds.push({ train: order.slice(trainStart, trainEnd), test: order.slice(testStart, testStart + testSize) });
  }
  return folds;
}
