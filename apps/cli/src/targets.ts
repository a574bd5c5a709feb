import type { Settings } from '@streamloop/config';
import { embeddedChdbDirOf, TargetConflictError } from '@streamloop/runtime';

// The chDB directory lock is the platform's (a service started alone takes it too); re-exported where the CLI has it.
export { CHDB_LOCK_FILE, lockChdbDir, processIsAlive, TargetConflictError, type ChdbLock } from '@streamloop/runtime';

export const SERVICE_TARGETS = ['ingestion', 'features', 'training', 'inference', 'monitoring', 'schema-registry'] as const;
export type ServiceTarget = (typeof SERVICE_TARGETS)[number];

/** Targets that read or write ClickHouse: training (datasets, experiments) and monitoring (the sink, drift, performance). */
export const CLICKHOUSE_TARGETS: readonly ServiceTarget[] = ['training', 'monitoring'];

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
  return targets.some((t) => CLICKHOUSE_TARGETS.includes(t)) ? embeddedChdbDirOf(settings) : undefined;
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
