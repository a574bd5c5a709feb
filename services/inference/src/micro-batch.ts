import { DEFAULT_BATCH_MAX_ROWS, DEFAULT_GRAPH_OPTIMIZATION_LEVEL, DEFAULT_ONNX_INTRA_OP_THREADS, type PipelineSpec } from '@streamloop/config';
import type { OnnxSessionOptions } from '@streamloop/ml';
import type { StreamFetchOptions } from '@streamloop/stream';

/** The pipeline's micro-batching (`serving.batch`), its defaults when the spec was built by hand. */
export function servingBatchOf(spec: PipelineSpec): { maxRows: number; maxWaitMs: number | null } {
  return spec.serving?.batch ?? { maxRows: DEFAULT_BATCH_MAX_ROWS, maxWaitMs: null };
}

/** The onnxruntime session options of the pipeline's models (`serving.onnx`). */
export function sessionOptionsOf(spec: PipelineSpec): OnnxSessionOptions {
  const onnx = spec.serving?.onnx;
  return {
    intraOpNumThreads: onnx?.intraOpThreads ?? DEFAULT_ONNX_INTRA_OP_THREADS,
    graphOptimizationLevel: onnx?.graphOptimizationLevel ?? DEFAULT_GRAPH_OPTIMIZATION_LEVEL,
  };
}

/**
 * How inference's own consumer fetches for the pipeline: with `serving.batch.max_wait` set, a fetch waits that long
 * for records to gather (Kafka's fetch.max.wait.ms) unless a full fetch's worth of bytes arrives sooner (the
 * transport's fetch.min.bytes); unset, the transport's defaults (a fetch returns as soon as any record is there).
 */
export function inferenceFetchOf(spec: PipelineSpec): StreamFetchOptions | undefined {
  const { maxWaitMs } = servingBatchOf(spec);
  return maxWaitMs === null ? undefined : { maxWaitMs };
}

/**
 * Scores `rows` in calls of at most `maxRows` rows each, in order, one call at a time (a session runs one call at a
 * time anyway, and each call's input is built just before it); the scores come back in the order of the rows. The one
 * place a consumed batch is cut into scoring calls, for the champion, its fallback and the challenger alike.
 */
export async function scoreInChunks<R>(rows: R[], maxRows: number, scoreChunk: (chunk: R[]) => Promise<number[]>): Promise<number[]> {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`scoreInChunks: maxRows must be an integer ≥ 1, got ${maxRows}`);
  if (rows.length <= maxRows) return scoreChunk(rows);
  const out: number[] = [];
  for (let start = 0; start < rows.length; start += maxRows) {
    const chunk = rows.slice(start, start + maxRows);
    const scores = await scoreChunk(chunk);
    if (scores.length !== chunk.length) throw new Error(`returned ${scores.length} scores for ${chunk.length} rows`);
    for (const s of scores) out.push(s);
  }
  return out;
}
