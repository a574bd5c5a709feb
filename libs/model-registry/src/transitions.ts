import { PlatformError } from '@streamloop/errors';
import type { Decider, ModelRegistryRecord, ModelStage } from './records';
import { challengerOf, championOf, championsNewestFirst, type RegistryEntry, type RegistryState } from './registry-state';

/**
 * Operators' stage changes of model versions, decided here from the folded registry so the CLI, the HTTP API and any
 * policy apply the same rules; each change is a republished record of the version (same key) with its new stage and
 * who, when and why. The champion rule (registry-state.ts) then says which version serves.
 */

export type ModelAction = 'promote' | 'archive' | 'rollback' | 'demote';

/** The stage a promotion gives: champion (it serves) or challenger (it scores beside the champion). */
export type PromotionTarget = 'champion' | 'challenger';

export interface TransitionRequest {
  action: ModelAction;
  /** The version acted on; rollback acts on the serving champion and takes none. */
  version?: number;
  /** Needed only when more than one model of the pipeline has that version number. */
  model?: string;
  /** For promote: the stage given (default champion). */
  to?: PromotionTarget;
  decidedBy: Decider;
  reason?: string;
  /** The numbers behind the decision, recorded with it. */
  metrics?: Record<string, number>;
  now: number;
}

export interface Transition {
  /** The record to publish. */
  record: ModelRegistryRecord;
  /** The version's stage before. */
  from: ModelStage;
  /** The champion that serves once the record is published (undefined: none). */
  servingAfter?: { model_name: string; model_version: number };
  /** The challenger once the record is published (undefined: none). */
  challengerAfter?: { model_name: string; model_version: number };
}

/** Why a requested change cannot be made (its code gives the HTTP status), with a message naming what was asked. */
export class TransitionRefusedError extends PlatformError {
  constructor(code: 'INVALID_INPUT' | 'NOT_FOUND' | 'MODEL_STAGE_CONFLICT', message: string) {
    super(code, message);
  }
}

/** One line per model version of a pipeline, newest record last: what `models list` shows. */
export interface ModelSummary {
  model_name: string;
  model_version: number;
  stage: ModelStage;
  /** True for the version the champion rule picks. */
  serving: boolean;
  /** True for the version the challenger rule picks (it scores beside the champion). */
  challenger: boolean;
  algorithm: string;
  created_at: number;
  decided_by: string;
  decided_at: number;
  decision_reason: string;
  /** The numbers behind the latest decision (offline_*, online_*, probation_*). */
  decision_metrics: Record<string, number>;
  metrics: Record<string, number>;
}

export function listModels(state: RegistryState, pipeline: string): ModelSummary[] {
  const serving = championOf(state, pipeline);
  const challenger = challengerOf(state, pipeline);
  return entriesOf(state, pipeline).map((e) => ({
    model_name: e.record.model_name,
    model_version: e.record.model_version,
    stage: e.record.stage,
    serving: e === serving,
    challenger: e === challenger,
    algorithm: e.record.algorithm,
    created_at: e.record.created_at,
    decided_by: e.record.decided_by,
    decided_at: e.record.decided_at,
    decision_reason: e.record.decision_reason,
    decision_metrics: e.record.decision_metrics,
    metrics: e.record.metrics,
  }));
}

/** A version's latest record, found by number (and model name when the number is not unique in the pipeline). */
export function findVersion(state: RegistryState, pipeline: string, version: number, model?: string): RegistryEntry {
  const matches = entriesOf(state, pipeline).filter((e) => e.record.model_version === version && (model === undefined || e.record.model_name === model));
  if (matches.length === 0) {
    throw new TransitionRefusedError('NOT_FOUND', `pipeline ${pipeline} has no model version ${version}${model === undefined ? '' : ` of model ${model}`}`);
  }
  if (matches.length > 1) {
    const names = matches.map((e) => e.record.model_name).join(', ');
    throw new TransitionRefusedError('INVALID_INPUT', `pipeline ${pipeline}: version ${version} exists for models ${names}; say which with model (--model)`);
  }
  return matches[0];
}

/**
 * The record that carries out a requested change, or a refusal:
 * - promote N: N becomes champion and serves (from any stage; promoting the serving champion is refused);
 * - promote N to challenger: N scores beside the champion, replacing any challenger (not the serving champion);
 * - archive N: N is retired; the serving champion may be archived only if an earlier champion remains to serve;
 * - rollback: the serving champion is rejected and the newest earlier champion serves again (refused without one);
 * - demote N: champion or challenger N is rejected for cause (inference's policy, after it failed at serve time);
 *   when N serves, the newest earlier champion serves instead (refused without one, and for a version in
 *   another stage).
 */
export function planTransition(state: RegistryState, pipeline: string, request: TransitionRequest): Transition {
  const serving = championOf(state, pipeline);
  const challenger = challengerOf(state, pipeline);
  let target: RegistryEntry;
  let stage: ModelStage;
  if (request.action === 'rollback') {
    if (request.version !== undefined) throw new TransitionRefusedError('INVALID_INPUT', 'rollback acts on the serving champion: give no version');
    if (!serving) throw new TransitionRefusedError('MODEL_STAGE_CONFLICT', `pipeline ${pipeline} has no champion to roll back`);
    target = serving;
    stage = 'rejected';
  } else {
    if (request.version === undefined) throw new TransitionRefusedError('INVALID_INPUT', `${request.action} needs the version (--version)`);
    if (request.to !== undefined && request.action !== 'promote') throw new TransitionRefusedError('INVALID_INPUT', `${request.action} takes no target stage (to)`);
    target = findVersion(state, pipeline, request.version, request.model);
    stage = request.action === 'promote' ? request.to ?? 'champion' : request.action === 'demote' ? 'rejected' : 'archived';
    if (request.action === 'demote' && target.record.stage !== 'champion' && target.record.stage !== 'challenger') {
      throw new TransitionRefusedError('MODEL_STAGE_CONFLICT', `${describe(target)} is ${target.record.stage}, not a champion or challenger: nothing to demote`);
    }
    if (request.action === 'promote' && target === serving) {
      const hint = stage === 'challenger' ? ': roll back or promote another version first' : '';
      throw new TransitionRefusedError('MODEL_STAGE_CONFLICT', `${describe(target)} is already the serving champion${hint}`);
    }
    if (stage === 'challenger' && target === challenger) {
      throw new TransitionRefusedError('MODEL_STAGE_CONFLICT', `${describe(target)} is already the challenger`);
    }
    if (request.action === 'archive' && target.record.stage === 'archived') {
      throw new TransitionRefusedError('MODEL_STAGE_CONFLICT', `${describe(target)} is already archived`);
    }
  }
  let servingAfter: RegistryEntry | undefined;
  if (stage === 'champion') servingAfter = target;
  else if (target === serving) {
    // The rule hands the role to the newest earlier version still in stage champion.
    servingAfter = championsNewestFirst(state, pipeline).find((e) => e !== target);
    if (!servingAfter) {
      const what = request.action === 'rollback' ? 'roll back' : request.action === 'demote' ? 'demote' : 'archive';
      throw new TransitionRefusedError('MODEL_STAGE_CONFLICT', `cannot ${what} ${describe(target)}: no earlier champion would serve after it (promote another version first)`);
    }
  } else servingAfter = serving;
  // The challenger rule likewise: the promoted one, or when the challenger leaves that stage the newest other one.
  const challengerAfter = stage === 'challenger' ? target
    : target === challenger ? newestOtherChallenger(state, pipeline, target) : challenger;
  const record: ModelRegistryRecord = {
    ...target.record,
    stage,
    decided_by: request.decidedBy,
    decided_at: request.now,
    decision_reason: request.reason?.trim() || defaultReason(request.action, target, servingAfter),
    decision_metrics: request.metrics ?? {},
  };
  return {
    record,
    from: target.record.stage,
    servingAfter: servingAfter && versionOf(servingAfter),
    challengerAfter: challengerAfter && versionOf(challengerAfter),
  };
}

function versionOf(e: RegistryEntry): { model_name: string; model_version: number } {
  return { model_name: e.record.model_name, model_version: e.record.model_version };
}

function newestOtherChallenger(state: RegistryState, pipeline: string, leaving: RegistryEntry): RegistryEntry | undefined {
  return entriesOf(state, pipeline).filter((e) => e !== leaving && e.record.stage === 'challenger').at(-1);
}

function defaultReason(action: ModelAction, target: RegistryEntry, servingAfter: RegistryEntry | undefined): string {
  if (action === 'promote') return `promoted ${describe(target)} to ${target === servingAfter ? 'champion' : 'challenger'}`;
  const after = servingAfter ? `; ${describe(servingAfter)} serves` : '';
  if (action === 'demote') return `demoted ${describe(target)}${after}`;
  return action === 'rollback' ? `rolled back ${describe(target)}${after}` : `archived ${describe(target)}${after}`;
}

function describe(e: RegistryEntry): string {
  return `${e.record.model_name} v${e.record.model_version}`;
}

function entriesOf(state: RegistryState, pipeline: string): RegistryEntry[] {
  return [...state.versions.values()].filter((e) => e.record.pipeline === pipeline).sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}
