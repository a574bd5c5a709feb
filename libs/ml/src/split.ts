export interface TimeSplitOptions<T> {
  /** The field holding the row's time: a number (e.g. epoch ms), a bigint or a Date. */
  timeKey: keyof T & string;
  /** Share of the rows, the most recent ones, held out for testing; in (0, 1). */
  holdoutFraction: number;
}

export interface TimeSplit<T> {
  /** Rows strictly before `cutoff`, in time order. */
  train: T[];
  /** Rows at or after `cutoff`, in time order. */
  test: T[];
  /** The earliest time in the test part (as a number). */
  cutoff: number;
}

function timeOf(v: unknown, i: number, key: string): number {
  const t = v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v) : v;
  if (typeof t !== 'number' || Number.isNaN(t)) {
    throw new TypeError(`timeSplit: row ${i} has ${key} = ${String(v)}, expected a number, bigint or Date`);
  }
  return t;
}

/**
 * Splits rows by time: the most recent `holdoutFraction` of them is the test part, everything older is
 * training data. Rows are ordered by time (stably: ties keep their input order), never shuffled, and rows
 * sharing a timestamp stay on the same side so nothing from "the future" of a test row trains the model.
 * The holdout is round(n · fraction) rows, moved later or earlier to a timestamp boundary.
 */
export function timeSplit<T>(rows: readonly T[], opts: TimeSplitOptions<T>): TimeSplit<T> {
  const { timeKey, holdoutFraction } = opts;
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) throw new RangeError(`timeSplit: holdoutFraction must be in (0, 1), got ${holdoutFraction}`);
  const n = rows.length;
  if (n < 2) throw new RangeError(`timeSplit: needs at least 2 rows to split, got ${n}`);
  const times = rows.map((r, i) => timeOf((r as Record<string, unknown>)[timeKey], i, timeKey));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => times[a] - times[b] || a - b);
  const t = order.map((i) => times[i]);
  const wanted = Math.min(n - 1, Math.max(1, n - Math.round(n * holdoutFraction)));
  // Prefer moving the boundary earlier (a larger test part) so a tie group is not split.
  let b = wanted;
  while (b > 0 && t[b - 1] === t[b]) b--;
  if (b === 0) {
    b = wanted;
    while (b < n && t[b - 1] === t[b]) b++;
  }
  if (b === 0 || b === n) {
    throw new RangeError(`timeSplit: all ${n} rows share one ${timeKey} (${t[0]}); cannot hold out the most recent rows`);
  }
  return { train: order.slice(0, b).map((i) => rows[i]), test: order.slice(b).map((i) => rows[i]), cutoff: t[b] };
}
