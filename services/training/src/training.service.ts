import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { countLabelledFeatures, insertRows, loadTrainingDataset, TABLES } from '@streamloop/clickhouse';
import { readTopicToEnd } from '@streamloop/kafka';
import { evaluateBinary, roundToFloat32, timeSplit, trainClassifier, validateModel, type Algorithm } from '@streamloop/ml';
import { RUNTIME, Runtime, type ModelRegistryRecord, type PipelineContext } from '@streamloop/runtime';

const SERVICE = 'training';
/** Per feature, how many training values travel with the model as the drift reference. */
const REFERENCE_SAMPLE = 2000;
const AUTO_TRAIN_CHECK_MS = 3000;

export class NotEnoughDataError extends Error {
  override name = 'NotEnoughDataError';
}

export interface TrainingResult {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: string;
  training_rows: number;
  holdout_rows: number;
  metrics: Record<string, number>;
  data_window_start: number;
  data_window_end: number;
  onnx_bytes: number;
  parity_max_abs_diff: number;
  duration_ms: number;
}

/**
 * Builds a dataset from ClickHouse (feature vectors joined with their labels), trains, evaluates on the
 * most recent time window, exports ONNX, checks the exported model against the trained one, and
 * publishes it to the model registry topic.
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap {
  private readonly running = new Map<string, Promise<TrainingResult>>();
  private readonly published = new Set<string>();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  onApplicationBootstrap(): void {
    // The first model of a pipeline is trained as soon as enough labels exist; later ones on command or schedule.
    const timer = setInterval(() => void this.autoTrain(), AUTO_TRAIN_CHECK_MS);
    timer.unref();
    const schedules: NodeJS.Timeout[] = [];
    for (const ctx of this.runtime.pipelines.values()) {
      const every = ctx.spec.training.scheduleMs;
      if (every) schedules.push(setInterval(() => void this.train(ctx.spec.pipeline, 'schedule').catch(() => undefined), every));
    }
    this.runtime.onClose(async () => {
      clearInterval(timer);
      schedules.forEach(clearInterval);
      await Promise.allSettled(this.running.values());
    });
  }

  private async autoTrain(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      const name = ctx.spec.pipeline;
      if (this.published.has(name) || this.running.has(name)) continue;
      try {
        if ((await this.latestVersion(ctx)) > 0) {
          this.published.add(name);
          continue;
        }
        const ch = await this.runtime.clickhouse();
        const labelled = await countLabelledFeatures(ch, { pipeline: name, featureSpecVersion: ctx.spec.features.version });
        if (labelled >= ctx.spec.training.minLabels) await this.train(name, 'first model: enough labels');
      } catch (error) {
        this.runtime.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'automatic training failed');
      }
    }
  }

  /** Trains one model now; concurrent requests for the same pipeline share the run. */
  train(pipeline: string, reason = 'on command'): Promise<TrainingResult> {
    const existing = this.running.get(pipeline);
    if (existing) return existing;
    const run = this.runOnce(this.runtime.pipeline(pipeline), reason).finally(() => this.running.delete(pipeline));
    this.running.set(pipeline, run);
    return run;
  }

  private async runOnce(ctx: PipelineContext, reason: string): Promise<TrainingResult> {
    const started = Date.now();
    const { spec, topics } = ctx;
    const log = this.runtime.logger.child({ service: SERVICE, pipeline: spec.pipeline });
    const ch = await this.runtime.clickhouse();
    const rows = await loadTrainingDataset(ch, { pipeline: spec.pipeline, featureSpecVersion: spec.features.version });
    if (rows.length < spec.training.minLabels) {
      throw new NotEnoughDataError(
        `pipeline ${spec.pipeline}: ${rows.length} labelled feature vectors, training needs at least ${spec.training.minLabels} (training.min_labels)`,
      );
    }
    const featureNames = this.runtime.featureComputer(spec.pipeline).featureNames;
    const { train, test } = timeSplit(rows, { timeKey: 'event_time', holdoutFraction: spec.training.holdoutFraction });
    const matrix = (part: typeof rows) => part.map((r) => featureNames.map((n) => r.values[n] ?? Number.NaN));
    const labels = (part: typeof rows) => part.map((r) => r.label);
    const model = trainClassifier(spec.model.algorithm as Algorithm, matrix(train), labels(train), { featureNames, params: spec.model.params });
    // onnxruntime reads float32 inputs; the reference scores see the same rounded inputs.
    const testX = roundToFloat32(matrix(test));
    const testScores = model.predictProba(testX);
    const metrics = evaluateBinary(labels(test), testScores, spec.model.threshold);
    const onnx = model.toOnnx(spec.model.name);
    const parity = await validateModel(onnx, testX, testScores, 1e-5);
    if (!parity.ok) {
      this.runtime.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome: 'rejected' });
      throw new Error(`pipeline ${spec.pipeline}: exported ONNX disagrees with the trained model by ${parity.maxAbsDiff} (> 1e-5); not published`);
    }
    const version = (await this.latestVersion(ctx)) + 1;
    const record: ModelRegistryRecord = {
      pipeline: spec.pipeline,
      model_name: spec.model.name,
      model_version: version,
      algorithm: spec.model.algorithm,
      stage: 'champion',
      created_at: Date.now(),
      feature_names: featureNames,
      feature_spec_version: spec.features.version,
      threshold: spec.model.threshold,
      onnx: Buffer.from(onnx),
      onnx_sha256: createHash('sha256').update(onnx).digest('hex'),
      metrics: finiteOnly({ ...scalarMetrics(metrics), training_rows: train.length, holdout_rows: test.length }),
      params: { ...Object.fromEntries(Object.entries(spec.model.params).map(([k, v]) => [k, String(v)])), ...model.describe() },
      data_window_start: rows[0].event_time,
      data_window_end: rows[rows.length - 1].event_time,
      training_rows: train.length,
      reference: referenceSample(train, featureNames),
      feature_importance: model.featureImportance(),
    };
    await this.runtime.send(topics.models, this.runtime.types.modelRegistry, [
      { key: `${spec.pipeline}/${spec.model.name}/${version}`, value: record },
    ]);
    this.published.add(spec.pipeline);
    const duration = Date.now() - started;
    await insertRows(ch, TABLES.experiments, [{
      pipeline: spec.pipeline,
      experiment_id: `${spec.pipeline}/${spec.model.name}`,
      run_id: randomUUID(),
      model_name: spec.model.name,
      params: { ...record.params, reason, model_version: String(version) },
      metrics: record.metrics,
      started_at: started,
      duration_ms: duration,
      status: 'published',
    }]);
    this.runtime.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome: 'published' });
    log.info({ version, roc_auc: metrics.rocAuc, rows: rows.length, reason }, 'model published');
    return {
      pipeline: spec.pipeline,
      model_name: spec.model.name,
      model_version: version,
      algorithm: spec.model.algorithm,
      training_rows: train.length,
      holdout_rows: test.length,
      metrics: record.metrics,
      data_window_start: record.data_window_start,
      data_window_end: record.data_window_end,
      onnx_bytes: onnx.length,
      parity_max_abs_diff: parity.maxAbsDiff,
      duration_ms: duration,
    };
  }

  /** The highest version of this pipeline's model in the registry topic (0 when none). */
  private async latestVersion(ctx: PipelineContext): Promise<number> {
    let latest = 0;
    await readTopicToEnd(this.runtime.kafka, ctx.topics.models, (r) => {
      const key = r.key?.toString() ?? '';
      const [pipeline, model, version] = key.split('/');
      if (pipeline === ctx.spec.pipeline && model === ctx.spec.model.name) latest = Math.max(latest, Number(version) || 0);
    });
    return latest;
  }
}

function scalarMetrics(m: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[snake(k)] = v;
  return out;
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function finiteOnly(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

/** An evenly spaced sample of each feature's training values (deterministic, keeps the time spread). */
function referenceSample(rows: Array<{ values: Record<string, number> }>, names: string[]): Record<string, number[]> {
  const count = Math.min(rows.length, REFERENCE_SAMPLE);
  const step = rows.length / count;
  const out: Record<string, number[]> = {};
  for (const n of names) {
    out[n] = Array.from({ length: count }, (_, k) => rows[Math.floor(k * step)].values[n] ?? Number.NaN);
  }
  return out;
}
