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

const make = (detector: 'ADWIN' | 'PageHinkley' | 'DDM', params: object): ChangeDetector =>
  detector === 'ADWIN' ? new ADWIN(params) : detector === 'PageHinkley' ? new PageHinkley(params) : new DDM(params);

/** Indices at which the detector signalled drift (and DDM warned) over the stream. */
function detections(det: ChangeDetector, xs: number[]): { drifts: number[]; warnings: number[] } {
  const drifts: number[] = [];
  const warnings: number[] = [];
  xs.forEach((x, i) => {
    det.update(x);
    if (det.driftDetected) drifts.push(i);
    if (det instanceof DDM && det.warningDetected) warnings.push(i);
  });
  return { drifts, warnings };
}

for (const run of fx.runs) {
  // warmUp 0 is River's behaviour: the same indices with it as without it.
  for (const params of [run.params, { ...run.params, warmUp: 0 }]) {
    test(`${run.detector} ${JSON.stringify(params)} on ${run.stream}: same detection indices as River`, () => {
      const { drifts, warnings } = detections(make(run.detector, params), stream(run.stream));
      assert.deepEqual(drifts, run.drifts);
      if (run.warnings) assert.deepEqual(warnings, run.warnings);
    });
  }
}

test('warmUp: no detection on the first warmUp values after the start and after every reset; later ones are River\'s with the larger gate', () => {
  for (const detector of ['ADWIN', 'PageHinkley', 'DDM'] as const) {
    for (const run of fx.runs.filter((r) => r.detector === detector && r.drifts.length > 0)) {
      const xs = stream(run.stream);
      // Warm-up longer than River's gate but shorter than the gap to River's first detection.
      const warmUp = Math.min(200, run.drifts[0]);
      const { drifts } = detections(make(detector, { ...run.params, warmUp }), xs);
      let start = 0;
      for (const at of drifts) {
        assert.ok(at - start >= warmUp, `${detector} on ${run.stream}: fired ${at - start} values after a (re)start, warm-up ${warmUp}`);
        start = at + 1;
      }
      // Where the run leaves River's gate at its default, warmUp is that gate raised: the same detections.
      const gate = detector === 'ADWIN' ? { gracePeriod: warmUp } : detector === 'PageHinkley' ? { minInstances: warmUp + 1 } : { warmStart: warmUp };
      if (!Object.keys(gate).some((k) => k in run.params)) assert.deepEqual(drifts, detections(make(detector, { ...run.params, ...gate }), xs).drifts, `${detector} on ${run.stream}`);
    }
  }
  // A stream that jumps at once: the detector waits out its warm-up, then sees the change.
  const jump = Array.from({ length: 2000 }, (_, i) => (i < 50 ? 0 : i % 3 === 0 ? 0 : 1));
  for (const detector of ['ADWIN', 'PageHinkley', 'DDM'] as const) {
    const river = detections(make(detector, {}), jump).drifts;
    const warmed = detections(make(detector, { warmUp: 300 }), jump).drifts;
    assert.ok(river.length > 0 && river[0] < 300, `${detector} fires early without a warm-up (${river[0]})`);
    assert.ok(warmed.length > 0 && warmed[0] >= 300, `${detector} with warmUp 300 first fires at ${warmed[0]}`);
  }
});

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
  assert.throws(() => new ADWIN({ warmUp: -1 }), /ADWIN: warmUp must be an integer ≥ 0/);
  assert.throws(() => new PageHinkley({ warmUp: 1.5 }), /PageHinkley: warmUp/);
  assert.throws(() => new DDM({ warmUp: Number.NaN }), /DDM: warmUp/);
  assert.throws(() => new DDM().update(Number.NaN), /DDM.update: x must be a finite number/);
});
