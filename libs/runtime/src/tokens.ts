/**
 * Nest injection token of the whole Runtime: only monitoring and training still inject it (until they are converted);
 * every other target injects the providers of ./providers.
 */
export const RUNTIME = Symbol.for('streamloop.runtime');
