import { Inject, Injectable } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { buildModelCard, loadCardSources, renderHtml, renderMarkdown, type CardExperimentRow, type CardModelEvent, type ModelCard } from '@streamloop/model-card';
import {
  findVersion, listModels, planTransition, type ModelAction, type ModelRegistryRecord, type ModelSummary, type PromotionTarget,
} from '@streamloop/model-registry';
import type { Logger } from '@streamloop/observability';
import { ClickHouseConnection, LOGGER, PipelineRegistry } from '@streamloop/runtime';
import { RegistryAccess } from './registry-access';

/** What a stage change request may carry besides the version in the path. */
export interface TransitionBody {
  model?: string;
  reason?: string;
  /** Who asks: the CLI says 'cli'; any other caller is recorded as 'api'. */
  decided_by?: 'cli' | 'api';
  /** For promote: the stage given, champion (default) or challenger. */
  to?: PromotionTarget;
}

/** A version as `models show` answers: its record without the model bytes and the drift reference sample. */
export type ModelDetails = Omit<ModelRegistryRecord, 'onnx' | 'reference'> & { serving: boolean; challenger: boolean };

export interface TransitionResult {
  model_name: string;
  model_version: number;
  from: string;
  to: string;
  serving: { model_name: string; model_version: number } | null;
  challenger: { model_name: string; model_version: number } | null;
  decided_by: string;
  decision_reason: string;
}

const BODY_KEYS = new Set(['model', 'reason', 'decided_by', 'to']);

/** The forms of a model card: Markdown (default), one self-contained HTML page, or the card's data as JSON. */
export const CARD_FORMATS = ['md', 'html', 'json'] as const;
export type CardFormat = (typeof CARD_FORMATS)[number];

/** A card as the endpoint answers it. */
export interface CardAnswer {
  contentType: string;
  body: string | ModelCard;
}

/**
 * Operators' view and control of the model registry (libs/model-registry decides; this reads the topic, asks, and
 * publishes): list, show, promote, archive, rollback. Changes of one pipeline run one at a time, each planned on the
 * registry as read just before, so two at once cannot both pass a check that only one of them may pass.
 */
@Injectable()
export class ModelsService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(RegistryAccess) private readonly registries: RegistryAccess,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(ClickHouseConnection) private readonly clickhouse: ClickHouseConnection,
  ) {}

  async list(pipeline: string): Promise<{ pipeline: string; models: ModelSummary[] }> {
    const ctx = this.pipelines.pipeline(pipeline);
    return { pipeline: ctx.spec.pipeline, models: listModels(await this.registries.of(ctx).read(), ctx.spec.pipeline) };
  }

  async show(pipeline: string, version: number, model?: string): Promise<ModelDetails> {
    const ctx = this.pipelines.pipeline(pipeline);
    const state = await this.registries.of(ctx).read();
    const entry = findVersion(state, ctx.spec.pipeline, version, model);
    const { onnx: _onnx, reference: _reference, ...rest } = entry.record;
    const summary = listModels(state, ctx.spec.pipeline).find((m) => m.model_name === rest.model_name && m.model_version === version);
    return { ...rest, serving: summary?.serving ?? false, challenger: summary?.challenger ?? false };
  }

  /**
   * A version's model card (libs/model-card) from its registry record, the pipeline spec (owner, intended use), its
   * runs in the experiments table and the registry's audit trail in model_events. ClickHouse away: the card is made
   * from the record alone and says so.
   */
  async card(pipeline: string, version: number, model: string | undefined, format: CardFormat): Promise<CardAnswer> {
    const ctx = this.pipelines.pipeline(pipeline);
    const state = await this.registries.of(ctx).read();
    const { record } = findVersion(state, ctx.spec.pipeline, version, model);
    const summary = listModels(state, ctx.spec.pipeline).find((m) => m.model_name === record.model_name && m.model_version === version);
    let sources: { experiments: CardExperimentRow[]; events: CardModelEvent[] } = { experiments: [], events: [] };
    const notes: string[] = [];
    try {
      sources = await loadCardSources(await this.clickhouse.client(), {
        pipeline: ctx.spec.pipeline, modelName: record.model_name, version, searchId: record.params.search_id,
      });
    } catch (error) {
      this.logger.warn({ pipeline: ctx.spec.pipeline, model: record.model_name, version, err: error }, 'model card: ClickHouse could not be read');
      notes.push(`ClickHouse could not be read (${error instanceof Error ? error.message : String(error)}): no search trials, lineage or stage history beyond the registry record`);
    }
    const { spec } = ctx;
    const card = buildModelCard({
      record, spec: { owner: spec.model.owner, intendedUse: spec.model.intendedUse, segmentBy: spec.training.segmentBy },
      status: summary, ...sources, generatedAt: Date.now(), notes,
    });
    if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: card };
    if (format === 'html') return { contentType: 'text/html; charset=utf-8', body: renderHtml(card) };
    return { contentType: 'text/markdown; charset=utf-8', body: renderMarkdown(card) };
  }

  async transition(pipeline: string, action: ModelAction, version: number | undefined, body: unknown): Promise<TransitionResult> {
    const ctx = this.pipelines.pipeline(pipeline);
    const request = checkBody(body);
    const key = ctx.spec.pipeline;
    const run = (this.queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(async () => {
      const registry = this.registries.of(ctx);
      const planned = planTransition(await registry.read(), key, {
        action, version, model: request.model, reason: request.reason, decidedBy: request.decided_by ?? 'api', to: request.to, now: Date.now(),
      });
      await registry.publish(planned.record);
      const r = planned.record;
      this.logger.info({ pipeline: key, model: r.model_name, version: r.model_version, from: planned.from, to: r.stage, decided_by: r.decided_by, reason: r.decision_reason }, `model ${action}`);
      return {
        model_name: r.model_name, model_version: r.model_version, from: planned.from, to: r.stage,
        serving: planned.servingAfter ?? null, challenger: planned.challengerAfter ?? null, decided_by: r.decided_by, decision_reason: r.decision_reason,
      };
    });
    this.queues.set(key, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(key) === run) this.queues.delete(key);
    }
  }
}

/** A version in the path: a whole number ≥ 1. */
export function parseVersion(text: string): number {
  const version = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(version) || version < 1) {
    throw new PlatformError('INVALID_INPUT', `version: expected a whole number ≥ 1, got '${text}'`);
  }
  return version;
}

/** `?format=`: md (also markdown, the default), html or json. */
export function parseCardFormat(text: string | undefined): CardFormat {
  if (text === undefined || text === '' || text === 'markdown') return 'md';
  if ((CARD_FORMATS as readonly string[]).includes(text)) return text as CardFormat;
  throw new PlatformError('INVALID_INPUT', `format: expected md, html or json, got '${text}'`);
}

function checkBody(body: unknown): TransitionBody {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new PlatformError('INVALID_INPUT', 'body: expected a JSON object with model, reason or decided_by');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !BODY_KEYS.has(k));
  if (unknown.length > 0) throw new PlatformError('INVALID_INPUT', `body: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (expected model, reason, decided_by, to)`);
  if (b.model !== undefined && (typeof b.model !== 'string' || b.model === '')) throw new PlatformError('INVALID_INPUT', 'model: expected a model name');
  if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 2000)) throw new PlatformError('INVALID_INPUT', 'reason: expected text of at most 2000 characters');
  if (b.decided_by !== undefined && b.decided_by !== 'cli' && b.decided_by !== 'api') throw new PlatformError('INVALID_INPUT', "decided_by: expected 'cli' or 'api'");
  if (b.to !== undefined && b.to !== 'champion' && b.to !== 'challenger') throw new PlatformError('INVALID_INPUT', "to: expected 'champion' or 'challenger'");
  return { model: b.model as string | undefined, reason: b.reason as string | undefined, decided_by: b.decided_by as TransitionBody['decided_by'], to: b.to };
}
