import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Settings } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';

/** The name of the lock file a process running embedded chDB keeps in the data directory. */
export const CHDB_LOCK_FILE = 'streamloop.lock';

/** A combination of targets and settings that cannot work; the message says why and what to do instead. */
export class TargetConflictError extends PlatformError {
  constructor(message: string) {
    super('INVALID_SETTINGS', message);
  }
}

/** The embedded chDB data directory a process that uses ClickHouse opens with these settings (none with CLICKHOUSE_URL). */
export function embeddedChdbDirOf(settings: Pick<Settings, 'clickhouseUrl' | 'clickhouseDataDir'>): string | undefined {
  if (settings.clickhouseUrl) return undefined;
  return settings.clickhouseDataDir ? resolve(settings.clickhouseDataDir) : undefined;
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
