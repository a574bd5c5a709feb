// The CPU-bound half of a training run: search, fit, threshold choice, held-out scoring and report, ONNX export and
// its parity check. Pure and serializable both ways (typed arrays, plain objects), so that it runs the same on the
// calling thread (tests) or on a worker thread (the training target: a search must not stall the event loop that
// serves predictions in the same process). It reads nothing from ClickHouse, Kafka or the registry.
import { threadId } from 'node:worker_threads';
import type { SearchSpec, ThresholdSelection } from '@streamloop/config';
import { roundToFloat32, trainClassifier, validateModel, type Algorithm, type Matrix, type ModelParamValue, type ParityResult } from '@streamloop/ml';
import { heldOutMetrics, importanceReport, type ImportanceReport } from './held-out-report';
import { chooseThreshold, searchParams, THRESHOLD_CV, trainingFolds, type ModelChoice, type SearchOutcome, type ThresholdOutcome, type TrainingPart } from './model-selection';

/** A step of fitAndExport, for progress: the search (one event per trial), the final fit, the ONNX export. */
export interface FitProgress {
  step: 'search' | 'fit' | 'export';
  done: number;
  /** Trials of a random search; unknown (undefined) for successive halving, whose rungs depend on the budget. */
  total?: number;
  detail: string;
  finished?: boolean;
}

/** A matrix as one row-major buffer (rows × cols): one transferable object instead of a clone per row. */
export interface RowMajorMatrix {
  values: Float64Array<ArrayBuffer>;
  rows: number;
  cols: number;
}

export interface FitInput {
  /** The ONNX graph's model name (model.name). */
  modelName: string;
  algorithm: Algorithm;
  featureNames: string[];
  /** Threads of each GBDT fit (STREAMLOOP_GBDT_THREADS); the model does not depend on them. */
  gbdtThreads?: number;
  /** model.params (a search overrides what it samples). */
  params: Record<string, ModelParamValue>;
  search: SearchSpec | null;
  /** model.threshold: the fixed threshold, or the fallback of a threshold selection. */
  threshold: number;
  thresholdSelection: ThresholdSelection | null;
  /** Largest |ONNX − TypeScript| held-out score the export may show (the caller rejects the model above it). */
  parityTolerance: number;
  /** The training part of the time split, in event-time order. */
  train: { X: RowMajorMatrix; y: number[]; times: number[] };
  /** The held-out window. */
  test: { X: RowMajorMatrix; y: number[] };
}

/** The search as the caller logs it (the folds stay where they were used). */
export type SearchReport = Omit<SearchOutcome, 'folds'>;

export interface FitOutput {
  /** The params the final model was fitted with. */
  params: Record<string, ModelParamValue>;
  search: SearchReport | null;
  threshold: ThresholdOutcome;
  /** The final model's scores of the held-out rows (float32-rounded inputs, as onnxruntime sees them). */
  heldOutScores: Float64Array<ArrayBuffer>;
  /** heldOutMetrics at the chosen threshold. */
  evaluation: Record<string, number>;
  importance: ImportanceReport;
  onnx: Uint8Array;
  parity: ParityResult;
  /** The model's own description for the record's params (trees, baseline, …). */
  description: Record<string, string>;
  /** The thread the compute ran on (0: the process's main thread), for the run's log line. */
  threadId: number;
}

/** Rows × cols values in one buffer, row by row (NaN stays the missing-value marker). */
export function toRowMajor(rows: ReadonlyArray<ArrayLike<number>>, cols: number): RowMajorMatrix {
  const values = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => values.set(row, i * cols));
  return { values, rows: rows.length, cols };
}

/** The rows of a row-major matrix as views on its buffer (no copy). */
export function rowsOf(m: RowMajorMatrix): Float64Array[] {
  return Array.from({ length: m.rows }, (_, i) => m.values.subarray(i * m.cols, (i + 1) * m.cols));
}

/**
 * Model selection on the training part, one final fit, the held-out report and the ONNX export with its parity
 * check. Throws what the search, fit or export throw (PlatformError codes, RangeError for bad params).
 */
export async function fitAndExport(input: FitInput, onProgress: (event: FitProgress) => void = () => undefined): Promise<FitOutput> {
  const { featureNames } = input;
  const choice: ModelChoice = { algorithm: input.algorithm, featureNames, gbdtThreads: input.gbdtThreads };
  const part: TrainingPart = { X: rowsOf(input.train.X), y: input.train.y, times: input.train.times };

  // Model selection sees the training part only; the held-out window is scored once, by the final model.
  let params: Record<string, ModelParamValue> = { ...input.params };
  let search: SearchOutcome | null = null;
  if (input.search) {
    const total = input.search.strategy === 'random' ? input.search.trials : undefined;
    let trials = 0;
    onProgress({ step: 'search', done: 0, total, detail: `${input.search.strategy} search, ${input.search.cv.folds}-fold ${input.search.cv.kind} CV` });
    search = searchParams(input.search, choice, part, {
      baseParams: params, threshold: input.threshold,
      onTrial: (t) => onProgress({ step: 'search', done: ++trials, total, detail: `trial ${t.trialId}${t.rung > 0 ? ` (rung ${t.rung})` : ''}: ${Number.isFinite(t.score) ? t.score.toFixed(4) : 'failed'}` }),
    });
    onProgress({ step: 'search', done: trials, total, detail: `best trial ${search.result.best.trialId}: ${search.result.best.score.toFixed(4)}`, finished: true });
    params = search.params;
  }
  onProgress({ step: 'fit', done: 0, total: 1, detail: `${choice.algorithm} on ${part.X.length} rows` });
  const model = trainClassifier(choice.algorithm, part.X, part.y, { featureNames, params, gbdtThreads: choice.gbdtThreads });
  onProgress({ step: 'fit', done: 1, total: 1, detail: `${choice.algorithm} on ${part.X.length} rows`, finished: true });
  const threshold: ThresholdOutcome = input.thresholdSelection
    ? chooseThreshold(input.thresholdSelection, choice, part, {
      params, folds: search?.folds ?? trainingFolds(THRESHOLD_CV, part), fallback: input.threshold,
    })
    : { threshold: input.threshold, strategy: 'fixed', metrics: {} };

  // onnxruntime reads float32 inputs; the reference scores see the same rounded inputs.
  const testX: Matrix = roundToFloat32(rowsOf(input.test.X));
  const heldOutScores = Float64Array.from(model.predictProba(testX));
  const evaluation = heldOutMetrics(input.test.y, heldOutScores, threshold.threshold);
  const importance = importanceReport(model, testX);
  onProgress({ step: 'export', done: 0, total: 1, detail: 'ONNX export and parity check' });
  const onnx = model.toOnnx(input.modelName);
  const parity = await validateModel(onnx, testX, heldOutScores, input.parityTolerance);
  onProgress({ step: 'export', done: 1, total: 1, detail: parity.ok ? 'ONNX export matches the model' : 'ONNX export differs from the model', finished: true });
  const report: SearchReport | null = search ? { result: search.result, params: search.params, startedAt: search.startedAt } : null;
  return { params, search: report, threshold, heldOutScores, evaluation, importance, onnx, parity, description: model.describe(), threadId };
}
