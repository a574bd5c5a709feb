import { registryKey } from '@streamloop/model-registry';
import type { ServingModel } from './model-store';

/** Why a model failed on rows at serve time: the call threw, or a score was NaN/±Infinity, or outside [0, 1]. */
export type ModelFailureReason = 'error' | 'non_finite' | 'out_of_range';

/** Rows one model failed on in one scoring call, for one reason. */
export interface ModelFailure {
  model: ServingModel;
  reason: ModelFailureReason;
  rows: number;
  /** What went wrong, for the log and the dead letters: the error's message, or the first bad score. */
  detail: string;
  /** True when the failing model was itself the fallback. */
  asFallback: boolean;
}

/** One row's result: a score and the model that made it, or why no model could score it (it is dead-lettered). */
export type ScoredRow =
  | { score: number; model: ServingModel; fallback: boolean }
  | { score?: undefined; error: string };

export type RowScorer = (model: ServingModel, rows: Array<Record<string, number>>) => Promise<number[]>;

/**
 * Scores rows with the serving model; the rows it fails on (all of them when the call throws, else only those whose
 * score is not a probability) are scored by the fallback (the last good champion). Rows the fallback fails on too, or
 * that have no fallback, come back with the reason instead of a score: the caller dead-letters them, so a model never
 * makes the pipeline retry a batch.
 */
export async function scoreWithFallback(
  score: RowScorer, serving: ServingModel, fallback: ServingModel | undefined, rows: Array<Record<string, number>>,
): Promise<{ rows: ScoredRow[]; failures: ModelFailure[] }> {
  const first = await attempt(score, serving, rows, false);
  const out: ScoredRow[] = first.scores.map((s) => (s === undefined ? { error: '' } : { score: s, model: serving, fallback: false }));
  const failedAt = first.problems.flatMap((p, i) => (p === undefined ? [] : [i]));
  if (failedAt.length === 0) return { rows: out, failures: [] };
  if (!fallback) {
    for (const i of failedAt) out[i] = { error: `${first.problems[i]}; no earlier champion loaded to fall back to` };
    return { rows: out, failures: first.failures };
  }
  const second = await attempt(score, fallback, failedAt.map((i) => rows[i]), true);
  for (const [j, i] of failedAt.entries()) {
    const s = second.scores[j];
    out[i] = s === undefined
      ? { error: `${first.problems[i]}; the fallback ${describeModel(fallback)} failed too: ${second.problems[j]}` }
      : { score: s, model: fallback, fallback: true };
  }
  return { rows: out, failures: [...first.failures, ...second.failures] };
}

/** `model v3`, as logs and reasons name a model. */
export function describeModel(m: ServingModel): string {
  return `${m.record.model_name} v${m.record.model_version}`;
}

/** A served record's identity (a republished version is a new record, counted afresh). */
export function servedRecordId(m: ServingModel): string {
  return `${registryKey(m.record)}@${m.offset}`;
}

async function attempt(score: RowScorer, model: ServingModel, rows: Array<Record<string, number>>, asFallback: boolean) {
  const scores: Array<number | undefined> = [];
  const problems: Array<string | undefined> = [];
  const failures: ModelFailure[] = [];
  let raw: number[];
  try {
    raw = await score(model, rows);
    if (raw.length !== rows.length) throw new Error(`returned ${raw.length} scores for ${rows.length} rows`);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    failures.push({ model, reason: 'error', rows: rows.length, detail, asFallback });
    const problem = `model ${describeModel(model)} failed to score: ${detail}`;
    return { scores: rows.map(() => undefined), problems: rows.map(() => problem), failures };
  }
  const bad = new Map<ModelFailureReason, { rows: number; detail: string }>();
  for (const s of raw) {
    const reason: ModelFailureReason | undefined = !Number.isFinite(s) ? 'non_finite' : s < 0 || s > 1 ? 'out_of_range' : undefined;
    if (reason === undefined) {
      scores.push(s);
      problems.push(undefined);
      continue;
    }
    const seen = bad.get(reason);
    if (seen) seen.rows += 1;
    else bad.set(reason, { rows: 1, detail: `scored ${s}, expected a probability in [0, 1]` });
    scores.push(undefined);
    problems.push(`model ${describeModel(model)} scored ${s}, expected a probability in [0, 1]`);
  }
  for (const [reason, { rows: n, detail }] of bad) failures.push({ model, reason, rows: n, detail, asFallback });
  return { scores, problems, failures };
}

/**
 * Failed rows per served model record, in this process. A model whose count reaches the limit is due for demotion,
 * once: `add` answers true for the call that reaches it, and never again for that record.
 */
export class ModelFailureLedger {
  private readonly failedRows = new Map<string, Partial<Record<ModelFailureReason, number>>>();
  private readonly due = new Set<string>();

  constructor(private readonly limit: number) {}

  /** Counts the failure's rows; true when this makes the model reach the limit (the caller demotes it). */
  add(failure: ModelFailure): boolean {
    const id = servedRecordId(failure.model);
    const counts = this.failedRows.get(id) ?? {};
    counts[failure.reason] = (counts[failure.reason] ?? 0) + failure.rows;
    this.failedRows.set(id, counts);
    if (this.failedRowsOf(failure.model) < this.limit || this.due.has(id)) return false;
    this.due.add(id);
    return true;
  }

  failedRowsOf(model: ServingModel): number {
    return Object.values(this.failedRows.get(servedRecordId(model)) ?? {}).reduce((a, b) => a + b, 0);
  }

  /** The model's failed rows per reason (only reasons it failed for). */
  failedRowsByReason(model: ServingModel): Partial<Record<ModelFailureReason, number>> {
    return { ...this.failedRows.get(servedRecordId(model)) };
  }

  /** A demotion that could not be published: the next failure tries again. */
  retry(model: ServingModel): void {
    this.due.delete(servedRecordId(model));
  }
}
