// Micro-batching: a consumed batch is cut into scoring calls of at most serving.batch.max_rows rows, scores in order;
// the spec's batch and onnx settings reach the scorer and the consumer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePipelineSpec } from '@streamloop/config';
import { exportOnnx, OnnxScorer, seededRandom, TabularPipeline } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { scoreWithFallback, type RowScorer } from './fallback-scoring';
import { inferenceFetchOf, scoreInChunks, servingBatchOf, sessionOptionsOf } from './micro-batch';
import type { ServingModel } from './model-store';

const FRAUD = new URL('../../../examples/pipelines/fraud.yaml', import.meta.url).pathname;

test('N rows with max_rows k make ceil(N/k) scoring calls of at most k rows, scores in the order of the rows', async () => {
  for (const [n, k] of [[0, 4], [1, 4], [4, 4], [5, 4], [10, 3], [1000, 256], [7, 1], [3, 1024]]) {
    const rows = Array.from({ length: n }, (_, i) => i);
    const calls: number[][] = [];
    const scores = await scoreInChunks(rows, k, async (chunk) => {
      calls.push(chunk);
      return chunk.map((i) => i / 1000);
    });
    assert.equal(calls.length, Math.max(1, Math.ceil(n / k)), `${n} rows, max_rows ${k}`);
    assert.ok(calls.every((c) => c.length <= k));
    assert.deepEqual(calls.flat(), rows);
    assert.deepEqual(scores, rows.map((i) => i / 1000));
  }
  await assert.rejects(scoreInChunks([1, 2], 0, async (c) => c), RangeError);
  // A chunk that returns the wrong number of scores fails the whole call, as a scorer's own short answer does.
  await assert.rejects(scoreInChunks([1, 2, 3], 2, async (c) => c.slice(1)), /returned 1 scores for 2 rows/);
});

test('chunked scoring through a real model gives the scores of one call; a failing chunk makes the call fail and the fallback score the rows', async () => {
  const names = ['a', 'b', 'c'];
  const rnd = seededRandom(3);
  const X = Array.from({ length: 200 }, () => names.map(() => rnd() * 4 - 2));
  const model = TabularPipeline.fit(X, X.map((r) => (r[0] - r[1] + rnd() > 0.5 ? 1 : 0)), { featureNames: names });
  const record = { model_name: 'fraud', model_version: 1, threshold: 0.5, onnx: exportOnnx(model, { modelName: 'fraud' }) } as unknown as ModelRegistryRecord;
  const scorer = await OnnxScorer.load(record.onnx, { expectedFeatures: names.length, ...sessionOptionsOf(parsePipelineSpec(readFileSync(FRAUD, 'utf8'), FRAUD)) });
  const champion: ServingModel = { record, offset: 0n, scorer, loadedAt: 0 };
  try {
    const rows = Array.from({ length: 37 }, (_, i) => ({ a: Math.sin(i), b: Math.cos(i), c: i / 37 }));
    const scoreAll = async (chunk: Array<Record<string, number>>) => {
      const matrix = new Float32Array(chunk.flatMap((r) => names.map((n) => r[n])));
      return Array.from((await scorer.score(matrix, chunk.length)).probabilities);
    };
    const whole = await scoreAll(rows);
    let calls = 0;
    const chunked = await scoreInChunks(rows, 8, (chunk) => {
      calls += 1;
      return scoreAll(chunk);
    });
    assert.equal(calls, 5);
    assert.deepEqual(chunked, whole);
    // The handler's RowScorer: chunks under scoreWithFallback. One bad chunk fails the call; the fallback scores all rows.
    const fallback: ServingModel = { ...champion, record: { ...record, model_version: 0 } };
    let chunk = 0;
    const score: RowScorer = (m, rs) => scoreInChunks(rs, 16, async (c) => {
      if (m === champion && ++chunk === 2) throw new Error('onnxruntime failed');
      return scoreAll(c);
    });
    const out = await scoreWithFallback(score, champion, fallback, rows);
    assert.ok(out.rows.every((r, i) => r.score === whole[i] && r.model === fallback && r.fallback));
    assert.deepEqual(out.failures.map((f) => [f.reason, f.rows]), [['error', 37]]);
  } finally {
    await scorer.release();
  }
});

test('serving.batch and serving.onnx reach the scorer options and inference\'s fetch', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  const defaults = parsePipelineSpec(yaml, FRAUD);
  assert.deepEqual(servingBatchOf(defaults), { maxRows: 1024, maxWaitMs: null });
  assert.deepEqual(sessionOptionsOf(defaults), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  // No max_wait: the transport's defaults (a fetch returns as soon as any record is there).
  assert.equal(inferenceFetchOf(defaults), undefined);
  const tuned = parsePipelineSpec(`${yaml.trimEnd()}\nserving:\n  batch:\n    max_rows: 64\n    max_wait: 25ms\n  onnx:\n    intra_op_threads: 2\n    graph_optimization_level: extended\n`, FRAUD);
  assert.deepEqual(servingBatchOf(tuned), { maxRows: 64, maxWaitMs: 25 });
  assert.deepEqual(sessionOptionsOf(tuned), { intraOpNumThreads: 2, graphOptimizationLevel: 'extended' });
  assert.deepEqual(inferenceFetchOf(tuned), { maxWaitMs: 25 });
  // A hand-built spec without a serving section: the defaults.
  const { serving: _, ...bare } = defaults;
  assert.deepEqual(servingBatchOf(bare), { maxRows: 1024, maxWaitMs: null });
  assert.deepEqual(sessionOptionsOf(bare), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
});
