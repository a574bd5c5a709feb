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
}

export function validateSpec(file: string): SpecReport {
  try {
    const spec = loadCheckedSpec(file);
    return { ok: true, text: `ok  ${file} (pipeline ${spec.pipeline}: ${featureColumns(spec).length} features)` };
  } catch (error) {
    return { ok: false, text: describeFailure(file, error) };
  }
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
