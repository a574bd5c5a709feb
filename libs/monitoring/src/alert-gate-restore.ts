// The alert gate of a pipeline, rebuilt from the alerts it has already raised (its alerts topic).
import type { AlertRecord } from '@streamloop/contracts';
import { AlertGate } from '@streamloop/drift';
import { PlatformError } from '@streamloop/errors';
import type { MonitoringDeps } from './deps';

/** The pipeline's alerts topic as the restore reads it. */
export interface AlertLog {
  /** Every record value on the topic, read (read_committed) to its end; an outage throws. */
  readValues(): Promise<Buffer[]>;
  /** One value decoded; a non-retriable PlatformError means the record is unreadable, anything else an outage. */
  decode(value: Buffer): Promise<AlertRecord>;
}

/**
 * Remembers each alert this pipeline raised: its key (kind, feature, statistic, model name, version and role), value and time, or a
 * detection's event time, so that a restarted monitor does not alert again. An unreadable record is skipped, another
 * pipeline's ignored; an outage throws (the caller retries with the next run).
 */
export async function restoreAlertGate(
  deps: { alerts: AlertLog; logger: MonitoringDeps['logger'] }, options: { pipeline: string; cooldownMs: number },
): Promise<AlertGate> {
  const { pipeline } = options;
  const gate = new AlertGate({ cooldownMs: options.cooldownMs });
  let restored = 0;
  for (const value of await deps.alerts.readValues()) {
    let a: AlertRecord;
    try {
      a = await deps.alerts.decode(value);
    } catch (error) {
      // A record that does not decode is skipped; a registry outage fails the restore (retried by the next run).
      if (error instanceof PlatformError && !error.retriable) continue;
      throw error;
    }
    if (a.pipeline !== pipeline) continue;
    const key = { pipeline, kind: a.kind, feature: a.feature, statistic: a.statistic, modelName: a.model_name, modelVersion: a.model_version, modelRole: a.model_role };
    // Performance alerts are detections (events at an event time), not persisting conditions.
    if (a.kind === 'performance') gate.restoreDetection(key, a.window_start);
    else gate.restore({ ...key, value: a.value, at: a.created_at });
    restored++;
  }
  deps.logger.info({ pipeline, restored, remembered: gate.size }, 'alert gate restored from the alerts topic');
  return gate;
}
