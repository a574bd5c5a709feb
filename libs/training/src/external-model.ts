// Registering an ONNX classifier trained elsewhere: the request checked, the model checked against its declared
// mapping (the same checks inference repeats when it loads it), and its registry record with algorithm 'external'.
import type { PipelineSpec } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { loadExternalModel, parseExternalMapping, type ExternalModelMapping } from '@streamloop/ml';
import { admitOnnxModel, describeTensors, type AdmitOptions, type AdmittedModel } from '@streamloop/model-safety';
import {
  isRegistrationStage, nextVersion, REGISTRATION_STAGES, type ModelRegistryRecord, type RegistrationStage,
} from '@streamloop/model-registry';
import type { JobLogger, ModelRegistryAccess } from './training-run';

/** The registry key is pipeline/model/version: a name must not contain the separator. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The request to register a model trained elsewhere (POST /v1/pipelines/:p/models/external). */
export interface ExternalModelRequest {
  /** Model name (else mapping.name). */
  name?: string;
  /** The ONNX file, base64. */
  onnx_base64: string;
  /** As in a mapping file: input, columns, probability_output, positive_class_index (and optional name, threshold). */
  mapping: unknown;
  /** 'candidate' (default: stored, not served) or 'champion' (served by inference). */
  stage?: string;
  /** Decision threshold on P(positive) (else mapping.threshold, else the pipeline's model.threshold). */
  threshold?: number;
}

export interface ExternalModelResult {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: 'external';
  stage: string;
  threshold: number;
  feature_names: string[];
  input_name: string;
  probability_output: string;
  positive_class_index: number;
  onnx_bytes: number;
  onnx_sha256: string;
  /** What the safety checks saw: the operators used, and the outputs of the probe's one run (name type [dims]). */
  safety: { operators: string[]; probe_outputs: string; probe_ms: number };
}

/** A registration request that is not what the endpoint takes (a missing name, an unknown stage, …). */
export class BadExternalModelError extends PlatformError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
  }
}

/** A checked registration, ready to take a version number. */
export interface ExternalModel {
  pipeline: string;
  name: string;
  stage: RegistrationStage;
  threshold: number;
  featureSpecVersion: string;
  onnx: Buffer;
  mapping: ExternalModelMapping;
  /** The untrusted file's admission: SHA-256, static report and probe (libs/model-safety). */
  admitted: AdmittedModel;
}

/**
 * Checks a registration request (400 INVALID_INPUT); admits the untrusted file (libs/model-safety: 413
 * MODEL_TOO_LARGE over the size limit, 422 UNSAFE_MODEL for what it may not contain or a failed probe in a limited
 * child process); only then loads it here and checks it against its mapping: its signature matches, its columns are
 * pipeline features, it scores probe rows (400 INVALID_MODEL otherwise).
 */
export async function checkExternalModel(
  body: unknown, pipeline: { spec: Pick<PipelineSpec, 'pipeline' | 'model' | 'features'>; featureNames: readonly string[] },
  safety: AdmitOptions = {},
): Promise<ExternalModel> {
  const { spec } = pipeline;
  const request = readRequest(body);
  const mapping = parseExternalMapping(request.mapping, 'mapping');
  const name = request.name ?? mapping.name;
  if (name === undefined) throw new BadExternalModelError('name: required (in the request or as mapping.name)');
  if (!MODEL_NAME.test(name)) throw new BadExternalModelError(`name: '${name}' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  if (name === spec.model.name) {
    throw new BadExternalModelError(`name: '${name}' is the pipeline's own trained model (model.name); give the external model a name of its own`);
  }
  const threshold = request.threshold ?? mapping.threshold ?? spec.model.threshold;
  const onnx = Buffer.from(request.onnx_base64, 'base64');
  // The file is untrusted until admitted: onnxruntime in this process parses it only after the probe passed.
  const admitted = await admitOnnxModel(onnx, safety);
  const scorer = await loadExternalModel(onnx, mapping, { knownFeatures: pipeline.featureNames, maxBytes: safety.maxBytes });
  await scorer.release();
  return { pipeline: spec.pipeline, name, stage: request.stage, threshold, featureSpecVersion: spec.features.version, onnx, mapping, admitted };
}

/** The registry record of a checked external model at a version. */
export function externalModelRecord(model: ExternalModel, version: number, createdAt: number): ModelRegistryRecord {
  const { mapping, onnx, admitted } = model;
  return {
    pipeline: model.pipeline,
    model_name: model.name,
    model_version: version,
    algorithm: 'external',
    stage: model.stage,
    created_at: createdAt,
    feature_names: mapping.columns,
    feature_spec_version: model.featureSpecVersion,
    threshold: model.threshold,
    onnx,
    onnx_sha256: admitted.sha256,
    metrics: {},
    params: {
      source: 'external',
      input: mapping.input,
      probability_output: mapping.probabilityOutput,
      positive_class_index: String(mapping.positiveClassIndex),
      // What admitted the untrusted file (`models show` prints them): its size, operators and the probe's outputs.
      onnx_bytes: String(onnx.length),
      operators: admitted.safety.operators.join(', '),
      probe_outputs: describeTensors(admitted.probe.outputs),
      probe_memory_limit: admitted.probe.memoryLimit === 'rlimit-data' ? `${admitted.probe.memoryMb} MiB (RLIMIT_DATA)` : 'V8 heap only (no prlimit)',
    },
    // Not trained here: no data window, row count or training sample travels with it.
    data_window_start: 0,
    data_window_end: 0,
    training_rows: 0,
    reference: {},
    feature_importance: {},
    signature: { input_name: mapping.input, probability_output: mapping.probabilityOutput, positive_class_index: mapping.positiveClassIndex },
    decided_by: 'external',
    decided_at: createdAt,
    decision_reason: `registered from elsewhere as ${model.stage}`,
    decision_metrics: {},
  };
}

/**
 * Publishes a checked external model at the next version of its name. Two registrations of one name must not run
 * at once (they would take the same version): the caller serializes them.
 */
export async function publishExternalModel(
  deps: { registry: ModelRegistryAccess; logger: JobLogger; now(): number }, model: ExternalModel,
): Promise<ExternalModelResult> {
  const version = nextVersion(await deps.registry.read(), model.pipeline, model.name);
  const record = externalModelRecord(model, version, deps.now());
  await deps.registry.publish(record);
  deps.logger.info({ pipeline: model.pipeline, model: model.name, version, stage: record.stage }, 'external model registered');
  return {
    pipeline: record.pipeline,
    model_name: model.name,
    model_version: version,
    algorithm: 'external',
    stage: record.stage,
    threshold: model.threshold,
    feature_names: record.feature_names,
    input_name: model.mapping.input,
    probability_output: model.mapping.probabilityOutput,
    positive_class_index: model.mapping.positiveClassIndex,
    onnx_bytes: model.onnx.length,
    onnx_sha256: record.onnx_sha256,
    safety: { operators: model.admitted.safety.operators, probe_outputs: describeTensors(model.admitted.probe.outputs), probe_ms: model.admitted.probe.durationMs },
  };
}

function readRequest(body: unknown): ExternalModelRequest & { stage: RegistrationStage } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadExternalModelError('expected a JSON object with onnx_base64, mapping and optionally name, stage, threshold');
  }
  const b = body as Record<string, unknown>;
  const known = ['name', 'onnx_base64', 'mapping', 'stage', 'threshold'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new BadExternalModelError(`unknown field(s) ${unknown.join(', ')} (expected ${known.join(', ')})`);
  if (typeof b.onnx_base64 !== 'string' || b.onnx_base64.length === 0) throw new BadExternalModelError('onnx_base64: expected the ONNX file as a base64 string');
  const onnxBase64 = b.onnx_base64.replace(/\s+/g, '');
  if (!BASE64.test(onnxBase64)) throw new BadExternalModelError('onnx_base64: not valid base64');
  if (b.mapping === undefined) throw new BadExternalModelError('mapping: required (input, columns, probability_output, positive_class_index)');
  if (b.name !== undefined && typeof b.name !== 'string') throw new BadExternalModelError(`name: expected a string, got ${JSON.stringify(b.name)}`);
  const stage = b.stage ?? 'candidate';
  if (!isRegistrationStage(stage)) {
    throw new BadExternalModelError(`stage: expected ${REGISTRATION_STAGES.join(' or ')}, got ${JSON.stringify(b.stage)}`);
  }
  if (b.threshold !== undefined && (typeof b.threshold !== 'number' || !(b.threshold >= 0 && b.threshold <= 1))) {
    throw new BadExternalModelError(`threshold: expected a number in [0, 1], got ${JSON.stringify(b.threshold)}`);
  }
  return {
    name: b.name as string | undefined,
    onnx_base64: onnxBase64,
    mapping: b.mapping,
    stage,
    threshold: b.threshold as number | undefined,
  };
}
