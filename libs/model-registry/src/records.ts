/** The model registry record (schemas/model-registry.avsc) as code uses it. Times are epoch milliseconds. */
export interface ModelRegistryRecord {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: string;
  stage: ModelStage;
  created_at: number;
  feature_names: string[];
  feature_spec_version: string;
  threshold: number;
  onnx: Buffer;
  onnx_sha256: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  data_window_start: number;
  data_window_end: number;
  training_rows: number;
  reference: Record<string, number[]>;
  feature_importance: Record<string, number>;
  /** Set for a model trained elsewhere (algorithm 'external'); null or absent for our own models. */
  signature?: OnnxSignatureRecord | null;
}

/** The declared tensors of an external model; its input mapping is the record's feature_names. */
export interface OnnxSignatureRecord {
  input_name: string;
  probability_output: string;
  positive_class_index: number;
}

/**
 * candidate: stored, not served. champion: eligible to serve (the champion rule picks one). archived: retired,
 * never served again unless republished as champion.
 */
export const MODEL_STAGES = ['candidate', 'champion', 'archived'] as const;
export type ModelStage = (typeof MODEL_STAGES)[number];

/** The stages a new version may be registered with (archiving is for versions already published). */
export const REGISTRATION_STAGES = ['candidate', 'champion'] as const satisfies readonly ModelStage[];
export type RegistrationStage = (typeof REGISTRATION_STAGES)[number];

export function isRegistrationStage(value: unknown): value is RegistrationStage {
  return typeof value === 'string' && (REGISTRATION_STAGES as readonly string[]).includes(value);
}
