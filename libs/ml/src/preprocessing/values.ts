/** A column value: numbers for numeric columns, strings for categorical ones; null, undefined (absent), NaN and '' are missing. */
export type RawValue = number | string | null | undefined;
export type RawRow = Readonly<Record<string, RawValue>>;

export function numericValue(row: RawRow, name: string, i: number, what: string): number {
  const v = row[name];
  if (v === null || v === undefined) return Number.NaN;
  if (typeof v !== 'number') throw new TypeError(`${what}: column '${name}' of row ${i} is ${JSON.stringify(v)}; expected a number, null or NaN (missing)`);
  return v;
}

/** The category, or null when missing (null, undefined, ''). */
export function categoryValue(row: RawRow, name: string, i: number, what: string): string | null {
  const v = row[name];
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string') throw new TypeError(`${what}: column '${name}' of row ${i} is ${JSON.stringify(v)}; expected a string, null or '' (missing)`);
  return v;
}

export function checkRow(row: unknown, i: number, what: string): asserts row is RawRow {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new TypeError(`${what}: row ${i} is not an object of column → value`);
}

