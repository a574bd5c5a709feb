/**
 * Binary form of one entity's feature state, for a changelog topic: small (only live buckets), versioned,
 * and tied to the spec's aggregate layout by a fingerprint so state written for another layout is refused
 * rather than misread. Layout (little endian), format version 2:
 *   "SLF" 0x02 | u32 layout fingerprint | f64 latest event time | u16 series count,
 *   then per series: u16 entry count, then per entry `numbers` × f64 followed by `bytes` raw bytes,
 *   where the series' shape (numbers, bytes per entry) follows from the layout:
 *     window      (index, count, sum, min, max[, M2]) — 5 or 6 numbers per bucket
 *     hll         (index) + 256 register bytes per bucket
 *     last        (event time, value) — 0 or 1 entry
 *     ewm         (mean, total weight, reference time) — 0 or 1 entry
 * Version 1 (before std, distinct_count, last and ewm_mean) is refused: its state must be rebuilt from events.
 */
export interface EncodedSeries {
  /** `numbers` per entry × entries. */
  numbers: ArrayLike<number>;
  /** `bytes` per entry × entries (series whose shape has no bytes leave it out). */
  bytes?: Uint8Array;
}

export interface EncodedEntityState {
  last: number;
  series: ReadonlyArray<EncodedSeries>;
}

/** Size of one entry of a series. */
export interface SeriesShape {
  numbers: number;
  bytes: number;
}

const MAGIC = [0x53, 0x4c, 0x46]; // "SLF"
export const SNAPSHOT_VERSION = 2;
const HEADER = 4 + 4 + 8 + 2;

/** FNV-1a over the group's layout: entity field, buckets per window, and a text describing each series. */
export function layoutFingerprint(entity: string, buckets: number, series: readonly string[]): number {
  const text = `${entity}|${buckets}|${series.join(',')}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function entriesOf(s: EncodedSeries, shape: SeriesShape, i: number): number {
  const n = s.numbers.length / shape.numbers;
  if (!Number.isInteger(n) || (s.bytes?.length ?? 0) !== n * shape.bytes || n > 0xffff) {
    throw new RangeError(`series ${i}: ${s.numbers.length} numbers and ${s.bytes?.length ?? 0} bytes do not make whole entries of ${shape.numbers} numbers and ${shape.bytes} bytes`);
  }
  return n;
}

export function encodeEntityState(fingerprint: number, shapes: readonly SeriesShape[], state: EncodedEntityState): Uint8Array {
  if (shapes.length !== state.series.length) throw new RangeError(`${state.series.length} series for a layout of ${shapes.length}`);
  const counts = state.series.map((s, i) => entriesOf(s, shapes[i], i));
  const size = HEADER + counts.reduce((n, c, i) => n + 2 + c * (shapes[i].numbers * 8 + shapes[i].bytes), 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[3] = SNAPSHOT_VERSION;
  view.setUint32(4, fingerprint, true);
  view.setFloat64(8, state.last, true);
  view.setUint16(16, state.series.length, true);
  let at = HEADER;
  state.series.forEach((s, i) => {
    const { numbers, bytes: per } = shapes[i];
    view.setUint16(at, counts[i], true);
    at += 2;
    for (let e = 0; e < counts[i]; e++) {
      for (let k = 0; k < numbers; k++, at += 8) view.setFloat64(at, s.numbers[e * numbers + k], true);
      if (per > 0) {
        bytes.set(s.bytes!.subarray(e * per, (e + 1) * per), at);
        at += per;
      }
    }
  });
  return bytes;
}

export function decodeEntityState(fingerprint: number, shapes: readonly SeriesShape[], bytes: Uint8Array): EncodedEntityState {
  if (bytes.length < HEADER || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2]) {
    throw new RangeError(`not a feature state snapshot (${bytes.length} bytes)`);
  }
  if (bytes[3] !== SNAPSHOT_VERSION) {
    throw new RangeError(`snapshot format version ${bytes[3]}, this build reads version ${SNAPSHOT_VERSION} only; the state must be rebuilt from events (e.g. replay the events topic with an empty changelog)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const written = view.getUint32(4, true);
  if (written !== fingerprint) {
    throw new RangeError(`snapshot was written for another aggregate layout (fingerprint ${written.toString(16)}, expected ${fingerprint.toString(16)}); the state must be rebuilt from events`);
  }
  const count = view.getUint16(16, true);
  if (count !== shapes.length) throw new RangeError(`snapshot has ${count} series, expected ${shapes.length}`);
  const last = view.getFloat64(8, true);
  const series: EncodedSeries[] = [];
  let at = HEADER;
  for (let s = 0; s < count; s++) {
    const { numbers: k, bytes: per } = shapes[s];
    if (at + 2 > bytes.length) throw new RangeError(`snapshot truncated in series ${s}`);
    const n = view.getUint16(at, true);
    at += 2;
    const need = n * (k * 8 + per);
    if (at + need > bytes.length) throw new RangeError(`snapshot truncated in series ${s}: ${n} entries need ${need} bytes, ${bytes.length - at} remain`);
    const numbers = new Array<number>(n * k);
    const raw = per > 0 ? new Uint8Array(n * per) : undefined;
    for (let e = 0; e < n; e++) {
      for (let j = 0; j < k; j++, at += 8) numbers[e * k + j] = view.getFloat64(at, true);
      if (raw) {
        raw.set(bytes.subarray(at, at + per), e * per);
        at += per;
      }
    }
    series.push(raw ? { numbers, bytes: raw } : { numbers });
  }
  if (at !== bytes.length) throw new RangeError(`snapshot has ${bytes.length - at} trailing bytes`);
  return { last, series };
}
