/**
 * MurmurHash3 x86 32-bit (Austin Appleby) of a string's UTF-8 bytes, the hash scikit-learn's FeatureHasher and
 * sklearn.utils.murmurhash3_32 use. The same bits as @streamloop/features' hashString (which returns them unsigned),
 * so a hashed feature computed by the features service and one computed here agree.
 */

const utf8 = new TextEncoder();
let scratch = new Uint8Array(256);

/** Signed 32-bit MurmurHash3 of the UTF-8 bytes of `text` (sklearn's murmurhash3_32(text, seed), positive=False). Use `>>> 0` for the unsigned value. */
export function murmurhash3_32(text: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const { written } = utf8.encodeInto(text, scratch);
  return murmur3Bytes(scratch, written, seed);
}

/** Signed 32-bit MurmurHash3 x86 of bytes[0..length). */
export function murmur3Bytes(bytes: Uint8Array, length: number, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const mixK = (k: number) => Math.imul(rotl(Math.imul(k, c1), 15), c2);
  let h = seed | 0;
  const end = length & ~3;
  for (let i = 0; i < end; i += 4) {
    h ^= mixK(bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let tail = bytes[end];
    if (rest >= 2) tail |= bytes[end + 1] << 8;
    if (rest === 3) tail |= bytes[end + 2] << 16;
    h ^= mixK(tail);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}
