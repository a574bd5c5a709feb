/**
 * Streaming change detectors ported from River 0.26.1 (river.drift.ADWIN — its Rust core rust_src/adwin.rs —,
 * river.drift.PageHinkley, river.drift.binary.DDM), with the same parameters, defaults and semantics: call
 * update(x) per event, then read driftDetected. As in River, a detector that signalled drift resets itself
 * at the next update, so indices of detections match River's.
 *
 * One addition of ours, `warmUp` (default 0, River's behaviour): no detection on the first warmUp values after the
 * detector starts or resets. River's own gates (ADWIN grace_period, Page-Hinkley min_instances, DDM warm_start)
 * are small (10–30 values), and on so few values the estimates are noisy enough to fire before any change. warmUp
 * raises each gate to at least its value: a detector with warmUp N behaves as River's with that gate raised to N.
 */

/** The number of first values (after a start or reset) a detector may not fire on: an integer ≥ 0. */
function checkWarmUp(warmUp: number, who: string): number {
  if (!(Number.isInteger(warmUp) && warmUp >= 0)) throw new RangeError(`${who}: warmUp must be an integer ≥ 0, got ${warmUp}`);
  return warmUp;
}

export interface ChangeDetector {
  update(x: number): void;
  readonly driftDetected: boolean;
}

function checkFinite(x: number, who: string): void {
  if (!Number.isFinite(x)) throw new RangeError(`${who}.update: x must be a finite number, got ${x}`);
}

/** River's stats.Mean: incremental mean, n counted as a float. */
class RunningMean {
  n = 0;
  mean = 0;
  update(x: number): void {
    this.n += 1;
    this.mean += (1 / this.n) * (x - this.mean);
  }
}

export interface AdwinOptions {
  /** Significance δ of the cut test. Default 0.002. */
  delta?: number;
  /** Check for a cut every `clock` updates. Default 32. */
  clock?: number;
  /** Buckets of each size kept before two are merged (ADWIN2 compression). Default 5. */
  maxBuckets?: number;
  /** Smallest sub-window length considered for a cut. Default 5. */
  minWindowLength?: number;
  /** No detection before the window holds more than this many values. Default 10. */
  gracePeriod?: number;
  /** No detection on the first warmUp values after a start or reset (raises gracePeriod to it). Default 0. */
  warmUp?: number;
}

/** One row of ADWIN's exponential histogram: up to maxBuckets + 1 buckets of size 2^level (totals, variances). */
class BucketRow {
  count = 0;
  readonly totals: Float64Array;
  readonly variances: Float64Array;
  constructor(maxBuckets: number) {
    this.totals = new Float64Array(maxBuckets + 1);
    this.variances = new Float64Array(maxBuckets + 1);
  }
  insert(total: number, variance: number): void {
    this.totals[this.count] = total;
    this.variances[this.count] = variance;
    this.count++;
  }
  /** Drop the `k` oldest buckets (front of the row). */
  drop(k: number): void {
    this.totals.copyWithin(0, k, this.count);
    this.variances.copyWithin(0, k, this.count);
    this.totals.fill(0, this.count - k, this.count);
    this.variances.fill(0, this.count - k, this.count);
    this.count -= k;
  }
}

/** ADWIN (Bifet & Gavaldà 2007): adaptive window cut when two sub-window means differ by more than ε_cut. */
export class ADWIN implements ChangeDetector {
  readonly delta: number;
  readonly clock: number;
  readonly maxBuckets: number;
  readonly minWindowLength: number;
  readonly gracePeriod: number;
  private rows: BucketRow[] = [];
  private total = 0;
  private variance = 0;
  private widthValue = 0;
  private tick = 0;
  private detected = false;
  /** Detections since construction (River counts per helper, which resets after each drift; this does not). */
  nDetections = 0;

  constructor(opts: AdwinOptions = {}) {
    this.delta = opts.delta ?? 0.002;
    this.clock = opts.clock ?? 32;
    this.maxBuckets = opts.maxBuckets ?? 5;
    this.minWindowLength = opts.minWindowLength ?? 5;
    this.gracePeriod = opts.gracePeriod ?? 10;
    if (!(this.delta > 0 && this.delta < 1)) throw new RangeError(`ADWIN: delta must be in (0, 1), got ${this.delta}`);
    for (const [k, v] of [['clock', this.clock], ['maxBuckets', this.maxBuckets]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`ADWIN: ${k} must be an integer ≥ 1, got ${v}`);
    }
    for (const [k, v] of [['minWindowLength', this.minWindowLength], ['gracePeriod', this.gracePeriod]] as const) {
      if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`ADWIN: ${k} must be an integer ≥ 0, got ${v}`);
    }
    // The window holds every value since the last reset (a cut is a detection), so a grace period is a warm-up.
    this.gracePeriod = Math.max(this.gracePeriod, checkWarmUp(opts.warmUp ?? 0, 'ADWIN'));
    this.reset();
  }

  get driftDetected(): boolean {
    return this.detected;
  }
  /** Current window length. */
  get width(): number {
    return this.widthValue;
  }
  /** Mean of the current window (0 when empty). */
  get estimation(): number {
    return this.widthValue === 0 ? 0 : this.total / this.widthValue;
  }

  private reset(): void {
    this.rows = [new BucketRow(this.maxBuckets)];
    this.total = 0;
    this.variance = 0;
    this.widthValue = 0;
    this.tick = 0;
    this.detected = false;
  }

  update(x: number): void {
    checkFinite(x, 'ADWIN');
    if (this.detected) this.reset();
    this.insert(x);
    this.detected = this.detectChange();
    if (this.detected) this.nDetections++;
  }

  private insert(x: number): void {
    this.rows[0].insert(x, 0);
    this.widthValue += 1;
    let inc = 0;
    if (this.widthValue > 1) {
      const d = x - this.total / (this.widthValue - 1);
      inc = ((this.widthValue - 1) * d * d) / this.widthValue;
    }
    this.variance += inc;
    this.total += x;
    this.compress();
  }

  private compress(): void {
    for (let idx = 0; ; idx++) {
      const row = this.rows[idx];
      if (row.count !== this.maxBuckets + 1) break;
      const n1 = 2 ** idx;
      const mu1 = row.totals[0] / n1;
      const mu2 = row.totals[1] / n1;
      const total12 = row.totals[0] + row.totals[1];
      const v12 = row.variances[0] + row.variances[1] + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2);
      if (idx + 1 >= this.rows.length) this.rows.push(new BucketRow(this.maxBuckets));
      this.rows[idx + 1].insert(total12, v12);
      row.drop(2);
      if (this.rows[idx + 1].count <= this.maxBuckets) break;
    }
  }

  /** Remove the oldest bucket (from the last row), updating total and variance. */
  private deleteOldest(): void {
    const last = this.rows.length - 1;
    const n = 2 ** last;
    const row = this.rows[last];
    const u = row.totals[0];
    const v = row.variances[0];
    const mu = u / n;
    this.widthValue -= n;
    this.total -= u;
    const muWindow = this.total / this.widthValue;
    this.variance -= v + (n * this.widthValue * (mu - muWindow) * (mu - muWindow)) / (n + this.widthValue);
    row.drop(1);
    if (row.count === 0) this.rows.pop();
  }

  private cut(n0: number, n1: number, deltaMean: number): boolean {
    const deltaPrime = Math.log((2 * Math.log(this.widthValue)) / this.delta);
    const mRecip = 1 / (n0 - this.minWindowLength + 1) + 1 / (n1 - this.minWindowLength + 1);
    const epsilon = Math.sqrt(2 * mRecip * (this.variance / this.widthValue) * deltaPrime) + (2 / 3) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }

  private detectChange(): boolean {
    let change = false;
    this.tick++;
    if (this.tick % this.clock !== 0 || !(this.widthValue > this.gracePeriod)) return false;
    let reduce = true;
    while (reduce) {
      reduce = false;
      let n0 = 0, n1 = this.widthValue, u0 = 0, u1 = this.total;
      // Scan from the oldest (largest) buckets to the newest; the split point moves forward in time.
      scan: for (let idx = this.rows.length - 1; idx >= 0; idx--) {
        const size = 2 ** idx;
        const row = this.rows[idx];
        for (let k = 0; k < row.count; k++) {
          n0 += size;
          n1 -= size;
          u0 += row.totals[k];
          u1 -= row.totals[k];
          if (idx === 0 && k === row.count - 1) break scan;
          if (n1 >= this.minWindowLength && n0 >= this.minWindowLength && this.cut(n0, n1, u0 / n0 - u1 / n1)) {
            reduce = true;
            change = true;
            if (this.widthValue > 0) {
              this.deleteOldest();
              break scan;
            }
          }
        }
      }
    }
    return change;
  }
}

export interface PageHinkleyOptions {
  /** Updates before detection starts. Default 30. */
  minInstances?: number;
  /** Magnitude of changes tolerated. Default 0.005. */
  delta?: number;
  /** λ: drift when the cumulative deviation exceeds it. Default 50. */
  threshold?: number;
  /** Forgetting factor of the cumulative sums. Default 1 − 0.0001. */
  alpha?: number;
  /** 'up' (increases only), 'down' or 'both' (default). */
  mode?: 'up' | 'down' | 'both';
  /** No detection on the first warmUp values after a start or reset (raises minInstances to warmUp + 1). Default 0. */
  warmUp?: number;
}

/** Page-Hinkley test (River's variant: two cumulative sums with forgetting factor alpha). */
export class PageHinkley implements ChangeDetector {
  readonly minInstances: number;
  readonly delta: number;
  readonly threshold: number;
  readonly alpha: number;
  readonly mode: 'up' | 'down' | 'both';
  private mean = new RunningMean();
  private sumIncrease = 0;
  private sumDecrease = 0;
  private minIncrease = Infinity;
  private maxDecrease = -1;
  private detected = false;

  constructor(opts: PageHinkleyOptions = {}) {
    this.minInstances = opts.minInstances ?? 30;
    this.delta = opts.delta ?? 0.005;
    this.threshold = opts.threshold ?? 50;
    this.alpha = opts.alpha ?? 1 - 0.0001;
    this.mode = opts.mode ?? 'both';
    if (!['up', 'down', 'both'].includes(this.mode)) throw new RangeError(`PageHinkley: mode must be 'up', 'down' or 'both', got ${String(this.mode)}`);
    if (!(Number.isInteger(this.minInstances) && this.minInstances >= 0)) throw new RangeError(`PageHinkley: minInstances must be an integer ≥ 0, got ${this.minInstances}`);
    // River fires from the min_instances-th value on: the first warmUp values are quiet with warmUp + 1.
    this.minInstances = Math.max(this.minInstances, checkWarmUp(opts.warmUp ?? 0, 'PageHinkley') + 1);
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`PageHinkley: alpha must be in (0, 1], got ${this.alpha}`);
  }

  get driftDetected(): boolean {
    return this.detected;
  }

  private reset(): void {
    this.mean = new RunningMean();
    this.sumIncrease = 0;
    this.sumDecrease = 0;
    this.minIncrease = Infinity;
    // River starts the running maximum at -1 (not -∞); kept for identical detections.
    this.maxDecrease = -1;
    this.detected = false;
  }

  update(x: number): void {
    checkFinite(x, 'PageHinkley');
    if (this.detected) this.reset();
    this.mean.update(x);
    const dev = x - this.mean.mean;
    this.sumIncrease = this.alpha * this.sumIncrease + dev - this.delta;
    this.sumDecrease = this.alpha * this.sumDecrease + dev + this.delta;
    if (this.sumIncrease < this.minIncrease) this.minIncrease = this.sumIncrease;
    if (this.sumDecrease > this.maxDecrease) this.maxDecrease = this.sumDecrease;
    if (this.mean.n >= this.minInstances) {
      const up = this.sumIncrease - this.minIncrease > this.threshold;
      const down = this.maxDecrease - this.sumDecrease > this.threshold;
      this.detected = this.mode === 'up' ? up : this.mode === 'down' ? down : up || down;
    }
  }
}

export interface DdmOptions {
  /** Updates before detection starts. Default 30. */
  warmStart?: number;
  /** Warning when p + s > p_min + warningThreshold·s_min. Default 2. */
  warningThreshold?: number;
  /** Drift when p + s > p_min + driftThreshold·s_min. Default 3. */
  driftThreshold?: number;
  /**
   * No detection on the first warmUp values after a start or reset (raises warmStart to it, so p_min and s_min too
   * are taken from settled estimates only). Default 0.
   */
  warmUp?: number;
}

/** Drift Detection Method (Gama et al. 2004) on a 0/1 error stream (1 = error). */
export class DDM implements ChangeDetector {
  readonly warmStart: number;
  readonly warningThreshold: number;
  readonly driftThreshold: number;
  private p = new RunningMean();
  private pMin = Number.NaN;
  private sMin = Number.NaN;
  private psMin = Infinity;
  private detected = false;
  private warning = false;

  constructor(opts: DdmOptions = {}) {
    this.warmStart = opts.warmStart ?? 30;
    this.warningThreshold = opts.warningThreshold ?? 2;
    this.driftThreshold = opts.driftThreshold ?? 3;
    if (!(Number.isInteger(this.warmStart) && this.warmStart >= 0)) throw new RangeError(`DDM: warmStart must be an integer ≥ 0, got ${this.warmStart}`);
    this.warmStart = Math.max(this.warmStart, checkWarmUp(opts.warmUp ?? 0, 'DDM'));
  }

  get driftDetected(): boolean {
    return this.detected;
  }
  get warningDetected(): boolean {
    return this.warning;
  }

  private reset(): void {
    this.p = new RunningMean();
    this.pMin = Number.NaN;
    this.sMin = Number.NaN;
    this.psMin = Infinity;
    this.detected = false;
    this.warning = false;
  }

  /** x: 1 (or true) for an error, 0 for a correct prediction. */
  update(x: number | boolean): void {
    const v = typeof x === 'boolean' ? (x ? 1 : 0) : x;
    checkFinite(v, 'DDM');
    if (this.detected) this.reset();
    this.p.update(v);
    const pi = this.p.mean;
    const n = this.p.n;
    const si = Math.sqrt((pi * (1 - pi)) / n);
    if (n > this.warmStart) {
      if (pi + si <= this.psMin) {
        this.pMin = pi;
        this.sMin = si;
        this.psMin = this.pMin + this.sMin;
      }
      this.warning = pi + si > this.pMin + this.warningThreshold * this.sMin;
      if (pi + si > this.pMin + this.driftThreshold * this.sMin) {
        this.detected = true;
        this.warning = false;
      }
    }
  }
}
