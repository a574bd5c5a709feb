// `npm run bench:features`: the features service on a real broker beside plain consume → produce passthroughs that
// use the same kafkajs client settings, in the same process and run. P.events is pre-loaded with generated card
// transactions; each run then starts from nothing (a new consumer group), consumes the whole topic and is timed from
// its start until its output topic holds one committed record per event (a read_committed watcher counts them):
//   features          the features service's Nest module (FeaturesStream on the stream transport →
//                     runTransactionalProcessor): each stage's outputs, changelog and offsets in one transaction per batch
//   passthrough EOS   runTransactionalProcessor with a task that copies every record unchanged (no state, no changelog)
//   passthrough ALO   runBatchConsumer + the platform's idempotent producer copying every record (context; 1k case only,
//                     as a passthrough does not depend on the number of entities)
// Cases: 1k cards, and 1M entities (one event per card, so every event creates an entity state), where the heap per
// entity state is measured after a full GC. Broker: KAFKA_BROKERS, else deploy/local/kafka.sh on a free port.
// Options: --events N (1k-card case, default 200000; 0 skips it), --entities N (large case, default 1000000; 0 skips
// it), --max-message-bytes N (set on every topic the runs write; default 0 keeps the broker's 1 MB, which the
// services respect by sending in chunks), --optional (when no broker can be had, say so and exit 0:
// `npm run bench` runs it that way).
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import '@streamloop/kafka'; // before kafkajs: it fixes kafkajs' read_committed filter as kafkajs loads
import kafkajs from 'kafkajs';
import { loadPipelineSpec, loadSettings, type PipelineSpec, type Settings } from '@streamloop/config';
import { OwnedFeatureState } from '@streamloop/features';
import { FeaturesModule } from '@streamloop/features-service';
import {
  ensureTopics, readTopicToEnd, runBatchConsumer, runTransactionalProcessor, type ConsumedRecord, type Kafka, type Message,
} from '@streamloop/kafka';
import { Runtime, startStreamHandlers } from '@streamloop/runtime';
import { startSchemaRegistry } from '@streamloop/schema-registry';
import { TokenStore } from '@streamloop/auth';
import { generateCardTransactions, startLocalKafka, type LocalKafka } from '@streamloop/testing';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    entities: { type: 'string', default: '1000000' },
    optional: { type: 'boolean', default: false },
    'max-message-bytes': { type: 'string', default: '0' },
  },
});
const EVENTS = Number(args.events);
const ENTITIES = Number(args.entities);
if (!(Number.isInteger(EVENTS) && (EVENTS === 0 || EVENTS >= 1000))) throw new RangeError(`bench:features: --events must be 0 (skip) or an integer ≥ 1000, got ${args.events}`);
if (!(Number.isInteger(ENTITIES) && (ENTITIES === 0 || ENTITIES >= 1000))) {
  throw new RangeError(`bench:features: --entities must be 0 (skip) or an integer ≥ 1000, got ${args.entities}`);
}

const MAX_MESSAGE_BYTES = Number(args['max-message-bytes']);
if (!(Number.isInteger(MAX_MESSAGE_BYTES) && MAX_MESSAGE_BYTES >= 0)) {
  throw new RangeError(`bench:features: --max-message-bytes must be 0 (broker default) or a size in bytes, got ${args['max-message-bytes']}`);
}
// kafkajs is CommonJS whose enums Node cannot name as ESM exports.
const { ConfigResourceTypes, ConfigSource } = kafkajs;
const FRAUD_SPEC = new URL('../../examples/pipelines/fraud.yaml', import.meta.url).pathname;
const gc = (globalThis as { gc?: () => void }).gc;
/** A run whose output has not grown for this long is stuck (see --max-message-bytes). */
const STALL_MS = 90_000;
const STAMP = Date.now().toString(36);

interface BenchCase {
  name: string;
  tag: string;
  events: number;
  /** Heap per entity state is reported for this case. */
  memory: boolean;
  /** The at-least-once passthrough runs too (context only; it does not depend on the number of entities). */
  atLeastOnce: boolean;
  generate(): Array<Record<string, unknown>>;
}

interface RunResult {
  caseName: string;
  run: 'features' | 'passthrough EOS' | 'passthrough ALO';
  events: number;
  seconds: number;
  /** From the start until the first output record was committed (joining the group, fencing, restoring, first batch). */
  firstOutputSeconds: number;
  /** Records and value bytes the run committed: its output (counted by the watcher) and, for features, its internal topics. */
  written: string;
  heapPerState?: number;
  states?: number;
}

/**
 * Counts a topic's committed records as they appear (read_committed, from the beginning), the same way for every
 * run: a run ends when its output topic holds one record per event. Resolves once the watcher has joined its group.
 */
async function watchCommitted(kafka: Kafka, topic: string): Promise<{ records(): number; bytes(): number; firstAt(): number; stop(): Promise<void> }> {
  const consumer = kafka.consumer({ groupId: `bench-watch-${topic}-${STAMP}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  let records = 0;
  let bytes = 0;
  let firstAt = Number.NaN;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (records === 0 && batch.messages.length > 0) firstAt = performance.now();
      records += batch.messages.length;
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
    },
  });
  await joined;
  return { records: () => records, bytes: () => bytes, firstAt: () => firstAt, stop: () => consumer.disconnect() };
}

const cases: BenchCase[] = [];
if (EVENTS > 0) {
  cases.push({
    name: '1k cards',
    tag: 'c1k',
    events: EVENTS,
    memory: false,
    atLeastOnce: true,
    // The same stream as the in-process features.compute bench (bench/run.ts), so the two can be compared.
    generate: () => generateCardTransactions({ seed: 1, events: EVENTS, cards: 1000, meanGapMs: 500 }).map((x) => x.event as unknown as Record<string, unknown>),
  });
}
if (ENTITIES > 0) {
  cases.push({
    name: `${ENTITIES >= 1e6 ? `${ENTITIES / 1e6}M` : `${ENTITIES / 1e3}k`} entities`,
    tag: 'e1m',
    events: ENTITIES,
    memory: true,
    atLeastOnce: false,
    // Each event on a card of its own: the generator's behaviour per card is kept, its card ids are replaced.
    // 50 ms between events keeps the stream within 24 h (the longest window), so no state is evicted and the
    // heap at the end holds one state per card (plus the merchants').
    generate: () => generateCardTransactions({ seed: 2, events: ENTITIES, cards: 1000, meanGapMs: 50 }).map((x, i) => {
      const event = x.event as unknown as Record<string, unknown>;
      event.card_id = `card-${String(i).padStart(7, '0')}`;
      return event;
    }),
  });
}

function benchSpec(name: string): PipelineSpec {
  const spec = structuredClone(loadPipelineSpec(FRAUD_SPEC));
  spec.pipeline = name;
  spec.topics = {};
  return spec;
}

/** A port pair (broker, controller) nobody listens on, so a local broker of another process is never reused. */
async function freePort(): Promise<number> {
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  for (let i = 0; i < 50; i++) {
    const port = 31000 + Math.floor(Math.random() * 1000) * 2;
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error('bench:features: no free port pair found in 31000–33000 for the local broker');
}

/**
 * ensureTopics, again while the broker answers "unknown topic" for a topic it has just created (kafkajs' wait for
 * leaders does not retry that; seen on the local KRaft broker under load). Topics that exist are left alone.
 */
async function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(kafka, topics.map((topic) => ({ topic, partitions })));
      return;
    } catch (error) {
      if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' || attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/**
 * Sets max.message.bytes on every topic of the pipeline (keeping each topic's other settings: alterConfigs
 * replaces the whole set). The broker's default of 1 MB refuses the features service's transactions once a batch
 * of outputs for one partition is larger than that, which a backlog produces within the first batches (BENCHMARKS.md).
 */
async function raiseMessageLimit(kafka: Kafka, prefix: string, bytes: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    const { resources } = await admin.describeConfigs({ resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
    await admin.alterConfigs({
      validateOnly: false,
      resources: resources.map((r) => ({
        type: ConfigResourceTypes.TOPIC,
        name: r.resourceName,
        configEntries: [
          ...r.configEntries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && e.configName !== 'max.message.bytes').map((e) => ({ name: e.configName, value: e.configValue })),
          { name: 'max.message.bytes', value: String(bytes) },
        ],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Count and value bytes of a topic's committed records. */
async function committedRecords(kafka: Kafka, topic: string): Promise<{ records: number; bytes: number }> {
  let bytes = 0;
  const records = await readTopicToEnd(kafka, topic, (r) => void (bytes += r.value?.length ?? 0), { timeoutMs: 600_000 });
  return { records, bytes };
}

function describeWritten(parts: Array<{ what: string; records: number; bytes: number }>): string {
  const mb = parts.reduce((n, p) => n + p.bytes, 0) / 1e6;
  return `${parts.map((p) => `${p.records.toLocaleString('en')} ${p.what}`).join(' + ')}, ${mb.toFixed(0)} MB`;
}

/** The record as consumed, unchanged, for the passthroughs. */
function copyOf(r: ConsumedRecord): Message {
  return { key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp };
}

async function preload(settings: Settings, spec: PipelineSpec, events: Array<Record<string, unknown>>): Promise<number> {
  const runtime = new Runtime(settings, [spec]);
  const ctx = runtime.pipelines.pipeline(spec.pipeline);
  try {
    await runtime.ensureTopics();
    const producer = await runtime.sharedProducer.producer();
    const subject = `${ctx.topics.events}-value`;
    const started = performance.now();
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < events.length; i += 5000) {
      const messages: Message[] = [];
      // Keyed by card, as ingestion publishes them.
      for (const e of events.slice(i, i + 5000)) messages.push({ key: String(e.card_id), value: await runtime.serde.encode(subject, ctx.eventType, e) });
      inFlight.push(producer.send({ topic: ctx.topics.events, messages, acks: -1 }));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
    return (performance.now() - started) / 1000;
  } finally {
    await runtime.close();
  }
}

interface RunHandle {
  /** Called once the output is complete, before stop (to measure what the run holds). */
  finished?(): void;
  stop(): Promise<void>;
}

/** Times one run from its start until `output` holds one committed record per event; then stops it. */
async function timed(
  kafka: Kafka, output: string, c: BenchCase, what: string, start: () => Promise<RunHandle>,
): Promise<{ seconds: number; firstOutputSeconds: number; records: number; bytes: number }> {
  const watch = await watchCommitted(kafka, output);
  let handle: RunHandle | undefined;
  try {
    const started = performance.now();
    handle = await start();
    let seen = 0;
    let progressAt = Date.now();
    while (watch.records() < c.events) {
      if (watch.records() > seen) [seen, progressAt] = [watch.records(), Date.now()];
      if (Date.now() - progressAt > STALL_MS) {
        throw new Error(`bench:features: ${what} (${c.name}) stalled: ${output} has held ${seen} of ${c.events} records for ${STALL_MS / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const firstOutputSeconds = (watch.firstAt() - started) / 1000;
    handle.finished?.();
    const running = handle;
    handle = undefined;
    await running.stop();
    // A record committed twice would show up now.
    await new Promise((r) => setTimeout(r, 1000));
    return { seconds, firstOutputSeconds, records: watch.records(), bytes: watch.bytes() };
  } finally {
    await handle?.stop();
    await watch.stop();
  }
}

async function runFeatures(settings: Settings, spec: PipelineSpec, c: BenchCase): Promise<RunResult> {
  const runtime = new Runtime(settings, [spec]);
  const { topics } = runtime.pipelines.pipeline(spec.pipeline);
  let heapPerState: number | undefined;
  let states = 0;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const out = await timed(runtime.kafka, topics.features, c, 'features', async () => {
    const app = await startStreamHandlers(runtime, [FeaturesModule]);
    return {
      finished: () => {
        gc?.();
        states = app.app.get(OwnedFeatureState).entityCount();
        if (c.memory && gc) heapPerState = (process.memoryUsage().heapUsed - heapBefore) / states;
      },
      stop: async () => {
        await runtime.close();
        await app.close();
      },
    };
  });
  if (out.records !== c.events) throw new Error(`bench:features: ${topics.features} holds ${out.records} vectors; expected ${c.events}`);
  // What else the service committed: its changelogs and any repartition topic between its stages.
  const admin = runtime.kafka.admin();
  await admin.connect();
  const known = new Set([topics.raw, topics.events, topics.dlq, topics.features, topics.predictions, topics.labels, topics.alerts, topics.changelog('dedup')]);
  const internal = (await admin.listTopics()).filter((t) => t.startsWith(`${spec.pipeline}.`) && !known.has(t) && !t.includes('.bench.')).sort();
  await admin.disconnect();
  const parts = [{ what: 'vectors', records: out.records, bytes: out.bytes }];
  for (const topic of internal) parts.push({ what: topic.slice(spec.pipeline.length + 1), ...(await committedRecords(runtime.kafka, topic)) });
  const letters = await committedRecords(runtime.kafka, topics.dlq);
  if (letters.records !== 0) throw new Error(`bench:features: ${topics.dlq} holds ${letters.records} dead letters; expected none`);
  return { caseName: c.name, run: 'features', events: c.events, seconds: out.seconds, firstOutputSeconds: out.firstOutputSeconds, heapPerState, states, written: describeWritten(parts.filter((p) => p.records > 0)) };
}

async function runPassthroughExactlyOnce(settings: Settings, spec: PipelineSpec, c: BenchCase, output: string): Promise<RunResult> {
  const runtime = new Runtime(settings, [spec]);
  const input = runtime.pipelines.pipeline(spec.pipeline).topics.events;
  const groupId = `bench-passthrough-eos-${input}`;
  let failedBatches = 0;
  const out = await timed(runtime.kafka, output, c, 'exactly-once passthrough', async () => {
    const running = await runTransactionalProcessor({
      kafka: runtime.kafka,
      groupId,
      topic: input,
      transactionalIdPrefix: groupId,
      sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
      // As the features stage runs (libs/stream's transport): every partition of a fetch in one round.
      partitionsConsumedConcurrently: spec.events.partitions,
      createTask: async () => ({ process: async (records) => [{ topic: output, messages: records.map(copyOf) }] }),
      onBatchError: () => void failedBatches++,
    });
    return { stop: async () => {
      await running.stop();
      await runtime.close();
    } };
  });
  if (out.records !== c.events) throw new Error(`bench:features: ${output} holds ${out.records} records; expected ${c.events}`);
  return {
    caseName: c.name, run: 'passthrough EOS', events: c.events, seconds: out.seconds, firstOutputSeconds: out.firstOutputSeconds,
    written: describeWritten([{ what: 'copies', ...out }]) + (failedBatches > 0 ? `, ${failedBatches} batches retried` : ''),
  };
}

async function runPassthroughAtLeastOnce(settings: Settings, spec: PipelineSpec, c: BenchCase, output: string): Promise<RunResult> {
  const runtime = new Runtime(settings, [spec]);
  const input = runtime.pipelines.pipeline(spec.pipeline).topics.events;
  let failedBatches = 0;
  const out = await timed(runtime.kafka, output, c, 'at-least-once passthrough', async () => {
    // The platform's producer: idempotent, 5 requests in flight, acks from all replicas.
    const producer = await runtime.sharedProducer.producer();
    const running = await runBatchConsumer({
      kafka: runtime.kafka,
      groupId: `bench-passthrough-alo-${input}`,
      topics: [input],
      fromBeginning: true,
      sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
      handle: async (records) => void (await producer.send({ topic: output, messages: records.map(copyOf), acks: -1 })),
      onBatchError: () => void failedBatches++,
    });
    return { stop: async () => {
      await running.stop();
      await runtime.close();
    } };
  });
  // At least once: a retried batch may have been sent twice, which the count shows.
  if (out.records < c.events) throw new Error(`bench:features: ${output} holds ${out.records} records; expected at least ${c.events}`);
  return {
    caseName: c.name, run: 'passthrough ALO', events: c.events, seconds: out.seconds, firstOutputSeconds: out.firstOutputSeconds,
    written: describeWritten([{ what: 'copies', ...out }]) + (failedBatches > 0 ? `, ${failedBatches} batches retried` : ''),
  };
}

/**
 * KAFKA_BROKERS, else a local broker whose storage is a temporary directory of this run: the runs write over a
 * gigabyte, which deleted topics would leave on disk for a while, and kafka.sh keeps a broker's storage after stop.
 */
async function startBroker(): Promise<{ broker: LocalKafka; stop(): void }> {
  if (process.env.KAFKA_BROKERS) {
    const broker = startLocalKafka(0);
    return { broker, stop: () => undefined };
  }
  const own = process.env.KAFKA_DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'streamloop-bench-kafka-'));
  try {
    const port = await freePort();
    // kafka.sh reads KAFKA_DATA_DIR from the environment it inherits.
    if (own) process.env.KAFKA_DATA_DIR = own;
    let broker: LocalKafka;
    try {
      broker = startLocalKafka(port);
    } finally {
      if (own) delete process.env.KAFKA_DATA_DIR;
    }
    return {
      broker,
      stop: () => {
        broker.stop();
        if (own) rmSync(own, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (own) rmSync(own, { recursive: true, force: true });
    throw error;
  }
}

async function main(): Promise<void> {
  let started: Awaited<ReturnType<typeof startBroker>>;
  try {
    started = await startBroker();
  } catch (error) {
    if (!args.optional) throw error;
    console.log(`bench:features skipped: no KAFKA_BROKERS and no local broker (${(error as Error).message})`);
    return;
  }
  const { broker } = started;
  process.once('SIGINT', () => {
    started.stop();
    process.exit(130);
  });
  const registryTopic = `_schemas_bench_${STAMP}`;
  const registry = await startSchemaRegistry({ brokers: broker.brokers, port: 0, host: '127.0.0.1', topic: registryTopic, auth: { enabled: false, store: new TokenStore([]), openOperational: true } });
  const settings = loadSettings({ STREAMLOOP_AUTH: 'off', KAFKA_BROKERS: broker.brokers.join(','), SCHEMA_REGISTRY_URL: registry.url, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  settings.pipelineFiles = [];
  const results: RunResult[] = [];
  const preloads: string[] = [];
  const benchStarted = performance.now();
  try {
    for (const c of cases) {
      const spec = benchSpec(`bench_${c.tag}_${STAMP}`);
      const outputs = { eos: `${spec.pipeline}.bench.passthrough-eos`, alo: `${spec.pipeline}.bench.passthrough-alo` };
      const setup = new Runtime(settings, [spec]);
      await setup.ensureTopics();
      await createTopics(setup.kafka, [outputs.eos, outputs.alo], spec.events.partitions);
      if (MAX_MESSAGE_BYTES > 0) await raiseMessageLimit(setup.kafka, `${spec.pipeline}.`, MAX_MESSAGE_BYTES);
      await setup.close();
      const loadSeconds = await preload(settings, spec, c.generate());
      preloads.push(`${c.name}: ${c.events.toLocaleString('en')} events pre-loaded in ${loadSeconds.toFixed(1)} s`);
      results.push(await runFeatures(settings, spec, c));
      results.push(await runPassthroughExactlyOnce(settings, spec, c, outputs.eos));
      if (c.atLeastOnce) results.push(await runPassthroughAtLeastOnce(settings, spec, c, outputs.alo));
    }
  } finally {
    // Every topic and consumer group of this run carries STAMP in its name.
    const cleanup = new Runtime(settings, []);
    const admin = cleanup.kafka.admin();
    try {
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.includes(STAMP));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(STAMP));
      if (groups.length > 0) await admin.deleteGroups(groups);
    } catch (error) {
      console.error(`bench:features: could not delete the bench's topics and groups: ${String(error)}`);
    } finally {
      await admin.disconnect();
    }
    await registry.close();
    started.stop();
  }

  console.log(`streamloop bench:features — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; `
    + `broker ${broker.brokers.join(',')}${broker.started ? ' (deploy/local/kafka.sh, same machine)' : ''}; ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all`);
  for (const line of preloads) console.log(line);
  console.log(MAX_MESSAGE_BYTES > 0
    ? `every topic the runs write has max.message.bytes=${MAX_MESSAGE_BYTES} (the broker default of 1 MB stalls the features service on a backlog)`
    : 'topics keep the broker default max.message.bytes');
  const table = results.map((r) => {
    const passthrough = results.find((x) => x.caseName === r.caseName && x.run === 'passthrough EOS')!;
    const rate = r.events / r.seconds;
    return [
      r.caseName, r.run, r.seconds.toFixed(1), r.firstOutputSeconds.toFixed(1), Math.round(rate).toLocaleString('en'),
      `${(rate / (passthrough.events / passthrough.seconds)).toFixed(2)}x`, r.written,
    ];
  });
  const head = ['case', 'run', 's', 's to 1st', 'events/s', 'vs EOS passthrough', 'committed output'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const right = new Set([2, 3, 4, 5]);
  for (const row of [head, ...table]) console.log(row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd());
  for (const r of results) {
    if (r.states === undefined) continue;
    console.log(`${r.caseName}, features: ${r.states.toLocaleString('en')} entity states at the end`
      + (r.heapPerState !== undefined ? `, ${Math.round(r.heapPerState).toLocaleString('en')} B heap per state after a full GC` : ''));
  }
  if (!gc) console.log('(run with --expose-gc for heap per entity state)');
}

await main();
// kafkajs and the registry leave timers behind for a while; the bench is done.
process.exit(0);
