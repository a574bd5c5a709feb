#!/usr/bin/env node
// The `streamloop` CLI: runs the TypeScript sources through tsx's loader (no build step),
// with the workspace's tsconfig wherever it is called from.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../apps/cli/src/main.ts');
