// The system under test of `npm run bench:retraining`, run as a child process of the bench (the bench's producer and
// probe never share its event loop): the monolith's serving path and the training target in this one process
// (schema-registry, ingestion, features, inference, training; embedded chDB) on a copy of examples/pipelines/fraud.yaml
// whose model is a GBDT chosen by a random hyperparameter search. It publishes a synthetic logistic regression as the
// serving champion, writes --rows labelled synthetic feature vectors to ClickHouse for training to read, and prints
// `READY {json}` once the champion serves. STREAMLOOP_TRAINING_WORKER comes from --training-worker. Stops when its
// standard input closes or on SIGTERM.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { insertRows, TABLES, type FeatureRow, type LabelRow } from '@streamloop/clickhouse';
import { featureNamesOf, loadPipelineSpec, loadSettings, topicsFor, type PipelineSpec } from '@streamloop/config';
import { gaussian, seededRandom, trainClassifier } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { ClickHouseConnection } from '@streamloop/runtime';
import { startStreamloop } from '../../apps/cli/src/server';
import { closeWhenParentLeaves, publishRegistryRecord } from './processes';

const REPO = new URL('../../', import.meta.url).pathname;

export interface RetrainingReady {
  input: string;
  output: string;
  registryUrl: string;
  /** The HTTP API (POST /v1/pipelines/:p/train). */
  url: string;
  pipeline: string;
  startSeconds: number;
}

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' }, pipeline: { type: 'string' }, rows: { type: 'string', default: '6000' }, trials: { type: 'string', default: '8' },
    'training-worker': { type: 'string', default: 'true' }, 'gbdt-threads': { type: 'string', default: '1' },
  },
});

/** The fraud example under the bench's pipeline name, its model a GBDT chosen by a random search of `trials` trials. */
function writeSpec(dir: string, pipeline: string, trials: number): string {
  const doc = YAML.parse(readFileSync(join(REPO, 'examples/pipelines/fraud.yaml'), 'utf8')) as { pipeline: string; events: { schema: string }; model: Record<string, unknown> };
  doc.pipeline = pipeline;
  doc.events.schema = join(REPO, 'examples/pipelines', doc.events.schema);
  doc.model = {
    ...doc.model, algorithm: 'gbdt', params: { max_iter: 150, max_leaf_nodes: 31 },
    search: {
      strategy: 'random', trials, seed: 1, metric: 'roc_auc', cv: { kind: 'time_series', folds: 3 },
      space: { learning_rate: { log_uniform: [0.03, 0.3] }, min_samples_leaf: { int: [10, 40] } },
    },
  };
  const file = join(dir, `${pipeline}.yaml`);
  writeFileSync(file, YAML.stringify(doc));
  return file;
}

/** A logistic regression on synthetic vectors with the pipeline's feature names: the champion that serves meanwhile. */
function syntheticChampion(spec: PipelineSpec): ModelRegistryRecord {
  const featureNames = featureNamesOf(spec.features);
  const normal = gaussian(seededRandom(7));
  const X = Array.from({ length: 2000 }, () => featureNames.map(() => normal()));
  const y = X.map((row) => (row[0] + 0.5 * row[1] + 0.5 * normal() > 1 ? 1 : 0));
  const model = trainClassifier('logistic_regression', X, y, { featureNames, params: { l2: 1, max_iter: 100 } });
  const onnx = model.toOnnx(spec.model.name);
  const now = Date.now();
  return {
    pipeline: spec.pipeline, model_name: spec.model.name, model_version: 1, algorithm: 'logistic_regression', stage: 'champion',
    created_at: now, feature_names: featureNames, feature_spec_version: spec.features.version, threshold: 0.5,
    onnx: Buffer.from(onnx), onnx_sha256: createHash('sha256').update(onnx).digest('hex'), metrics: {},
    params: { ...model.describe(), source: 'bench:retraining synthetic vectors' }, data_window_start: now, data_window_end: now,
    training_rows: X.length, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

/** `rows` labelled vectors one second apart, ending now; the label depends on a few features, nonlinearly. */
function syntheticDataset(spec: PipelineSpec, rows: number): { features: FeatureRow[]; labels: LabelRow[] } {
  const names = featureNamesOf(spec.features);
  const rnd = seededRandom(11);
  const normal = gaussian(rnd);
  const t0 = Date.now() - rows * 1000;
  const features: FeatureRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < rows; i++) {
    const values = Object.fromEntries(names.map((n) => [n, normal()]));
    const [a, b, c] = names.map((n) => values[n]);
    const label = rnd() < 1 / (1 + Math.exp(-(1.5 * a - b + (a > 0 && c > 0 ? 1.5 : 0) - 1.5))) ? 1 : 0;
    const id = `${spec.pipeline}-train-${i}`;
    features.push({ pipeline: spec.pipeline, event_id: id, entity_key: `card-${i % 500}`, event_time: t0 + i * 1000, feature_spec_version: spec.features.version, values, computed_at: t0 + i * 1000 });
    labels.push({ pipeline: spec.pipeline, event_id: id, label, label_time: t0 + i * 1000 + 500 });
  }
  return { features, labels };
}

async function main(): Promise<void> {
  const started = Date.now();
  const brokers = (values.brokers ?? '').split(',').filter(Boolean);
  if (brokers.length === 0) throw new Error('bench:retraining system: --brokers is required');
  const pipeline = values.pipeline ?? `bench_retraining_${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-bench-retraining-'));
  const specFile = writeSpec(dir, pipeline, Number(values.trials));
  const settings = loadSettings({
    // The bench measures the streams; it calls the API without tokens.
    STREAMLOOP_AUTH: 'off',
    KAFKA_BROKERS: brokers.join(','), PORT: '0', SCHEMA_REGISTRY_PORT: '0', STREAMLOOP_PIPELINES: specFile,
    CLICKHOUSE_DATA_DIR: join(dir, 'chdb'), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    STREAMLOOP_TRAINING_WORKER: values['training-worker'], STREAMLOOP_GBDT_THREADS: values['gbdt-threads'],
  });
  const running = await startStreamloop(settings, ['schema-registry', 'ingestion', 'features', 'inference', 'training']);
  closeWhenParentLeaves(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }, 'bench:retraining system');

  const spec = loadPipelineSpec(specFile);
  const topics = topicsFor(spec);
  // The champion first: with a first model in the registry, the training target does not train one by itself.
  await publishRegistryRecord(brokers, running.registryUrl!, topics.models, syntheticChampion(spec), 'bench-retraining-model-publisher');
  const ch = await running.get(ClickHouseConnection).client();
  const dataset = syntheticDataset(spec, Number(values.rows));
  await insertRows(ch, TABLES.features, dataset.features);
  await insertRows(ch, TABLES.labels, dataset.labels);
  const deadline = Date.now() + 120_000;
  while ((await fetch(`${running.url}/v1/pipelines/${pipeline}/model`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('bench:retraining system: the champion did not serve within 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  const ready: RetrainingReady = { input: topics.raw, output: topics.predictions, registryUrl: running.registryUrl!, url: running.url!, pipeline, startSeconds: (Date.now() - started) / 1000 };
  console.log(`READY ${JSON.stringify(ready)}`);
}

await main().catch((error: unknown) => {
  console.error(`bench:retraining system failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
