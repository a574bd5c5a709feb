import { queryRows, type ClickHouseClient } from '@streamloop/clickhouse';
import { chi2Sf, jensenShannonFromCounts, type ChiSquareResult, type CategoricalPsiResult } from '@streamloop/drift';
import { decodeNumber, QUERY_SETTINGS } from './rows';
import { renderSides, type RenderedQuery, type SampleSource } from './sources';

export interface CategoricalDriftOptions {
  /** Share used in place of a category's 0 in the PSI sum, as categoricalPsi. Default 1e-4. */
  epsilon?: number;
  /** More distinct categories than this for a key is an error (these statistics are for low-cardinality values). Default 1000. */
  maxCategories?: number;
}

export interface CategoricalDrift {
  key: string;
  /** Category (String(value); 'NaN' for missing values) → count, in category order. */
  referenceCounts: Map<string, number>;
  currentCounts: Map<string, number>;
  /** As chiSquareTest(referenceCounts, currentCounts): undefined when either sample is empty. */
  chiSquare?: ChiSquareResult;
  /** As categoricalPsi(referenceCounts, currentCounts): undefined when either sample is empty. */
  psi?: CategoricalPsiResult;
  /** Jensen–Shannon distance (base 2) of the category shares, from the counts: undefined when either sample is empty. */
  jensenShannon?: number;
}

/**
 * Category counts of a numeric sample as the SQL path forms them: each distinct value is a category named
 * String(value) (-0 joins 0), and missing values (NaN) are the category 'NaN'. The TypeScript side of the
 * categorical statistics: categoricalCounts(values) feeds chiSquareTest / categoricalPsi.
 */
export function categoricalCounts(values: ArrayLike<number>): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const name = String(values[i]);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function checkOptions(opts: CategoricalDriftOptions): { epsilon: number; maxCategories: number } {
  const epsilon = opts.epsilon ?? 1e-4;
  const maxCategories = opts.maxCategories ?? 1000;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`categoricalDrift: epsilon must be in (0, 1), got ${epsilon}`);
  if (!(Number.isInteger(maxCategories) && maxCategories >= 1)) throw new RangeError(`categoricalDrift: maxCategories must be an integer ≥ 1, got ${maxCategories}`);
  return { epsilon, maxCategories };
}

/**
 * Counts per (key, category) for both sides, then per key the Pearson chi-square statistic of the 2×k table (as
 * scipy.stats.chi2_contingency without correction) and the categorical PSI, both as sums over the categories.
 * Categories are capped at maxCategories + 1 per key (the runner rejects a key over the cap).
 */
export function categoricalDriftQuery(reference: SampleSource, current: SampleSource, opts: CategoricalDriftOptions = {}): RenderedQuery {
  const { epsilon, maxCategories } = checkOptions(opts);
  const sides = renderSides(reference, current);
  const sql = `
SELECT key, n_categories, ref_n, cur_n, cat_missing, cat_value, ref_counts, cur_counts,
  ref_n + cur_n AS total,
  arraySum(arrayMap((r, c) -> pow(r - ref_n * (r + c) / total, 2) / (ref_n * (r + c) / total)
                             + pow(c - cur_n * (r + c) / total, 2) / (cur_n * (r + c) / total), ref_counts, cur_counts)) AS chi2,
  arraySum(arrayMap((r, c) -> (if(c = 0, {eps:Float64}, c / cur_n) - if(r = 0, {eps:Float64}, r / ref_n))
                             * log(if(c = 0, {eps:Float64}, c / cur_n) / if(r = 0, {eps:Float64}, r / ref_n)), ref_counts, cur_counts)) AS psi
FROM (
  SELECT key, count() AS n_categories, sum(r) AS ref_n, sum(c) AS cur_n,
    groupArray({cap:UInt32})(m) AS cat_missing, groupArray({cap:UInt32})(v) AS cat_value,
    groupArray({cap:UInt32})(r) AS ref_counts, groupArray({cap:UInt32})(c) AS cur_counts
  FROM (SELECT key, m, v, countIf(side = 0) AS r, countIf(side = 1) AS c FROM (${sides.sql}) GROUP BY key, m, v)
  GROUP BY key
)
ORDER BY key`;
  return { sql, params: { ...sides.params, eps: epsilon, cap: maxCategories + 1 } };
}

interface CategoricalRow {
  key: string;
  n_categories: number; ref_n: number; cur_n: number;
  cat_missing: number[]; cat_value: unknown[]; ref_counts: number[]; cur_counts: number[];
  chi2: unknown; psi: unknown;
}

/**
 * Chi-square test and categorical PSI per key between two sample sources, computed in ClickHouse from category
 * counts; the counts and statistics reach Node, where the p-value comes from chi2Sf. Agrees with chiSquareTest /
 * categoricalPsi over categoricalCounts(values) of the same samples.
 */
export async function categoricalDrift(
  client: ClickHouseClient, reference: SampleSource, current: SampleSource, opts: CategoricalDriftOptions = {},
): Promise<Map<string, CategoricalDrift>> {
  const { maxCategories } = checkOptions(opts);
  const { sql, params } = categoricalDriftQuery(reference, current, opts);
  const rows = await queryRows<CategoricalRow>(client, sql, params, { settings: QUERY_SETTINGS });
  const out = new Map<string, CategoricalDrift>();
  for (const row of rows) {
    const k = Number(row.n_categories);
    if (k > maxCategories) {
      throw new RangeError(`categoricalDrift: key "${row.key}" has more than ${maxCategories} distinct values; use numeric drift for it or raise maxCategories`);
    }
    // Categories in value order, missing last: a stable order for reports (the statistics do not depend on it).
    const categories = row.cat_value.map((v, i) => ({
      value: row.cat_missing[i] ? Number.NaN : decodeNumber(v, `${row.key} category`),
      ref: Number(row.ref_counts[i]),
      cur: Number(row.cur_counts[i]),
    }));
    categories.sort((a, b) => (Number.isNaN(a.value) ? 1 : 0) - (Number.isNaN(b.value) ? 1 : 0) || a.value - b.value);
    const referenceCounts = new Map(categories.filter((c) => c.ref > 0).map((c) => [String(c.value), c.ref]));
    const currentCounts = new Map(categories.filter((c) => c.cur > 0).map((c) => [String(c.value), c.cur]));
    const result: CategoricalDrift = { key: row.key, referenceCounts, currentCounts };
    const refN = Number(row.ref_n), curN = Number(row.cur_n);
    if (refN > 0 && curN > 0) {
      const names = categories.map((c) => String(c.value));
      const dof = names.length - 1;
      // One category: nothing to compare (chiSquareTest's dof 0 case), whatever rounding left in the sum.
      const statistic = dof === 0 ? 0 : decodeNumber(row.chi2, `${row.key} chi-square`);
      result.chiSquare = { statistic, pValue: dof === 0 ? 1 : chi2Sf(statistic, dof), dof, categories: names };
      result.psi = {
        value: decodeNumber(row.psi, `${row.key} psi`),
        categories: categories.map((c) => ({ category: String(c.value), refShare: c.ref / refN, curShare: c.cur / curN })),
      };
      result.jensenShannon = jensenShannonFromCounts(categories.map((c) => c.ref), categories.map((c) => c.cur));
    }
    out.set(row.key, result);
  }
  return out;
}
