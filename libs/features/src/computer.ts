import { featureNamesOf, parseDuration, type AggregateSpec, type PipelineSpec } from '@streamloop/config';
import { compileTransform, toNumber, type CompiledTransform } from './transforms';
import { BucketedWindow } from './window';
import { decodeEntityState, encodeEntityState, layoutFingerprint, type EncodedEntityState } from './snapshot';

/** Buckets per window: a window's edge is exact to 1/60 of its length (1 minute for 1h, 24 minutes for 24h). */
export const BUCKETS_PER_WINDOW = 60;
/** How long an entity without any windowed aggregate is kept when the spec has no window at all. */
const DEFAULT_IDLE_MS = 86_400_000;

export interface ComputedFeatures {
  /** Value of the pipeline's primary entity field ('' when the event has none). */
  entityKey: string;
  /** Event time, epoch ms. */
  eventTime: number;
  /** Feature name → value, in `featureNames` order; NaN marks a missing value. */
  values: Record<string, number>;
}

export interface FeatureComputerOptions {
  /** Buckets per sliding window (default 60). */
  bucketsPerWindow?: number;
  /**
   * Idle time after which `evictIdle` forgets an entity. Default: the longest window among the aggregates
   * of the entity's field (so eviction never changes a windowed value), else the spec's longest window, else 1 day.
   */
  idleAfterMs?: number;
}

/** An event the computer cannot use (no event time), or state that does not fit this spec. */
export class FeatureInputError extends Error {
  override name = 'FeatureInputError';
}

/** One sliding-window series kept per entity: `field` undefined counts events (count), else sums the field. */
interface SeriesDef {
  windowMs: number;
  field: string | undefined;
}

/** All aggregates keyed by the same entity field share one state per entity value. */
interface EntityGroup {
  entity: string;
  series: SeriesDef[];
  idleMs: number;
  fingerprint: number;
  states: Map<string, EntityState>;
}

interface EntityState {
  /** Latest event time seen for the entity (−Infinity before any). */
  last: number;
  /** One window per series of the group, created on the first value. */
  windows: Array<BucketedWindow | undefined>;
}

interface AggregatePlan {
  spec: AggregateSpec;
  group: EntityGroup;
  /** Index into group.series; −1 for time_since_last. */
  series: number;
}

/**
 * Computes a pipeline's feature vector for each event. Aggregates read the entity's state as it was
 * before this event (no leakage), then the event is added to the state. Missing inputs give NaN.
 *
 * State is per entity: the key of an entity is `field=value` (e.g. `card_id=c-17`), which is what
 * `snapshotEntity`/`restoreEntity` take and what a changelog would use as record key.
 */
export class FeatureComputer {
  /** Feature names in vector order: transforms in order (one-hot expanded to name=category), then aggregates. */
  readonly featureNames: string[];
  /** Events that arrived too late for at least one of their windows and were not applied to it. */
  lateEvents = 0;
  /** The computer's own copy of the names: callers may do what they like with featureNames. */
  private readonly names: readonly string[];
  private readonly transforms: CompiledTransform[];
  private readonly plans: AggregatePlan[];
  private readonly groups: EntityGroup[];
  private readonly groupsByEntity = new Map<string, EntityGroup>();
  private readonly buckets: number;
  private readonly idField: string;
  private readonly timeField: string;
  private readonly entityField: string;

  constructor(spec: PipelineSpec, options: FeatureComputerOptions = {}) {
    this.buckets = options.bucketsPerWindow ?? BUCKETS_PER_WINDOW;
    this.idField = spec.events.idField;
    this.timeField = spec.events.timeField;
    this.entityField = spec.events.entityField;
    this.names = Object.freeze(featureNamesOf(spec.features));
    this.featureNames = [...this.names];
    this.transforms = spec.features.transforms.map(compileTransform);

    this.plans = spec.features.aggregates.map((a) => {
      let group = this.groupsByEntity.get(a.entity);
      if (!group) {
        group = { entity: a.entity, series: [], idleMs: 0, fingerprint: 0, states: new Map() };
        this.groupsByEntity.set(a.entity, group);
      }
      if (a.op === 'time_since_last') return { spec: a, group, series: -1 };
      const windowMs = windowMsOf(a);
      const field = a.op === 'count' ? undefined : a.field;
      // mean, max, ... of the same field over the same window read one series.
      let series = group.series.findIndex((s) => s.windowMs === windowMs && s.field === field);
      if (series < 0) series = group.series.push({ windowMs, field }) - 1;
      return { spec: a, group, series };
    });
    this.groups = [...this.groupsByEntity.values()];
    const longest = Math.max(0, ...this.groups.flatMap((g) => g.series.map((s) => s.windowMs)));
    for (const g of this.groups) {
      const own = Math.max(0, ...g.series.map((s) => s.windowMs));
      g.idleMs = options.idleAfterMs ?? (own || longest || DEFAULT_IDLE_MS);
      g.fingerprint = layoutFingerprint(g.entity, this.buckets, g.series);
    }
  }

  /** The feature vector of an event, then the event is added to the state. */
  compute(event: Record<string, unknown>): ComputedFeatures {
    const result = this.peek(event);
    this.apply(event, result.eventTime);
    return result;
  }

  /** The feature vector of an event without changing any state (REST predict). */
  peek(event: Record<string, unknown>): ComputedFeatures {
    const time = this.eventTimeOf(event);
    const aggregates = new Map<string, number>();
    const aggregateValues: number[] = [];
    for (const plan of this.plans) {
      const v = this.readAggregate(plan, event, time);
      aggregates.set(plan.spec.name, v);
      aggregateValues.push(v);
    }
    const out: number[] = [];
    const input = { event, time, aggregates };
    for (const t of this.transforms) t.write(input, out);
    out.push(...aggregateValues);
    const values: Record<string, number> = {};
    this.names.forEach((name, i) => (values[name] = out[i]));
    const entity = event[this.entityField];
    return { entityKey: entity === null || entity === undefined ? '' : String(entity), eventTime: time, values };
  }

  /** The state keys (`field=value`) that compute(event) changes: what a changelog writes after it. */
  stateKeysOf(event: Record<string, unknown>): string[] {
    const keys: string[] = [];
    for (const g of this.groups) {
      const value = entityValueOf(event[g.entity]);
      if (value !== undefined) keys.push(stateKey(g.entity, value));
    }
    return keys;
  }

  /** Every state key held. */
  *stateKeys(): IterableIterator<string> {
    for (const g of this.groups) for (const value of g.states.keys()) yield stateKey(g.entity, value);
  }

  /** Number of entity states held (one per entity field and value). */
  entityCount(): number {
    let n = 0;
    for (const g of this.groups) n += g.states.size;
    return n;
  }

  /**
   * Forgets entities whose latest event is more than their idle time older than nowMs (event time).
   * Returns their state keys (a changelog writes tombstones for them).
   */
  evictIdle(nowMs: number): string[] {
    const evicted: string[] = [];
    for (const g of this.groups) {
      for (const [value, s] of g.states) {
        if (nowMs - s.last > g.idleMs) {
          g.states.delete(value);
          evicted.push(stateKey(g.entity, value));
        }
      }
    }
    return evicted;
  }

  /** Drops all state (e.g. when a partition is revoked and its entities move elsewhere). */
  clear(): void {
    for (const g of this.groups) g.states.clear();
  }

  /** One entity's state as compact bytes (for a changelog); undefined when the entity has none. */
  snapshotEntity(key: string): Uint8Array | undefined {
    const { group, value } = this.resolveKey(key);
    const s = group.states.get(value);
    if (!s) return undefined;
    const state: EncodedEntityState = { last: s.last, series: s.windows.map((w) => (w ? w.buckets5() : [])) };
    return encodeEntityState(group.fingerprint, state);
  }

  /** Replaces one entity's state with a snapshot; null or undefined deletes it (a changelog tombstone). */
  restoreEntity(key: string, snapshot: Uint8Array | null | undefined): void {
    const { group, value } = this.resolveKey(key);
    if (!snapshot) {
      group.states.delete(value);
      return;
    }
    let decoded: EncodedEntityState;
    try {
      decoded = decodeEntityState(group.fingerprint, group.series.length, snapshot);
    } catch (error) {
      throw new FeatureInputError(`state of ${key}: ${(error as Error).message}`);
    }
    const windows = decoded.series.map((flat, i) => {
      if (flat.length === 0) return undefined;
      try {
        return BucketedWindow.fromBuckets(group.series[i].windowMs, this.buckets, flat);
      } catch (error) {
        throw new FeatureInputError(`state of ${key}: series ${i}: ${(error as Error).message}`);
      }
    });
    group.states.set(value, { last: decoded.last, windows });
  }

  private resolveKey(key: string): { group: EntityGroup; value: string } {
    const eq = key.indexOf('=');
    const group = eq > 0 ? this.groupsByEntity.get(key.slice(0, eq)) : undefined;
    if (!group) {
      throw new FeatureInputError(`state key ${JSON.stringify(key)}: expected field=value with one of the aggregate entity fields (${[...this.groupsByEntity.keys()].join(', ')})`);
    }
    return { group, value: key.slice(eq + 1) };
  }

  private eventTimeOf(event: Record<string, unknown>): number {
    const t = event[this.timeField];
    if (typeof t === 'number' && Number.isFinite(t)) return t;
    if (t instanceof Date && Number.isFinite(t.getTime())) return t.getTime();
    throw new FeatureInputError(`event ${JSON.stringify(event[this.idField] ?? null)}: field ${this.timeField}: expected the event time in epoch milliseconds, got ${JSON.stringify(t ?? null)}`);
  }

  private readAggregate(plan: AggregatePlan, event: Record<string, unknown>, t: number): number {
    const value = entityValueOf(event[plan.group.entity]);
    if (value === undefined) return Number.NaN;
    const s = plan.group.states.get(value);
    const op = plan.spec.op;
    if (op === 'time_since_last') {
      // An out-of-order event only knows the entity's latest event, which is later: 0, not negative.
      return s && Number.isFinite(s.last) ? Math.max(0, t - s.last) / 1000 : Number.NaN;
    }
    const w = s?.windows[plan.series];
    // Nothing seen yet: no events and nothing spent, but no mean, min or max.
    if (!w) return op === 'count' || op === 'sum' ? 0 : Number.NaN;
    const stats = w.stats(t);
    switch (op) {
      case 'count':
        return stats.count;
      case 'sum':
        return stats.sum;
      case 'mean':
        return stats.count > 0 ? stats.sum / stats.count : Number.NaN;
      case 'min':
        return stats.min;
      case 'max':
        return stats.max;
    }
  }

  private apply(event: Record<string, unknown>, t: number): void {
    let late = false;
    for (const g of this.groups) {
      const value = entityValueOf(event[g.entity]);
      if (value === undefined) continue;
      let s = g.states.get(value);
      if (!s) {
        s = { last: Number.NEGATIVE_INFINITY, windows: new Array(g.series.length).fill(undefined) };
        g.states.set(value, s);
      }
      if (t > s.last) s.last = t;
      g.series.forEach((def, i) => {
        const x = def.field === undefined ? 0 : toNumber(event[def.field]);
        if (Number.isNaN(x)) return; // a missing value is not part of mean/min/max/sum
        const w = (s.windows[i] ??= new BucketedWindow(def.windowMs, this.buckets));
        if (!w.add(t, x)) late = true;
      });
    }
    if (late) this.lateEvents++;
  }
}

/** The state key of one entity: `card_id=c-17`. */
export function stateKey(entityField: string, value: string): string {
  return `${entityField}=${value}`;
}

function entityValueOf(v: unknown): string | undefined {
  return v === null || v === undefined || v === '' ? undefined : String(v);
}

function windowMsOf(a: Extract<AggregateSpec, { window: string }>): number {
  // windowMs is set by the config loader; a hand-built spec may carry only the text.
  const ms = typeof a.windowMs === 'number' && a.windowMs > 0 ? a.windowMs : parseDuration(a.window);
  if (ms === undefined) throw new FeatureInputError(`aggregate ${a.name}: window: expected a duration like 5m, 1h, 7d, got ${JSON.stringify(a.window)}`);
  return ms;
}
