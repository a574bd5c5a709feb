/**
 * Alert deduplication for conditions that persist (a drifted feature stays drifted run after run).
 *
 * Per key (pipeline, kind, feature, statistic, model name, version and role) the gate remembers the last alerted value
 * and time. A crossed condition raises an alert when:
 * - the key has no alert yet (first crossing, or the first since the condition cleared);
 * - it worsened: for a statistic where higher is worse (PSI, Jensen–Shannon, Wasserstein, drifted share) the value
 *   is at least `1 + worsenRatio` times the last alerted one (25 % more by default); for one where lower is worse (a
 *   p-value) it is at most `1 / pValueWorsenFactor` of it (ten times smaller by default: p-values span orders of
 *   magnitude, so a relative 25 % is noise there);
 * - or the cooldown has passed since the last alert for the key.
 * A run where the condition is not crossed clears the key, so a later recurrence alerts again.
 * Detections (a change detector firing at an event time) are events, not conditions: each alerts once, judged by
 * `observeDetection` — one at or before the last alerted detection's event time for its key is a repeat (a restarted
 * monitor replays its error stream and detects the same changes again).
 * The keys are bounded: beyond `maxKeys`, the least recently seen key is forgotten (it would alert again).
 */

export type AlertDirection = 'above' | 'below';

/** What identifies one alerting series. */
export interface AlertKey {
  pipeline: string;
  kind: string;
  feature: string;
  statistic: string;
  modelName: string;
  modelVersion: number;
  /** The model's role (champion, challenger): a challenger's error stream alerts apart from the champion's. Absent: champion. */
  modelRole?: string;
}

export interface AlertGateOptions {
  /** After this long since a key's last alert, a still-crossed condition alerts again. */
  cooldownMs: number;
  /** How many keys are remembered; the least recently seen is evicted beyond it. Default 10 000. */
  maxKeys?: number;
  /** 'above' statistics: worsened when value ≥ last × (1 + worsenRatio). Default 0.25. */
  worsenRatio?: number;
  /** 'below' statistics (p-values): worsened when value ≤ last / pValueWorsenFactor. Default 10. */
  pValueWorsenFactor?: number;
}

/** A previously raised alert, as read back from the alerts topic. */
export interface RaisedAlert extends AlertKey {
  value: number;
  /** When it was raised (epoch ms). */
  at: number;
}

interface LastAlert {
  value: number;
  at: number;
}

export const DEFAULT_ALERT_GATE_MAX_KEYS = 10_000;

export class AlertGate {
  /** Insertion order is recency order: a key seen is deleted and set again, so the first key is the least recent. */
  private readonly last = new Map<string, LastAlert>();
  private readonly maxKeys: number;
  private readonly worsenRatio: number;
  private readonly pValueWorsenFactor: number;

  constructor(private readonly options: AlertGateOptions) {
    this.maxKeys = options.maxKeys ?? DEFAULT_ALERT_GATE_MAX_KEYS;
    this.worsenRatio = options.worsenRatio ?? 0.25;
    this.pValueWorsenFactor = options.pValueWorsenFactor ?? 10;
    if (!(this.maxKeys >= 1)) throw new RangeError(`maxKeys must be at least 1, got ${this.maxKeys}`);
    if (!(options.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be ≥ 0, got ${options.cooldownMs}`);
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.last.size;
  }

  /**
   * One observation of a key's condition at time `at`: true when it raises an alert (and the gate then remembers
   * `value` and `at` as the key's last alert). A condition not crossed clears the key and never alerts.
   */
  observe(key: AlertKey, observation: { crossed: boolean; value: number; direction: AlertDirection; at: number }): boolean {
    const id = alertKeyId(key);
    const previous = this.last.get(id);
    if (!observation.crossed) {
      this.last.delete(id);
      return false;
    }
    if (previous && !this.raises(previous, observation)) {
      this.touch(id, previous);
      return false;
    }
    this.touch(id, { value: observation.value, at: observation.at });
    return true;
  }

  /** True when a detection at `eventTime` raises an alert: it is later than the key's last alerted detection. */
  observeDetection(key: AlertKey, eventTime: number): boolean {
    const id = detectionKeyId(key);
    const previous = this.last.get(id);
    if (previous && eventTime <= previous.at) {
      this.touch(id, previous);
      return false;
    }
    this.touch(id, { value: eventTime, at: eventTime });
    return true;
  }

  /** Restores a detection alerted before; the latest event time per key wins. */
  restoreDetection(key: AlertKey, eventTime: number): void {
    const id = detectionKeyId(key);
    const previous = this.last.get(id);
    if (previous && previous.at > eventTime) return;
    this.touch(id, { value: eventTime, at: eventTime });
  }

  /** Restores an alert raised before (e.g. by a previous run of the process); the latest one per key wins. */
  restore(alert: RaisedAlert): void {
    const id = alertKeyId(alert);
    const previous = this.last.get(id);
    if (previous && previous.at > alert.at) return;
    this.touch(id, { value: alert.value, at: alert.at });
  }

  private raises(previous: LastAlert, o: { value: number; direction: AlertDirection; at: number }): boolean {
    if (o.at - previous.at >= this.options.cooldownMs) return true;
    return o.direction === 'above'
      ? o.value >= previous.value * (1 + this.worsenRatio)
      // Strictly smaller too: a p-value that underflowed to 0 cannot worsen further.
      : o.value < previous.value && o.value <= previous.value / this.pValueWorsenFactor;
  }

  private touch(id: string, state: LastAlert): void {
    this.last.delete(id);
    this.last.set(id, state);
    while (this.last.size > this.maxKeys) {
      const oldest = this.last.keys().next().value as string;
      this.last.delete(oldest);
    }
  }
}

/** Unambiguous: JSON of the fields in a fixed order (names may contain any separator). */
function alertKeyId(k: AlertKey): string {
  return JSON.stringify([k.pipeline, k.kind, k.feature, k.statistic, k.modelName, k.modelVersion, k.modelRole ?? 'champion']);
}

/** Detections live in the same bounded map as conditions, under ids that cannot collide with theirs. */
function detectionKeyId(k: AlertKey): string {
  return `detection:${alertKeyId(k)}`;
}
