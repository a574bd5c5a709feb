// What a card reads from ClickHouse: the version's runs in the experiment log and the registry's audit trail.
import { qualify, queryRows, TABLES, type ClickHouseClient } from '@streamloop/clickhouse';
import type { CardExperimentRow, CardModelEvent } from './card-model';

export interface CardSourceOptions {
  pipeline: string;
  modelName: string;
  version: number;
  /** The record's params.search_id: the trials of the search that chose the params. */
  searchId?: string;
  database?: string;
}

/** Rows of model_events a card reads at most (every model of the pipeline: the parent champion is among them). */
export const MAX_MODEL_EVENTS = 100_000;

/**
 * The version's published run and its search's trials (experiments), and the pipeline's registry records in topic
 * order (model_events). FINAL hides the copies a retried insert may have left (both tables are ReplacingMergeTree).
 */
export async function loadCardSources(client: ClickHouseClient, opts: CardSourceOptions): Promise<{ experiments: CardExperimentRow[]; events: CardModelEvent[] }> {
  const params = { pipeline: opts.pipeline, model: opts.modelName, version: String(opts.version), search: opts.searchId ?? '' };
  const experiments = await queryRows<CardExperimentRow>(client, `
    SELECT experiment_id, run_id, params, metrics, toUnixTimestamp64Milli(started_at) AS started_at, duration_ms, status
    FROM ${qualify(TABLES.experiments, opts.database)} FINAL
    WHERE pipeline = {pipeline:String} AND model_name = {model:String}
      AND ((status = 'published' AND params['model_version'] = {version:String})
        OR ({search:String} != '' AND params['search_id'] = {search:String}))
    ORDER BY started_at, run_id`, params);
  const events = await queryRows<CardModelEvent>(client, `
    SELECT model_name, model_version, toString(stage) AS stage, decided_by, toUnixTimestamp64Milli(decided_at) AS decided_at,
           decision_reason, decision_metrics, registry_offset
    FROM ${qualify(TABLES.model_events, opts.database)} FINAL
    WHERE pipeline = {pipeline:String}
    ORDER BY registry_offset
    LIMIT ${MAX_MODEL_EVENTS}`, params);
  return { experiments, events };
}
