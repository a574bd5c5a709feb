/**
 * TypeScript shapes of the platform records (schemas/*.avsc). Times are epoch milliseconds. The model registry
 * record is @streamloop/model-registry's.
 */
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
