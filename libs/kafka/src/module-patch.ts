import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Puts `replacement` in kafkajs' module cache in place of the module `id`, so that kafkajs' own modules get it when
 * they load it. Does nothing once `loadedBy` (the kafkajs module that requires `id`) has loaded: it already holds the
 * original, and `isReplaced` tells the caller's check so. Written for kafkajs 2.2.4, whose internals it replaces.
 */
export function replaceKafkajsModule(id: string, loadedBy: string, replacement: unknown): void {
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== '2.2.4') throw new Error(`replacing ${id}: written for kafkajs 2.2.4, found ${version}`);
  const path = require.resolve(id);
  if (require.cache[path]?.exports === replacement) return;
  if (require.cache[require.resolve(loadedBy)]) return;
  require(id); // make kafkajs' own module entry, then put the replacement in its place
  require.cache[path]!.exports = replacement;
}

/** Whether kafkajs' module `id` is `replacement` (see replaceKafkajsModule). */
export function isReplaced(id: string, replacement: unknown): boolean {
  return require.cache[require.resolve(id)]?.exports === replacement;
}
