import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADWIN, DDM, PageHinkley } from './detectors';
import { ErrorStreamMonitor } from './error-stream';

/** A 0/1 error stream whose error rate jumps from 10 % to 45 % at `change` (a simple LCG, fixed seed). */
function errors(n: number, change: number): number[] {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => (next() < (i < change ? 0.1 : 0.45) ? 1 : 0));
}

test('ErrorStreamMonitor reports each detector at the index the detector alone reports, and resets cleanly', () => {
  const stream = errors(6000, 3000);
  const monitor = new ErrorStreamMonitor({ adwin: {}, pageHinkley: { threshold: 20 }, ddm: {} });
  const detections = [...monitor.feed(stream.slice(0, 2500)), ...monitor.feed(stream.slice(2500))];
  const alone = (make: () => ADWIN | PageHinkley | DDM) => {
    const d = make();
    const at: number[] = [];
    stream.forEach((e, i) => {
      d.update(e);
      if (d.driftDetected) at.push(i);
    });
    return at;
  };
  assert.deepEqual(detections.filter((d) => d.detector === 'adwin').map((d) => d.index), alone(() => new ADWIN()));
  assert.deepEqual(detections.filter((d) => d.detector === 'page_hinkley').map((d) => d.index), alone(() => new PageHinkley({ threshold: 20 })));
  assert.deepEqual(detections.filter((d) => d.detector === 'ddm').map((d) => d.index), alone(() => new DDM()));
  // Every detector sees the jump, after it and within 1000 values.
  for (const name of ['adwin', 'page_hinkley', 'ddm'] as const) {
    const after = detections.find((d) => d.detector === name && d.index >= 3000);
    assert.ok(after && after.index < 4000, `${name} detects the change (${JSON.stringify(detections.filter((d) => d.detector === name))})`);
    const last = stream.slice(Math.max(0, after.index - 499), after.index + 1);
    assert.equal(after.recentErrorRate, last.reduce((a, b) => a + b, 0) / last.length, `${name}: error rate of the last 500 values`);
  }
  assert.equal(monitor.count, 6000);
  monitor.reset();
  assert.equal(monitor.count, 0);
  assert.ok(Number.isNaN(monitor.recentErrorRate));
});

test('ErrorStreamMonitor: detectors set to null are off; values other than 0/1 are refused with their position', () => {
  const monitor = new ErrorStreamMonitor({ adwin: null, pageHinkley: null, ddm: {} });
  const detections = monitor.feed(errors(6000, 3000));
  assert.ok(detections.length > 0 && detections.every((d) => d.detector === 'ddm'));
  assert.throws(() => monitor.feed([0, 1, 0.5]), /value 6002 is 0.5, expected 0 \(right\) or 1 \(wrong\)/);
});

test('ErrorStreamMonitor: the shared warm-up reaches every detector; none fires on its first warmUp values', () => {
  // A stream that is already worse on its first values than later: DDM (River's warm start 30) fires on them.
  const stream = [...Array.from({ length: 40 }, () => 0), ...errors(4000, 2000)];
  const river = new ErrorStreamMonitor({ adwin: {}, pageHinkley: {}, ddm: {} }).feed(stream);
  assert.ok(river.some((d) => d.detector === 'ddm' && d.index < 500), `DDM fires early without a warm-up: ${JSON.stringify(river)}`);
  const warmUp = 500;
  const warmed = new ErrorStreamMonitor({ adwin: {}, pageHinkley: {}, ddm: {}, warmUp }).feed(stream);
  const byDetector = (name: string) => warmed.filter((d) => d.detector === name).map((d) => d.index);
  for (const [name, make] of [['adwin', () => new ADWIN({ warmUp })], ['page_hinkley', () => new PageHinkley({ warmUp })], ['ddm', () => new DDM({ warmUp })]] as const) {
    const d = make();
    const alone: number[] = [];
    stream.forEach((e, i) => {
      d.update(e);
      if (d.driftDetected) alone.push(i);
    });
    assert.deepEqual(byDetector(name), alone, name);
    let start = 0;
    for (const at of alone) {
      assert.ok(at - start >= warmUp, `${name} fired ${at - start} values after a (re)start`);
      start = at + 1;
    }
  }
  assert.ok(byDetector('ddm').some((i) => i >= 2040), 'DDM still sees the change after its warm-up');
  // A detector's own warmUp wins over the shared one.
  const own = new ErrorStreamMonitor({ adwin: null, pageHinkley: null, ddm: { warmUp: 0 }, warmUp }).feed(stream);
  assert.deepEqual(own.map((d) => d.index), river.filter((d) => d.detector === 'ddm').map((d) => d.index));
});
