// fitAndExport on the calling thread and on a worker thread: the same model, the compute off the caller's event loop,
// errors that come back as they were thrown, a dying worker that rejects the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import type { SearchSpec } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { OnnxModelError, seededRandom } from '@streamloop/ml';
import { fitAndExport, toRowMajor, type FitInput, type FitOutput, type FitProgress } from './fit-and-export';
import { fitOnWorker, reviveError, serializeError } from './fit-worker';

const FEATURES = ['a', 'b', 'c'];

/** n rows one second apart with a nonlinear signal in a and b (c is noise); the newest fifth is held out. */
function fitInput(n: number, seed: number, change: Partial<FitInput> = {}): FitInput {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1, c = rnd() * 2 - 1;
    X.push([a, b, i % 17 === 0 ? Number.NaN : c]);
    y.push(rnd() < 1 / (1 + Math.exp(-(3 * a - 2 * b + (a > 0 && b > 0 ? 2 : 0) - 1))) ? 1 : 0);
  }
  const cut = Math.floor(n * 0.8);
  return {
    modelName: 'fraud_model', algorithm: 'gbdt', featureNames: FEATURES, params: { max_iter: 20, max_leaf_nodes: 7 },
    search: null, threshold: 0.5, thresholdSelection: null, parityTolerance: 1e-5,
    train: { X: toRowMajor(X.slice(0, cut), FEATURES.length), y: y.slice(0, cut), times: X.slice(0, cut).map((_, i) => 1_700_000_000_000 + i * 1000) },
    test: { X: toRowMajor(X.slice(cut), FEATURES.length), y: y.slice(cut) },
    ...change,
  };
}

const SEARCH: SearchSpec = {
  strategy: 'random', trials: 3, cv: { kind: 'time_series', folds: 3 }, metric: 'roc_auc', seed: 7,
  space: { learning_rate: { type: 'log_uniform', low: 0.05, high: 0.5 }, max_iter: { type: 'int', low: 5, high: 30 } },
};

/** The output without what differs from run to run (wall-clock times, the thread). */
function modelOf(out: FitOutput) {
  const trials = out.search?.result.trials.map(({ durationMs: _ms, ...trial }) => trial);
  return {
    params: out.params, trials, best: out.search?.result.best.trialId, threshold: out.threshold, scores: Array.from(out.heldOutScores),
    evaluation: out.evaluation, importance: out.importance, onnx: Buffer.from(out.onnx).toString('base64'), parity: out.parity, description: out.description,
  };
}

test('on a worker thread and on the calling thread: the same search, threshold, held-out scores and ONNX bytes', async () => {
  for (const change of [{ search: SEARCH, thresholdSelection: { strategy: 'max_f1' as const } }, { algorithm: 'logistic_regression' as const, params: { l2: 1 } }]) {
    const here = await fitAndExport(fitInput(600, 3, change));
    const there = await fitOnWorker(fitInput(600, 3, change));
    assert.equal(here.threadId, threadId);
    assert.notEqual(there.threadId, threadId, 'the worker ran on another thread');
    assert.ok(there.onnx instanceof Uint8Array && there.heldOutScores instanceof Float64Array);
    assert.deepEqual(modelOf(there), modelOf(here));
    assert.ok(here.parity.ok && here.onnx.length > 0);
  }
  assert.equal((await fitAndExport(fitInput(600, 3, { search: SEARCH }))).search?.result.trials.length, 3);
});

test('the search runs off the calling thread: this thread\'s event loop turns while the worker\'s trials run', async () => {
  // A search of a few seconds; every trial's span is known from its start time and duration.
  const search: SearchSpec = { ...SEARCH, trials: 6, space: { ...SEARCH.space, max_iter: { type: 'int', low: 60, high: 80 } } };
  const ticks: number[] = [];
  let ticking = true;
  const tick = () => {
    ticks.push(Date.now());
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const out = await fitOnWorker(fitInput(4000, 5, { search, params: { max_leaf_nodes: 31 } })).finally(() => (ticking = false));
  const trials = out.search!.result.trials;
  const from = out.search!.startedAt[0] + 1;
  const last = trials[trials.length - 1];
  const to = out.search!.startedAt[last.trialId] + last.durationMs - 1;
  assert.ok(to > from, 'the search took more than a few milliseconds');
  // On the calling thread the search would hold the loop: not one turn inside its span.
  const during = ticks.filter((t) => t > from && t < to).length;
  assert.ok(during > 0, `the event loop turned ${during} times during the search (${from}..${to})`);
});

test('an error thrown on the worker comes back with its class and message, as on the calling thread', async () => {
  const bad = { search: { ...SEARCH, space: { no_such_param: 3 } } };
  const here = await fitAndExport(fitInput(300, 1, bad)).then(() => assert.fail('expected a rejection'), (e: unknown) => e as Error);
  await assert.rejects(fitOnWorker(fitInput(300, 1, bad)), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.equal(e.name, here.name);
    assert.equal(e.message, here.message);
    return true;
  });
});

test('platform errors keep their class, code, status and details across the thread boundary', () => {
  const revived = reviveError(structuredClone(serializeError(new OnnxModelError('model input is [N, 4], expected [N, 3]'))));
  assert.ok(revived instanceof OnnxModelError && revived instanceof PlatformError);
  assert.equal(revived.code, 'INVALID_MODEL');
  assert.equal(revived.status, 400);
  assert.equal(revived.message, 'model input is [N, 4], expected [N, 3]');
  const withDetails = reviveError(structuredClone(serializeError(new PlatformError('NOT_ENOUGH_DATA', 'few rows', { details: { rows: 3 } }))));
  assert.ok(withDetails instanceof PlatformError);
  assert.equal(withDetails.code, 'NOT_ENOUGH_DATA');
  assert.deepEqual(withDetails.details, { rows: 3 });
});

test('a worker that dies rejects the run with a clear error instead of hanging', async () => {
  // A heap far too small for the compute: the worker runs out of memory and is gone without an answer (V8 prints
  // its out-of-memory report on stderr).
  await assert.rejects(
    fitOnWorker(fitInput(20_000, 2, { params: { max_iter: 200 } }), { resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 } }),
    (e: unknown) => e instanceof PlatformError && e.code === 'INTERNAL' && /training worker thread (crashed|exited)/.test(e.message),
  );
});

test('aborting (the process shutting down) terminates the worker and rejects the run', async () => {
  const closing = new AbortController();
  const run = fitOnWorker(fitInput(4000, 4, { search: { ...SEARCH, trials: 50 } }), { signal: closing.signal });
  setTimeout(() => closing.abort(), 50);
  await assert.rejects(run, /training run stopped: the process is shutting down/);
  await assert.rejects(fitOnWorker(fitInput(100, 4), { signal: closing.signal }), /shutting down/);
});

test('progress comes back from the worker: each search trial, then the final fit and the export, before the answer', async () => {
  const events: FitProgress[] = [];
  const out = await fitOnWorker(fitInput(600, 3, { search: SEARCH }), { onProgress: (p) => events.push(p) });
  const search = events.filter((e) => e.step === 'search');
  assert.deepEqual(search.map((e) => [e.done, e.total, e.finished === true]), [[0, 3, false], [1, 3, false], [2, 3, false], [3, 3, false], [3, 3, true]]);
  assert.match(search[1].detail, /^trial 0: 0\.\d{4}$/);
  assert.equal(search[4].detail, `best trial ${out.search?.result.best.trialId}: ${out.search?.result.best.score.toFixed(4)}`);
  assert.deepEqual(events.slice(search.length).map((e) => `${e.step}:${e.done}${e.finished ? ' finished' : ''}`), ['fit:0', 'fit:1 finished', 'export:0', 'export:1 finished']);
  assert.equal(events.at(-1)?.detail, 'ONNX export matches the model');
});
