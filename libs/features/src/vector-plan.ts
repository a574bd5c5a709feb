import { featureNamesOf, hashColumns, oneHotColumns, ONE_HOT_OTHER, type AggregateSpec, type PipelineSpec, type TransformSpec } from '@streamloop/config';
import { featureStages, type FeatureStage } from './computer';

/** One column of a pipeline's feature vector: what it holds, what computes it and in which stage. */
export interface FeatureColumn {
  name: string;
  /** `double`, or the 0/1 column of a `one-hot` or `hash` expansion (every value travels as a double). */
  type: 'double' | 'one-hot column' | 'hash column';
  /** The transform or aggregate as the spec declares it, e.g. `mean(amount) per card_id over 24h`. */
  computedBy: string;
  /** Where it is declared, e.g. `features.aggregates[2]`. */
  key: string;
  /** The stage that computes it (featureStages): an aggregate's own field, the last stage for every transform. */
  stage: FeatureStage;
}

/** The feature vector a spec produces, in its order (featureNamesOf), each column with the stage that computes it. */
export function featureColumns(spec: PipelineSpec): FeatureColumn[] {
  const stages = featureStages(spec);
  // Only the last stage writes the vector, so it computes the transforms (a ratio may read any stage's aggregate).
  const last = stages[stages.length - 1];
  const columns: FeatureColumn[] = [];
  spec.features.transforms.forEach((t, i) => {
    const key = `features.transforms[${i}]`;
    if (t.op === 'one_hot') {
      for (const [j, name] of oneHotColumns(t.name, t.categories).entries()) {
        const category = j < t.categories.length ? `= ${JSON.stringify(t.categories[j])}` : `= any other value (${ONE_HOT_OTHER})`;
        columns.push({ name, type: 'one-hot column', computedBy: `one_hot(${t.field}) ${category}`, key, stage: last });
      }
    } else if (t.op === 'hash') {
      for (const [j, name] of hashColumns(t.name, t.buckets).entries()) {
        columns.push({ name, type: 'hash column', computedBy: `hash(${t.field}) mod ${t.buckets} = ${j}`, key, stage: last });
      }
    } else {
      columns.push({ name: t.name, type: 'double', computedBy: describeTransform(t), key, stage: last });
    }
  });
  spec.features.aggregates.forEach((a, i) => {
    const stage = stages.find((s) => s.field === a.entity);
    if (!stage) throw new Error(`features.aggregates[${i}]: no feature stage is keyed by ${a.entity}`);
    columns.push({ name: a.name, type: 'double', computedBy: describeAggregate(a), key: `features.aggregates[${i}]`, stage });
  });
  // The order is the model's input order: it must be featureNamesOf's, whatever changes above.
  const names = featureNamesOf(spec.features);
  if (names.length !== columns.length || names.some((n, i) => n !== columns[i].name)) throw new Error('featureColumns: the columns are not in featureNamesOf order');
  return columns;
}

function describeTransform(t: Exclude<TransformSpec, { op: 'one_hot' | 'hash' }>): string {
  switch (t.op) {
    case 'passthrough':
    case 'log1p':
      return `${t.op}(${t.field})`;
    case 'clip':
      return `clip(${t.field}, ${t.min}, ${t.max})`;
    case 'bucketize':
      return `bucketize(${t.field}, [${t.boundaries.join(', ')}])`;
    case 'hour_of_day':
    case 'day_of_week':
      return `${t.op}(event time, UTC)`;
    case 'not_equal':
      return `not_equal(${t.field}, ${JSON.stringify(t.value)})`;
    case 'ratio':
      return `ratio(${t.numerator} / ${t.denominator})`;
    case 'expr':
      return `expr(${t.expr.replace(/\s+/g, ' ').trim()})`;
  }
}

function describeAggregate(a: AggregateSpec): string {
  switch (a.op) {
    case 'count':
      return `count per ${a.entity} over ${a.window}`;
    case 'time_since_last':
      return `time_since_last per ${a.entity}`;
    case 'last':
      return `last(${a.field}) per ${a.entity}`;
    case 'ewm_mean':
      return `ewm_mean(${a.field}) per ${a.entity}, half-life ${a.half_life}`;
    default:
      return `${a.op}(${a.field}) per ${a.entity} over ${a.window}`;
  }
}
