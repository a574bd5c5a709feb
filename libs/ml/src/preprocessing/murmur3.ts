import { hashString } from '@streamloop/features';

/**
 * Signed 32-bit MurmurHash3 (x86) of the UTF-8 bytes of `text`: scikit-learn's murmurhash3_32(text, seed) with
 * positive=False, the hash its FeatureHasher uses. It is the features service's own hash (which returns the same
 * bits unsigned), so a hashed column computed there and one computed here agree. `>>> 0` gives the unsigned value.
 */
export function murmurhash3_32(text: string, seed = 0): number {
  return hashString(text, seed) | 0;
}
