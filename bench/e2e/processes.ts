// The child processes of the bench (systems under test, the Kafka Streams peer) and the broker, each stopped by the
// bench itself: children by their own pid, the broker by deploy/local/kafka.sh stop on the port it was started on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { createKafka } from '@streamloop/kafka';
import { registryKey, type ModelRegistryRecord } from '@streamloop/model-registry';
import { startLocalKafka } from '@streamloop/testing';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the text after the ready marker on the child's stdout. */
  ready: Promise<string>;
  /** Closes the child's stdin (its signal to stop), then SIGTERM, then SIGKILL if it still runs. */
  stop(): Promise<void>;
}

/**
 * Spawns a child whose stdout announces readiness with a line starting with `readyMarker`; its other output lines
 * are passed on to stderr with the child's name, so the bench's own stdout stays the report, except those
 * `swallow` takes (it sees every line, e.g. to count known log lines instead of printing them).
 */
export function spawnChild(
  name: string, command: string, args: string[], readyMarker: string, cwd: string, swallow: (line: string) => boolean = () => false,
): Child {
  const child = spawn(command, args, { cwd, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith(readyMarker)) resolve(line.slice(readyMarker.length).trim());
      else if (!swallow(line)) process.stderr.write(`[${name}] ${line}\n`);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (!swallow(line)) process.stderr.write(`[${name}] ${line}\n`);
    });
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready`)));
    child.once('error', reject);
  });
  ready.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    name,
    process: child,
    ready,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.stdin?.end();
        const gone = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
        if (await gone(30_000)) return;
        child.kill('SIGTERM');
        if (await gone(10_000)) return;
        child.kill('SIGKILL');
        await exited;
      })();
      return stopping;
    },
  };
}

/** A port pair (broker, controller) nobody listens on. */
async function freePortPair(): Promise<number> {
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  for (let i = 0; i < 50; i++) {
    const port = 34000 + Math.floor(Math.random() * 1000) * 2;
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error('bench:e2e: no free port pair found in 34000–36000 for the local broker');
}

export interface Broker {
  brokers: string[];
  /** True when the bench started it (deploy/local/kafka.sh on a random port, storage in a temporary directory). */
  started: boolean;
  stop(): void;
}

/**
 * A broker for a bench that may run without one (`--optional`, as `npm run bench` chains them): undefined, with a line
 * on stderr, when none can be started and the bench is optional.
 */
export async function startBrokerIfAny(what: string, optional: boolean | undefined): Promise<Broker | undefined> {
  try {
    return await startBroker();
  } catch (error) {
    if (!optional) throw error;
    process.stderr.write(`${what}: no broker (${(error as Error).message})\n`);
    return undefined;
  }
}

/** KAFKA_BROKERS when set; otherwise a local broker of this run's own. */
export async function startBroker(): Promise<Broker> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS.split(','), started: false, stop: () => undefined };
  const port = await freePortPair();
  // kafka.sh reads KAFKA_DATA_DIR from the environment it inherits; a directory of our own is removed at the end.
  const dataDir = mkdtempSync(join(tmpdir(), 'streamloop-bench-e2e-kafka-'));
  const previous = process.env.KAFKA_DATA_DIR;
  process.env.KAFKA_DATA_DIR = dataDir;
  try {
    const local = startLocalKafka(port);
    return {
      brokers: local.brokers,
      started: true,
      stop: () => {
        local.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    if (previous === undefined) delete process.env.KAFKA_DATA_DIR;
    else process.env.KAFKA_DATA_DIR = previous;
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined where there is no /proc or the
 * process is gone. /proc counts in USER_HZ ticks, 100 per second on Linux.
 */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the
    // 14th field of the line, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The pid of the deploy/local/kafka.sh broker on `port` (its command line names server-<port>.properties). */
export function brokerPidOf(port: number): number | undefined {
  for (const entry of readdirSync('/proc', { withFileTypes: true })) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry.name}/cmdline`, 'utf8');
      if (cmdline.includes('kafka.Kafka') && cmdline.includes(`server-${port}.properties`)) return Number(entry.name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * A system under test started by the bench stops when the bench leaves (the parent holds its stdin: its end means
 * stop) or on a signal; `close` runs once, then the process exits (1 when closing failed).
 */
export function closeWhenParentLeaves(close: () => Promise<void>, label: string): void {
  let closing: Promise<void> | undefined;
  const stop = () => {
    closing ??= close().then(() => process.exit(0), (error: unknown) => {
      console.error(`${label}: close failed: ${String(error)}`);
      process.exit(1);
    });
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Publishes a record to a pipeline's model registry topic as the training target would (Avro, via the schema registry). */
export async function publishRegistryRecord(brokers: string[], registryUrl: string, modelsTopic: string, record: ModelRegistryRecord, clientId: string): Promise<void> {
  const serde = new AvroSerde(new HttpRegistryClient(registryUrl));
  const producer = createKafka({ brokers, clientId }).producer({ idempotent: true });
  await producer.connect();
  try {
    const value = await serde.encode(`${modelsTopic}-value`, loadAvsc(join(REPO_ROOT, 'schemas/model-registry.avsc')), record);
    await producer.send({ topic: modelsTopic, acks: -1, messages: [{ key: registryKey(record), value }] });
  } finally {
    await producer.disconnect();
  }
}
