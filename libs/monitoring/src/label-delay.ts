// The observed label delay (label arrival − event time) against monitoring.detectors.label_delay, which is in event
// time: the error stream feeds a prediction once the newest event time is label_delay past it, and a label that
// lands after that is never fed (error-stream-job.ts). A wrong setting is silent there, so it is judged here.
import { queryRows, TABLES, type ClickHouseClient } from '@streamloop/clickhouse';
import { formatDuration } from '@streamloop/config';
import { quantileSorted } from '@streamloop/drift';

/** How many of the most recently arrived labels the observed delay is measured on. */
export const LABEL_DELAY_SAMPLE = 10_000;
/** Fewer labels than this with an arrival time: too few to judge the setting. */
export const LABEL_DELAY_MIN_LABELS = 100;

export interface ObservedLabelDelay {
  /** Labels measured. */
  labels: number;
  p50_ms: number;
  p95_ms: number;
  /** Share of them that arrived later than the configured label_delay: never in the error stream. */
  late_share: number;
}

export interface LabelDelayStatus {
  configured_ms: number;
  /** Undefined until LABEL_DELAY_MIN_LABELS labels with an arrival time are joined to their predictions. */
  observed?: ObservedLabelDelay;
  /** Set when the configured label_delay is far from the observed delays (too long or too short). */
  warning?: { kind: 'too_long' | 'too_short'; message: string };
}

/** p50, p95 (linear interpolation, numpy's default) and the late share of label delays in ms; undefined when there are none. */
export function observeLabelDelays(delaysMs: readonly number[], configuredMs: number): ObservedLabelDelay | undefined {
  if (delaysMs.length === 0) return undefined;
  const sorted = Float64Array.from(delaysMs).sort();
  let late = 0;
  for (const d of sorted) if (d > configuredMs) late++;
  return { labels: sorted.length, p50_ms: quantileSorted(sorted, 0.5), p95_ms: quantileSorted(sorted, 0.95), late_share: late / sorted.length };
}

/**
 * The configured label_delay against the observed delays: too short when most labels (more than half) arrive after
 * it, so the detectors see a minority of the stream; too long when it is longer than the observed p95, so every
 * prediction waits longer than 95 % of labels need. Undefined when it is neither, or when there are too few labels.
 */
export function judgeLabelDelay(observed: ObservedLabelDelay | undefined, configuredMs: number): LabelDelayStatus['warning'] {
  if (!observed || observed.labels < LABEL_DELAY_MIN_LABELS) return undefined;
  const configured = formatDuration(configuredMs);
  const p50 = formatMs(observed.p50_ms);
  const p95 = formatMs(observed.p95_ms);
  const share = `${(100 * observed.late_share).toFixed(0)} %`;
  if (observed.late_share > 0.5) {
    return {
      kind: 'too_short',
      message: `monitoring.detectors.label_delay ${configured} is shorter than most labels take (observed p50 ${p50}, p95 ${p95}): ${share} of labels arrive after their prediction was fed, so the change detectors never see them; set label_delay to about the p95`,
    };
  }
  if (configuredMs > observed.p95_ms) {
    return {
      kind: 'too_long',
      message: `monitoring.detectors.label_delay ${configured} is longer than the observed p95 ${p95} (p50 ${p50}): every prediction waits ${formatMs(configuredMs - observed.p95_ms)} more than 95 % of labels need before the change detectors see it; set label_delay to about the p95`,
    };
  }
  return undefined;
}

/** A delay for a message: a whole unit when it is one, else seconds with one decimal. */
function formatMs(ms: number): string {
  const rounded = Math.round(ms);
  return rounded % 1000 === 0 ? formatDuration(rounded) : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Label delays in ms of a pipeline's most recently arrived labels, each against its event's time as its predictions
 * carry it. Per event the label in effect counts (the latest label_time, as the joins use it; the labels table keeps
 * only that one after a merge), so a corrected label's delay is the correction's. Labels without an arrival time
 * (written before labels.arrived_at existed) and labels for events with no prediction are left out.
 */
export async function loadLabelDelays(client: ClickHouseClient, opts: { pipeline: string; sample?: number }): Promise<number[]> {
  const arrived = `SELECT event_id, argMax(assumeNotNull(arrived_at), label_time) AS arrived FROM ${TABLES.labels}
       WHERE pipeline = {pipeline:String} AND arrived_at IS NOT NULL GROUP BY event_id ORDER BY arrived DESC LIMIT {sample:UInt32}`;
  const rows = await queryRows<{ delay_ms: number | string }>(
    client,
    `SELECT toUnixTimestamp64Milli(l.arrived) - toUnixTimestamp64Milli(p.ev_time) AS delay_ms
     FROM (${arrived}) AS l
     INNER JOIN (
       SELECT event_id, min(event_time) AS ev_time FROM ${TABLES.predictions}
       WHERE pipeline = {pipeline:String} AND event_id IN (SELECT event_id FROM (${arrived}))
       GROUP BY event_id
     ) AS p ON l.event_id = p.event_id`,
    { pipeline: opts.pipeline, sample: opts.sample ?? LABEL_DELAY_SAMPLE },
  );
  return rows.map((r) => Number(r.delay_ms));
}
