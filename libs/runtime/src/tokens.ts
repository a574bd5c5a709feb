/** Nest injection token under which every service module finds the process's Runtime. */
export const RUNTIME = Symbol.for('streamloop.runtime');
