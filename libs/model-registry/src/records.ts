import { MODEL_STAGE_SYMBOLS, type ModelStage } from '@streamloop/contracts';

// The record types are generated from schemas/model-registry.avsc (@streamloop/contracts); this library owns the rules.
export type { ModelRegistryRecord, OnnxSignatureRecord, ModelStage } from '@streamloop/contracts';

/**
 * candidate: stored, not served. champion: eligible to serve (the champion rule picks one). archived: retired,
 * never served again unless republished as champion.
 */
export const MODEL_STAGES = MODEL_STAGE_SYMBOLS;

/** The stages a new version may be registered with (archiving is for versions already published). */
export const REGISTRATION_STAGES = ['candidate', 'champion'] as const satisfies readonly ModelStage[];
export type RegistrationStage = (typeof REGISTRATION_STAGES)[number];

export function isRegistrationStage(value: unknown): value is RegistrationStage {
  return typeof value === 'string' && (REGISTRATION_STAGES as readonly string[]).includes(value);
}
