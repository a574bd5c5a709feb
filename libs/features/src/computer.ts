import { parseDuration, type AggregateSpec, type PipelineSpec, type TransformSpec } from '@streamloop/config';
import { BucketedWindow, type WindowSnapshot } from './window';

/** Buckets per window: the window's edge is exact to 1/60 of its length. */
export const BUCKETS_PER_WINDOW = 60;
const OTHER = '__other__';

export interface ComputedFeatures {
  entityKey: string;
  eventTime: number;
  values: Record<string, number>;
}

export class FeatureInputError extends Error {
  override name = 'FeatureInputError';
}

/** Per-entity state of one aggregate. */
interface EntityState {
  window?: BucketedWindow;
  last: number;
}

/**
 * Computes a pipeline's feature vector for each event. Aggregates read the entity's state as it was
 * before this event (no leakage), then the event is added to the state. Missing inputs give NaN.
 */
export class FeatureComputer {
  readonly featureNames: string[];
  /** Events too old for a window they belong to: not applied to that window's state. */
  lateEvents = 0;
  private readonly state = new Map<string, Map<string, EntityState>>();
  private readonly windows = new Map<string, { width: number; ms: number }>();
  private readonly idField: string;
  private readonly timeField: string;
  private readonly entityField: string;
  private readonly longestWindowMs: number;

  constructor(private readonly spec: PipelineSpec) {
    this.idField = spec.events.idField;
    this.timeField = spec.events.timeField;
    this.entityField = spec.events.entityField;
    const names: string[] = [];
    for (const t of spec.features.transforms) {
      if (t.op === 'one_hot') names.push(...[...t.categories, OTHER].map((c) => `${t.name}=${c}`));
      else names.push(t.name);
    }
    let longest = 0;
    for (const a of spec.features.aggregates) {
      names.push(a.name);
      this.state.set(a.name, new Map());
      if ('window' in a) {
        const ms = parseDuration(a.window)!;
        this.windows.set(a.name, { ms, width: ms / BUCKETS_PER_WINDOW });
        longest = Math.max(longest, ms);
      }
    }
    this.longestWindowMs = longest || 86_400_000;
    this.featureNames = names;
  }

  /** The feature vector of an event, then the event is added to the state. */
  compute(event: Record<string, unknown>): ComputedFeatures {
    const result = this.peek(event);
    this.apply(event, result.eventTime);
    return result;
  }

  /** The feature vector of an event without changing any state (REST predict). */
  peek(event: Record<string, unknown>): ComputedFeatures {
    const eventTime = event[this.timeField];
    if (typeof eventTime !== 'number' || !Number.isFinite(eventTime)) {
      throw new FeatureInputError(`record ${String(event[this.idField])}: field ${this.timeField}: expected event time in epoch ms, got ${JSON.stringify(eventTime)}`);
    }
    const values: Record<string, number> = {};
    const aggregates: Record<string, number> = {};
    for (const a of this.spec.features.aggregates) aggregates[a.name] = this.readAggregate(a, event, eventTime);
    for (const t of this.spec.features.transforms) this.transform(t, event, eventTime, aggregates, values);
    Object.assign(values, aggregates);
    const entity = event[this.entityField];
    return { entityKey: entity === null || entity === undefined ? '' : String(entity), eventTime, values };
  }

  /** Forgets entities whose every window has expired relative to nowMs (event time). Returns how many. */
  evictIdle(nowMs: number): number {
    let evicted = 0;
    for (const entities of this.state.values()) {
      for (const [key, s] of entities) {
        const lastUseful = s.window ? s.window.lastUsefulTime() : s.last + this.longestWindowMs;
        if (lastUseful < nowMs) {
          entities.delete(key);
          evicted++;
        }
      }
    }
    return evicted;
  }

  entityCount(): number {
    let n = 0;
    for (const entities of this.state.values()) n += entities.size;
    return n;
  }

  /** One entity's state of one aggregate, as plain data (for a changelog). */
  snapshotEntity(aggregate: string, key: string): { last: number; window?: WindowSnapshot } | undefined {
    const s = this.state.get(aggregate)?.get(key);
    return s && { last: s.last, window: s.window?.snapshot() };
  }

  restoreEntity(aggregate: string, key: string, snapshot: { last: number; window?: WindowSnapshot }): void {
    const entities = this.state.get(aggregate);
    if (!entities) throw new FeatureInputError(`unknown aggregate "${aggregate}"`);
    const w = this.windows.get(aggregate);
    entities.set(key, {
      last: snapshot.last,
      window: snapshot.window && w ? BucketedWindow.restore(w.width, BUCKETS_PER_WINDOW, snapshot.window) : undefined,
    });
  }

  private readAggregate(a: AggregateSpec, event: Record<string, unknown>, t: number): number {
    const key = entityKeyOf(event[a.entity]);
    if (key === undefined) return Number.NaN;
    const s = this.state.get(a.name)!.get(key);
    if (a.op === 'time_since_last') return s && Number.isFinite(s.last) ? Math.max(0, t - s.last) / 1000 : Number.NaN;
    if (!s?.window) return a.op === 'count' ? 0 : Number.NaN;
    const w = s.window.stats(t);
    switch (a.op) {
      case 'count':
        return w.count;
      case 'sum':
        return w.sum;
      case 'mean':
        return w.count > 0 ? w.sum / w.count : Number.NaN;
      case 'min':
        return w.min;
      case 'max':
        return w.max;
    }
  }

  private apply(event: Record<string, unknown>, t: number): void {
    for (const a of this.spec.features.aggregates) {
      const key = entityKeyOf(event[a.entity]);
      if (key === undefined) continue;
      const entities = this.state.get(a.name)!;
      let s = entities.get(key);
      if (!s) {
        const w = this.windows.get(a.name);
        s = { last: Number.NEGATIVE_INFINITY, window: w ? new BucketedWindow(w.width, BUCKETS_PER_WINDOW) : undefined };
        entities.set(key, s);
      }
      if (t > s.last) s.last = t;
      if (!s.window) continue;
      const value = a.op === 'count' || a.op === 'time_since_last' ? 0 : toNumber(event[a.field]);
      if (Number.isNaN(value)) continue;
      if (!s.window.add(t, value)) this.lateEvents++;
    }
  }

  private transform(t: TransformSpec, event: Record<string, unknown>, time: number, aggregates: Record<string, number>, out: Record<string, number>): void {
    switch (t.op) {
      case 'passthrough':
        out[t.name] = toNumber(event[t.field]);
        return;
      case 'log1p': {
        const x = toNumber(event[t.field]);
        out[t.name] = x > -1 ? Math.log1p(x) : Number.NaN;
        return;
      }
      case 'clip': {
        const x = toNumber(event[t.field]);
        out[t.name] = Number.isNaN(x) ? x : Math.min(t.max, Math.max(t.min, x));
        return;
      }
      case 'bucketize': {
        const x = toNumber(event[t.field]);
        // Index of the bucket: how many boundaries are <= x (numpy.digitize with right=False).
        out[t.name] = Number.isNaN(x) ? x : t.boundaries.filter((b) => b <= x).length;
        return;
      }
      case 'one_hot': {
        const v = event[t.field];
        const known = typeof v === 'string' && t.categories.includes(v);
        for (const c of t.categories) out[`${t.name}=${c}`] = v === c ? 1 : 0;
        // Missing values are no category at all; any other unseen value is "other".
        out[`${t.name}=${OTHER}`] = v !== null && v !== undefined && !known ? 1 : 0;
        return;
      }
      case 'hour_of_day':
        out[t.name] = new Date(time).getUTCHours();
        return;
      case 'day_of_week':
        out[t.name] = new Date(time).getUTCDay();
        return;
      case 'ratio': {
        const operand = (name: string) => (name in aggregates ? aggregates[name] : toNumber(event[name]));
        const d = operand(t.denominator);
        out[t.name] = d === 0 || Number.isNaN(d) ? Number.NaN : operand(t.numerator) / d;
        return;
      }
    }
  }
}

function entityKeyOf(v: unknown): string | undefined {
  return v === null || v === undefined || v === '' ? undefined : String(v);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return Number.NaN;
}
