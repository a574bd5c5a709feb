/**
 * Binary form of one entity's feature state, for a changelog topic: small (only live buckets), versioned,
 * and tied to the spec's aggregate layout by a fingerprint so state written for another layout is refused
 * rather than misread. Layout (little endian):
 *   "SLF" 0x01 | u32 layout fingerprint | f64 latest event time | u16 series count,
 *   then per series: u16 bucket count, then per bucket 5 × f64 (index, count, sum, min, max).
 */
export interface EncodedEntityState {
  last: number;
  /** Per series, its live buckets flattened as (index, count, sum, min, max). */
  series: ReadonlyArray<ArrayLike<number>>;
}

const MAGIC = [0x53, 0x4c, 0x46]; // "SLF"
const VERSION = 1;
const HEADER = 4 + 4 + 8 + 2;

/** FNV-1a over the group's layout: entity field, buckets per window, and each series' window and field. */
export function layoutFingerprint(entity: string, buckets: number, series: ReadonlyArray<{ windowMs: number; field: string | undefined }>): number {
  const text = `${entity}|${buckets}|${series.map((s) => `${s.windowMs}:${s.field ?? '*'}`).join(',')}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function encodeEntityState(fingerprint: number, state: EncodedEntityState): Uint8Array {
  const size = HEADER + state.series.reduce((n, s) => n + 2 + s.length * 8, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[3] = VERSION;
  view.setUint32(4, fingerprint, true);
  view.setFloat64(8, state.last, true);
  view.setUint16(16, state.series.length, true);
  let at = HEADER;
  for (const flat of state.series) {
    view.setUint16(at, flat.length / 5, true);
    at += 2;
    for (let i = 0; i < flat.length; i++, at += 8) view.setFloat64(at, flat[i], true);
  }
  return bytes;
}

export function decodeEntityState(fingerprint: number, seriesCount: number, bytes: Uint8Array): EncodedEntityState {
  if (bytes.length < HEADER || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2]) {
    throw new RangeError(`not a feature state snapshot (${bytes.length} bytes)`);
  }
  if (bytes[3] !== VERSION) throw new RangeError(`snapshot format version ${bytes[3]}, this build reads version ${VERSION}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const written = view.getUint32(4, true);
  if (written !== fingerprint) {
    throw new RangeError(`snapshot was written for another aggregate layout (fingerprint ${written.toString(16)}, expected ${fingerprint.toString(16)}); the state must be rebuilt from events`);
  }
  const count = view.getUint16(16, true);
  if (count !== seriesCount) throw new RangeError(`snapshot has ${count} series, expected ${seriesCount}`);
  const last = view.getFloat64(8, true);
  const series: number[][] = [];
  let at = HEADER;
  for (let s = 0; s < count; s++) {
    if (at + 2 > bytes.length) throw new RangeError(`snapshot truncated in series ${s}`);
    const n = view.getUint16(at, true);
    at += 2;
    if (at + n * 40 > bytes.length) throw new RangeError(`snapshot truncated in series ${s}: ${n} buckets need ${n * 40} bytes, ${bytes.length - at} remain`);
    const flat = new Array<number>(n * 5);
    for (let i = 0; i < n * 5; i++, at += 8) flat[i] = view.getFloat64(at, true);
    series.push(flat);
  }
  if (at !== bytes.length) throw new RangeError(`snapshot has ${bytes.length - at} trailing bytes`);
  return { last, series };
}
