/**
 * Small deterministic PRNGs for reproducible data generation, shuffles and tests (not for cryptography):
 * the same seed gives the same sequence on every machine.
 */

/** mulberry32: a 32-bit state generator, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform [0, 1) generator from a finite seed (mulberry32 of its integer part). */
export function seededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new Error(`seededRandom: seed must be a finite number, got ${seed}`);
  return mulberry32(Math.trunc(seed));
}

/** Standard normal draws (Box–Muller) from a uniform generator; the spare value is kept for the next call. */
export function gaussian(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform(); // log(0) would be -Infinity
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** Fisher–Yates shuffle of the indices 0..n-1 (a new array). */
export function shuffledIndices(n: number, uniform: () => number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}
