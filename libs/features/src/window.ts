/**
 * A sliding event-time window over one entity's values, kept as a ring of fixed-width buckets so memory
 * per entity is bounded whatever the event rate. The window seen at time t covers the buckets whose index
 * lies in (floor(t / width) − buckets, floor(t / width)]: every event at most `windowMs − width` older
 * than the start of t's bucket, and never an event of a later bucket than t's. For an out-of-order event
 * (t older than the entity's newest), buckets that already slid out of the newest window are gone.
 */
export interface WindowStats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

export type WindowSnapshot = { index: number[]; count: number[]; sum: number[]; min: number[]; max: number[]; newest: number };

export class BucketedWindow {
  private readonly index: Float64Array;
  private readonly count: Float64Array;
  private readonly sum: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  /** Highest bucket index ever added; anything at or below newest − buckets is too late to apply. */
  private newest = Number.NEGATIVE_INFINITY;

  constructor(readonly width: number, readonly buckets: number) {
    this.index = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.count = new Float64Array(buckets);
    this.sum = new Float64Array(buckets);
    this.min = new Float64Array(buckets).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  /** Adds a value at event time t; returns false when t is older than the window and was not applied. */
  add(t: number, value: number): boolean {
    const idx = Math.floor(t / this.width);
    if (idx <= this.newest - this.buckets) return false;
    const slot = ((idx % this.buckets) + this.buckets) % this.buckets;
    if (this.index[slot] !== idx) {
      // The slot holds an expired bucket (or nothing): reuse it.
      this.index[slot] = idx;
      this.count[slot] = 0;
      this.sum[slot] = 0;
      this.min[slot] = Number.POSITIVE_INFINITY;
      this.max[slot] = Number.NEGATIVE_INFINITY;
    }
    this.count[slot]++;
    if (!Number.isNaN(value)) {
      this.sum[slot] += value;
      if (value < this.min[slot]) this.min[slot] = value;
      if (value > this.max[slot]) this.max[slot] = value;
    }
    if (idx > this.newest) this.newest = idx;
    return true;
  }

  /** Statistics of the window as seen at event time t (see the class comment for which events count). */
  stats(t: number): WindowStats {
    const current = Math.floor(t / this.width);
    const oldest = Math.max(current, this.newest) - this.buckets;
    let count = 0, sum = 0, min = Number.POSITIVE_INFINITY, max = Number.NEGATIVE_INFINITY;
    for (let s = 0; s < this.buckets; s++) {
      const idx = this.index[s];
      if (idx > current || idx <= oldest) continue;
      count += this.count[s];
      sum += this.sum[s];
      if (this.min[s] < min) min = this.min[s];
      if (this.max[s] > max) max = this.max[s];
    }
    return { count, sum, min: count > 0 ? min : Number.NaN, max: count > 0 ? max : Number.NaN };
  }

  /** The newest event time this window could still matter for (for idle expiry). */
  lastUsefulTime(): number {
    return (this.newest + this.buckets) * this.width;
  }

  snapshot(): WindowSnapshot {
    return { index: [...this.index], count: [...this.count], sum: [...this.sum], min: [...this.min], max: [...this.max], newest: this.newest };
  }

  static restore(width: number, buckets: number, s: WindowSnapshot): BucketedWindow {
    const w = new BucketedWindow(width, buckets);
    w.index.set(s.index);
    w.count.set(s.count);
    w.sum.set(s.sum);
    w.min.set(s.min);
    w.max.set(s.max);
    w.newest = s.newest;
    return w;
  }
}
