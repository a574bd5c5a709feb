// Shared by this lib's tests: the model registry in memory, the example spec renamed, a ClickHouse engine migrated.
import { after, before } from 'node:test';
import { migrate } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import { loadPipelineSpec, type PipelineSpec } from '@streamloop/config';
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
