import type { AvroSerde } from '@streamloop/avro';
import { featureStageTopics } from '@streamloop/config';
import { featureStages } from '@streamloop/features';
import { queryRows, type ClickHouseClient } from '@streamloop/clickhouse';
import { fetchTopicEnds, type Kafka } from '@streamloop/kafka';
import { challengerOf, championOf, readRegistry, type RegistryEntry } from '@streamloop/model-registry';
import type { PlatformTypes } from './platform-types';
import type { PipelineContext } from './providers';

/** One consumer group of a stage on one input topic: how far its committed offsets trail the high watermarks. */
export interface StageLag {
  stage: string;
  topic: string;
  group: string;
  /** Sum over partitions of (high watermark − committed offset); a partition with no commit counts from its low offset. */
  lag: number;
  partitions: number;
  /**
   * The stage this one runs fused into, in this process (STREAMLOOP_FUSE_STAGES): it scores those records inside that
   * stage's transaction and its own group passes over them, committing their offsets lazily (with its next
   * transaction), so its lag here overstates the work left.
   */
  fused_into?: string;
}

export interface ModelRef {
  model_name: string;
  model_version: number;
  algorithm: string;
  roc_auc: number | null;
}

export interface DriftVerdict {
  window_start: string;
  window_end: string;
  computed_at: string;
  /** `drift` when any statistic of the window crossed its threshold, else `no drift`. */
  verdict: 'drift' | 'no drift';
  /** Features (and `__error__`, the champion's error stream) whose statistic crossed its threshold. */
  drifted: string[];
  statistics: number;
}

export interface PipelineStatus {
  pipeline: string;
  stages: StageLag[];
  champion: ModelRef | null;
  challenger: ModelRef | null;
  /** The latest drift window in ClickHouse; null when there is none yet; undefined when this process has no ClickHouse. */
  drift?: DriftVerdict | null;
  /** Why `drift` is absent or null, for a reader who expected one. */
  drift_note?: string;
  dlq: {
    topic: string;
    /** Offsets in use (high − low, over partitions): an upper bound of the records, as transaction markers take offsets too. */
    offsets: number;
    /** Rows of the dlq table, when this process has ClickHouse. */
    stored?: number;
  };
}

export interface PlatformStatus {
  /** The targets this process runs. */
  targets: string[];
  brokers: string[];
  at: string;
  pipelines: PipelineStatus[];
  /** Parts that could not be read (each is also missing from the answer), e.g. the registry topic timed out. */
  problems: string[];
}

/** What collecting a status needs from the process. */
export interface StatusSources {
  kafka: Kafka;
  serde: AvroSerde;
  types: Pick<PlatformTypes, 'modelRegistry'>;
  brokers: string[];
  targets: readonly string[];
  pipelines: PipelineContext[];
  /** The process's ClickHouse, when a target it runs uses one (training, monitoring); undefined otherwise. */
  clickhouse?: () => Promise<ClickHouseClient>;
  /** Stages this process runs fused into another (stage → the stage whose transaction runs it), e.g. inference → features. */
  fusedInto?: Readonly<Record<string, string>>;
  registryTimeoutMs?: number;
}

const GROUP_PREFIX = 'streamloop-';

/**
 * The stage groups' lag, from the broker's committed offsets and high watermarks: every group named
 * `streamloop-<stage>-<topic>` (libs/stream's streamGroupId) with offsets on one of the given topics. Broadcast groups
 * (one per process, they commit nothing) do not appear.
 */
export async function stageLags(kafka: Kafka, topicsOfInterest: ReadonlySet<string>): Promise<StageLag[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const ends = new Map<string, Map<number, { low: number; high: number }>>();
    const endsOf = async (topic: string) => {
      let known = ends.get(topic);
      if (!known) {
        known = new Map((await fetchTopicEnds(admin, topic)).map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
        ends.set(topic, known);
      }
      return known;
    };
    const out: StageLag[] = [];
    for (const { groupId } of groups.filter((g) => g.groupId.startsWith(GROUP_PREFIX)).sort((a, b) => a.groupId.localeCompare(b.groupId))) {
      const topic = [...topicsOfInterest].filter((t) => groupId.endsWith(`-${t}`)).sort((a, b) => b.length - a.length)[0];
      if (!topic) continue;
      const stage = groupId.slice(GROUP_PREFIX.length, groupId.length - topic.length - 1);
      if (stage.length === 0) continue;
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partitionEnds = await endsOf(topic);
      out.push({ stage, topic, group: groupId, ...lagOf(partitionEnds, committed?.partitions ?? []) });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** (high − committed) summed over partitions; an uncommitted partition (offset −1) trails from its low offset. */
export function lagOf(
  ends: ReadonlyMap<number, { low: number; high: number }>,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
): { lag: number; partitions: number } {
  let lag = 0;
  for (const [partition, { low, high }] of ends) {
    const c = committed.find((x) => x.partition === partition);
    const done = c && Number(c.offset) >= 0 ? Number(c.offset) : low;
    lag += Math.max(0, high - done);
  }
  return { lag, partitions: ends.size };
}

/** The platform's state as this process sees it (GET /v1/status); a part that fails is named in `problems`. */
export async function collectStatus(sources: StatusSources): Promise<PlatformStatus> {
  const problems: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  const topicsOfInterest = new Set<string>();
  for (const ctx of sources.pipelines) {
    const t = ctx.topics;
    for (const topic of [t.raw, t.events, t.features, t.predictions, t.shadow, t.labels, t.alerts, t.dlq]) topicsOfInterest.add(topic);
    for (const stage of featureStages(ctx.spec)) if (stage.index > 0) topicsOfInterest.add(featureStageTopics(t, stage).input);
  }
  const lags = (await attempt('consumer group lag', () => stageLags(sources.kafka, topicsOfInterest))) ?? [];
  const clickhouse = sources.clickhouse ? await attempt('ClickHouse', sources.clickhouse) : undefined;
  const pipelines: PipelineStatus[] = [];
  for (const ctx of sources.pipelines) {
    const p = ctx.spec.pipeline;
    const own = new Set([...Object.values(ctx.topics).filter((v): v is string => typeof v === 'string'), ...[...topicsOfInterest].filter((t) => t.startsWith(`${p}.`))]);
    const registry = await attempt(`model registry ${ctx.topics.models}`, () => readRegistry(sources, ctx.topics.models, { pipeline: p, timeoutMs: sources.registryTimeoutMs ?? 15_000 }));
    const dlqOffsets = await attempt(`DLQ topic ${ctx.topics.dlq}`, async () => {
      const admin = sources.kafka.admin();
      await admin.connect();
      try {
        return (await fetchTopicEnds(admin, ctx.topics.dlq)).reduce((n, o) => n + Math.max(0, Number(o.high) - Number(o.low)), 0);
      } finally {
        await admin.disconnect();
      }
    });
    const status: PipelineStatus = {
      pipeline: p,
      stages: lags.filter((l) => own.has(l.topic)).map((l) => {
        const into = sources.fusedInto?.[l.stage];
        return into && l.topic === ctx.topics.features ? { ...l, fused_into: into } : l;
      }),
      champion: registry ? modelRefOf(championOf(registry, p)) : null,
      challenger: registry ? modelRefOf(challengerOf(registry, p)) : null,
      dlq: { topic: ctx.topics.dlq, offsets: dlqOffsets ?? 0 },
    };
    if (clickhouse) {
      status.drift = (await attempt(`drift verdict of ${p}`, () => latestDriftVerdict(clickhouse, p))) ?? null;
      if (status.drift === null) status.drift_note = 'no drift window computed yet';
      const stored = await attempt(`dlq rows of ${p}`, async () => {
        const [row] = await queryRows<{ n: string }>(clickhouse, 'SELECT count() AS n FROM dlq WHERE pipeline = {p:String}', { p });
        return Number(row?.n ?? 0);
      });
      if (stored !== undefined) status.dlq.stored = stored;
    } else {
      status.drift_note = 'this process runs no ClickHouse target (training, monitoring): ask the one that does';
    }
    pipelines.push(status);
  }
  return { targets: [...sources.targets], brokers: sources.brokers, at: new Date().toISOString(), pipelines, problems };
}

function modelRefOf(entry: RegistryEntry | undefined): ModelRef | null {
  if (!entry) return null;
  const r = entry.record;
  const auc = r.metrics?.roc_auc;
  return { model_name: r.model_name, model_version: r.model_version, algorithm: r.algorithm, roc_auc: typeof auc === 'number' && Number.isFinite(auc) ? auc : null };
}

/** The newest drift window of a pipeline (its latest computation) and which statistics crossed their thresholds. */
export async function latestDriftVerdict(client: ClickHouseClient, pipeline: string): Promise<DriftVerdict | null> {
  const rows = await queryRows<{ window_start: string; window_end: string; computed_at: string; drifted: string[]; statistics: string }>(client,
    `SELECT toString(window_start) AS window_start, toString(window_end) AS window_end, toString(max(computed_at)) AS computed_at,
            arraySort(groupUniqArrayIf(feature, drifted = 1)) AS drifted, count() AS statistics
     FROM drift_metrics FINAL
     WHERE pipeline = {p:String}
       AND window_end = (SELECT max(window_end) FROM drift_metrics WHERE pipeline = {p:String})
     GROUP BY window_start, window_end
     ORDER BY window_start DESC
     LIMIT 1`, { p: pipeline });
  const row = rows[0];
  if (!row) return null;
  return {
    window_start: row.window_start,
    window_end: row.window_end,
    computed_at: row.computed_at,
    verdict: row.drifted.length > 0 ? 'drift' : 'no drift',
    drifted: row.drifted,
    statistics: Number(row.statistics),
  };
}
