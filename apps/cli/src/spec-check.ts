// `streamloop validate` and `streamloop features`: what the services would check and compute for a spec, offline
// (no broker, no schema registry). The checks and the stage plan live in the libraries; this only prints them.
import { featureStageTopics, loadPipelineSpec, SpecError, topicsFor, type PipelineSpec } from '@streamloop/config';
import { featureColumns, featureStages } from '@streamloop/features';
import { modelSpecProblems } from '@streamloop/ml';

/**
 * Loads a spec as the services do (shape, durations, fields and types against its event schema: libs/config), plus
 * the model params, which training would otherwise only check when it first runs (libs/ml). Throws SpecError.
 */
export function loadCheckedSpec(file: string): PipelineSpec {
  const spec = loadPipelineSpec(file);
  const problems = modelSpecProblems(spec.model);
  if (problems.length > 0) throw new SpecError(file, problems);
  return spec;
}

export interface SpecReport {
  ok: boolean;
  /** `ok  FILE (pipeline P: N features)`, or the problems, each line naming the file and the key. */
  text: string;
  /** The same for scripts (`validate --json`): the file, the pipeline and feature count, or each problem alone. */
  json: { file: string; ok: boolean; pipeline?: string; features?: number; problems?: string[] };
}

export function validateSpec(file: string): SpecReport {
  try {
    const spec = loadCheckedSpec(file);
    const features = featureColumns(spec).length;
    return { ok: true, text: `ok  ${file} (pipeline ${spec.pipeline}: ${features} features)`, json: { file, ok: true, pipeline: spec.pipeline, features } };
  } catch (error) {
    const problems = error instanceof SpecError ? error.problems : [error instanceof Error ? error.message : String(error)];
    return { ok: false, text: describeFailure(file, error), json: { file, ok: false, problems } };
  }
}

/** The feature vector of a valid spec as data (`features --json`): its stages and its columns in model order. */
export function featuresAsJson(spec: PipelineSpec): unknown {
  const topics = topicsFor(spec);
  const stages = featureStages(spec);
  return {
    pipeline: spec.pipeline,
    version: spec.features.version,
    stages: stages.map((s) => ({ index: s.index, keyed_by: s.field, reads: featureStageTopics(topics, s).input, ...(s.last ? { writes: topics.features } : {}) })),
    features: featureColumns(spec).map((c, i) => ({ index: i, name: c.name, type: c.type, computed_by: c.computedBy, declared_at: c.key, stage: c.stage.index, stage_keyed_by: c.stage.field })),
  };
}

/** A SpecError's message already names the file on every line; anything else gets it in front. */
export function describeFailure(file: string, error: unknown): string {
  if (error instanceof SpecError) return error.message;
  return `${file}: ${error instanceof Error ? error.message : String(error)}`;
}

/** The feature vector of a valid spec as a table: name, type, what computes it, the stage that does. */
export function describeFeatures(spec: PipelineSpec): string {
  const topics = topicsFor(spec);
  const stages = featureStages(spec);
  const columns = featureColumns(spec);
  const lines = [`pipeline ${spec.pipeline}, features ${spec.features.version}: ${columns.length} features, ${stages.length} stage${stages.length === 1 ? '' : 's'}`];
  for (const stage of stages) {
    const writes = stage.last ? `, writes ${topics.features}` : '';
    lines.push(`  stage ${stage.index}: keyed by ${stage.field}, reads ${featureStageTopics(topics, stage).input}${writes}`);
  }
  lines.push('');
  const rows = [['#', 'name', 'type', 'computed by', 'stage'], ...columns.map((c, i) => [String(i), c.name, c.type, c.computedBy, `${c.stage.index} (${c.stage.field})`])];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  for (const row of rows) lines.push(row.map((cell, j) => (j === row.length - 1 ? cell : cell.padEnd(widths[j]))).join('  '));
  return lines.join('\n');
}
