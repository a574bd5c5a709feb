import { MODEL_STAGE_SYMBOLS, type ModelRegistryRecord, type ModelStage } from '@streamloop/contracts';

// The record types are generated from schemas/model-registry.avsc (@streamloop/contracts); this library owns the rules.
export type { ModelRegistryRecord, OnnxSignatureRecord, ModelStage } from '@streamloop/contracts';

/**
 * candidate: stored, not served. challenger: scored beside the champion. champion: eligible to serve (the champion
 * rule picks one). archived: retired. rejected: pulled for cause (rolled back or demoted). Neither of the last two is
 * served again unless republished as champion.
 */
export const MODEL_STAGES = MODEL_STAGE_SYMBOLS;

/** The stages a new version may be registered with (archiving is for versions already published). */
export const REGISTRATION_STAGES = ['candidate', 'champion'] as const satisfies readonly ModelStage[];
export type RegistrationStage = (typeof REGISTRATION_STAGES)[number];

export function isRegistrationStage(value: unknown): value is RegistrationStage {
  return typeof value === 'string' && (REGISTRATION_STAGES as readonly string[]).includes(value);
}

/** Who decides a version's stage (the record's decided_by). */
export const DECIDERS = ['training', 'external', 'cli', 'api', 'policy'] as const;
export type Decider = (typeof DECIDERS)[number];

/** The audit fields of a record whose stage nobody recorded deciding (as records from before the audit trail read). */
export const NO_DECISION: Pick<ModelRegistryRecord, 'decided_by' | 'decided_at' | 'decision_reason' | 'decision_metrics'> = {
  decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
};
