// Shared by this lib's tests: the model registry in memory, the example spec renamed, a ClickHouse engine migrated.
import { after, before } from 'node:test';
import { insertRows, migrate, TABLES, type ClickHouseClient, type LabelRow, type PredictionRow } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import { loadPipelineSpec, type PipelineSpec } from '@streamloop/config';
import { seededRandom } from '@streamloop/ml';
import { emptyRegistry, foldRegistry, type ModelRegistryRecord, type RegistryState } from '@streamloop/model-registry';

/** A registry in memory: what was published, folded as the topic would be. */
export function memoryRegistry(seed: ModelRegistryRecord[] = []) {
  const published: ModelRegistryRecord[] = [];
  let state: RegistryState = emptyRegistry();
  let offset = 0n;
  const add = (record: ModelRegistryRecord) => {
    state = foldRegistry(state, [{ kind: 'version', offset: offset++, record }]);
  };
  seed.forEach(add);
  return {
    published,
    read: async () => state,
    publish: async (record: ModelRegistryRecord) => {
      add(record);
      published.push(record);
    },
  };
}

/** A minimal registry record of an external model (its bytes are not a model). */
export function registryRecord(pipeline: string, modelName: string, version: number, stage: ModelRegistryRecord['stage'], featureNames: string[]): ModelRegistryRecord {
  return {
    pipeline, model_name: modelName, model_version: version, algorithm: 'external', stage, created_at: 0, feature_names: featureNames,
    feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([1]), onnx_sha256: '00', metrics: {}, params: {}, data_window_start: 0,
    data_window_end: 0, training_rows: 0, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

/** The example fraud spec as pipeline `pipeline` with training.min_labels 200, then `change`d. */
export function testSpec(pipeline: string, change: (s: PipelineSpec) => void = () => undefined): PipelineSpec {
  const spec = structuredClone(loadPipelineSpec('examples/pipelines/fraud.yaml'));
  spec.pipeline = pipeline;
  spec.training.minLabels = 200;
  change(spec);
  return spec;
}

/** An embedded ClickHouse (chDB) of the test file's own, migrated before its tests and closed after them. */
export function useTestClickHouse(name: string): { readonly client: TestClickHouse['client'] } {
  let ch: TestClickHouse | undefined;
  before(async () => {
    ch = await openTestClickHouse(name);
    await migrate(ch.client, { database: ch.database });
  });
  after(async () => ch?.close());
  return {
    get client() {
      if (!ch) throw new Error('the test ClickHouse is opened before the tests run');
      return ch.client;
    },
  };
}

/**
 * `n` labelled live events of model `m` (from T0, one a second): the `served` version's predictions (role champion)
 * and the `shadow` version's (role challenger, in shadow), each score a logistic of the label's signal with noise
 * both share (the events' difficulty) and noise of its own; equal signals make the two equally good.
 */
export async function insertPairedLive(
  client: ClickHouseClient, pipeline: string, n: number, t0: number,
  models: { served: { version: number; signal: number }; shadow: { version: number; signal: number } }, seed: number,
): Promise<void> {
  const rnd = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < n; i++) {
    const y = rnd() < 0.2 ? 1 : 0;
    const shared = gauss();
    const score = (signal: number) => 1 / (1 + Math.exp(-(signal * (2 * y - 1) + shared + 0.6 * gauss())));
    const base = { pipeline, event_id: `${pipeline}-${i}`, entity_key: 'c', event_time: t0 + i * 1000, model_name: 'm', threshold: 0.5, latency_ms: 1, predicted_at: t0 + i * 1000 + 5 };
    const served = score(models.served.signal);
    const shadow = score(models.shadow.signal);
    predictions.push({ ...base, model_version: models.served.version, role: 'champion', score: served, label: served >= 0.5 ? 1 : 0, shadow: false });
    predictions.push({ ...base, model_version: models.shadow.version, role: 'challenger', score: shadow, label: shadow >= 0.5 ? 1 : 0, shadow: true });
    labels.push({ pipeline, event_id: `${pipeline}-${i}`, label: y, label_time: t0 + i * 1000 + 60_000 });
  }
  await insertRows(client, TABLES.predictions, predictions);
  await insertRows(client, TABLES.labels, labels);
}
