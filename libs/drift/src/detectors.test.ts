import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADWIN, DDM, PageHinkley, type ChangeDetector } from './index';

const fx = JSON.parse(readFileSync(new URL('./fixtures/detectors_river.json', import.meta.url), 'utf8')) as {
  streams: Record<string, string | number[]>;
  runs: Array<{ stream: string; detector: 'ADWIN' | 'PageHinkley' | 'DDM'; params: Record<string, never>; drifts: number[]; warnings?: number[] }>;
};
const stream = (name: string): number[] => {
  const s = fx.streams[name];
  return typeof s === 'string' ? Array.from(s, (ch) => (ch === '1' ? 1 : 0)) : s;
};

for (const run of fx.runs) {
  test(`${run.detector} ${JSON.stringify(run.params)} on ${run.stream}: same detection indices as River`, () => {
    const det: ChangeDetector = run.detector === 'ADWIN' ? new ADWIN(run.params) : run.detector === 'PageHinkley' ? new PageHinkley(run.params) : new DDM(run.params);
    const drifts: number[] = [];
    const warnings: number[] = [];
    stream(run.stream).forEach((x, i) => {
      det.update(x);
      if (det.driftDetected) drifts.push(i);
      if (det instanceof DDM && det.warningDetected) warnings.push(i);
    });
    assert.deepEqual(drifts, run.drifts);
    if (run.warnings) assert.deepEqual(warnings, run.warnings);
  });
}

test('fixtures cover sudden, gradual and no-change streams for every detector', () => {
  for (const s of ['bernoulli_sudden', 'bernoulli_gradual', 'bernoulli_control']) {
    for (const d of ['ADWIN', 'PageHinkley', 'DDM']) assert.ok(fx.runs.some((r) => r.stream === s && r.detector === d), `${d} on ${s}`);
  }
});

test('ADWIN keeps the window while the mean is stable and shrinks it after a change', () => {
  const a = new ADWIN({ clock: 1 });
  for (let i = 0; i < 1000; i++) a.update(i % 2);
  assert.equal(a.width, 1000);
  assert.equal(a.estimation, 0.5);
  let at = -1;
  for (let i = 0; i < 500 && at < 0; i++) {
    a.update(5);
    if (a.driftDetected) at = i;
  }
  assert.ok(at >= 0 && at < 50, `detected after ${at} events`);
  assert.ok(a.width < 1000);
});

test('parameter errors name the parameter', () => {
  assert.throws(() => new ADWIN({ delta: 0 }), /ADWIN: delta/);
  assert.throws(() => new ADWIN({ clock: 0 }), /ADWIN: clock/);
  assert.throws(() => new PageHinkley({ mode: 'sideways' as 'up' }), /PageHinkley: mode/);
  assert.throws(() => new DDM({ warmStart: -1 }), /DDM: warmStart/);
  assert.throws(() => new DDM().update(Number.NaN), /DDM.update: x must be a finite number/);
});
