// CommonJS: Node's ESM loader finds `KafkaJS` among its named exports, but not the classic API's `KafkaConsumer`.
import rdkafka, { KafkaJS, type ConsumerGlobalConfig, type KafkaConsumer } from '@confluentinc/kafka-javascript';
import type { Kafka } from 'kafkajs';
import type { KafkaConnectionOptions } from './client';

/**
 * librdkafka (through @confluentinc/kafka-javascript's KafkaJS-shaped API) carries the exactly-once hot path: it
 * encodes and sends records in C with a fraction of kafkajs' CPU per record (BENCHMARKS.md, "where the CPU goes"),
 * and its transactional producer takes the consumer's group metadata when it commits offsets (KIP-447), so the broker
 * refuses offsets from a member the group has moved on from. kafkajs stays for the admin client and the plain clients.
 */
export type RdKafka = KafkaJS.Kafka;

const connections = new WeakMap<Kafka, KafkaConnectionOptions>();
const rdClients = new WeakMap<Kafka, RdKafka>();

/** Remembers how a kafkajs client was made, so a librdkafka client can reach the same cluster the same way. */
export function rememberConnection(kafka: Kafka, options: KafkaConnectionOptions): void {
  connections.set(kafka, options);
}

/** The librdkafka client beside a client made by createKafka (one per kafkajs client). */
export function rdKafkaFor(kafka: Kafka): RdKafka {
  let rd = rdClients.get(kafka);
  if (rd) return rd;
  const options = connections.get(kafka);
  if (!options) throw new Error('this Kafka client was not made by createKafka: its connection settings are unknown');
  rd = createRdKafka(options);
  rdClients.set(kafka, rd);
  return rd;
}

const RD_LEVELS = { error: KafkaJS.logLevel.ERROR, warn: KafkaJS.logLevel.WARN, info: KafkaJS.logLevel.INFO, debug: KafkaJS.logLevel.DEBUG } as const;

function createRdKafka(options: KafkaConnectionOptions): RdKafka {
  const level = options.logLevel ?? 'error';
  const sink = options.log ?? ((lvl, message, extra) => console.error(JSON.stringify({ level: lvl, message, ...extra })));
  // The client logs connects, disconnects and rebalances at info whatever level it is given: filtered here.
  const rank = { error: 0, warn: 1, info: 2, debug: 3 } as const;
  const emit = (lvl: keyof typeof rank) => (message: string, extra?: object) => {
    if (rank[lvl] <= rank[level]) sink(lvl, `librdkafka: ${message}`, { ...extra });
  };
  const logger = {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    debug: emit('debug'),
    namespace() {
      return logger;
    },
    setLogLevel() {},
  };
  return new KafkaJS.Kafka({
    // Requests go out at once (TCP_NODELAY, as Kafka's Java client does): a transaction is a chain of small requests,
    // and Nagle's algorithm would hold each one back behind the previous one's acknowledgement.
    'socket.nagle.disable': true,
    kafkaJS: {
      brokers: options.brokers,
      clientId: options.clientId,
      ssl: options.ssl ?? false,
      ...(options.sasl ? { sasl: options.sasl } : {}),
      logLevel: RD_LEVELS[level],
      logger,
    },
  });
}

/** librdkafka's own configuration for the connection settings (for the clients made without the KafkaJS-shaped API). */
function rdConnectionConfig(options: KafkaConnectionOptions): ConsumerGlobalConfig {
  const protocol = options.sasl ? (options.ssl ? 'sasl_ssl' : 'sasl_plaintext') : options.ssl ? 'ssl' : 'plaintext';
  return {
    'bootstrap.servers': options.brokers.join(','),
    'client.id': options.clientId,
    'security.protocol': protocol,
    ...(options.sasl
      ? { 'sasl.mechanisms': options.sasl.mechanism.toUpperCase(), 'sasl.username': options.sasl.username, 'sasl.password': options.sasl.password }
      : {}),
    'socket.nagle.disable': true,
  };
}

/**
 * A consumer that reads assigned partitions without joining a group (nothing to rebalance, nothing committed), for
 * reading a topic to its end. read_committed by default: librdkafka leaves out aborted transactions' records
 * correctly also where several producers' aborted transactions overlap (kafkajs 2.2.4 lets the first record of the
 * second such transaction through).
 */
export function rdAssignedConsumer(kafka: Kafka, isolation: 'read_committed' | 'read_uncommitted'): KafkaConsumer {
  const options = connections.get(kafka);
  if (!options) throw new Error('this Kafka client was not made by createKafka: its connection settings are unknown');
  return new rdkafka.KafkaConsumer(
    {
      ...rdConnectionConfig(options),
      // librdkafka wants a group id even for a consumer that never joins or commits.
      'group.id': `streamloop-reader-${process.pid}`,
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'isolation.level': isolation,
    },
    { 'auto.offset.reset': 'earliest' },
  );
}
