import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAsset {
  contentType: string;
  body: Buffer;
}

const ASSET_DIR = fileURLToPath(new URL('../assets/', import.meta.url));

/** chart.js's UMD build, served from the installed package (no CDN): its main entry's folder holds it. */
function chartJsPath(): string {
  return join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
}

/** The console's files by the name they are served under: a fixed list, so no request names a path on disk. */
const FILES: Record<string, { path: () => string; contentType: string }> = {
  'index.html': { path: () => join(ASSET_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' },
  'console.js': { path: () => join(ASSET_DIR, 'console.js'), contentType: 'text/javascript; charset=utf-8' },
  'console.css': { path: () => join(ASSET_DIR, 'console.css'), contentType: 'text/css; charset=utf-8' },
  'chart.umd.min.js': { path: chartJsPath, contentType: 'text/javascript; charset=utf-8' },
};

const cache = new Map<string, ConsoleAsset>();

/** The console file served as `name` (read once, then kept); undefined for any other name. */
export function consoleAsset(name: string): ConsoleAsset | undefined {
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!file) return undefined;
  let asset = cache.get(name);
  if (!asset) {
    asset = { contentType: file.contentType, body: readFileSync(file.path()) };
    cache.set(name, asset);
  }
  return asset;
}

/** The names consoleAsset serves. */
export const CONSOLE_ASSETS: readonly string[] = Object.keys(FILES);

/**
 * The console's Content-Security-Policy: its own scripts and styles only, API calls to its own origin, charts drawn on
 * canvases; nothing inline, so text from the data (a DLQ payload, a decision reason) can never run.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
