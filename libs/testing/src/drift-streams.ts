/**
 * Seeded classification streams with concept changes at known positions, for drift-detection benchmarks and tests.
 *
 * - SEA (Street & Kim 2001, "A streaming ensemble algorithm (SEA) for large-scale classification"): three features
 *   uniform on [0, 10], only the first two relevant; class 1 when x1 + x2 ≤ θ. The paper's four concepts use
 *   θ = 8, 9, 7, 9.5, with 10 % class noise.
 * - Agrawal (Agrawal, Imielinski & Swami 1993, "Database mining: a performance perspective"): nine attributes of a
 *   loan applicant and the paper's ten classification functions (class 1 = the paper's group A; disposable
 *   income takes 2/3 of salary + commission, as Weka's port of the authors' C code does), with the perturbation
 *   factor for fuzzy boundaries. River 0.26's port differs from the paper in functions 5 (salary tested in place
 *   of loan) and 7–10 (classes swapped, threshold 1 instead of 0); this one follows the paper, as Weka's does.
 *
 * A change is sudden (width 0: every event from `position` on follows the next concept) or gradual, as in MOA's
 * ConceptDriftStream: event t follows the next concept with probability 1 / (1 + exp(−4 (t − position) / width)),
 * so `position` is the middle of the transition and the new concept's share goes from 12 % to 88 % over
 * [position − width/2, position + width/2]. Several changes chain (concept 0 → 1 → 2 …) like MOA's nested streams.
 *
 * Features, label noise and concept choice draw from separate seeded generators, so two streams with the same seed
 * and different concepts or changes have the same feature values wherever the feature distribution is the same.
 */
import { seededRandom } from '@streamloop/ml';

export interface DriftStreamEvent {
  /** Feature values, in the order of the generator's feature names. */
  x: number[];
  y: 0 | 1;
  /** Index of the concept that labelled the event (0 before the first change). */
  concept: number;
}

export interface ConceptChange {
  /** Event index where the change happens (sudden) or the middle of the transition (gradual). */
  position: number;
  /** Length of the transition in events; 0 (default) for a sudden change. */
  width?: number;
}

/** Probability that event t already follows the concept after `change` (MOA's sigmoid; a step when width is 0). */
export function newConceptShare(t: number, change: ConceptChange): number {
  const width = change.width ?? 0;
  if (width === 0) return t >= change.position ? 1 : 0;
  return 1 / (1 + Math.exp((-4 * (t - change.position)) / width));
}

/** First event index where the change can be seen: the position (sudden) or the start of the transition window. */
export function changeStart(change: ConceptChange): number {
  return change.position - (change.width ?? 0) / 2;
}

function checkCommon(fn: string, seed: number, events: number, concepts: number, changes: readonly ConceptChange[]): void {
  if (!Number.isFinite(seed)) throw new RangeError(`${fn}: seed must be a finite number, got ${seed}`);
  if (!(Number.isInteger(events) && events >= 0)) throw new RangeError(`${fn}: events must be an integer ≥ 0, got ${events}`);
  if (concepts !== changes.length + 1) {
    throw new RangeError(`${fn}: expected one concept more than changes, got ${concepts} concepts and ${changes.length} changes`);
  }
  changes.forEach((c, i) => {
    if (!Number.isFinite(c.position)) throw new RangeError(`${fn}: changes[${i}].position must be a finite number, got ${c.position}`);
    const w = c.width ?? 0;
    if (!(Number.isFinite(w) && w >= 0)) throw new RangeError(`${fn}: changes[${i}].width must be a finite number ≥ 0, got ${w}`);
    if (i > 0 && c.position < changes[i - 1].position) throw new RangeError(`${fn}: changes[${i}].position comes before changes[${i - 1}].position`);
  });
}

function checkProbability(fn: string, name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${fn}: ${name} must be in [0, 1], got ${p}`);
}

/**
 * Concept of event t: like MOA's nested streams, the first change decides between concept 0 and the rest, the
 * next between concept 1 and the rest, and so on. Sudden changes need no random draw.
 */
function conceptAt(t: number, changes: readonly ConceptChange[], uniform: () => number): number {
  let k = 0;
  while (k < changes.length) {
    const share = newConceptShare(t, changes[k]);
    if (share === 0 || (share < 1 && uniform() >= share)) break;
    k++;
  }
  return k;
}

/** Separate generators for features and for noise/concept choice (see the module comment). */
function generators(seed: number): { features: () => number; other: () => number } {
  return { features: seededRandom(seed), other: seededRandom((Math.trunc(seed) ^ 0x5bd1e995) >>> 0) };
}

export const SEA_FEATURES = ['x1', 'x2', 'x3'] as const;
/** θ of the four concepts of Street & Kim's experiment, in their order. */
export const SEA_THRESHOLDS = [8, 9, 7, 9.5] as const;

/** SEA class: 1 when x1 + x2 ≤ θ. */
export function seaLabel(x: ArrayLike<number>, threshold: number): 0 | 1 {
  return x[0] + x[1] <= threshold ? 1 : 0;
}

export interface SeaStreamOptions {
  seed: number;
  events: number;
  /** θ of each concept in order (SEA_THRESHOLDS holds the paper's). */
  concepts: readonly number[];
  changes?: readonly ConceptChange[];
  /** Probability that a label is flipped. Default 0.1, as in the paper. */
  noise?: number;
}

export function generateSeaStream(opts: SeaStreamOptions): DriftStreamEvent[] {
  const changes = opts.changes ?? [];
  const noise = opts.noise ?? 0.1;
  checkCommon('generateSeaStream', opts.seed, opts.events, opts.concepts.length, changes);
  checkProbability('generateSeaStream', 'noise', noise);
  opts.concepts.forEach((theta, i) => {
    if (!Number.isFinite(theta)) throw new RangeError(`generateSeaStream: concepts[${i}] must be a finite threshold, got ${theta}`);
  });
  const rnd = generators(opts.seed);
  const out: DriftStreamEvent[] = [];
  for (let t = 0; t < opts.events; t++) {
    const x = [rnd.features() * 10, rnd.features() * 10, rnd.features() * 10];
    const concept = conceptAt(t, changes, rnd.other);
    const flip = rnd.other() < noise;
    const clean = seaLabel(x, opts.concepts[concept]);
    out.push({ x, y: flip ? ((1 - clean) as 0 | 1) : clean, concept });
  }
  return out;
}

export const AGRAWAL_FEATURES = ['salary', 'commission', 'age', 'elevel', 'car', 'zipcode', 'hvalue', 'hyears', 'loan'] as const;

export interface AgrawalRecord {
  salary: number;
  commission: number;
  age: number;
  /** Education level, integer 0..4. */
  elevel: number;
  /** Make of car, integer 1..20. */
  car: number;
  /** Integer 0..8 (nine zip codes). */
  zipcode: number;
  /** House value. */
  hvalue: number;
  /** Years the house has been owned. */
  hyears: number;
  loan: number;
}

export type AgrawalFunction = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

const between = (v: number, lo: number, hi: number): boolean => v >= lo && v <= hi;

/** The paper's age bands: under 40, 40 to under 60, 60 and over. */
function ageBand(age: number): 0 | 1 | 2 {
  return age < 40 ? 0 : age < 60 ? 1 : 2;
}

/** Salary band of functions 2 and 6 per age band: 50–100k, 75–125k, 25–75k. */
const BAND_SALARY: readonly (readonly [number, number])[] = [[50_000, 100_000], [75_000, 125_000], [25_000, 75_000]];
/** Education levels of function 3 per age band. */
const BAND_ELEVEL: readonly (readonly [number, number])[] = [[0, 1], [1, 3], [2, 4]];

/** Class of a record under one of Agrawal et al.'s ten functions: 1 for group A, 0 for group B. */
export function agrawalLabel(fn: AgrawalFunction, r: AgrawalRecord): 0 | 1 {
  const band = ageBand(r.age);
  let a: boolean;
  switch (fn) {
    case 1:
      a = band !== 1;
      break;
    case 2:
      a = between(r.salary, ...BAND_SALARY[band]);
      break;
    case 3:
      a = between(r.elevel, ...BAND_ELEVEL[band]);
      break;
    case 4: {
      const inElevel = between(r.elevel, ...BAND_ELEVEL[band]);
      const [lo, hi] = band === 0
        ? (inElevel ? [25_000, 75_000] : [50_000, 100_000])
        : band === 1
          ? (inElevel ? [50_000, 100_000] : [75_000, 125_000])
          : (inElevel ? [50_000, 100_000] : [25_000, 75_000]);
      a = between(r.salary, lo, hi);
      break;
    }
    case 5: {
      const inSalary = between(r.salary, ...BAND_SALARY[band]);
      const [lo, hi] = band === 0
        ? (inSalary ? [100_000, 300_000] : [200_000, 400_000])
        : band === 1
          ? (inSalary ? [200_000, 400_000] : [300_000, 500_000])
          : (inSalary ? [300_000, 500_000] : [100_000, 300_000]);
      a = between(r.loan, lo, hi);
      break;
    }
    case 6:
      a = between(r.salary + r.commission, ...BAND_SALARY[band]);
      break;
    case 7:
      a = (2 * (r.salary + r.commission)) / 3 - r.loan / 5 - 20_000 > 0;
      break;
    case 8:
      a = (2 * (r.salary + r.commission)) / 3 - 5_000 * r.elevel - 20_000 > 0;
      break;
    case 9:
      a = (2 * (r.salary + r.commission)) / 3 - 5_000 * r.elevel - r.loan / 5 - 10_000 > 0;
      break;
    case 10: {
      const equity = r.hyears < 20 ? 0 : (r.hvalue * (r.hyears - 20)) / 10;
      a = (2 * (r.salary + r.commission)) / 3 - 5_000 * r.elevel + equity / 5 - 10_000 > 0;
      break;
    }
    default:
      throw new RangeError(`agrawalLabel: fn must be an integer 1..10, got ${String(fn)}`);
  }
  return a ? 1 : 0;
}

export interface AgrawalConcept {
  /** Classification function 1..10. */
  fn: AgrawalFunction;
  /**
   * Range of the uniform salary draw; the paper's is [20 000, 150 000] (the default). A different range within a
   * stream is a covariate shift: commission (paid below a 75 000 salary only) and every salary rule move with it.
   */
  salaryRange?: readonly [number, number];
}

export interface AgrawalStreamOptions {
  seed: number;
  events: number;
  concepts: readonly AgrawalConcept[];
  changes?: readonly ConceptChange[];
  /** Probability that a label is flipped. Default 0. */
  noise?: number;
  /**
   * Perturbation factor p for fuzzy class boundaries: after labelling, each numeric attribute v becomes
   * v + r·p·(range of the attribute), r uniform in [−1, 1], clamped to the range (age and hyears rounded).
   * Default 0.05, as in the paper.
   */
  perturbation?: number;
}

const DEFAULT_SALARY: readonly [number, number] = [20_000, 150_000];

/**
 * One applicant drawn as in the paper: salary uniform in [20k, 150k]; commission 0 when salary ≥ 75k, else uniform
 * in [10k, 75k]; age an integer 20..80; elevel 0..4; car 1..20; zipcode 0..8; hvalue uniform in [0.5k, 1.5k]·100k
 * with k = 9 − zipcode; hyears an integer 1..30; loan uniform in [0, 500k].
 */
function drawAgrawal(uniform: () => number, salaryRange: readonly [number, number]): AgrawalRecord {
  const salary = salaryRange[0] + uniform() * (salaryRange[1] - salaryRange[0]);
  const commissionDraw = 10_000 + uniform() * 65_000; // drawn always, so later draws stay aligned across concepts
  const age = 20 + Math.floor(uniform() * 61);
  const elevel = Math.floor(uniform() * 5);
  const car = 1 + Math.floor(uniform() * 20);
  const zipcode = Math.floor(uniform() * 9);
  const hvalue = (0.5 + uniform()) * (9 - zipcode) * 100_000;
  const hyears = 1 + Math.floor(uniform() * 30);
  const loan = uniform() * 500_000;
  return { salary, commission: salary >= 75_000 ? 0 : commissionDraw, age, elevel, car, zipcode, hvalue, hyears, loan };
}

/** Moves the numeric attributes by up to ±p of their range (see AgrawalStreamOptions.perturbation). */
function perturbAgrawal(r: AgrawalRecord, p: number, uniform: () => number, salaryRange: readonly [number, number]): void {
  // One draw per attribute even when it is left alone, so streams stay aligned.
  const move = (v: number, lo: number, hi: number): number => {
    const out = v + (hi - lo) * (2 * (uniform() - 0.5)) * p;
    return Math.min(hi, Math.max(lo, out));
  };
  r.salary = move(r.salary, salaryRange[0], salaryRange[1]);
  const commission = move(r.commission, 10_000, 75_000);
  if (r.commission > 0) r.commission = commission; // a salary-only applicant keeps 0
  r.age = Math.round(move(r.age, 20, 80));
  const k = (9 - r.zipcode) * 100_000;
  r.hvalue = move(r.hvalue, 0.5 * k, 1.5 * k);
  r.hyears = Math.round(move(r.hyears, 1, 30));
  r.loan = move(r.loan, 0, 500_000);
}

export function agrawalFeatures(r: AgrawalRecord): number[] {
  return AGRAWAL_FEATURES.map((name) => r[name]);
}

export function generateAgrawalStream(opts: AgrawalStreamOptions): DriftStreamEvent[] {
  const changes = opts.changes ?? [];
  const noise = opts.noise ?? 0;
  const perturbation = opts.perturbation ?? 0.05;
  checkCommon('generateAgrawalStream', opts.seed, opts.events, opts.concepts.length, changes);
  checkProbability('generateAgrawalStream', 'noise', noise);
  checkProbability('generateAgrawalStream', 'perturbation', perturbation);
  opts.concepts.forEach((c, i) => {
    if (!(Number.isInteger(c.fn) && c.fn >= 1 && c.fn <= 10)) throw new RangeError(`generateAgrawalStream: concepts[${i}].fn must be an integer 1..10, got ${c.fn}`);
    const [lo, hi] = c.salaryRange ?? DEFAULT_SALARY;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && lo < hi)) {
      throw new RangeError(`generateAgrawalStream: concepts[${i}].salaryRange must be [lo, hi] with 0 ≤ lo < hi, got [${lo}, ${hi}]`);
    }
  });
  const rnd = generators(opts.seed);
  const out: DriftStreamEvent[] = [];
  for (let t = 0; t < opts.events; t++) {
    const concept = conceptAt(t, changes, rnd.other);
    const { fn, salaryRange = DEFAULT_SALARY } = opts.concepts[concept];
    const r = drawAgrawal(rnd.features, salaryRange);
    const clean = agrawalLabel(fn, r);
    const flip = rnd.other() < noise;
    perturbAgrawal(r, perturbation, rnd.features, salaryRange); // also at 0, so the draws line up across perturbations
    out.push({ x: agrawalFeatures(r), y: flip ? ((1 - clean) as 0 | 1) : clean, concept });
  }
  return out;
}
