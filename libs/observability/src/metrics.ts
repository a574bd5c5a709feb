import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The platform's metrics, on a registry of its own (never prom-client's global one), so that
 * several services in one process share one /metrics without name clashes.
 */
export class StreamloopMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'service' | 'pipeline' | 'topic'>;
  readonly recordsOut: Counter<'service' | 'pipeline' | 'topic'>;
  readonly deadLetters: Counter<'service' | 'pipeline' | 'stage'>;
  readonly duplicatesDropped: Counter<'pipeline'>;
  readonly lateEvents: Counter<'pipeline' | 'policy'>;
  readonly batchDuration: Histogram<'service' | 'pipeline'>;
  readonly predictionLatency: Histogram<'pipeline' | 'model'>;
  readonly eventToPrediction: Histogram<'pipeline' | 'model'>;
  readonly consumerLag: Gauge<'service' | 'topic' | 'partition'>;
  readonly modelVersion: Gauge<'pipeline' | 'model' | 'role'>;
  readonly modelFallbacks: Counter<'pipeline' | 'model' | 'version' | 'reason'>;
  readonly modelDemotions: Counter<'pipeline' | 'model' | 'version'>;
  readonly driftScore: Gauge<'pipeline' | 'feature' | 'statistic'>;
  readonly labelDelay: Gauge<'pipeline' | 'quantile'>;
  readonly labelDelayConfigured: Gauge<'pipeline'>;
  readonly labelDelayWarning: Gauge<'pipeline' | 'kind'>;
  readonly modelPerformance: Gauge<'pipeline' | 'model' | 'version' | 'role' | 'metric'>;
  readonly modelLabelled: Gauge<'pipeline' | 'model' | 'version' | 'role'>;
  readonly modelErrorRate: Gauge<'pipeline' | 'model' | 'version' | 'role'>;
  readonly rowsWritten: Counter<'table'>;
  readonly trainingRuns: Counter<'pipeline' | 'outcome'>;
  readonly promotionDecisions: Counter<'pipeline' | 'phase' | 'outcome'>;
  readonly retrainingDecisions: Counter<'pipeline' | 'decision' | 'reason'>;
  readonly dataQualityChecks: Counter<'pipeline' | 'scope' | 'check' | 'result'>;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    // prom-client's standard process_* and nodejs_* collectors, under the platform's prefix.
    collectDefaultMetrics({ register: this.registry, prefix: 'streamloop_' });
    const r = [this.registry];
    this.recordsIn = new Counter({ name: 'streamloop_records_in_total', help: 'Records consumed', labelNames: ['service', 'pipeline', 'topic'], registers: r });
    this.recordsOut = new Counter({ name: 'streamloop_records_out_total', help: 'Records produced', labelNames: ['service', 'pipeline', 'topic'], registers: r });
    this.deadLetters = new Counter({ name: 'streamloop_dead_letters_total', help: 'Records sent to the DLQ', labelNames: ['service', 'pipeline', 'stage'], registers: r });
    this.duplicatesDropped = new Counter({ name: 'streamloop_duplicate_events_total', help: 'Events dropped as duplicates by event id', labelNames: ['pipeline'], registers: r });
    this.lateEvents = new Counter({ name: 'streamloop_late_events_total', help: 'Events older than the allowed lateness (or a window) for their entity', labelNames: ['pipeline', 'policy'], registers: r });
    this.batchDuration = new Histogram({
      name: 'streamloop_batch_duration_seconds', help: 'Time to process one consumed batch',
      labelNames: ['service', 'pipeline'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: r,
    });
    this.predictionLatency = new Histogram({
      name: 'streamloop_prediction_latency_seconds', help: 'Scoring time of the micro-batch a prediction was in, per prediction',
      labelNames: ['pipeline', 'model'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: r,
    });
    this.eventToPrediction = new Histogram({
      name: 'streamloop_event_to_prediction_seconds', help: 'From an event\'s arrival at the platform (its raw record\'s timestamp) to its prediction',
      labelNames: ['pipeline', 'model'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10], registers: r,
    });
    this.consumerLag = new Gauge({ name: 'streamloop_consumer_lag_records', help: 'Records behind the end of the partition after the last committed batch', labelNames: ['service', 'topic', 'partition'], registers: r });
    this.modelVersion = new Gauge({ name: 'streamloop_model_version', help: 'Model version serving per role', labelNames: ['pipeline', 'model', 'role'], registers: r });
    this.modelFallbacks = new Counter({
      name: 'streamloop_model_fallbacks_total',
      help: 'Rows a model failed on at serve time (reason: error, non_finite, out_of_range), each scored by the last good champion or dead-lettered',
      labelNames: ['pipeline', 'model', 'version', 'reason'], registers: r,
    });
    this.modelDemotions = new Counter({ name: 'streamloop_model_demotions_total', help: 'Models demoted (stage rejected, by policy) after serving.max_model_failures failed rows', labelNames: ['pipeline', 'model', 'version'], registers: r });
    this.driftScore = new Gauge({ name: 'streamloop_drift_score', help: 'Latest drift statistic per feature', labelNames: ['pipeline', 'feature', 'statistic'], registers: r });
    this.labelDelay = new Gauge({
      name: 'streamloop_label_delay_seconds', help: 'Observed label delay (Kafka timestamp of the label record minus event time) of the latest labels, by quantile',
      labelNames: ['pipeline', 'quantile'], registers: r,
    });
    this.labelDelayConfigured = new Gauge({ name: 'streamloop_label_delay_configured_seconds', help: 'monitoring.detectors.label_delay', labelNames: ['pipeline'], registers: r });
    this.labelDelayWarning = new Gauge({
      name: 'streamloop_label_delay_warning', help: '1 while label_delay is far from the observed delay (kind too_long or too_short), else 0',
      labelNames: ['pipeline', 'kind'], registers: r,
    });
    // Per model version and role, each on its own predictions (libs/monitoring): the drift job's window, its error stream.
    const model = ['pipeline', 'model', 'version', 'role'] as const;
    this.modelPerformance = new Gauge({
      name: 'streamloop_model_performance', help: 'Live performance (roc_auc, precision, recall, f1, log_loss) of a model version in its role, on its own labelled predictions of the latest drift window',
      labelNames: [...model, 'metric'], registers: r,
    });
    this.modelLabelled = new Gauge({ name: 'streamloop_model_labelled_records', help: 'Labelled predictions of a model version in its role in the latest drift window', labelNames: model, registers: r });
    this.modelErrorRate = new Gauge({ name: 'streamloop_model_error_ratio', help: "Recent error rate (last 500 settled labelled predictions) of a model version's error stream in its role", labelNames: model, registers: r });
    this.rowsWritten = new Counter({ name: 'streamloop_clickhouse_rows_written_total', help: 'Rows written to ClickHouse', labelNames: ['table'], registers: r });
    this.trainingRuns = new Counter({ name: 'streamloop_training_runs_total', help: 'Training runs by outcome', labelNames: ['pipeline', 'outcome'], registers: r });
    this.promotionDecisions = new Counter({
      name: 'streamloop_promotion_decisions_total',
      help: 'Where retrained models went: phase offline (outcome: the stage published) or online (outcome: promote, reject)',
      labelNames: ['pipeline', 'phase', 'outcome'], registers: r,
    });
    this.retrainingDecisions = new Counter({
      name: 'streamloop_retraining_decisions_total',
      help: 'Triggers of a training run (alert, schedule, command, first model) by decision (trained, skipped, failed) and reason',
      labelNames: ['pipeline', 'decision', 'reason'], registers: r,
    });
    this.dataQualityChecks = new Counter({
      name: 'streamloop_data_quality_checks_total',
      help: 'Data-quality checks evaluated (the training gate, each monitoring window), by check and result (passed, failed, warning); per feature checks count once per feature',
      labelNames: ['pipeline', 'scope', 'check', 'result'], registers: r,
    });
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * The built-in schema registry's metrics: it runs on a port and app of its own (also inside the monolith), so it has a
 * registry of its own and its /metrics does not repeat the services' series.
 */
export class SchemaRegistryMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'code'>;
  readonly requestDuration: Histogram<'method'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'streamloop_' });
    const r = [this.registry];
    this.requests = new Counter({ name: 'streamloop_schema_registry_requests_total', help: 'HTTP requests the schema registry answered, by method and status code', labelNames: ['method', 'code'], registers: r });
    this.requestDuration = new Histogram({
      name: 'streamloop_schema_registry_request_duration_seconds', help: 'Time to answer one schema registry request',
      labelNames: ['method'], buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: r,
    });
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
