import { parseRegistryKey, registryKey } from './key';
import type { ModelRegistryRecord } from './records';

/**
 * One record of the registry topic, as read. The topic is compacted by `pipeline/model/version` and has one
 * partition, so its offsets order every record of every pipeline.
 */
export type RegistryMessage =
  /** A model version's record; its key is derived from the value (pipeline, model_name, model_version). */
  | { kind: 'version'; offset: bigint; record: ModelRegistryRecord }
  /** A tombstone (null value): the version is deleted; its number stays taken. */
  | { kind: 'tombstone'; offset: bigint; key: string }
  /** A value that could not be read: the state keeps what it had for the key, but its version number is taken. */
  | { kind: 'unreadable'; offset: bigint; key: string };

/** A model version as the registry holds it now: its latest record and where that record is on the topic. */
export interface RegistryEntry {
  record: ModelRegistryRecord;
  offset: bigint;
}

/** The registry topic folded: what compaction would leave, plus the version numbers ever used. */
export interface RegistryState {
  /** Per key (`pipeline/model/version`), the latest record; a tombstone removes the key. */
  readonly versions: ReadonlyMap<string, RegistryEntry>;
  /** Per `pipeline/model`, the highest version ever seen (deleted and unreadable ones too): numbers are never reused. */
  readonly highestVersions: ReadonlyMap<string, number>;
  /** The highest offset folded so far (-1 before any): records at or below it are redeliveries and change nothing. */
  readonly position: bigint;
}

export function emptyRegistry(): RegistryState {
  return { versions: new Map(), highestVersions: new Map(), position: -1n };
}

/**
 * Applies registry messages to a state and returns the new state (the given one is not changed). Messages are
 * applied in offset order whatever order they come in; a message at or below the state's position was applied
 * already (a broadcast consumer may read a range again) and is skipped.
 */
export function foldRegistry(state: RegistryState, messages: Iterable<RegistryMessage>): RegistryState {
  const pending = [...messages].filter((m) => m.offset > state.position).sort(byOffset);
  if (pending.length === 0) return state;
  const versions = new Map(state.versions);
  const highestVersions = new Map(state.highestVersions);
  let position = state.position;
  const takeVersion = (pipeline: string, model: string, version: number) => {
    const name = modelKey(pipeline, model);
    highestVersions.set(name, Math.max(highestVersions.get(name) ?? 0, version));
  };
  for (const message of pending) {
    // Two messages with one offset: the first wins (the second is the same record read twice).
    if (message.offset <= position) continue;
    position = message.offset;
    if (message.kind === 'version') {
      const { record } = message;
      versions.set(registryKey(record), { record, offset: message.offset });
      takeVersion(record.pipeline, record.model_name, record.model_version);
      continue;
    }
    const id = parseRegistryKey(message.key);
    if (!id) continue;
    if (message.kind === 'tombstone') versions.delete(message.key);
    takeVersion(id.pipeline, id.model_name, id.model_version);
  }
  return { versions, highestVersions, position };
}

/**
 * THE champion rule. A pipeline's champion is, among its versions whose latest record has stage 'champion', the one
 * whose record came last on the topic (highest offset) — whatever the model's name or version number. So a model
 * published as champion (trained here or registered from elsewhere) takes over; republishing a version as champion
 * promotes it (or rolls back to it); archiving the champion (republishing it with stage 'archived') hands the role
 * back to the previous champion still in that stage. Undefined when the pipeline has none.
 */
export function championOf(state: RegistryState, pipeline: string): RegistryEntry | undefined {
  return championsNewestFirst(state, pipeline)[0];
}

/**
 * The champion and then, newest first, every earlier version still in stage 'champion': the order in which a server
 * falls back when a champion cannot be loaded (the champion rule's answer is the first element).
 */
export function championsNewestFirst(state: RegistryState, pipeline: string): RegistryEntry[] {
  const out: RegistryEntry[] = [];
  for (const entry of state.versions.values()) {
    if (entry.record.pipeline === pipeline && entry.record.stage === 'champion') out.push(entry);
  }
  return out.sort((a, b) => byOffset(b, a));
}

/**
 * THE challenger rule, the champion rule's twin: among the pipeline's versions whose latest record has stage
 * 'challenger', the one whose record came last on the topic scores beside the champion (in shadow or on a share of
 * entities, as the spec's `serving.challenger` says). Older challengers stay stored in that stage, unscored, like
 * older champions. Undefined when the pipeline has none.
 */
export function challengerOf(state: RegistryState, pipeline: string): RegistryEntry | undefined {
  let newest: RegistryEntry | undefined;
  for (const entry of state.versions.values()) {
    if (entry.record.pipeline !== pipeline || entry.record.stage !== 'challenger') continue;
    if (!newest || entry.offset > newest.offset) newest = entry;
  }
  return newest;
}

/** The decision metric that puts a promoted champion on probation: the labelled live events it is watched for. */
export const PROBATION_LABELS_METRIC = 'probation_labels';

/** A champion on probation and the previous champion, which scores in shadow beside it until the probation ends. */
export interface Probation {
  champion: RegistryEntry;
  previous: RegistryEntry;
  /** Labelled live events both must score before the probation is decided. */
  labels: number;
}

/**
 * THE probation rule: the serving champion is on probation while its latest record carries PROBATION_LABELS_METRIC
 * (a promotion by policy sets it; the probation's end republishes the champion without it, or rolls it back) and an
 * earlier champion remains — the previous champion, next in line, which the probation compares it with.
 */
export function probationOf(state: RegistryState, pipeline: string): Probation | undefined {
  const [champion, previous] = championsNewestFirst(state, pipeline);
  const labels = champion?.record.decision_metrics[PROBATION_LABELS_METRIC] ?? 0;
  if (!champion || !previous || !(labels > 0)) return undefined;
  return { champion, previous, labels };
}

/** What scores in shadow beside the champion: the challenger, or else, during a probation, the previous champion. */
export interface ShadowModel {
  entry: RegistryEntry;
  /** challenger: the registry's challenger (shadow or split, as the spec says); probation: the previous champion (shadow only). */
  reason: 'challenger' | 'probation';
}

export function shadowOf(state: RegistryState, pipeline: string): ShadowModel | undefined {
  const challenger = challengerOf(state, pipeline);
  if (challenger) return { entry: challenger, reason: 'challenger' };
  const probation = probationOf(state, pipeline);
  return probation && { entry: probation.previous, reason: 'probation' };
}

/** The version a new record of pipeline/model takes: one above any version of that model ever seen (1 for the first). */
export function nextVersion(state: RegistryState, pipeline: string, modelName: string): number {
  return (state.highestVersions.get(modelKey(pipeline, modelName)) ?? 0) + 1;
}

/** Whether two entries are the same record of the same version (a republished version is a new record). */
export function sameEntry(a: RegistryEntry, b: RegistryEntry): boolean {
  return a.offset === b.offset && registryKey(a.record) === registryKey(b.record);
}

function byOffset(a: { offset: bigint }, b: { offset: bigint }): number {
  return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
}

function modelKey(pipeline: string, model: string): string {
  return `${pipeline}/${model}`;
}
