import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HLL_PRECISION, HLL_REGISTERS, HllWindow, addHash, hashString, hllEstimate, murmur3 } from './hll';
import { BucketedWindow } from './window';

const bytes = (s: string) => new TextEncoder().encode(s);

test('murmur3 x86_32 matches the reference test vectors', () => {
  assert.equal(murmur3(bytes(''), undefined, 0), 0);
  assert.equal(murmur3(bytes(''), undefined, 1), 0x514e28b7);
  assert.equal(murmur3(bytes(''), undefined, 0xffffffff), 0x81f16f39);
  assert.equal(murmur3(new Uint8Array([0, 0, 0, 0]), undefined, 0), 0x2362f9de);
  assert.equal(murmur3(bytes('hello'), undefined, 0), 0x248bfa47);
  assert.equal(murmur3(bytes('The quick brown fox jumps over the lazy dog'), undefined, 0), 0x2e4ff723);
  // Tail lengths 1, 2, 3 and a whole block, with a seed.
  assert.equal(murmur3(bytes('a'), undefined, 0x9747b28c), 0x7fa09ea6);
  assert.equal(murmur3(bytes('aa'), undefined, 0x9747b28c), 0x5d211726);
  assert.equal(murmur3(bytes('aaa'), undefined, 0x9747b28c), 0x283e0130);
  assert.equal(murmur3(bytes('aaaa'), undefined, 0x9747b28c), 0x5a97808a);
  assert.equal(murmur3(bytes('Hello, world!'), undefined, 0x9747b28c), 0x24884cba);
  // hashString hashes UTF-8, whatever the string's length (the scratch buffer grows).
  assert.equal(hashString('ππππππππ', 0x9747b28c), murmur3(bytes('ππππππππ'), undefined, 0x9747b28c));
  const long = 'x€'.repeat(500);
  assert.equal(hashString(long), murmur3(bytes(long)));
  assert.equal(hashString('hello'), 0x248bfa47);
});

function sketch(values: Iterable<string>): Uint8Array {
  const r = new Uint8Array(HLL_REGISTERS);
  for (const v of values) addHash(r, hashString(v));
  return r;
}
const range = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('HyperLogLog: zero for nothing, (nearly) exact for tiny counts via linear counting', () => {
  assert.equal(HLL_REGISTERS, 2 ** HLL_PRECISION);
  assert.equal(hllEstimate(new Uint8Array(HLL_REGISTERS)), 0);
  assert.equal(hllEstimate(sketch(['only'])), 1);
  for (let n = 1; n <= 40; n++) {
    const est = hllEstimate(sketch(range(n, 'card-')));
    assert.ok(Math.abs(est - n) <= Math.max(1, 0.05 * n), `n=${n}: estimate ${est}`);
  }
  // Repeats do not count twice.
  assert.equal(hllEstimate(sketch([...range(20, 'm'), ...range(20, 'm'), ...range(20, 'm')])), hllEstimate(sketch(range(20, 'm'))));
});

/** Standard deviation of linear counting's estimate of n values in m registers (Whang et al. 1990). */
const lcSigma = (n: number) => Math.sqrt(HLL_REGISTERS * (Math.exp(n / HLL_REGISTERS) - n / HLL_REGISTERS - 1));

test('HyperLogLog, small range: over 1800 random sets of 1 to 60 values the error stays within 2 + 4 σ of linear counting, 1.5 on average', () => {
  let abs = 0;
  for (let trial = 0; trial < 1800; trial++) {
    const n = 1 + (trial % 60);
    const est = hllEstimate(sketch(range(n, `s${trial}-`)));
    assert.ok(Math.abs(est - n) <= 2 + 4 * lcSigma(n), `set ${trial}: ${n} values, estimate ${est}`);
    abs += Math.abs(est - n);
  }
  assert.ok(abs / 1800 < 1.5, `mean absolute error ${abs / 1800}`);
});

test('HyperLogLog: 1000 to 10000 distinct values within 3 standard errors (1.04/√256 ≈ 6.5%)', () => {
  const se = 1.04 / Math.sqrt(HLL_REGISTERS);
  const errors: number[] = [];
  for (const n of [1000, 2000, 5000, 10000]) {
    for (const prefix of ['u', 'merchant-', 'dev:']) {
      const est = hllEstimate(sketch(range(n, prefix)));
      const rel = (est - n) / n;
      errors.push(rel);
      assert.ok(Math.abs(rel) < 3 * se, `n=${n} prefix ${prefix}: estimate ${est}, error ${(rel * 100).toFixed(1)}%`);
    }
  }
  const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
  assert.ok(rms < 1.5 * se, `rms error ${(rms * 100).toFixed(1)}% is near the expected ${(se * 100).toFixed(1)}%`);
  // Merging by register-wise max is the sketch of the union.
  const a = sketch(range(3000, 'x'));
  const b = sketch(range(3000, 'x').slice(1500).concat(range(1500, 'y')));
  const union = a.map((v, i) => Math.max(v, b[i]));
  assert.deepEqual(union, sketch([...range(3000, 'x'), ...range(1500, 'y')]));
});

test('HllWindow slides exactly like BucketedWindow: same buckets, same expiry, same refusals', () => {
  const W = 3_600_000;
  let s = 42;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const hll = new HllWindow(W, 60);
  const counter = new BucketedWindow(W, 60);
  const seen: Array<{ t: number; v: string }> = [];
  let t = 1_000_000_000_000;
  let absError = 0;
  let probes = 0;
  for (let i = 0; i < 1500; i++) {
    t += Math.floor(rnd() * 120_000);
    const at = rnd() < 0.2 ? t - Math.floor(rnd() * 2 * W) : t;
    const v = `v${Math.floor(rnd() * 40)}`;
    const probe = at + Math.floor(rnd() * 30_000);
    // The distinct values among the events the count window holds at `probe`.
    const current = counter.bucketOf(probe);
    const oldest = Math.max(current, counter.newest) - 60;
    const exact = new Set(seen.filter((e) => counter.bucketOf(e.t) > oldest && counter.bucketOf(e.t) <= current).map((e) => e.v)).size;
    assert.equal(exact === 0, counter.stats(probe).count === 0);
    const est = hll.estimate(probe);
    // Linear counting errs by whole collisions, a skewed distribution: 2 + 4 σ (σ ≈ 1.1 at 24 values) bounds it, the mean is checked below.
    assert.ok(Math.abs(est - exact) <= 2 + 4 * lcSigma(exact), `event ${i}: estimate ${est}, exact ${exact}`);
    absError += Math.abs(est - exact);
    probes++;
    const applied = counter.add(at, 0);
    assert.equal(hll.add(at, hashString(v)), applied, `event ${i}: both windows take or refuse it`);
    if (applied) seen.push({ t: at, v });
    assert.equal(hll.size, counter.size);
  }
  assert.ok(absError / probes < 1.5, `mean absolute error ${absError / probes}`);
  const { indices, registers } = hll.toFlat();
  const back = HllWindow.fromFlat(W, 60, indices, registers);
  assert.equal(back.estimate(t), hll.estimate(t));
  assert.throws(() => HllWindow.fromFlat(W, 60, indices, registers.subarray(1)), /register bytes/);
  assert.throws(() => HllWindow.fromFlat(W, 60, [5, 4], new Uint8Array(2 * HLL_REGISTERS)), /bucket 1 has index 4/);
  assert.throws(() => HllWindow.fromFlat(W, 60, [0, 60], new Uint8Array(2 * HLL_REGISTERS)), /span more than 60 buckets/);
  assert.throws(() => HllWindow.fromFlat(W, 60, [0], new Uint8Array(HLL_REGISTERS).fill(99)), /register above 25/);
});
