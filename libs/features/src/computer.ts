import { featureNamesOf, parseDuration, type AggregateSpec, type PipelineSpec } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { compileTransform, toNumber, type CompiledTransform } from './transforms';
import { BucketedWindow } from './window';
import { HLL_REGISTERS, HllWindow, hashString } from './hll';
import { decodeEntityState, encodeEntityState, layoutFingerprint, type EncodedEntityState, type EncodedSeries, type SeriesShape } from './snapshot';

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
  /**
   * The event is late (see `features.allowed_lateness` in docs/pipeline-spec.md). With an allowed lateness: it is
   * older than its entity's newest event time minus that lateness, and compute() left every state unchanged.
   * Without: at least one window could no longer take it (it was applied to every aggregate that could).
   * The vector is computed as usual either way; the service drops or dead-letters the event (`features.late_events`).
   */
  late: boolean;
}

export interface FeatureComputerOptions {
  /** Buckets per sliding window (default 60). */
  bucketsPerWindow?: number;
  /**
   * Idle time after which `evictIdle` forgets an entity. Default: the longest window among the aggregates
   * of the entity's field (so eviction never changes a windowed value), else the spec's longest window, else 1 day.
   */
  idleAfterMs?: number;
  /**
   * The entity fields whose state this computer keeps (default: every aggregate's). The aggregates of the other
   * fields are not computed here: compute() takes their values from its `external` argument. This is how a stream
   * keyed by one field computes aggregates keyed by another: each stage owns one field, on a topic keyed by it.
   */
  entities?: readonly string[];
}

/** An event the computer cannot use (no event time), or state that does not fit this spec. */
export class FeatureInputError extends PlatformError {
  constructor(message: string) {
    super('INVALID_FEATURE_INPUT', message);
  }
}

/**
 * One piece of state kept per entity, shared by every aggregate that reads it:
 * - window: buckets of count/sum/min/max (+ M2 when a std reads it) of `field` (undefined: events, for count);
 * - hll: buckets of HyperLogLog registers of `field`'s values (distinct_count);
 * - last: (event time, value) of the entity's latest value of `field`;
 * - ewm: (mean, total weight, reference time) of `field` with half-life `halfLifeMs`.
 */
type SeriesDef =
  | { kind: 'window'; windowMs: number; field: string | undefined; m2: boolean }
  | { kind: 'hll'; windowMs: number; field: string }
  | { kind: 'last'; field: string }
  | { kind: 'ewm'; field: string; halfLifeMs: number };

type SeriesState = BucketedWindow | HllWindow | number[];

function describeSeries(d: SeriesDef): string {
  switch (d.kind) {
    case 'window':
      // The same text as format 1 for plain windows; M2 marks the wider buckets.
      return `${d.windowMs}:${d.field ?? '*'}${d.m2 ? ':m2' : ''}`;
    case 'hll':
      return `hll${HLL_REGISTERS}:${d.windowMs}:${d.field}`;
    case 'last':
      return `last:${d.field}`;
    case 'ewm':
      return `ewm:${d.halfLifeMs}:${d.field}`;
  }
}

function shapeOf(d: SeriesDef): SeriesShape {
  switch (d.kind) {
    case 'window':
      return { numbers: d.m2 ? 6 : 5, bytes: 0 };
    case 'hll':
      return { numbers: 1, bytes: HLL_REGISTERS };
    case 'last':
      return { numbers: 2, bytes: 0 };
    case 'ewm':
      return { numbers: 3, bytes: 0 };
  }
}

function sameSeries(a: SeriesDef, b: SeriesDef): boolean {
  if (a.kind !== b.kind || a.field !== b.field) return false;
  if (a.kind === 'window' || a.kind === 'hll') return a.windowMs === (b as { windowMs: number }).windowMs;
  if (a.kind === 'ewm') return a.halfLifeMs === (b as { halfLifeMs: number }).halfLifeMs;
  return true;
}

/** All aggregates keyed by the same entity field share one state per entity value. */
interface EntityGroup {
  entity: string;
  series: SeriesDef[];
  shapes: SeriesShape[];
  idleMs: number;
  fingerprint: number;
  states: Map<string, EntityState>;
}

interface EntityState {
  /** Latest event time seen for the entity (−Infinity before any). */
  last: number;
  /** One state per series of the group, created on the first value. */
  series: Array<SeriesState | undefined>;
}

interface AggregatePlan {
  spec: AggregateSpec;
  group: EntityGroup;
  /** Index into group.series; −1 for time_since_last. */
  series: number;
}

/**
 * How the features of a stream keyed by one field are computed when aggregates are keyed by other fields too
 * (Kafka Streams would repartition): stage 0 reads P.events (keyed by the pipeline's entity field) and owns that
 * field's aggregates; each further stage owns one other entity field and reads a topic keyed by it. Each stage
 * passes the aggregates computed so far to the next; the last one writes the feature vector. With aggregates of
 * the entity field only, there is one stage owning everything.
 */
export interface FeatureStage {
  index: number;
  /** The field the stage's input is keyed (and partitioned) by. */
  field: string;
  /** FeatureComputerOptions.entities for the stage (undefined: every field, the single-stage case). */
  entities: string[] | undefined;
  last: boolean;
}

export function featureStages(spec: PipelineSpec): FeatureStage[] {
  const primary = spec.events.entityField;
  const fields = [...new Set(spec.features.aggregates.map((a) => a.entity))];
  const foreign = fields.filter((f) => f !== primary);
  if (foreign.length === 0) return [{ index: 0, field: primary, entities: undefined, last: true }];
  const stages = [primary, ...foreign].map((field, index) => ({
    index,
    field,
    entities: fields.includes(field) ? [field] : [],
    last: index === foreign.length,
  }));
  return stages;
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
  /** Events compute() found late (`late: true`); see ComputedFeatures.late. */
  lateEvents = 0;
  /** `features.allowed_lateness` in ms; null: no limit beyond each window's reach. */
  readonly allowedLatenessMs: number | null;
  /** The computer's own copy of the names: callers may do what they like with featureNames. */
  private readonly names: readonly string[];
  private readonly transforms: CompiledTransform[];
  private readonly plans: AggregatePlan[];
  /** Groups whose state this computer keeps (see FeatureComputerOptions.entities). */
  private readonly groups: EntityGroup[];
  private readonly ownedPlans: Set<AggregatePlan>;
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
    const lateness = spec.features.allowedLatenessMs;
    if (lateness !== undefined && lateness !== null && !(lateness >= 0)) {
      throw new FeatureInputError(`features.allowedLatenessMs: expected a duration in ms (≥ 0) or null, got ${lateness}`);
    }
    this.allowedLatenessMs = lateness ?? null;

    this.plans = spec.features.aggregates.map((a) => {
      let group = this.groupsByEntity.get(a.entity);
      if (!group) {
        group = { entity: a.entity, series: [], shapes: [], idleMs: 0, fingerprint: 0, states: new Map() };
        this.groupsByEntity.set(a.entity, group);
      }
      if (a.op === 'time_since_last') return { spec: a, group, series: -1 };
      const def = seriesDefOf(a);
      // mean, max, std, ... of the same field over the same window read one series.
      let series = group.series.findIndex((s) => sameSeries(s, def));
      if (series < 0) series = group.series.push(def) - 1;
      else if (def.kind === 'window' && def.m2) (group.series[series] as { m2: boolean }).m2 = true;
      return { spec: a, group, series };
    });
    if (options.entities) {
      const unknown = options.entities.filter((e) => !this.groupsByEntity.has(e));
      if (unknown.length > 0) throw new FeatureInputError(`entities: ${unknown.join(', ')} keys no aggregate (aggregate entity fields: ${[...this.groupsByEntity.keys()].join(', ') || 'none'})`);
    }
    const owned = new Set(options.entities ?? this.groupsByEntity.keys());
    this.groups = [...this.groupsByEntity.values()].filter((g) => owned.has(g.entity));
    this.ownedPlans = new Set(this.plans.filter((p) => owned.has(p.group.entity)));
    const reach = (s: SeriesDef) => (s.kind === 'window' || s.kind === 'hll' ? s.windowMs : 0);
    const longest = Math.max(0, ...this.groups.flatMap((g) => g.series.map(reach)));
    for (const g of this.groups) {
      const own = Math.max(0, ...g.series.map(reach));
      g.idleMs = options.idleAfterMs ?? (own || longest || DEFAULT_IDLE_MS);
      g.shapes = g.series.map(shapeOf);
      g.fingerprint = layoutFingerprint(g.entity, this.buckets, g.series.map(describeSeries));
    }
  }

  /**
   * The feature vector of an event, then the event is added to the state. `external` gives the values of the
   * aggregates this computer does not own (absent ones are NaN).
   */
  compute(event: Record<string, unknown>, external?: Readonly<Record<string, number>>): ComputedFeatures {
    const result = this.peek(event, external);
    if (result.late) this.lateEvents++;
    // Beyond the allowed lateness an event changes nothing: the service drops or dead-letters it.
    if (!(result.late && this.allowedLatenessMs !== null)) this.apply(event, result.eventTime);
    return result;
  }

  /** The feature vector of an event without changing any state (REST predict). */
  peek(event: Record<string, unknown>, external?: Readonly<Record<string, number>>): ComputedFeatures {
    const time = this.eventTimeOf(event);
    // What a ratio or an expr may read: the aggregates, then each one-number transform once computed.
    const features = new Map<string, number>();
    const aggregateValues: number[] = [];
    for (const plan of this.plans) {
      const v = this.ownedPlans.has(plan) ? this.readAggregate(plan, event, time) : (external?.[plan.spec.name] ?? Number.NaN);
      features.set(plan.spec.name, v);
      aggregateValues.push(v);
    }
    const out: number[] = [];
    const input = { event, time, features };
    for (const t of this.transforms) {
      t.write(input, out);
      if (t.columns.length === 1) features.set(t.columns[0], out[out.length - 1]);
    }
    out.push(...aggregateValues);
    const values: Record<string, number> = {};
    this.names.forEach((name, i) => (values[name] = out[i]));
    const entity = event[this.entityField];
    return { entityKey: entity === null || entity === undefined ? '' : String(entity), eventTime: time, values, late: this.isLate(event, time) };
  }

  /** Whether a state key (`field=value`) belongs to an entity field whose state this computer keeps. */
  owns(key: string): boolean {
    const eq = key.indexOf('=');
    return eq > 0 && this.groups.some((g) => g.entity === key.slice(0, eq));
  }

  /** Names of the aggregates this computer computes from its own state, in spec order. */
  ownedAggregates(): string[] {
    return this.plans.filter((p) => this.ownedPlans.has(p)).map((p) => p.spec.name);
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

  /** The newest event time held by any entity (−Infinity without state): "now" in event time for evictIdle. */
  newestEventTime(): number {
    let newest = Number.NEGATIVE_INFINITY;
    for (const g of this.groups) for (const s of g.states.values()) if (s.last > newest) newest = s.last;
    return newest;
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
    const series = s.series.map((x): EncodedSeries => {
      if (x === undefined) return { numbers: [] };
      if (x instanceof BucketedWindow) return { numbers: x.toFlat() };
      if (x instanceof HllWindow) {
        const { indices, registers } = x.toFlat();
        return { numbers: indices, bytes: registers };
      }
      return { numbers: x };
    });
    const state: EncodedEntityState = { last: s.last, series };
    return encodeEntityState(group.fingerprint, group.shapes, state);
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
      decoded = decodeEntityState(group.fingerprint, group.shapes, snapshot);
    } catch (error) {
      throw new FeatureInputError(`state of ${key}: ${(error as Error).message}`);
    }
    const series = decoded.series.map((flat, i): SeriesState | undefined => {
      if (flat.numbers.length === 0) return undefined;
      const def = group.series[i];
      try {
        switch (def.kind) {
          case 'window':
            return BucketedWindow.fromFlat(def.windowMs, this.buckets, flat.numbers, { m2: def.m2 });
          case 'hll':
            return HllWindow.fromFlat(def.windowMs, this.buckets, flat.numbers, flat.bytes!);
          case 'last':
          case 'ewm': {
            const values = Array.from(flat.numbers);
            if (values.length !== (def.kind === 'last' ? 2 : 3) || values.some((v) => !Number.isFinite(v))) {
              throw new RangeError(`expected one entry of finite numbers, got ${values.join(', ')}`);
            }
            if (def.kind === 'ewm' && !(values[1] > 0)) throw new RangeError(`ewm weight ${values[1]} is not positive`);
            return values;
          }
        }
      } catch (error) {
        throw new FeatureInputError(`state of ${key}: series ${i} (${describeSeries(def)}): ${(error as Error).message}`);
      }
    });
    group.states.set(value, { last: decoded.last, series });
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
    const x = s?.series[plan.series];
    // Nothing seen yet: no events, nothing spent and no distinct value, but no mean, min, max, std, last.
    if (x === undefined) return op === 'count' || op === 'sum' || op === 'distinct_count' ? 0 : Number.NaN;
    if (x instanceof HllWindow) return x.estimate(t);
    // (time, value) for last; (mean, weight, time) for ewm_mean. The mean of normalised exponential weights
    // does not change with the time it is read at, only when an event is added.
    if (!(x instanceof BucketedWindow)) return op === 'last' ? x[1] : x[0];
    const stats = x.stats(t);
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
      case 'std':
        return Math.sqrt(stats.variance);
      default:
        throw new Error(`aggregate ${plan.spec.name}: op ${op} does not read a window`);
    }
  }

  /** Whether compute(event) treats the event as late (see ComputedFeatures.late). */
  private isLate(event: Record<string, unknown>, t: number): boolean {
    for (const g of this.groups) {
      const value = entityValueOf(event[g.entity]);
      if (value === undefined) continue;
      const s = g.states.get(value);
      if (!s) continue;
      if (this.allowedLatenessMs !== null) {
        if (t < s.last - this.allowedLatenessMs) return true;
        continue;
      }
      for (let i = 0; i < g.series.length; i++) {
        const def = g.series[i];
        const x = s.series[i];
        if (def.kind === 'window' || def.kind === 'hll') {
          const w = x as BucketedWindow | HllWindow | undefined;
          if (w && seriesInput(def, event) !== undefined && w.bucketOf(t) <= w.newest - this.buckets) return true;
        }
      }
    }
    return false;
  }

  private apply(event: Record<string, unknown>, t: number): void {
    for (const g of this.groups) {
      const value = entityValueOf(event[g.entity]);
      if (value === undefined) continue;
      let s = g.states.get(value);
      if (!s) {
        s = { last: Number.NEGATIVE_INFINITY, series: new Array(g.series.length).fill(undefined) };
        g.states.set(value, s);
      }
      if (t > s.last) s.last = t;
      for (let i = 0; i < g.series.length; i++) {
        const def = g.series[i];
        const x = seriesInput(def, event);
        if (x === undefined) continue; // a missing value is not part of sum/mean/min/max/std/distinct/last/ewm
        switch (def.kind) {
          case 'window':
            // A window that refuses the value will never read that bucket again (it is behind the entity's reach).
            ((s.series[i] ??= new BucketedWindow(def.windowMs, this.buckets, { m2: def.m2 })) as BucketedWindow).add(t, x as number);
            break;
          case 'hll':
            ((s.series[i] ??= new HllWindow(def.windowMs, this.buckets)) as HllWindow).add(t, hashString(x as string));
            break;
          case 'last': {
            const cur = s.series[i] as number[] | undefined;
            // The value of the latest event time; an older out-of-order event does not replace it.
            if (!cur) s.series[i] = [t, x as number];
            else if (t >= cur[0]) {
              cur[0] = t;
              cur[1] = x as number;
            }
            break;
          }
          case 'ewm':
            s.series[i] = ewmAdd(s.series[i] as number[] | undefined, t, x as number, def.halfLifeMs);
            break;
        }
      }
    }
  }
}

/** The state key of one entity: `card_id=c-17`. */
export function stateKey(entityField: string, value: string): string {
  return `${entityField}=${value}`;
}

function entityValueOf(v: unknown): string | undefined {
  return v === null || v === undefined || v === '' ? undefined : String(v);
}

/**
 * Adds x at time t to an exponentially weighted mean (mean, total weight, reference time τ), weights
 * 2^(−(τ − tᵢ)/halfLife) relative to the latest time τ. In order, old weight decays to τ = t; an out-of-order
 * value enters with its own decayed weight, so the result does not depend on arrival order.
 */
export function ewmAdd(state: number[] | undefined, t: number, x: number, halfLifeMs: number): number[] {
  if (!state) return [x, 1, t];
  const [mean, weight, ref] = state;
  if (t >= ref) {
    const w = weight * 2 ** (-(t - ref) / halfLifeMs) + 1;
    return [mean + (x - mean) / w, w, t];
  }
  const a = 2 ** (-(ref - t) / halfLifeMs);
  const w = weight + a;
  return [mean + ((x - mean) * a) / w, w, ref];
}

/** What a series takes from an event: a number (0 for count), a string (distinct_count), or undefined if missing. */
function seriesInput(def: SeriesDef, event: Record<string, unknown>): number | string | undefined {
  if (def.field === undefined) return 0;
  if (def.kind === 'hll') return entityValueOf(event[def.field]);
  const x = toNumber(event[def.field]);
  return Number.isNaN(x) ? undefined : x;
}

function seriesDefOf(a: Exclude<AggregateSpec, { op: 'time_since_last' }>): SeriesDef {
  switch (a.op) {
    case 'last':
      return { kind: 'last', field: a.field };
    case 'ewm_mean': {
      // halfLifeMs is set by the config loader; a hand-built spec may carry only the text.
      const ms = typeof a.halfLifeMs === 'number' && a.halfLifeMs > 0 ? a.halfLifeMs : parseDuration(a.half_life);
      if (ms === undefined) throw new FeatureInputError(`aggregate ${a.name}: half_life: expected a duration like 5m, 1h, 7d, got ${JSON.stringify(a.half_life)}`);
      return { kind: 'ewm', field: a.field, halfLifeMs: ms };
    }
    case 'distinct_count':
      return { kind: 'hll', windowMs: windowMsOf(a), field: a.field };
    case 'count':
      return { kind: 'window', windowMs: windowMsOf(a), field: undefined, m2: false };
    default:
      return { kind: 'window', windowMs: windowMsOf(a), field: a.field, m2: a.op === 'std' };
  }
}

function windowMsOf(a: Extract<AggregateSpec, { window: string }>): number {
  // windowMs is set by the config loader; a hand-built spec may carry only the text.
  const ms = typeof a.windowMs === 'number' && a.windowMs > 0 ? a.windowMs : parseDuration(a.window);
  if (ms === undefined) throw new FeatureInputError(`aggregate ${a.name}: window: expected a duration like 5m, 1h, 7d, got ${JSON.stringify(a.window)}`);
  return ms;
}
