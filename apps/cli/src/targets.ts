import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Settings } from '@streamloop/config';

export const SERVICE_TARGETS = ['ingestion', 'features', 'training', 'inference', 'monitoring', 'schema-registry'] as const;
export type ServiceTarget = (typeof SERVICE_TARGETS)[number];

/** Targets that read or write ClickHouse: training (datasets, experiments) and monitoring (the sink, drift, performance). */
export const CLICKHOUSE_TARGETS: readonly ServiceTarget[] = ['training', 'monitoring'];

/** The name of the lock file a process running embedded chDB keeps in the data directory. */
export const CHDB_LOCK_FILE = 'streamloop.lock';

/** A combination of targets and settings that cannot work; the message says why and what to do instead. */
export class TargetConflictError extends Error {
  override readonly name = 'TargetConflictError';
}

/** `all`, or a comma list of targets, like Mimir's -target. */
export function parseTargets(spec: string): ServiceTarget[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0 || names.includes('all')) return [...SERVICE_TARGETS];
  const unknown = names.filter((n) => !(SERVICE_TARGETS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`--target: unknown target(s) ${unknown.join(', ')}; expected all or some of ${SERVICE_TARGETS.join(', ')}`);
  return names as ServiceTarget[];
}

/** The embedded chDB data directory these targets open in this process, if any (none with CLICKHOUSE_URL). */
export function embeddedChdbDir(settings: Pick<Settings, 'clickhouseUrl' | 'clickhouseDataDir'>, targets: readonly ServiceTarget[]): string | undefined {
  if (settings.clickhouseUrl || !targets.some((t) => CLICKHOUSE_TARGETS.includes(t))) return undefined;
  return settings.clickhouseDataDir ? resolve(settings.clickhouseDataDir) : undefined;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * Why these targets cannot run in one process with these settings (empty: they can): the services' API and the
 * built-in registry asked to listen on one port, or a ClickHouse-needing target with no ClickHouse at all (neither
 * CLICKHOUSE_URL nor a chDB data directory; the settings schema gives the directory a default, so only settings made
 * in code can get here). A chDB directory held by another process is checked when it is locked (lockChdbDir).
 */
export function targetConflicts(
  settings: Pick<Settings, 'clickhouseUrl' | 'clickhouseDataDir' | 'httpHost' | 'httpPort' | 'registryHost' | 'registryPort'>,
  targets: readonly ServiceTarget[],
): string[] {
  const problems: string[] = [];
  const services = targets.filter((t) => t !== 'schema-registry');
  if (targets.includes('schema-registry') && services.length > 0 && settings.httpPort !== 0 && settings.httpPort === settings.registryPort) {
    const sameHost = settings.httpHost === settings.registryHost || WILDCARD_HOSTS.has(settings.httpHost) || WILDCARD_HOSTS.has(settings.registryHost);
    if (sameHost) {
      problems.push(`the services (${services.join(', ')}) and the schema-registry target would both listen on port ${settings.httpPort}: set PORT (or --port) and SCHEMA_REGISTRY_PORT to different ports, or run the registry in another process`);
    }
  }
  const needing = targets.filter((t) => CLICKHOUSE_TARGETS.includes(t));
  if (needing.length > 0 && !settings.clickhouseUrl && !settings.clickhouseDataDir?.trim()) {
    problems.push(`${needing.join(' and ')} need ClickHouse, and none is configured: set CLICKHOUSE_URL (a server) or CLICKHOUSE_DATA_DIR (embedded chDB)`);
  }
  return problems;
}

/** Refuses the combination with every reason at once (TargetConflictError). */
export function assertTargetsCanRun(settings: Parameters<typeof targetConflicts>[0], targets: readonly ServiceTarget[]): void {
  const problems = targetConflicts(settings, targets);
  if (problems.length === 1) throw new TargetConflictError(`cannot start ${targets.join(',')}: ${problems[0]}`);
  if (problems.length > 1) throw new TargetConflictError(`cannot start ${targets.join(',')}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/** Whether a process with this id runs (one we may not signal still runs). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ChdbLock {
  file: string;
  /** Removes the lock file (only while it still names this process). */
  release(): void;
}

/** Locks held by this process, by file: starting twice in one process on one directory shares the lock. */
const held = new Map<string, number>();

/**
 * Takes `<dir>/streamloop.lock` for this process, holding its pid: chDB binds one data directory per process, so a
 * second process on the same directory is refused (TargetConflictError naming the holder) while the pid in the file
 * runs; a lock left by a process that no longer runs is taken over.
 */
export function lockChdbDir(dir: string, options: { pid?: number; isAlive?: (pid: number) => boolean } = {}): ChdbLock {
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processIsAlive;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, CHDB_LOCK_FILE);
  const release = () => {
    const count = (held.get(file) ?? 1) - 1;
    if (count > 0) {
      held.set(file, count);
      return;
    }
    held.delete(file);
    if (readHolder(file) === pid) unlinkSync(file);
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: 'wx' });
      held.set(file, 1);
      return { file, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    if (holder === pid && held.has(file)) {
      held.set(file, held.get(file)! + 1);
      return { file, release };
    }
    if (holder !== undefined && holder !== pid && isAlive(holder)) {
      throw new TargetConflictError(
        `embedded ClickHouse (chDB) data directory ${dir} is in use by process ${holder} (${file}): chDB binds one data directory per process, `
        + 'so run the ClickHouse targets (training, monitoring) in that process, give this one another CLICKHOUSE_DATA_DIR, or set CLICKHOUSE_URL to a ClickHouse server',
      );
    }
    // Left by a process that is gone (or unreadable): take it over.
    try {
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new TargetConflictError(`could not lock ${file}: other processes keep taking it`);
}

function readHolder(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
