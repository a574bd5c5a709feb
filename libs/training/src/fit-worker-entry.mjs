// Entry of the training worker thread. The TypeScript sources run through tsx without a build step, and a loader
// registered through tsx's API (bin/streamloop.mjs) does not reach worker threads: register it here, with the
// workspace's tsconfig for the @streamloop/* paths, then run the worker's TypeScript body.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) });
await import('./fit-worker-thread.ts');
