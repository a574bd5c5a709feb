import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../deploy/local/kafka.sh', import.meta.url));

export interface LocalKafka {
  brokers: string[];
  /** True when this call started the broker (and stop() will stop it). */
  started: boolean;
  stop(): void;
}

/**
 * The broker for tests and the demo: KAFKA_BROKERS when set, otherwise a fresh single-node
 * Apache Kafka started by deploy/local/kafka.sh on the given port. It reads KAFKA_BROKERS itself, not through the
 * settings schema: whether the variable is set at all decides whether to start a broker, which settings with a
 * default cannot tell; the demo then reads its settings (these brokers included) through the schema.
 */
export function startLocalKafka(port: number, env: NodeJS.ProcessEnv = process.env): LocalKafka {
  if (env.KAFKA_BROKERS) return { brokers: env.KAFKA_BROKERS.split(','), started: false, stop: () => undefined };
  // The script reads KAFKA_RUN_DIR, KAFKA_VERSION, STREAMLOOP_CACHE, KAFKA_HEAP from the given environment.
  const r = spawnSync('bash', [SCRIPT, 'start', String(port)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`deploy/local/kafka.sh start ${port} failed with exit code ${r.status}`);
  return {
    brokers: [`127.0.0.1:${port}`],
    started: true,
    stop: () => {
      spawnSync('bash', [SCRIPT, 'stop', String(port)], { stdio: 'inherit', env });
    },
  };
}
