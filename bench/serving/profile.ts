// Where the stage's time goes at one batch size: the pieces of InferenceStream.predict timed apart (not part of npm run bench).
import { loadPipelineSpec } from '@streamloop/config';
import { FeatureComputer } from '@streamloop/features';
import { gaussian, seededRandom, trainClassifier } from '@streamloop/ml';
import { loadPlatformTypes, type FeatureVectorRecord } from '@streamloop/runtime';
import { InProcessStage, registryRecord } from './stage';

const spec = loadPipelineSpec(new URL('../../examples/pipelines/fraud.yaml', import.meta.url).pathname);
const featureNames = new FeatureComputer(spec).featureNames;
const normal = gaussian(seededRandom(11));
const X = Array.from({ length: 2000 }, () => featureNames.map(() => normal()));
const y = X.map((row) => (row[0] + normal() > 0.8 ? 1 : 0));
const algorithm = (process.argv[2] ?? 'logistic_regression') as 'gbdt' | 'logistic_regression';
const b = Number(process.argv[3] ?? 1024);
const model = trainClassifier(algorithm, X, y, { featureNames, params: {} });
const stage = await InProcessStage.start({ spec, champion: registryRecord(spec.pipeline, 'm', 1, 'champion', algorithm, featureNames, model.toOnnx('m')) });
const vectors: FeatureVectorRecord[] = X.slice(0, b).map((row, i) => ({
  event_id: `e${i}`, pipeline: spec.pipeline, entity_key: `card-${i % 500}`, event_time: 1, feature_spec_version: 'v1',
  values: Object.fromEntries(featureNames.map((n, j) => [n, row[j]])), computed_at: 1,
}));
const decoded = stage.decoded(vectors);
const inference = (stage as unknown as { inference: import('../../services/inference/src/inference.service').InferenceService }).inference;
const champion = inference.models.get(spec.pipeline)!;
const types = loadPlatformTypes();
const rows = vectors.map((v) => v.values);
const preds = vectors.map((v) => ({ event_id: v.event_id, pipeline: v.pipeline, entity_key: v.entity_key, event_time: 1, model_name: 'm', model_version: 1, role: 'champion', score: 0.3, label: 0, threshold: 0.5, latency_ms: 3, predicted_at: Date.now(), fallback: false }));
async function time(name: string, fn: () => Promise<unknown> | unknown) {
  for (let i = 0; i < 20; i++) await fn();
  const n = Math.max(20, Math.round(200_000 / b));
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const us = ((performance.now() - t) * 1000) / (n * b);
  console.log(`${name.padEnd(40)} ${us.toFixed(3)} µs/row`);
}
const d = featureNames.length;
const m = new Float32Array(b * d);
rows.forEach((r, i) => featureNames.forEach((n, j) => { m[i * d + j] = r[n]; }));
const { scoreWithFallback } = await import('../../services/inference/src/fallback-scoring');
const { scoreInChunks } = await import('../../services/inference/src/micro-batch');
for (let round = 0; round < 2; round++) {
  await time('scorer.score (ready matrix)', () => champion.scorer.score(m, b));
  await time('InferenceService.score (matrix+score)', () => inference.score(champion, rows));
  await time('scoreWithFallback(chunked score)', () => scoreWithFallback((mm, rs) => scoreInChunks(rs, 1024, (c) => inference.score(mm, c)), champion, undefined, rows));
  await time('avro toBuffer prediction', () => { for (const p of preds) types.prediction.toBuffer(p); });
  await time('handler predict + encode', () => stage.handle(decoded));
}
