import { gammaQ, lgamma } from '@streamloop/drift';

/**
 * The normal and Student-t tails the paired tests need, accurate to ~1e-13 against scipy (fixtures/paired_tests.json):
 * the normal survival function from the incomplete gamma (erfc(z) = Q(1/2, z²)), its inverse by Acklam's rational
 * approximation polished with Newton steps, and the t survival function from the regularized incomplete beta.
 */

/** P(Z > x) for a standard normal Z (scipy.stats.norm.sf). */
export function normalSf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const tail = 0.5 * gammaQ(0.5, (x * x) / 2);
  return x >= 0 ? tail : 1 - tail;
}

/** The q-quantile of a standard normal (scipy.stats.norm.ppf), 0 < q < 1. */
export function normalPpf(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`normalPpf: q must be in (0, 1), got ${q}`);
  // Acklam's approximation (relative error < 1.2e-9) …
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (q < low) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  } else if (q > 1 - low) {
    const r = Math.sqrt(-2 * Math.log(1 - q));
    x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  } else {
    const s = q - 0.5;
    const r = s * s;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * s) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // … then Newton on Φ(x) = q with the exact density; the error is taken on the smaller tail (1 − q for q > 0.5
  // would lose digits), and two steps reach double precision.
  for (let i = 0; i < 2; i++) {
    const error = q < 0.5 ? normalSf(-x) - q : (1 - q) - normalSf(x);
    x -= error / (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
  }
  return x;
}

/**
 * Regularized incomplete beta I_x(a, b): the continued fraction (modified Lentz) on whichever of x and 1 − x makes
 * it converge fast, with the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`incompleteBeta: a and b must be > 0, got ${a}, ${b}`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`incompleteBeta: x must be in [0, 1], got ${x}`);
  if (x === 0 || x === 1) return x;
  const logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10_000; m++) {
    const m2 = 2 * m;
    // Even step, then odd step of the fraction's coefficients.
    let coefficient = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    coefficient = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(logFront) * h) / a;
}

/** P(T > t) for Student's t with `df` degrees of freedom (scipy.stats.t.sf). */
export function studentTSf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTSf: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) return Number.NaN;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

/** The q-quantile of Student's t (scipy.stats.t.ppf), by bisection on the survival function (monotone). */
export function studentTPpf(q: number, df: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`studentTPpf: q must be in (0, 1), got ${q}`);
  if (q === 0.5) return 0;
  if (q < 0.5) return -studentTPpf(1 - q, df);
  let lo = 0;
  let hi = 1;
  while (studentTSf(hi, df) > 1 - q) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-14 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTSf(mid, df) > 1 - q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
