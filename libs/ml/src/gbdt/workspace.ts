/**
 * The memory a GBDT fit grows its trees in: one shared WebAssembly memory holding the binned training rows, the
 * per-row margins, targets, gradients and hessians, the row order the grower partitions, and a pool of histograms;
 * the wasm kernels (kernels.ts) and optional helper threads all work on it.
 *
 * Parallel work: with helper threads, a job (a histogram, or the gradient pass) is cut into chunks — whole features
 * of a histogram, ranges of rows of the gradients — and every thread (this one included) claims chunks until none is
 * left. A feature's sums are always computed by one thread, over the node's rows in their order, and a row's gradient
 * depends on that row only, so the results are the same bit for bit whichever thread claims which chunk: the fitted
 * model does not depend on thread timing or on the number of threads. (Partitioning a node in parallel chunks was
 * tried and did not pay: the helper reads rows this thread has just written, and joining the chunks costs copies.) Claiming instead of a fixed split also means a
 * helper that the OS has not scheduled yet delays nothing: this thread takes its chunks.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ML_DEFAULTS } from '@streamloop/config';
import { FEATURE_BYTES, instantiateKernels, kernelModule, MAX_PAGES, PAGE_BYTES, sharedMemory, type GrowerKernels, type WasmMemory } from './kernels';

/** Int32 words of the control block shared with helper threads. */
const CONTROL = {
  /** Sequence number of the current job; helpers sleep on it. */
  SEQ: 0,
  /** (SEQ << 4) | next unclaimed chunk: a chunk is claimed by compare-and-swap of this word. */
  TICKET: 1,
  /** Chunks finished in the current job. */
  DONE: 2,
  /** Set to stop the helpers. */
  STOP: 3,
  /** Set by a helper whose kernel threw (the job still completes, then the fit fails). */
  ERROR: 4,
  /** The job: KIND (JOB_*), CHUNKS, and the kind's words. */
  KIND: 5,
  CHUNKS: 6,
  // JOB_HISTOGRAM: rows[START..END) into the histogram at byte offset HIST, over COUNT features (the first COUNT, or
  // features[0..COUNT) when LIST is 1); then, when PARENT is not 0, that histogram minus HIST (the sibling).
  START: 7,
  END: 8,
  HIST: 9,
  LIST: 10,
  COUNT: 11,
  PARENT: 12,
  // JOB_GRADIENTS: gradientChunk of rows START..END.
  WORDS: 16,
} as const;
const JOB_HISTOGRAM = 1, JOB_GRADIENTS = 2;
const SEQ_LIMIT = 1 << 26; // SEQ << 4 must stay a positive int32
const MAX_CHUNKS = 15;

/** Fewer (rows × features) than this in a histogram: one thread builds it (waking a helper costs ~10–50 µs). */
const PARALLEL_MIN_WORK = 1 << 16;
/** Fewer rows than this: one thread computes the gradients. */
const PARALLEL_MIN_ROWS = 1 << 14;
/** Fewer (rows × features) than this in the whole training set: no helper threads at all (starting one costs ~40 ms). */
const HELPERS_MIN_WORK = 1 << 20;

/**
 * Threads a fit uses: `requested` when given (the training target passes the settings' STREAMLOOP_GBDT_THREADS;
 * 1 = no helper threads), else the available cores up to ML_DEFAULTS.gbdtThreadsCap.
 */
export function gbdtThreads(requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1 || requested > MAX_CHUNKS) {
      throw new RangeError(`GradientBoostedTrees: option threads is ${requested} (STREAMLOOP_GBDT_THREADS), expected an integer in 1..${MAX_CHUNKS}`);
    }
    return requested;
  }
  return Math.max(1, Math.min(availableParallelism(), ML_DEFAULTS.gbdtThreadsCap));
}

/** Byte offsets of the fixed regions, shared with helper threads. */
interface Layout {
  control: number;
  rows: number;
  scratch: number;
  /** Per position k of rows: the float32 pair (g, h) of row rows[k] (moved along by the partition). */
  ordered: number;
  orderedScratch: number;
  gradients: number;
  hessians: number;
  raw: number;
  targets: number;
  loss: number;
  features: number;
  goesLeft: number;
  bins: number;
  columns: number;
  /** First byte after the fixed regions: histograms are allocated from here. */
  top: number;
}

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

export class GrowerWorkspace implements ChunkContext {
  readonly memory: WasmMemory;
  readonly kernels: GrowerKernels;
  readonly layout: Layout;
  /** Row ids the grower orders (the first nRows of a tree are its rows). */
  readonly rows: Uint32Array;
  private readonly scratch: Uint32Array;
  /** The gradient pairs (and their scratch) as two Uint32 per row position, for moving them with the rows. */
  private readonly orderedWords: Uint32Array;
  private readonly orderedScratchWords: Uint32Array;
  /** float32, as in LightGBM and scikit-learn: half the memory traffic; the histograms sum in float64. */
  readonly gradients: Float32Array;
  readonly hessians: Float32Array;
  /** Per row: the margin so far, the target, and the loss term of the last logisticGradients call. */
  readonly raw: Float64Array;
  readonly targets: Float64Array;
  readonly loss: Float64Array;
  /** The features of the current tree when it uses a subset (histograms then read this list). */
  readonly features: Int32Array;
  /** Per bin, 1 when the split being applied sends it left. */
  readonly goesLeft: Uint8Array;
  readonly control: Int32Array;
  private readonly histBytes: number;
  private readonly pool: Float64Array[] = [];
  private top: number;
  private seq = 0;
  private readonly helpers: Worker[] = [];

  /**
   * Copies the row-major n × d bins in (and a column-major copy for the partition, which scans one feature of a node's
   * rows). threads − 1 helper threads are started when the data is large enough to repay them.
   */
  constructor(
    bins: Uint8Array,
    readonly n: number,
    readonly d: number,
    threads: number,
  ) {
    if (bins.length !== n * d) throw new RangeError(`GrowerWorkspace: ${bins.length} bins for ${n} rows × ${d} features`);
    let at = 0;
    const take = (bytes: number) => {
      const offset = at;
      at += align(bytes);
      return offset;
    };
    const layout: Omit<Layout, 'top'> = {
      control: take(CONTROL.WORDS * 4),
      rows: take(4 * n),
      scratch: take(4 * n),
      ordered: take(8 * n),
      orderedScratch: take(8 * n),
      gradients: take(4 * n),
      hessians: take(4 * n),
      raw: take(8 * n),
      targets: take(8 * n),
      loss: take(8 * n),
      features: take(4 * d),
      goesLeft: take(256),
      bins: take(n * d),
      columns: take(n * d),
    };
    this.layout = { ...layout, top: at };
    this.top = at;
    this.histBytes = align(d * FEATURE_BYTES);
    // Room for a few histograms up front; more pages are added when a tree keeps more open leaves.
    const pages = Math.ceil((at + 4 * this.histBytes) / PAGE_BYTES);
    if (pages > MAX_PAGES) throw new RangeError(`GradientBoostedTrees.fit: ${n} rows × ${d} features need more than 4 GiB of working memory`);
    this.memory = sharedMemory(pages);
    const buf = this.memory.buffer;
    this.control = new Int32Array(buf, layout.control, CONTROL.WORDS);
    this.rows = new Uint32Array(buf, layout.rows, n);
    this.scratch = new Uint32Array(buf, layout.scratch, n);
    this.orderedWords = new Uint32Array(buf, layout.ordered, 2 * n);
    this.orderedScratchWords = new Uint32Array(buf, layout.orderedScratch, 2 * n);
    this.gradients = new Float32Array(buf, layout.gradients, n);
    this.hessians = new Float32Array(buf, layout.hessians, n);
    this.raw = new Float64Array(buf, layout.raw, n);
    this.targets = new Float64Array(buf, layout.targets, n);
    this.loss = new Float64Array(buf, layout.loss, n);
    this.features = new Int32Array(buf, layout.features, d);
    this.goesLeft = new Uint8Array(buf, layout.goesLeft, 256);
    new Uint8Array(buf, layout.bins, n * d).set(bins);
    const columns = new Uint8Array(buf, layout.columns, n * d);
    for (let i = 0; i < n; i++) for (let j = 0, off = i * d; j < d; j++) columns[j * n + i] = bins[off + j];
    const module = kernelModule();
    this.kernels = instantiateKernels(module, this.memory);
    if (threads > 1 && n * d >= HELPERS_MIN_WORK) {
      const workerData = { module, memory: this.memory, layout: this.layout, d, n };
      for (let t = 1; t < Math.min(threads, MAX_CHUNKS); t++) {
        const w = new Worker(HELPER_SOURCE, { eval: true, workerData, execArgv: [], stdout: false, stderr: false });
        // A helper must never keep the process alive, and its failures are reported through ERROR instead.
        w.unref();
        w.on('error', () => {});
        this.helpers.push(w);
      }
    }
  }

  /** Threads that build histograms (this one and the helpers). */
  get threads(): number {
    return 1 + this.helpers.length;
  }

  /** A histogram buffer (not zeroed: building one overwrites the features it covers). */
  take(): Float64Array {
    const pooled = this.pool.pop();
    if (pooled) return pooled;
    const offset = this.top;
    const need = Math.ceil((offset + this.histBytes) / PAGE_BYTES) - this.memory.buffer.byteLength / PAGE_BYTES;
    if (need > 0) {
      // Grow by at least a quarter so a deep tree does not grow the memory once per histogram.
      const current = this.memory.buffer.byteLength / PAGE_BYTES;
      const grow = Math.min(Math.max(need, Math.ceil(current / 4)), MAX_PAGES - current);
      if (grow < need) throw new RangeError('GradientBoostedTrees.fit: histograms need more than 4 GiB of working memory; lower maxLeafNodes');
      this.memory.grow(grow);
    }
    this.top += this.histBytes;
    // Views made before a grow stay valid (shared memory never moves); this one is made on the grown buffer.
    return new Float64Array(this.memory.buffer, offset, (this.d * FEATURE_BYTES) / 8);
  }

  give(h: Float64Array | null): void {
    if (h) this.pool.push(h);
  }

  /**
   * Overwrites `hist` with the sums over rows[start..end) for the first `count` features (list = false) or for
   * the features listed in this.features[0..count) (list = true); other features' blocks are left as they were.
   * With a `parent` histogram, then subtracts `hist` from it for the same features (the sibling's histogram).
   */
  buildHistogram(hist: Float64Array, start: number, end: number, count: number, list: boolean, parent: Float64Array | null): void {
    const chunks = Math.min(this.threads, count);
    if (chunks <= 1 || (end - start) * count < PARALLEL_MIN_WORK) {
      steps().histogramChunk(this, start, end, hist.byteOffset, list ? 1 : 0, 0, count, parent ? parent.byteOffset : 0);
      return;
    }
    const c = this.control;
    c[CONTROL.START] = start;
    c[CONTROL.END] = end;
    c[CONTROL.HIST] = hist.byteOffset;
    c[CONTROL.LIST] = list ? 1 : 0;
    c[CONTROL.COUNT] = count;
    c[CONTROL.PARENT] = parent ? parent.byteOffset : 0;
    this.runJob(JOB_HISTOGRAM, chunks);
  }

  /**
   * Log-loss gradients, hessians and per-row loss terms of rows 0..n-1 from raw and targets (the formula is in
   * STEPS_SOURCE).
   */
  logisticGradients(): void {
    if (this.threads === 1 || this.n < PARALLEL_MIN_ROWS) {
      steps().gradientChunk(this, 0, this.n);
      return;
    }
    const chunks = Math.min(MAX_CHUNKS, 2 * this.threads);
    const c = this.control;
    c[CONTROL.START] = 0;
    c[CONTROL.END] = this.n;
    this.runJob(JOB_GRADIENTS, chunks);
  }

  /** Publishes the job written in the control block, works on it with the helpers and returns when it is done. */
  private runJob(kind: number, chunks: number): void {
    const c = this.control;
    c[CONTROL.KIND] = kind;
    c[CONTROL.CHUNKS] = chunks;
    Atomics.store(c, CONTROL.DONE, 0);
    this.seq = (this.seq % (SEQ_LIMIT - 1)) + 1;
    // Publishing the ticket (a sequentially consistent store) makes the job words above visible to any thread that
    // reads this ticket.
    Atomics.store(c, CONTROL.TICKET, this.seq << 4);
    Atomics.store(c, CONTROL.SEQ, this.seq);
    Atomics.notify(c, CONTROL.SEQ);
    steps().claimChunks(this, this.seq);
    for (let done = Atomics.load(c, CONTROL.DONE); done < chunks; done = Atomics.load(c, CONTROL.DONE)) Atomics.wait(c, CONTROL.DONE, done);
    if (Atomics.load(c, CONTROL.ERROR) !== 0) throw new Error('GradientBoostedTrees.fit: a helper thread failed');
  }

  /**
   * Stable partition of rows[start..end) (and of their gradient pairs) by goesLeft[bin of `feature`]: returns where
   * the right rows begin.
   */
  partition(start: number, end: number, feature: number): number {
    const L = this.layout;
    const l = this.kernels.partition(L.rows, L.ordered, L.scratch, L.orderedScratch, start, end, L.columns + feature * this.n, L.goesLeft);
    this.moveRows(start, l, end - l);
    return l;
  }

  /** Copies the `count` right rows (and pairs) the partition kernel put in scratch[from..) to rows[to..). */
  private moveRows(from: number, to: number, count: number): void {
    if (count === 0) return;
    this.rows.set(this.scratch.subarray(from, from + count), to);
    this.orderedWords.set(this.orderedScratchWords.subarray(2 * from, 2 * (from + count)), 2 * to);
  }

  /** Pairs the gradients and hessians of rows[0..nRows) with their positions (before a tree grows on them). */
  gatherOrdered(nRows: number): void {
    const L = this.layout;
    this.kernels.gatherOrdered(L.rows, nRows, L.gradients, L.hessians, L.ordered);
  }

  /** Stops the helper threads (they exit on their own; nothing waits for them). */
  close(): void {
    if (this.helpers.length === 0) return;
    const c = this.control;
    Atomics.store(c, CONTROL.STOP, 1);
    Atomics.add(c, CONTROL.SEQ, 1);
    Atomics.notify(c, CONTROL.SEQ);
    this.helpers.length = 0;
  }
}

/** What a thread needs to run chunks: the control block, its kernels instance and views of the shared memory. */
interface ChunkContext {
  control: Int32Array;
  kernels: GrowerKernels;
  layout: Layout;
  d: number;
  features: Int32Array;
  raw: Float64Array;
  targets: Float64Array;
  gradients: Float32Array;
  hessians: Float32Array;
  loss: Float64Array;
}

/**
 * How a thread claims and runs the chunks of job `seq`, as JavaScript source: the helpers evaluate it (they run
 * without the TypeScript loader) and this thread compiles the same text, so all threads run the same steps.
 * A thread reads the job before claiming a chunk; a successful claim proves those words were still this job's (the
 * next job is only written once every chunk of this one is done, and the claimed chunk was not). Chunk k of a job
 * over `count` items (features or rows) covers [⌊k·count/CHUNKS⌋, ⌊(k+1)·count/CHUNKS⌋).
 */
const STEPS_SOURCE = `
const C = ${JSON.stringify(CONTROL)}, JOB_HISTOGRAM = ${JOB_HISTOGRAM}, FEATURE_BYTES = ${FEATURE_BYTES};

function histogramChunk(x, start, end, hist, list, lo, hi, parent) {
  const { kernels: k, layout: L, d, features } = x;
  if (list) {
    k.histogramList(L.rows, start, end, L.bins, d, L.ordered, hist, lo, hi, L.features);
    if (parent) for (let f = lo; f < hi; f++) k.subtract(parent + features[f] * FEATURE_BYTES, hist + features[f] * FEATURE_BYTES, FEATURE_BYTES);
  } else {
    k.histogramRange(L.rows, start, end, L.bins, d, L.ordered, hist, lo, hi, 0);
    if (parent) k.subtract(parent + lo * FEATURE_BYTES, hist + lo * FEATURE_BYTES, (hi - lo) * FEATURE_BYTES);
  }
}

// Log loss at the margin r for the label y: e = exp(−|r|), p = r ≥ 0 ? 1/(1+e) : e/(1+e), gradient p − y,
// hessian p(1 − p) (stored as float32), loss term (r > 0 ? r + log1p(e) : log1p(e)) − y·r.
function gradientChunk(x, start, end) {
  const { raw, targets, gradients, hessians, loss } = x;
  for (let i = start; i < end; i++) {
    const r = raw[i];
    const e = Math.exp(-Math.abs(r));
    const p = r >= 0 ? 1 / (1 + e) : e / (1 + e);
    const y = targets[i];
    loss[i] = (r > 0 ? r + Math.log1p(e) : Math.log1p(e)) - y * r;
    gradients[i] = p - y;
    hessians[i] = p * (1 - p);
  }
}

function claimChunks(x, seq) {
  const c = x.control;
  for (;;) {
    const ticket = Atomics.load(c, C.TICKET);
    if (ticket >>> 4 !== seq) return;
    const chunk = ticket & 15, chunks = c[C.CHUNKS];
    if (chunk >= chunks) return;
    const kind = c[C.KIND], start = c[C.START], end = c[C.END];
    const hist = c[C.HIST], list = c[C.LIST], count = c[C.COUNT], parent = c[C.PARENT];
    if (Atomics.compareExchange(c, C.TICKET, ticket, ticket + 1) !== ticket) continue;
    try {
      if (kind === JOB_HISTOGRAM) {
        histogramChunk(x, start, end, hist, list, Math.floor((chunk * count) / chunks), Math.floor(((chunk + 1) * count) / chunks), parent);
      } else {
        const n = end - start;
        gradientChunk(x, start + Math.floor((chunk * n) / chunks), start + Math.floor(((chunk + 1) * n) / chunks));
      }
    } catch (error) {
      Atomics.store(c, C.ERROR, 1);
      if (!x.helper) throw error;
    } finally {
      if (Atomics.add(c, C.DONE, 1) + 1 === chunks) Atomics.notify(c, C.DONE);
    }
  }
}
`;

/** This thread's steps (compiled from STEPS_SOURCE once). */
interface Steps {
  claimChunks(x: ChunkContext, seq: number): void;
  histogramChunk(x: ChunkContext, start: number, end: number, hist: number, list: number, lo: number, hi: number, parent: number): void;
  gradientChunk(x: ChunkContext, start: number, end: number): void;
}
let mainSteps: Steps | undefined;
function steps(): Steps {
  return (mainSteps ??= new Function(`${STEPS_SOURCE}\nreturn { claimChunks, histogramChunk, gradientChunk };`)() as Steps);
}

/** A helper thread: waits for a job, claims chunks until none is left, sleeps again; exits on STOP. */
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
${STEPS_SOURCE}
const { module, memory, layout: L, d, n } = workerData;
const b = memory.buffer;
const x = {
  control: new Int32Array(b, L.control, C.WORDS),
  kernels: new WebAssembly.Instance(module, { env: { memory } }).exports,
  layout: L, d, helper: true,
  features: new Int32Array(b, L.features, d),
  raw: new Float64Array(b, L.raw, n), targets: new Float64Array(b, L.targets, n), loss: new Float64Array(b, L.loss, n),
  gradients: new Float32Array(b, L.gradients, n), hessians: new Float32Array(b, L.hessians, n),
};
let seen = 0;
for (;;) {
  Atomics.wait(x.control, C.SEQ, seen);
  seen = Atomics.load(x.control, C.SEQ);
  if (Atomics.load(x.control, C.STOP) !== 0) break;
  claimChunks(x, seen);
}
`;
