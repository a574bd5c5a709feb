// A small champion model for tests that need inference to serve: trained in code (deterministic for a seed),
// exported to ONNX and published to the model registry topic as the training target would.
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import { exportOnnx, OnnxScorer, seededRandom, TabularPipeline } from '@streamloop/ml';
import { publishModelVersion, type ModelRegistryRecord } from '@streamloop/model-registry';
import type { TestStack } from './stack';

const { onnx } = onnxProto;

/** A logistic regression over `featureNames` whose label depends on the first two features. */
export function trainTestModel(featureNames: string[], seed = 7): TabularPipeline {
  const rnd = seededRandom(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 400; i++) {
    const row = featureNames.map(() => rnd() * 4 - 2);
    X.push(row);
    y.push(rnd() < 1 / (1 + Math.exp(-(2 * row[0] - (row[1] ?? 0)))) ? 1 : 0);
  }
  return TabularPipeline.fit(X, y, { featureNames });
}

/** The registry record of `model` as champion `modelName` v`version` of `pipeline`. */
export function championRecord(pipeline: string, modelName: string, version: number, model: TabularPipeline): ModelRegistryRecord {
  const onnx = Buffer.from(exportOnnx(model, { modelName }));
  return {
    pipeline, model_name: modelName, model_version: version, algorithm: 'logistic_regression', stage: 'champion',
    created_at: Date.now(), feature_names: [...model.featureNames], feature_spec_version: 'v1', threshold: 0.5, onnx,
    onnx_sha256: createHash('sha256').update(onnx).digest('hex'), metrics: { roc_auc: 0.9 }, params: {},
    data_window_start: 0, data_window_end: 1, training_rows: 400, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

/** Publishes a registry record to the pipeline's model registry topic, as the training target does. */
export async function publishModel(stack: TestStack, pipeline: string, record: ModelRegistryRecord): Promise<void> {
  const { kafka, serde, types, sharedProducer, pipelines } = stack.runtime;
  await publishModelVersion({ kafka, serde, types, producer: () => sharedProducer.producer() }, pipelines.pipeline(pipeline).topics.models, record);
}

/**
 * What the served model scores for each row (values by feature name, missing = NaN), computed here with
 * onnxruntime on the record's own ONNX bytes: the scores of an uninterrupted run.
 */
export async function referenceScores(record: ModelRegistryRecord, rows: Array<Record<string, number>>): Promise<number[]> {
  const scorer = await OnnxScorer.load(record.onnx, { expectedFeatures: record.feature_names.length });
  try {
    const d = record.feature_names.length;
    const matrix = new Float32Array(rows.length * d);
    rows.forEach((values, i) => record.feature_names.forEach((name, j) => {
      const v = values[name];
      matrix[i * d + j] = typeof v === 'number' ? v : Number.NaN;
    }));
    const { probabilities } = await scorer.score(matrix, rows.length);
    return Array.from(probabilities);
  } finally {
    await scorer.release();
  }
}

/**
 * A model that loads and passes inference's checks but fails at serve time: `model`'s graph with its logistic link
 * removed (LinearClassifier post_transform NONE) and intercept 0.5, so it outputs 0.5 + coefficients · standardized
 * features: a probability for rows near the training means (the probe row of missing values scores 0.5), a value
 * outside [0, 1] for rows far from them. A real ONNX model of the kind a broken export makes, no test hook.
 */
export function outOfRangeRecord(pipeline: string, modelName: string, version: number, model: TabularPipeline): ModelRegistryRecord {
  const record = championRecord(pipeline, modelName, version, model);
  const decoded = onnx.ModelProto.decode(record.onnx);
  const classifier = decoded.graph?.node?.find((n) => n.opType === 'LinearClassifier');
  const post = classifier?.attribute?.find((a) => a.name === 'post_transform');
  const intercepts = classifier?.attribute?.find((a) => a.name === 'intercepts');
  if (!post || !intercepts) throw new Error('outOfRangeRecord: the exported graph has no LinearClassifier post_transform/intercepts');
  post.s = new TextEncoder().encode('NONE');
  intercepts.floats = [0.5];
  const bytes = Buffer.from(onnx.ModelProto.encode(decoded).finish());
  return { ...record, onnx: bytes, onnx_sha256: createHash('sha256').update(bytes).digest('hex') };
}
