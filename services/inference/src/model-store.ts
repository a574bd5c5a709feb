import { createHash } from 'node:crypto';
import { PlatformError } from '@streamloop/errors';
import { loadExternalModel, OnnxModelError, OnnxScorer } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/runtime';

export interface ServingModel {
  record: ModelRegistryRecord;
  scorer: OnnxScorer;
  loadedAt: number;
}

/** A registry record inference will not serve (size, hash, shapes, probe): the previous champion keeps serving. */
export class ModelRejectedError extends PlatformError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
  }
}

/** Refuse anything larger: a registry record is one Kafka message, and a hostile one should cost little. */
const MAX_MODEL_BYTES = 64 * 1024 * 1024;

/**
 * The champion per pipeline. A new version is loaded and checked beside the serving one and swapped in
 * with one assignment, so scoring never sees a half-loaded model; a model that fails its checks is
 * refused and the previous champion keeps serving.
 */
export class ModelStore {
  private readonly champions = new Map<string, ServingModel>();

  get(pipeline: string): ServingModel | undefined {
    return this.champions.get(pipeline);
  }

  async offer(record: ModelRegistryRecord): Promise<'swapped' | 'ignored'> {
    const current = this.champions.get(record.pipeline);
    if (record.stage !== 'champion') return 'ignored';
    if (current && current.record.model_name === record.model_name && current.record.model_version >= record.model_version) return 'ignored';
    const scorer = await loadChecked(record);
    this.champions.set(record.pipeline, { record, scorer, loadedAt: Date.now() });
    if (current) await current.scorer.release().catch(() => undefined);
    return 'swapped';
  }
}

async function loadChecked(record: ModelRegistryRecord): Promise<OnnxScorer> {
  const where = `model ${record.pipeline}/${record.model_name} v${record.model_version}`;
  if (record.onnx.length === 0 || record.onnx.length > MAX_MODEL_BYTES) {
    throw new ModelRejectedError(`${where}: ONNX size ${record.onnx.length} bytes is outside 1..${MAX_MODEL_BYTES}`);
  }
  const sha = createHash('sha256').update(record.onnx).digest('hex');
  if (sha !== record.onnx_sha256) throw new ModelRejectedError(`${where}: sha256 ${sha} does not match the registry's ${record.onnx_sha256}`);
  if (record.feature_names.length === 0) throw new ModelRejectedError(`${where}: no feature names`);
  if (record.signature) return loadExternal(record, where, record.signature);
  const scorer = await OnnxScorer.load(record.onnx, { expectedFeatures: record.feature_names.length });
  // A probe row of NaNs exercises imputation and the whole graph; the result must be a probability.
  const probe = await scorer.score(new Float32Array(record.feature_names.length).fill(Number.NaN), 1);
  const p = probe.probabilities[0];
  if (!(p >= 0 && p <= 1)) {
    await scorer.release().catch(() => undefined);
    throw new ModelRejectedError(`${where}: probe row scored ${p}, expected a probability in [0, 1]`);
  }
  return scorer;
}

/**
 * A model trained elsewhere: its declared tensors, fed in feature_names order (the input mapping). The same
 * checks as at registration run again here, since the registry topic is also written by others.
 */
async function loadExternal(record: ModelRegistryRecord, where: string, signature: NonNullable<ModelRegistryRecord['signature']>): Promise<OnnxScorer> {
  try {
    return await loadExternalModel(record.onnx, {
      input: signature.input_name,
      columns: record.feature_names,
      probabilityOutput: signature.probability_output,
      positiveClassIndex: signature.positive_class_index,
    }, { maxBytes: MAX_MODEL_BYTES });
  } catch (error) {
    if (error instanceof OnnxModelError) throw new ModelRejectedError(`${where} (external): ${error.message}`);
    throw error;
  }
}
