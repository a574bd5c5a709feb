/**
 * Distinct counts by HyperLogLog (Flajolet et al. 2007), kept per time bucket so they can slide: the registers of
 * the buckets inside a window are merged by taking the maximum of each register, which is exactly the sketch of
 * the union of their values.
 *
 * Precision p = 8: 2^8 = 256 one-byte registers per live bucket (256 bytes; at most 60 buckets, 15 KiB, per
 * entity and distinct_count series), relative standard error ≈ 1.04 / √256 ≈ 6.5 %. Small cardinalities
 * (estimate ≤ 2.5·m with an empty register) use linear counting, which is nearly exact for a handful of values.
 */
export const HLL_PRECISION = 8;
export const HLL_REGISTERS = 1 << HLL_PRECISION;

/** MurmurHash3 x86 32-bit of bytes[0..length), as in Austin Appleby's reference implementation. */
export function murmur3(bytes: Uint8Array, length = bytes.length, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2] << 16;
    if (tail >= 2) k ^= bytes[blocks + 1] << 8;
    k ^= bytes[blocks];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** murmur3 of the UTF-8 bytes of a string (one reused buffer: no allocation per value). */
export function hashString(text: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return murmur3(scratch, written, seed);
}

/** Register index and rank (position of the first 1 bit after the index bits, 1-based) of a 32-bit hash. */
export function addHash(registers: Uint8Array, hash: number): void {
  const index = hash >>> (32 - HLL_PRECISION);
  const rest = (hash << HLL_PRECISION) >>> 0;
  const rank = rest === 0 ? 32 - HLL_PRECISION + 1 : Math.clz32(rest) + 1;
  if (rank > registers[index]) registers[index] = rank;
}

const ALPHA = 0.7213 / (1 + 1.079 / HLL_REGISTERS);

/** Estimated number of distinct values behind the registers, rounded to a whole number. */
export function hllEstimate(registers: Uint8Array): number {
  const m = registers.length;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    sum += 2 ** -registers[i];
    if (registers[i] === 0) zeros++;
  }
  if (zeros === m) return 0;
  const raw = (ALPHA * m * m) / sum;
  // Small range: linear counting is far more precise while some registers are still empty.
  const estimate = raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw;
  return Math.round(estimate);
}

/**
 * A sliding event-time window of HyperLogLog sketches, bucketed exactly like BucketedWindow (same bucket
 * edges, same expiry relative to the entity's newest bucket, same refusal of late values), so a
 * distinct_count covers the same events as a count over the same window.
 */
export class HllWindow {
  /** Live bucket indices, ascending, and each bucket's registers. */
  private indices: number[] = [];
  private registers: Uint8Array[] = [];

  constructor(readonly windowMs: number, readonly buckets: number) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError(`HllWindow: expected a positive window and bucket count, got ${windowMs} ms / ${buckets}`);
    }
  }

  bucketOf(t: number): number {
    return Math.floor((t * this.buckets) / this.windowMs);
  }

  get newest(): number {
    return this.indices.length > 0 ? this.indices[this.indices.length - 1] : Number.NEGATIVE_INFINITY;
  }

  get size(): number {
    return this.indices.length;
  }

  /** Adds a value's hash at event time t; false (and no change) when t's bucket already slid out of the window. */
  add(t: number, hash: number): boolean {
    const idx = this.bucketOf(t);
    const newest = this.newest;
    if (idx <= newest - this.buckets) return false;
    let at: number;
    if (idx > newest) {
      let drop = 0;
      while (drop < this.indices.length && this.indices[drop] <= idx - this.buckets) drop++;
      if (drop > 0) {
        this.indices.splice(0, drop);
        this.registers.splice(0, drop);
      }
      at = this.indices.push(idx) - 1;
      this.registers.push(new Uint8Array(HLL_REGISTERS));
    } else {
      at = this.indices.length - 1;
      while (at >= 0 && this.indices[at] > idx) at--;
      if (at < 0 || this.indices[at] !== idx) {
        at++;
        this.indices.splice(at, 0, idx);
        this.registers.splice(at, 0, new Uint8Array(HLL_REGISTERS));
      }
    }
    addHash(this.registers[at], hash);
    return true;
  }

  /** Estimated distinct values in the window as seen at event time t (the buckets BucketedWindow.stats would read). */
  estimate(t: number): number {
    const current = this.bucketOf(t);
    const oldest = Math.max(current, this.newest) - this.buckets;
    const merged = new Uint8Array(HLL_REGISTERS);
    let any = false;
    for (let b = 0; b < this.indices.length; b++) {
      const idx = this.indices[b];
      if (idx <= oldest) continue;
      if (idx > current) break;
      any = true;
      const r = this.registers[b];
      for (let i = 0; i < HLL_REGISTERS; i++) if (r[i] > merged[i]) merged[i] = r[i];
    }
    return any ? hllEstimate(merged) : 0;
  }

  /** Live buckets: their indices and their registers concatenated (for snapshots). */
  toFlat(): { indices: number[]; registers: Uint8Array } {
    const registers = new Uint8Array(this.indices.length * HLL_REGISTERS);
    this.registers.forEach((r, i) => registers.set(r, i * HLL_REGISTERS));
    return { indices: [...this.indices], registers };
  }

  /** Rebuilds a window from `toFlat()` output; throws when it cannot have come from a window of this shape. */
  static fromFlat(windowMs: number, buckets: number, indices: ArrayLike<number>, registers: Uint8Array): HllWindow {
    const w = new HllWindow(windowMs, buckets);
    if (registers.length !== indices.length * HLL_REGISTERS) {
      throw new RangeError(`HllWindow: ${indices.length} buckets need ${indices.length * HLL_REGISTERS} register bytes, got ${registers.length}`);
    }
    const maxRank = 32 - HLL_PRECISION + 1;
    for (let b = 0; b < indices.length; b++) {
      if (!Number.isInteger(indices[b]) || (b > 0 && indices[b] <= indices[b - 1])) throw new RangeError(`HllWindow: bucket ${b} has index ${indices[b]}, not an integer above the previous one`);
      const r = registers.slice(b * HLL_REGISTERS, (b + 1) * HLL_REGISTERS);
      if (r.some((x) => x > maxRank)) throw new RangeError(`HllWindow: bucket ${b} has a register above ${maxRank}`);
      w.indices.push(indices[b]);
      w.registers.push(r);
    }
    if (indices.length > 0 && indices[indices.length - 1] - indices[0] >= buckets) {
      throw new RangeError(`HllWindow: buckets ${indices[0]}..${indices[indices.length - 1]} span more than ${buckets} buckets`);
    }
    return w;
  }
}
