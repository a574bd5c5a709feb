import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AGRAWAL_FEATURES, agrawalLabel, changeStart, generateAgrawalStream, generateSeaStream, newConceptShare, SEA_THRESHOLDS, seaLabel,
  type AgrawalFunction, type AgrawalRecord, type DriftStreamEvent,
} from './drift-streams';

const record = (x: readonly number[]): AgrawalRecord => Object.fromEntries(AGRAWAL_FEATURES.map((n, j) => [n, x[j]])) as unknown as AgrawalRecord;
const applicant = (r: Partial<AgrawalRecord>): AgrawalRecord => ({
  salary: 60_000, commission: 20_000, age: 30, elevel: 0, car: 1, zipcode: 0, hvalue: 900_000, hyears: 5, loan: 0, ...r,
});
const share = (xs: DriftStreamEvent[], pred: (e: DriftStreamEvent) => boolean): number => xs.filter(pred).length / xs.length;

test('SEA: features uniform on [0, 10), labels x1 + x2 ≤ θ, 10 % of labels flipped by default, reproducible per seed', () => {
  const a = generateSeaStream({ seed: 4, events: 20_000, concepts: [SEA_THRESHOLDS[0]] });
  assert.deepEqual(a, generateSeaStream({ seed: 4, events: 20_000, concepts: [SEA_THRESHOLDS[0]] }));
  assert.notDeepEqual(a.slice(0, 10), generateSeaStream({ seed: 5, events: 10, concepts: [8] }));
  for (const e of a) for (const v of e.x) assert.ok(v >= 0 && v < 10, `feature ${v}`);
  for (let j = 0; j < 3; j++) {
    const m = a.reduce((s, e) => s + e.x[j], 0) / a.length;
    assert.ok(Math.abs(m - 5) < 0.1, `mean of x${j + 1} ${m}`);
  }
  const flipped = share(a, (e) => e.y !== seaLabel(e.x, 8));
  assert.ok(flipped > 0.09 && flipped < 0.11, `flipped share ${flipped}`);
  const clean = generateSeaStream({ seed: 4, events: 5_000, concepts: [8], noise: 0 });
  for (const e of clean) assert.equal(e.y, e.x[0] + e.x[1] <= 8 ? 1 : 0);
  // Class 1 is the triangle x1 + x2 ≤ 8 of the 10 × 10 square: 32 %.
  const ones = share(clean, (e) => e.y === 1);
  assert.ok(Math.abs(ones - 0.32) < 0.02, `class 1 share ${ones}`);
});

test('a sudden change switches concept exactly at its position; features and noise stay those of the unchanged stream', () => {
  const base = generateSeaStream({ seed: 9, events: 4_000, concepts: [8] });
  const drifted = generateSeaStream({ seed: 9, events: 4_000, concepts: [8, 9.5], changes: [{ position: 2_500 }] });
  drifted.forEach((e, t) => {
    assert.equal(e.concept, t < 2_500 ? 0 : 1);
    assert.deepEqual(e.x, base[t].x);
    // The same flips happen in both streams, so the label differs only where the two concepts disagree.
    const flippedHere = base[t].y !== seaLabel(base[t].x, 8);
    assert.equal(e.y, flippedHere ? 1 - seaLabel(e.x, e.concept === 0 ? 8 : 9.5) : seaLabel(e.x, e.concept === 0 ? 8 : 9.5));
  });
  assert.deepEqual(drifted.slice(0, 2_500), base.slice(0, 2_500));
});

test('a gradual change follows MOA\'s sigmoid: 12 % / 50 % / 88 % of events on the new concept at start / middle / end', () => {
  assert.equal(newConceptShare(10_000, { position: 10_000, width: 4_000 }), 0.5);
  const atStart = newConceptShare(8_000, { position: 10_000, width: 4_000 });
  assert.ok(Math.abs(atStart - 1 / (1 + Math.exp(2))) < 1e-12, `share at the start ${atStart}`);
  assert.equal(newConceptShare(9_999, { position: 10_000 }), 0);
  assert.equal(newConceptShare(10_000, { position: 10_000 }), 1);
  assert.equal(changeStart({ position: 10_000, width: 4_000 }), 8_000);
  assert.equal(changeStart({ position: 10_000 }), 10_000);

  const change = { position: 30_000, width: 20_000 };
  const s = generateSeaStream({ seed: 2, events: 60_000, concepts: [7, 9], changes: [change] });
  for (const [from, to] of [[0, 5_000], [19_000, 21_000], [29_000, 31_000], [39_000, 41_000], [55_000, 60_000]]) {
    const observed = share(s.slice(from, to), (e) => e.concept === 1);
    let expected = 0;
    for (let t = from; t < to; t++) expected += newConceptShare(t, change) / (to - from);
    const sd = Math.sqrt((expected * (1 - expected) + 1e-4) / (to - from));
    assert.ok(Math.abs(observed - expected) < 4 * sd + 1e-3, `[${from}, ${to}): ${observed} vs ${expected}`);
  }
  const early = share(s.slice(0, 5_000), (e) => e.concept === 1);
  const late = share(s.slice(55_000), (e) => e.concept === 1);
  assert.ok(early < 0.01 && late > 0.99, `new concept's share ${early} early, ${late} late`);
});

test('chained changes move through the concepts in order', () => {
  const s = generateSeaStream({ seed: 1, events: 9_000, concepts: [...SEA_THRESHOLDS.slice(0, 3)], changes: [{ position: 3_000 }, { position: 6_000 }], noise: 0 });
  s.forEach((e, t) => {
    const k = t < 3_000 ? 0 : t < 6_000 ? 1 : 2;
    assert.equal(e.concept, k);
    assert.equal(e.y, seaLabel(e.x, SEA_THRESHOLDS[k]));
  });
});

test('Agrawal attributes have the paper\'s domains; commission is paid only below a 75k salary', () => {
  const s = generateAgrawalStream({ seed: 3, events: 20_000, concepts: [{ fn: 1 }], perturbation: 0 });
  assert.deepEqual(s, generateAgrawalStream({ seed: 3, events: 20_000, concepts: [{ fn: 1 }], perturbation: 0 }));
  const seen = { age: new Set<number>(), elevel: new Set<number>(), car: new Set<number>(), zipcode: new Set<number>(), hyears: new Set<number>() };
  for (const e of s) {
    const r = record(e.x);
    const what = JSON.stringify(r);
    assert.ok(r.salary >= 20_000 && r.salary < 150_000, what);
    if (r.salary >= 75_000) assert.equal(r.commission, 0, what);
    else assert.ok(r.commission >= 10_000 && r.commission < 75_000, what);
    const k = 9 - r.zipcode;
    assert.ok(r.hvalue >= 0.5 * k * 100_000 && r.hvalue < 1.5 * k * 100_000, what);
    assert.ok(r.loan >= 0 && r.loan < 500_000, what);
    for (const key of Object.keys(seen) as Array<keyof typeof seen>) {
      assert.ok(Number.isInteger(r[key]), `${key} ${r[key]}`);
      seen[key].add(r[key]);
    }
    assert.equal(e.y, agrawalLabel(1, r));
  }
  const range = (xs: Set<number>) => [Math.min(...xs), Math.max(...xs), xs.size];
  assert.deepEqual(range(seen.age), [20, 80, 61]);
  assert.deepEqual(range(seen.elevel), [0, 4, 5]);
  assert.deepEqual(range(seen.car), [1, 20, 20]);
  assert.deepEqual(range(seen.zipcode), [0, 8, 9]);
  assert.deepEqual(range(seen.hyears), [1, 30, 30]);
});

test('Agrawal functions 1–10 on hand-worked applicants (class 1 = group A)', () => {
  const cases: Array<[AgrawalFunction, Partial<AgrawalRecord>, 0 | 1]> = [
    [1, { age: 39 }, 1], [1, { age: 40 }, 0], [1, { age: 59 }, 0], [1, { age: 60 }, 1],
    [2, { age: 30, salary: 60_000 }, 1], [2, { age: 30, salary: 110_000 }, 0], [2, { age: 50, salary: 110_000 }, 1],
    [2, { age: 50, salary: 60_000 }, 0], [2, { age: 65, salary: 30_000 }, 1], [2, { age: 65, salary: 110_000 }, 0],
    [3, { age: 30, elevel: 1 }, 1], [3, { age: 30, elevel: 2 }, 0], [3, { age: 45, elevel: 3 }, 1], [3, { age: 45, elevel: 0 }, 0],
    [3, { age: 70, elevel: 2 }, 1], [3, { age: 70, elevel: 1 }, 0],
    [4, { age: 30, elevel: 0, salary: 30_000 }, 1], [4, { age: 30, elevel: 3, salary: 30_000 }, 0], [4, { age: 30, elevel: 3, salary: 90_000 }, 1],
    [4, { age: 50, elevel: 2, salary: 60_000 }, 1], [4, { age: 50, elevel: 0, salary: 60_000 }, 0], [4, { age: 50, elevel: 4, salary: 120_000 }, 1],
    [4, { age: 70, elevel: 4, salary: 60_000 }, 1], [4, { age: 70, elevel: 0, salary: 60_000 }, 1], [4, { age: 70, elevel: 0, salary: 80_000 }, 0],
    [5, { age: 30, salary: 60_000, loan: 150_000 }, 1], [5, { age: 30, salary: 60_000, loan: 350_000 }, 0], [5, { age: 30, salary: 120_000, loan: 350_000 }, 1],
    [5, { age: 50, salary: 100_000, loan: 250_000 }, 1], [5, { age: 50, salary: 50_000, loan: 250_000 }, 0], [5, { age: 50, salary: 50_000, loan: 450_000 }, 1],
    [5, { age: 70, salary: 50_000, loan: 400_000 }, 1], [5, { age: 70, salary: 50_000, loan: 200_000 }, 0], [5, { age: 70, salary: 100_000, loan: 200_000 }, 1],
    [6, { age: 30, salary: 40_000, commission: 20_000 }, 1], [6, { age: 30, salary: 40_000, commission: 70_000 }, 0],
    [6, { age: 65, salary: 40_000, commission: 20_000 }, 1], [6, { age: 50, salary: 40_000, commission: 20_000 }, 0],
    // 2/3 · 90k − loan/5 − 20k: 20k with a 100k loan; exactly 0 (not > 0) with a 200k loan.
    [7, { salary: 90_000, commission: 0, loan: 100_000 }, 1], [7, { salary: 90_000, commission: 0, loan: 200_000 }, 0],
    // 2/3 · 40k − 5k · elevel − 20k: +1.7k at elevel 1, −3.3k at elevel 2.
    [8, { salary: 30_000, commission: 10_000, elevel: 1 }, 1], [8, { salary: 30_000, commission: 10_000, elevel: 2 }, 0],
    // 2/3 · 90k − 10k − loan/5 − 10k: +20k with a 100k loan, −10k with a 250k loan.
    [9, { salary: 90_000, commission: 0, elevel: 2, loan: 100_000 }, 1], [9, { salary: 90_000, commission: 0, elevel: 2, loan: 250_000 }, 0],
    // 2/3 · 40k − 5k · elevel + equity/5 − 10k; equity = hvalue · (hyears − 20) / 10 from 20 years on.
    [10, { salary: 30_000, commission: 10_000, elevel: 2, hyears: 10 }, 1], [10, { salary: 30_000, commission: 10_000, elevel: 4, hyears: 19, hvalue: 900_000 }, 0],
    [10, { salary: 30_000, commission: 10_000, elevel: 4, hyears: 25, hvalue: 400_000 }, 1],
  ];
  for (const [fn, r, expected] of cases) assert.equal(agrawalLabel(fn, applicant(r)), expected, `function ${fn} on ${JSON.stringify(r)}`);
});

test('Agrawal perturbation blurs the attributes after labelling, within the domains', () => {
  const clean = generateAgrawalStream({ seed: 8, events: 10_000, concepts: [{ fn: 2 }], perturbation: 0 });
  const blurred = generateAgrawalStream({ seed: 8, events: 10_000, concepts: [{ fn: 2 }], perturbation: 0.05 });
  let relabelled = 0;
  blurred.forEach((e, t) => {
    const r = record(e.x), c = record(clean[t].x);
    assert.equal(e.y, clean[t].y);
    assert.ok(Math.abs(r.salary - c.salary) <= 0.05 * 130_000 + 1e-6, `event ${t}: salary ${c.salary} → ${r.salary}`);
    assert.ok(r.salary >= 20_000 && r.salary <= 150_000 && r.age >= 20 && r.age <= 80 && Number.isInteger(r.age), `event ${t}: ${JSON.stringify(r)}`);
    assert.equal(r.commission === 0, c.commission === 0);
    assert.deepEqual([r.elevel, r.car, r.zipcode], [c.elevel, c.car, c.zipcode]);
    if (agrawalLabel(2, r) !== e.y) relabelled++;
  });
  // Only applicants near a rule boundary change class: a few percent, but some.
  assert.ok(relabelled > 0.01 * blurred.length && relabelled < 0.1 * blurred.length, `relabelled ${relabelled}`);
});

test('Agrawal: a new salary range is a covariate shift; a function change keeps the features', () => {
  const base = generateAgrawalStream({ seed: 6, events: 20_000, concepts: [{ fn: 2 }] });
  const shifted = generateAgrawalStream({ seed: 6, events: 20_000, concepts: [{ fn: 2 }, { fn: 2, salaryRange: [30_000, 160_000] }], changes: [{ position: 10_000 }] });
  const salary = (xs: DriftStreamEvent[]) => xs.reduce((s, e) => s + e.x[0], 0) / xs.length;
  assert.deepEqual(shifted.slice(0, 10_000), base.slice(0, 10_000));
  const rise = salary(shifted.slice(10_000)) - salary(base.slice(10_000));
  assert.ok(Math.abs(rise - 10_000) < 300, `salary rise ${rise}`);
  const relabelled = generateAgrawalStream({ seed: 6, events: 20_000, concepts: [{ fn: 2 }, { fn: 4 }], changes: [{ position: 10_000 }] });
  relabelled.forEach((e, t) => assert.deepEqual(e.x, base[t].x));
  let changed = 0;
  for (let t = 10_000; t < 20_000; t++) if (relabelled[t].y !== base[t].y) changed++;
  const differ = changed / 10_000;
  assert.ok(differ > 0.15 && differ < 0.3, `labels changed ${differ}`);
});

test('bad options name the field and what was expected', () => {
  assert.throws(() => generateSeaStream({ seed: 1, events: 10, concepts: [8, 9] }), /expected one concept more than changes, got 2 concepts and 0 changes/);
  assert.throws(() => generateSeaStream({ seed: 1, events: 10, concepts: [8], noise: 1.5 }), /noise must be in \[0, 1\]/);
  assert.throws(() => generateSeaStream({ seed: 1, events: 10, concepts: [8, 9], changes: [{ position: 5, width: -1 }] }), /changes\[0\]\.width/);
  assert.throws(() => generateAgrawalStream({ seed: 1, events: 10, concepts: [{ fn: 11 as AgrawalFunction }] }), /concepts\[0\]\.fn must be an integer 1\.\.10/);
  assert.throws(() => generateAgrawalStream({ seed: 1, events: 10, concepts: [{ fn: 1, salaryRange: [5, 5] }] }), /concepts\[0\]\.salaryRange/);
  assert.throws(() => agrawalLabel(0 as AgrawalFunction, applicant({})), /fn must be an integer 1\.\.10/);
});
