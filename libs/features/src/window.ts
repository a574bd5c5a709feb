/**
 * A sliding event-time window over one entity's values, kept as at most `buckets` buckets of width
 * windowMs / buckets, so memory per entity is bounded whatever the event rate, and proportional to the
 * number of non-empty buckets (a quiet entity with two events in a day holds two buckets, not sixty).
 *
 * Bucket k holds the events with k·W/B ≤ t < (k+1)·W/B. Seen at time t (bucket c = bucket(t)), the window
 * holds the buckets k with max(c, n) − B < k ≤ c, where n is the newest bucket the entity has ever had:
 * every earlier event at most W − W/B before the start of t's bucket counts, as do events of t's own bucket,
 * and nothing of a later bucket than t's. Buckets at or below n − B are dropped as soon as the entity
 * moves on (expiry relative to the entity's latest event time); an event that would belong to one of
 * them arrives too late and is not applied.
 */
export interface WindowStats {
  count: number;
  sum: number;
  /** NaN when the window is empty. */
  min: number;
  max: number;
  /**
   * Population variance (M2 / count), for a window created with `{ m2: true }`; NaN without M2, and when fewer
   * than two values are in the window (one value says nothing about spread).
   */
  variance: number;
}

export interface BucketedWindowOptions {
  /**
   * Also keep each bucket's sum of squared deviations from its mean (M2, updated with Welford's method) so that
   * `stats` can give the variance, merging buckets with Chan et al.'s parallel formula: no catastrophic
   * cancellation as with sum of squares minus squared sum. One more number per bucket.
   */
  m2?: boolean;
}

export class BucketedWindow {
  /** Live buckets, ascending by index, `stride` numbers each (one flat array of doubles: no object per bucket). */
  private data: number[] = [];
  /** Numbers per bucket: index, count, sum, min, max, and M2 when kept. */
  readonly stride: number;

  constructor(readonly windowMs: number, readonly buckets: number, options: BucketedWindowOptions = {}) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError(`BucketedWindow: expected a positive window and bucket count, got ${windowMs} ms / ${buckets}`);
    }
    this.stride = options.m2 ? 6 : 5;
  }

  get hasM2(): boolean {
    return this.stride === 6;
  }

  /** Bucket index of event time t. Integer arithmetic first, so edges do not depend on rounding W/B. */
  bucketOf(t: number): number {
    return Math.floor((t * this.buckets) / this.windowMs);
  }

  /** Highest bucket index ever applied (−Infinity when empty): the entity's "now" for expiry. */
  get newest(): number {
    return this.data.length > 0 ? this.data[this.data.length - this.stride] : Number.NEGATIVE_INFINITY;
  }

  /** Number of live buckets (memory use). */
  get size(): number {
    return this.data.length / this.stride;
  }

  /** Adds a value at event time t; false (and no change) when t's bucket already slid out of the window. */
  add(t: number, value: number): boolean {
    const idx = this.bucketOf(t);
    const newest = this.newest;
    if (idx <= newest - this.buckets) return false;
    const d = this.data;
    const stride = this.stride;
    const m2 = stride === 6;
    if (idx > newest) {
      // Time moves on for this entity: drop what fell out of its window, then append the new bucket.
      let drop = 0;
      while (drop < d.length && d[drop] <= idx - this.buckets) drop += stride;
      if (drop > 0) d.splice(0, drop);
      if (m2) d.push(idx, 1, value, value, value, 0);
      else d.push(idx, 1, value, value, value);
      return true;
    }
    // Out of order (or the newest bucket again): find the bucket from the end, where it usually is.
    let i = d.length - stride;
    while (i >= 0 && d[i] > idx) i -= stride;
    if (i >= 0 && d[i] === idx) {
      const n = d[i + 1] + 1;
      if (m2) {
        // Welford: M2 += (x − old mean)(x − new mean).
        const oldMean = d[i + 2] / d[i + 1];
        const newMean = (d[i + 2] + value) / n;
        d[i + 5] += (value - oldMean) * (value - newMean);
      }
      d[i + 1] = n;
      d[i + 2] += value;
      if (value < d[i + 3]) d[i + 3] = value;
      if (value > d[i + 4]) d[i + 4] = value;
    } else if (m2) {
      d.splice(i + stride, 0, idx, 1, value, value, value, 0);
    } else {
      d.splice(i + stride, 0, idx, 1, value, value, value);
    }
    return true;
  }

  /** Statistics of the window as seen at event time t (see the class comment for which events count). */
  stats(t: number): WindowStats {
    const current = this.bucketOf(t);
    const oldest = Math.max(current, this.newest) - this.buckets;
    const d = this.data;
    const stride = this.stride;
    const m2 = stride === 6;
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    // Running mean and M2 of the buckets merged so far (Chan et al.).
    let mean = 0;
    let sq = 0;
    for (let i = 0; i < d.length; i += stride) {
      const idx = d[i];
      if (idx <= oldest) continue;
      if (idx > current) break;
      const n = d[i + 1];
      if (m2) {
        const bMean = d[i + 2] / n;
        const total = count + n;
        const delta = bMean - mean;
        sq += d[i + 5] + (delta * delta * count * n) / total;
        mean += (delta * n) / total;
      }
      count += n;
      sum += d[i + 2];
      if (d[i + 3] < min) min = d[i + 3];
      if (d[i + 4] > max) max = d[i + 4];
    }
    if (count === 0) return { count: 0, sum: 0, min: Number.NaN, max: Number.NaN, variance: Number.NaN };
    const variance = m2 && count >= 2 ? Math.max(0, sq / count) : Number.NaN;
    return { count, sum, min, max, variance };
  }

  /** The live buckets as tuples of `stride` numbers (index, count, sum, min, max[, M2]), flattened (for snapshots). */
  toFlat(): readonly number[] {
    return this.data;
  }

  /** Rebuilds a window from `toFlat()` output; throws when the data cannot have come from a window of this shape. */
  static fromFlat(windowMs: number, buckets: number, flat: ArrayLike<number>, options: BucketedWindowOptions = {}): BucketedWindow {
    const w = new BucketedWindow(windowMs, buckets, options);
    const stride = w.stride;
    if (flat.length % stride !== 0) throw new RangeError(`BucketedWindow: ${flat.length} numbers is not a whole number of buckets`);
    const data = Array.from(flat);
    for (let i = 0; i < data.length; i += stride) {
      const ok = Number.isInteger(data[i]) && (i === 0 || data[i] > data[i - stride]) && data[i + 1] >= 1 && data[i + 3] <= data[i + 4] && (stride === 5 || data[i + 5] >= 0);
      if (!ok) throw new RangeError(`BucketedWindow: bucket ${i / stride} is not valid (index ${data[i]}, count ${data[i + 1]})`);
    }
    if (data.length > 0 && data[data.length - stride] - data[0] >= buckets) {
      throw new RangeError(`BucketedWindow: buckets ${data[0]}..${data[data.length - stride]} span more than ${buckets} buckets`);
    }
    w.data = data;
    return w;
  }
}
