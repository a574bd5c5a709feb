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
}

/** Numbers per bucket in `data`: index, count, sum, min, max. */
const STRIDE = 5;

export class BucketedWindow {
  /** Live buckets, ascending by index, STRIDE numbers each (one flat array of doubles: no object per bucket). */
  private data: number[] = [];

  constructor(readonly windowMs: number, readonly buckets: number) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError(`BucketedWindow: expected a positive window and bucket count, got ${windowMs} ms / ${buckets}`);
    }
  }

  /** Bucket index of event time t. Integer arithmetic first, so edges do not depend on rounding W/B. */
  bucketOf(t: number): number {
    return Math.floor((t * this.buckets) / this.windowMs);
  }

  /** Highest bucket index ever applied (−Infinity when empty): the entity's "now" for expiry. */
  get newest(): number {
    return this.data.length > 0 ? this.data[this.data.length - STRIDE] : Number.NEGATIVE_INFINITY;
  }

  /** Number of live buckets (memory use). */
  get size(): number {
    return this.data.length / STRIDE;
  }

  /** Adds a value at event time t; false (and no change) when t's bucket already slid out of the window. */
  add(t: number, value: number): boolean {
    const idx = this.bucketOf(t);
    const newest = this.newest;
    if (idx <= newest - this.buckets) return false;
    const d = this.data;
    if (idx > newest) {
      // Time moves on for this entity: drop what fell out of its window, then append the new bucket.
      let drop = 0;
      while (drop < d.length && d[drop] <= idx - this.buckets) drop += STRIDE;
      if (drop > 0) d.splice(0, drop);
      d.push(idx, 1, value, value, value);
      return true;
    }
    // Out of order (or the newest bucket again): find the bucket from the end, where it usually is.
    let i = d.length - STRIDE;
    while (i >= 0 && d[i] > idx) i -= STRIDE;
    if (i >= 0 && d[i] === idx) {
      d[i + 1] += 1;
      d[i + 2] += value;
      if (value < d[i + 3]) d[i + 3] = value;
      if (value > d[i + 4]) d[i + 4] = value;
    } else {
      d.splice(i + STRIDE, 0, idx, 1, value, value, value);
    }
    return true;
  }

  /** Statistics of the window as seen at event time t (see the class comment for which events count). */
  stats(t: number): WindowStats {
    const current = this.bucketOf(t);
    const oldest = Math.max(current, this.newest) - this.buckets;
    const d = this.data;
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < d.length; i += STRIDE) {
      const idx = d[i];
      if (idx <= oldest) continue;
      if (idx > current) break;
      count += d[i + 1];
      sum += d[i + 2];
      if (d[i + 3] < min) min = d[i + 3];
      if (d[i + 4] > max) max = d[i + 4];
    }
    return count > 0 ? { count, sum, min, max } : { count: 0, sum: 0, min: Number.NaN, max: Number.NaN };
  }

  /** The live buckets as [index, count, sum, min, max] tuples, flattened (for snapshots). */
  buckets5(): readonly number[] {
    return this.data;
  }

  /** Rebuilds a window from `buckets5()` output; throws when the data cannot have come from a window of this shape. */
  static fromBuckets(windowMs: number, buckets: number, flat: ArrayLike<number>): BucketedWindow {
    const w = new BucketedWindow(windowMs, buckets);
    if (flat.length % STRIDE !== 0) throw new RangeError(`BucketedWindow: ${flat.length} numbers is not a whole number of buckets`);
    const data = Array.from(flat);
    for (let i = 0; i < data.length; i += STRIDE) {
      const ok = Number.isInteger(data[i]) && (i === 0 || data[i] > data[i - STRIDE]) && data[i + 1] >= 1 && data[i + 3] <= data[i + 4];
      if (!ok) throw new RangeError(`BucketedWindow: bucket ${i / STRIDE} is not valid (index ${data[i]}, count ${data[i + 1]})`);
    }
    if (data.length > 0 && data[data.length - STRIDE] - data[0] >= buckets) {
      throw new RangeError(`BucketedWindow: buckets ${data[0]}..${data[data.length - STRIDE]} span more than ${buckets} buckets`);
    }
    w.data = data;
    return w;
  }
}
