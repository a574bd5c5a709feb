// The Kafka Streams peer (bench/e2e/kstreams, a Maven project): built on first use, run as a child process per
// topology and commit interval, stopped by closing its stdin.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, type Child } from './processes';

const PROJECT = new URL('./kstreams/', import.meta.url).pathname;
const JAR = join(PROJECT, 'target/kstreams-bench.jar');
const SOURCES = [join(PROJECT, 'pom.xml'), join(PROJECT, 'src/main/java/dev/streamloop/bench/StreamsBench.java')];

export type StreamsTopology = 'window' | 'passthrough';

/** Builds the jar and its dependency folder with Maven unless they are newer than the sources. */
export function buildKafkaStreamsPeer(): void {
  const fresh = existsSync(JAR) && SOURCES.every((s) => statSync(s).mtimeMs <= statSync(JAR).mtimeMs);
  if (fresh) return;
  process.stderr.write('bench:e2e: building the Kafka Streams peer (mvn package in bench/e2e/kstreams) ...\n');
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(PROJECT, 'pom.xml'), 'package'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench:e2e: mvn package in ${PROJECT} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

export interface KafkaStreamsRun {
  child: Child;
  stop(): Promise<void>;
}

/** Starts one Kafka Streams application and resolves once it reports RUNNING. */
export async function startKafkaStreams(options: {
  brokers: string[];
  applicationId: string;
  topology: StreamsTopology;
  input: string;
  output: string;
  commitIntervalMs: number;
  /** Sees every output line of the JVM; true keeps it off the bench's stderr. */
  swallow?: (line: string) => boolean;
}): Promise<KafkaStreamsRun> {
  const stateDir = mkdtempSync(join(tmpdir(), 'streamloop-bench-e2e-kstreams-'));
  const child = spawnChild(`kstreams ${options.topology} ${options.commitIntervalMs}ms`, 'java', [
    '-Xms256m', '-Xmx1g',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp', `${JAR}:${join(PROJECT, 'target/lib/*')}`,
    'dev.streamloop.bench.StreamsBench',
    '--bootstrap', options.brokers.join(','),
    '--application-id', options.applicationId,
    '--topology', options.topology,
    '--input', options.input,
    '--output', options.output,
    '--commit-interval-ms', String(options.commitIntervalMs),
    '--state-dir', stateDir,
  ], 'STATE RUNNING', PROJECT, options.swallow);
  const stop = async () => {
    await child.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await child.ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, stop };
}
