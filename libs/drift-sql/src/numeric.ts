import { queryRows, type ClickHouseClient } from '@streamloop/clickhouse';
import type { KsOptions, KsResult, PsiBin, PsiResult } from '@streamloop/drift';
import { ksFromStatistic } from '@streamloop/drift';
import { decodeNumber, QUERY_SETTINGS } from './rows';
import { renderSides, renderSource, type RenderedQuery, type SampleSource } from './sources';

export interface NumericDriftOptions {
  /** Target bins from reference quantiles for PSI and Jensen–Shannon, as psi(). Default 10. */
  bins?: number;
  /** Share used in place of an empty bin's 0 in the PSI sum, as psi(). Default 1e-4. */
  epsilon?: number;
  /** KS p-value method, as ksTest. Default 'auto'. */
  ksMethod?: KsOptions['method'];
}

export interface SampleCounts {
  /** Values, missing included. */
  count: number;
  /** Missing values (NaN or absent). */
  missing: number;
  /** Finite values (count − missing − infinite ones). */
  finite: number;
}

export interface NumericDrift {
  key: string;
  reference: SampleCounts;
  current: SampleCounts;
  /** Reference-quantile cut points (psiEdges of the reference). */
  edges: number[];
  /** As psi(reference, current): undefined when either sample has no value at all. */
  psi?: PsiResult;
  /** As jensenShannonDistance(reference, current): undefined when either sample has no value at all. */
  jensenShannon?: number;
  /** As ksTest over the finite values: undefined when either sample has no finite value. */
  ks?: KsResult;
  /** As wasserstein1 over the finite values: undefined when either sample has no finite value. */
  wasserstein?: number;
  /** Population standard deviation of the reference's finite values (numpy's std): the scale of a normed Wasserstein. */
  referenceStd?: number;
}

function checkOptions(opts: NumericDriftOptions): { bins: number; epsilon: number } {
  const bins = opts.bins ?? 10;
  const epsilon = opts.epsilon ?? 1e-4;
  if (!(Number.isInteger(bins) && bins >= 1)) throw new RangeError(`numericDrift: bins must be an integer ≥ 1, got ${bins}`);
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`numericDrift: epsilon must be in (0, 1), got ${epsilon}`);
  return { bins, epsilon };
}

/**
 * One query for every key of both sources; ClickHouse returns a row per key with counts, bin counts and statistics.
 *
 * - Edges: the reference's finite values sorted (arraySort of groupArray), then quantile k/bins with numpy's linear
 *   rule written out exactly as quantileSorted computes it, deduplicated as psiEdges does.
 * - Values are grouped per (key, value) with a count per side: the merged ECDFs come from running sums over that
 *   grouping in value order (window functions), so KS D = max |F_ref − F_cur| and Wasserstein-1 = Σ |F_ref − F_cur|
 *   · gap are exact. Bins (right-closed, open outer bins, missing values in their own last bin) count the same rows.
 * - PSI and Jensen–Shannon are then sums over the few bins, with psi()'s ε smoothing and scipy's 0·ln 0 = 0.
 */
export function numericDriftQuery(reference: SampleSource, current: SampleSource, opts: NumericDriftOptions = {}): RenderedQuery {
  const { bins, epsilon } = checkOptions(opts);
  const ref = renderSource(reference, 'ref');
  const sides = renderSides(reference, current);
  // quantileSorted's arithmetic, term for term: h = (n − 1)·q with q = k / bins, lo = ⌊h⌋, frac = h − lo.
  const h = `((n - 1) * (k / {bins:UInt32}))`;
  const lo = `floor(${h})`;
  const frac = `(${h} - ${lo})`;
  const at = (offset: number) => `sorted[toUInt64(${lo}) + ${offset}]`;
  const quantile = `if(${frac} = 0 OR ${lo} + 1 >= n, ${at(1)}, ${at(1)} + (${at(2)} - ${at(1)}) * ${frac})`;
  const sql = `
WITH sides AS (${sides.sql})
SELECT key, ref_n, cur_n, ref_missing, cur_missing, ref_finite, cur_finite, edges, ref_std, ks_d, w1, ref_bins, cur_bins,
  arrayMap(r -> if(r = 0, {eps:Float64}, r / ref_n), ref_bins) AS ref_smoothed,
  arrayMap(c -> if(c = 0, {eps:Float64}, c / cur_n), cur_bins) AS cur_smoothed,
  arraySum(arrayMap((r, c) -> (c - r) * log(c / r), ref_smoothed, cur_smoothed)) AS psi,
  arrayMap(r -> r / ref_n, ref_bins) AS p_share,
  arrayMap(c -> c / cur_n, cur_bins) AS q_share,
  sqrt(greatest(arraySum(arrayMap((p, q) -> if(p > 0, p * log(p / ((p + q) / 2)), 0) + if(q > 0, q * log(q / ((p + q) / 2)), 0), p_share, q_share)) / log(2), 0) / 2) AS js
FROM (
  SELECT key, ref_n, cur_n, ref_missing, cur_missing, ref_finite, cur_finite, edges, ref_std, ks_d, w1,
    length(edges) + if(ref_missing + cur_missing > 0, 2, 1) AS n_bins,
    arrayMap(b -> ref_map.2[indexOf(ref_map.1, b)], range(n_bins)) AS ref_bins,
    arrayMap(b -> cur_map.2[indexOf(cur_map.1, b)], range(n_bins)) AS cur_bins
  FROM (
    SELECT key, any(edges) AS edges, any(ref_std) AS ref_std, sum(r) AS ref_n, sum(c) AS cur_n, sumIf(r, m) AS ref_missing, sumIf(c, m) AS cur_missing,
      sumIf(r, fin) AS ref_finite, sumIf(c, fin) AS cur_finite,
      maxIf(abs(cr / ref_fin - cc / cur_fin), fin) AS ks_d,
      sumIf(abs(cr / ref_fin - cc / cur_fin) * (nv - v), fin AND isFinite(nv)) AS w1,
      sumMap([bin], [r]) AS ref_map, sumMap([bin], [c]) AS cur_map
    FROM (
      SELECT g.key AS key, g.m AS m, g.v AS v, g.r AS r, g.c AS c, e.edges AS edges, e.ref_std AS ref_std,
        NOT m AND isFinite(v) AS fin,
        -- Right-closed bins: v lands in bin k when e_k < v ≤ e_{k+1}, i.e. k = the number of edges below v.
        if(m, length(edges) + 1, arrayCount(t -> t < v, edges)) AS bin,
        sum(if(fin, r, 0)) OVER running AS cr, sum(if(fin, c, 0)) OVER running AS cc,
        sum(if(fin, r, 0)) OVER whole AS ref_fin, sum(if(fin, c, 0)) OVER whole AS cur_fin,
        leadInFrame(v, 1, nan) OVER next AS nv
      FROM (
        SELECT key, m, v, countIf(side = 0) AS r, countIf(side = 1) AS c FROM sides GROUP BY key, m, v
      ) AS g
      LEFT JOIN (
        SELECT key AS edge_key, ref_std,
          if(n = 0, CAST([], 'Array(Float64)'), arrayMap(k -> ${quantile}, range(1, {bins:UInt32}))) AS qs,
          arrayFilter((q, i) -> i = 1 OR q > qs[i - 1], qs, arrayEnumerate(qs)) AS edges
        FROM (SELECT key, arraySort(groupArrayIf(x, isFinite(x))) AS sorted, length(sorted) AS n, stddevPopIf(x, isFinite(x)) AS ref_std FROM (${ref.sql}) GROUP BY key)
      ) AS e ON g.key = e.edge_key
      WINDOW running AS (PARTITION BY key, m ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
             -- The same order as the others (no ORDER BY would need a sort of its own).
             whole AS (PARTITION BY key, m ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
             next AS (PARTITION BY key, m ORDER BY v ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)
    )
    GROUP BY key
  )
)
ORDER BY key`;
  return { sql, params: { ...sides.params, bins, eps: epsilon } };
}

interface NumericRow {
  key: string;
  ref_n: number; cur_n: number; ref_missing: number; cur_missing: number; ref_finite: number; cur_finite: number;
  edges: unknown[]; ref_std: unknown; ks_d: unknown; w1: unknown; ref_bins: number[]; cur_bins: number[]; psi: unknown; js: unknown;
}

/**
 * PSI, Jensen–Shannon, KS and Wasserstein-1 per key between two sample sources, computed in ClickHouse; only the
 * per-key counts, bins and statistics reach Node (plus the KS p-value, computed here from D and the sizes).
 * Results agree with psi / jensenShannonDistance / ksTest / wasserstein1 of @streamloop/drift run on the same
 * values (KS and Wasserstein over the finite values). Keys found in neither source are absent from the result.
 */
export async function numericDrift(
  client: ClickHouseClient, reference: SampleSource, current: SampleSource, opts: NumericDriftOptions = {},
): Promise<Map<string, NumericDrift>> {
  const { sql, params } = numericDriftQuery(reference, current, opts);
  const rows = await queryRows<NumericRow>(client, sql, params, { settings: QUERY_SETTINGS });
  const out = new Map<string, NumericDrift>();
  for (const row of rows) {
    const ref: SampleCounts = { count: Number(row.ref_n), missing: Number(row.ref_missing), finite: Number(row.ref_finite) };
    const cur: SampleCounts = { count: Number(row.cur_n), missing: Number(row.cur_missing), finite: Number(row.cur_finite) };
    const edges = row.edges.map((e) => decodeNumber(e, `${row.key} edge`));
    const result: NumericDrift = { key: row.key, reference: ref, current: cur, edges };
    if (ref.count > 0 && cur.count > 0) {
      const missingBin = edges.length + 1;
      const bins: PsiBin[] = row.ref_bins.map((r, k) => {
        const missing = k === missingBin;
        return {
          lower: missing ? Number.NaN : k === 0 ? -Infinity : edges[k - 1],
          upper: missing ? Number.NaN : k === edges.length ? Infinity : edges[k],
          refShare: Number(r) / ref.count,
          curShare: Number(row.cur_bins[k]) / cur.count,
          missing,
        };
      });
      result.psi = { value: decodeNumber(row.psi, `${row.key} psi`), bins };
      result.jensenShannon = decodeNumber(row.js, `${row.key} jensen_shannon`);
    }
    if (ref.finite > 0 && cur.finite > 0) {
      result.ks = ksFromStatistic(decodeNumber(row.ks_d, `${row.key} ks statistic`), ref.finite, cur.finite, { method: opts.ksMethod });
      result.wasserstein = decodeNumber(row.w1, `${row.key} wasserstein`);
      result.referenceStd = decodeNumber(row.ref_std, `${row.key} reference std`);
    }
    out.set(row.key, result);
  }
  return out;
}
