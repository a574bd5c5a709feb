import { fetchTopicEnds, type Kafka } from '@streamloop/kafka';

/** The stream transport names a stage's consumer group `streamloop-<stage>-<topic>` (libs/stream streamGroupId). */
const GROUP_PREFIX = 'streamloop-';

export interface PartitionLag {
  partition: number;
  /** The group's committed offset; null when it has committed nothing on the partition yet. */
  committed: number | null;
  /** The partition's high watermark (the next offset to be written). */
  end: number;
  /** Records written and not yet committed by the group (from the log start when it has committed nothing). */
  lag: number;
}

export interface GroupLag {
  group: string;
  stage: string;
  topic: string;
  /** The topic's role in the pipeline (events, features, …). */
  role: string;
  lag: number;
  partitions: PartitionLag[];
}

export interface TopicSummary {
  role: string;
  topic: string;
  partitions: number;
  /** Sum over partitions of high watermark − log start: the records the topic holds (control records included). */
  records: number;
}

export interface PipelineLag {
  topics: TopicSummary[];
  groups: GroupLag[];
}

/**
 * Which stage and topic a consumer group belongs to, among the pipeline's topics: `streamloop-<stage>-<topic>`.
 * The longest matching topic wins (a topic name may end like another). Undefined for anyone else's group.
 */
export function stageOfGroup(group: string, topics: ReadonlyMap<string, string>): { stage: string; topic: string; role: string } | undefined {
  if (!group.startsWith(GROUP_PREFIX)) return undefined;
  let best: { stage: string; topic: string; role: string } | undefined;
  for (const [topic, role] of topics) {
    const suffix = `-${topic}`;
    if (!group.endsWith(suffix)) continue;
    const stage = group.slice(GROUP_PREFIX.length, group.length - suffix.length);
    if (stage.length === 0) continue;
    if (!best || topic.length > best.topic.length) best = { stage, topic, role };
  }
  return best;
}

/** One group's lag per partition from the topic's offsets and the group's committed offsets. */
export function lagOf(ends: Array<{ partition: number; low: string; high: string }>, committed: Array<{ partition: number; offset: string }>): PartitionLag[] {
  return ends.map((p) => {
    const c = committed.find((x) => x.partition === p.partition);
    const offset = c && Number(c.offset) >= 0 ? Number(c.offset) : null;
    const end = Number(p.high);
    return { partition: p.partition, committed: offset, end, lag: Math.max(0, end - (offset ?? Number(p.low))) };
  });
}

/**
 * The pipeline's topics (role → name) with their sizes, and every stage's consumer lag on them, read with Kafka's
 * admin API: the groups the platform's stream transport created for these topics, their committed offsets against the
 * high watermarks. Per-process broadcast groups (the model registry's followers, which never commit) carry a suffix
 * after the topic and are left out.
 */
export async function pipelineLag(kafka: Kafka, topics: Record<string, string>): Promise<PipelineLag> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const byTopic = new Map<string, string>();
    for (const [role, topic] of Object.entries(topics)) if (!byTopic.has(topic)) byTopic.set(topic, role);
    const existing = new Set(await admin.listTopics());
    const ends = new Map<string, Array<{ partition: number; low: string; high: string }>>();
    const summaries: TopicSummary[] = [];
    for (const [topic, role] of byTopic) {
      if (!existing.has(topic)) continue;
      const offsets = await fetchTopicEnds(admin, topic);
      ends.set(topic, offsets);
      summaries.push({ role, topic, partitions: offsets.length, records: offsets.reduce((n, p) => n + Math.max(0, Number(p.high) - Number(p.low)), 0) });
    }
    const { groups } = await admin.listGroups();
    const lags: GroupLag[] = [];
    for (const { groupId } of groups) {
      const owner = stageOfGroup(groupId, byTopic);
      const topicEnds = owner && ends.get(owner.topic);
      if (!owner || !topicEnds) continue;
      const [committed] = await admin.fetchOffsets({ groupId, topics: [owner.topic] });
      const partitions = lagOf(topicEnds, committed?.partitions ?? []);
      lags.push({ group: groupId, ...owner, lag: partitions.reduce((n, p) => n + p.lag, 0), partitions });
    }
    lags.sort((a, b) => a.topic.localeCompare(b.topic) || a.stage.localeCompare(b.stage) || a.group.localeCompare(b.group));
    return { topics: summaries, groups: lags };
  } finally {
    await admin.disconnect();
  }
}
