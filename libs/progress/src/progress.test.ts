import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressReporter, progressLine, type ProgressStream } from './progress';

function capture(isTTY: boolean, columns?: number): ProgressStream & { text: string } {
  const out = { text: '', isTTY, columns, write(s: string) { out.text += s; return true; } };
  return out;
}

test('off a terminal: plain lines, the first and last always, at most one per interval between', () => {
  let now = 0;
  const stream = capture(false);
  const progress = new ProgressReporter({ stream, now: () => now, plainIntervalMs: 5000 });
  const trials = progress.task('search', 20);
  for (let i = 1; i <= 20; i++) {
    now += 1000;
    trials.tick(`trial ${i}`);
  }
  trials.finish('best roc_auc 0.91');
  assert.deepEqual(stream.text.split('\n').filter(Boolean), [
    'search: 0/20 (0%)',
    'search: 5/20 (25%) trial 5, 5 s',
    'search: 10/20 (50%) trial 10, 10 s',
    'search: 15/20 (75%) trial 15, 15 s',
    'search: 20/20 (100%) trial 20, 20 s',
    'search: 20/20 (100%) best roc_auc 0.91, 20 s',
  ]);
  assert.doesNotMatch(stream.text, /\r|\x1b/, 'no terminal control characters in a file');
});

test('on a terminal: one line rewritten in place, permanent lines above it, the finished line kept', () => {
  let now = 0;
  const stream = capture(true, 40);
  const progress = new ProgressReporter({ stream, now: () => now, ttyIntervalMs: 100 });
  assert.equal(progress.interactive, true);
  const restore = progress.task('restore features', 3);
  now += 50;
  restore.tick(); // within 100 ms of the last draw: not drawn
  now += 100;
  restore.tick();
  progress.line('phase 2');
  now += 200;
  restore.update(3, 'a much longer detail that does not fit in forty columns');
  restore.finish();
  restore.tick(); // after finish: nothing
  assert.equal(stream.text,
    '\r\x1b[2Krestore features: 0/3 (0%)'
    + '\r\x1b[2Krestore features: 2/3 (66%)'
    + '\r\x1b[2Kphase 2\n\r\x1b[2Krestore features: 2/3 (66%)'
    + '\r\x1b[2Krestore features: 3/3 (100%) a much lo…'
    + '\r\x1b[2Krestore features: 3/3 (100%) a much longer detail that does not fit in forty columns\n');
});

test('a sink (a service logger) receives plain lines with their fields', () => {
  let now = 0;
  const lines: Array<{ line: string; done: number; finished: boolean }> = [];
  const progress = new ProgressReporter({ sink: (line, f) => lines.push({ line, done: f.done, finished: f.finished }), now: () => now, stream: capture(true) });
  assert.equal(progress.interactive, false, 'a sink never gets terminal rewrites');
  const load = progress.task('dataset');
  now += 7000;
  load.update(3000, 'rows');
  load.finish();
  assert.deepEqual(lines, [
    { line: 'dataset:', done: 0, finished: false },
    { line: 'dataset: 3000 rows, 7 s', done: 3000, finished: false },
    { line: 'dataset: 3000 rows, 7 s', done: 3000, finished: true },
  ]);
});

test('progressLine: counts, percentages and elapsed time', () => {
  assert.equal(progressLine('fit', 1, 4, 'gbdt', 500), 'fit: 1/4 (25%) gbdt');
  assert.equal(progressLine('events', 1200, undefined, undefined, 61_000), 'events: 1200, 61 s');
  assert.equal(progressLine('x', 7, 5, undefined, 0), 'x: 7/5 (100%)');
  assert.equal(progressLine('waiting for the first model', 0, undefined, 'until it serves', 12_000), 'waiting for the first model: until it serves, 12 s');
  assert.equal(progressLine('waiting', 0, undefined, undefined, 3000), 'waiting: 3 s');
});

test('a task can start with a detail and finish with its final count', () => {
  const stream = capture(false);
  const progress = new ProgressReporter({ stream, now: () => 0 });
  const fit = progress.task('final fit', 1, 'gbdt on 2200 rows');
  fit.finish('done', 1);
  assert.equal(stream.text, 'final fit: 0/1 (0%) gbdt on 2200 rows\nfinal fit: 1/1 (100%) done\n');
});
