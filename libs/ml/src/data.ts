/** Row-major numeric input accepted by every model: `number[][]` or `Float64Array[]` (one array per row). */
export type Matrix = ReadonlyArray<ArrayLike<number>>;

/** Checks that every row has the same width (or `expectedWidth`) and returns the shape. */
export function matrixShape(X: Matrix, what: string, expectedWidth?: number): { n: number; d: number } {
  if (!Array.isArray(X)) throw new TypeError(`${what}: expected an array of rows, got ${typeof X}`);
  const n = X.length;
  const d = expectedWidth ?? (n > 0 ? X[0].length : 0);
  for (let i = 0; i < n; i++) {
    const row = X[i];
    if (row == null || typeof row.length !== 'number') throw new TypeError(`${what}: row ${i} is not an array`);
    if (row.length !== d) throw new RangeError(`${what}: row ${i} has ${row.length} values, expected ${d}`);
  }
  return { n, d };
}

/** Copies rows into one row-major Float64Array (n * d), the layout the hot loops run on. */
export function flatten(X: Matrix, d: number): Float64Array {
  const out = new Float64Array(X.length * d);
  for (let i = 0; i < X.length; i++) {
    const row = X[i];
    const o = i * d;
    for (let j = 0; j < d; j++) out[o + j] = +row[j];
  }
  return out;
}

/** Binary labels as 0/1 bytes; anything but 0, 1 (or false/true) is an error naming the row. */
export function binaryLabels(y: ArrayLike<number | boolean>, n: number, what: string): Uint8Array {
  if (y == null || typeof y.length !== 'number') throw new TypeError(`${what}: labels must be an array`);
  if (y.length !== n) throw new RangeError(`${what}: ${y.length} labels for ${n} rows`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v === 1 || v === true) out[i] = 1;
    else if (v === 0 || v === false) out[i] = 0;
    else throw new RangeError(`${what}: label of row ${i} is ${String(v)}, expected 0 or 1`);
  }
  return out;
}

/** Numbers from a JSON document, with `null` read back as NaN (JSON has no NaN). */
export function numbersFromJson(v: unknown, what: string, length?: number): Float64Array {
  if (!Array.isArray(v)) throw new TypeError(`${what}: expected an array of numbers`);
  if (length !== undefined && v.length !== length) throw new RangeError(`${what}: ${v.length} values, expected ${length}`);
  return Float64Array.from(v, (x, i) => {
    if (x === null) return Number.NaN;
    if (typeof x !== 'number') throw new TypeError(`${what}[${i}]: expected a number, got ${typeof x}`);
    return x;
  });
}
