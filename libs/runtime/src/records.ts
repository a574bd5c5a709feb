/** TypeScript shapes of the platform records (schemas/*.avsc). Times are epoch milliseconds. */
export interface FeatureVectorRecord {
  event_id: string;
  pipeline: string;
  entity_key: string;
  event_time: number;
  feature_spec_version: string;
  values: Record<string, number>;
  computed_at: number;
}

export interface PredictionRecord {
  event_id: string;
  pipeline: string;
  entity_key: string;
  event_time: number;
  model_name: string;
  model_version: number;
  role: 'champion' | 'challenger';
  score: number;
  label: number;
  threshold: number;
  latency_ms: number;
  predicted_at: number;
}

export interface LabelRecord {
  event_id: string;
  label: number;
  label_time: number;
}

export interface ModelRegistryRecord {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: string;
  stage: 'candidate' | 'champion' | 'archived';
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

export interface AlertRecord {
  alert_id: string;
  pipeline: string;
  kind: 'feature_drift' | 'prediction_drift' | 'performance';
  feature: string;
  statistic: string;
  value: number;
  threshold: number;
  window_start: number;
  window_end: number;
  model_name: string;
  model_version: number;
  created_at: number;
}
