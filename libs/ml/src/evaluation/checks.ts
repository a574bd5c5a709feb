/** Input checks shared by the evaluation functions; errors name the function, the row and what was expected. */

export function checkBinaryInput(yTrue: ArrayLike<number>, scores: ArrayLike<number>, what: string): void {
  if (yTrue.length !== scores.length) throw new RangeError(`${what}: ${yTrue.length} labels but ${scores.length} scores`);
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] !== 0 && yTrue[i] !== 1) throw new RangeError(`${what}: label of row ${i} is ${yTrue[i]}, expected 0 or 1`);
    if (Number.isNaN(scores[i])) throw new RangeError(`${what}: score of row ${i} is NaN`);
  }
}

export function checkLabels(yTrue: ArrayLike<number>, what: string): void {
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] !== 0 && yTrue[i] !== 1) throw new RangeError(`${what}: label of row ${i} is ${yTrue[i]}, expected 0 or 1`);
  }
}

export function checkProbabilities(probabilities: ArrayLike<number>, what: string): void {
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${what}: probability of row ${i} is ${p}, expected a number in [0, 1]`);
  }
}

/** Values of `values` at `rows`, as a Float64Array. */
export function pick(values: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
  return out;
}
