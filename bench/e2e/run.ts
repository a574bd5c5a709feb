// `npm run bench:e2e`: end-to-end latency and throughput of the whole prediction path, measured at an outside
// read_committed consumer, beside an exactly-once passthrough with as many stages and beside Kafka Streams
// (exactly_once_v2) on the same broker.
//
// This process is the producer app (load generator) and the outside consumer (probe) for every system; each system
// under test is a child process of its own, so it never shares an event loop with the measuring:
//   streamloop   ingestion → features (card stage, merchant stage) → inference of a copy of examples/pipelines/fraud.yaml
//                under a unique name, plus the schema registry, in one process (bench/e2e/system.ts), each stage with
//                the delivery guarantee its service has, a synthetic logistic regression champion serving
//   passthrough  raw → a → b → c → out, four runTransactionalProcessor identity hops with the services' client settings
//   kstreams     bench/e2e/kstreams (Java, Maven): Kafka Streams exactly_once_v2 on the same broker, (a) per-card 1 h
//                windowed count/sum/mean of amount, (b) one passthrough hop, each at every --commit-intervals value
//   features     (beside (a)) our features target alone on the same one-stage workload; and, beside (b), one
//                runTransactionalProcessor hop when passthrough runs too
// Phases: at each --rates value every Node system runs once, one after the other (side by side in the same minutes),
// then a saturation phase each (--saturation-events sent as fast as possible); the one-stage section runs at
// --kstreams-rate. Each system gets a warm-up phase first (not reported).
//
// Latency of an event = the probe's performance.now() when the fetched batch holding the event's first committed
// output arrived − performance.now() when the load generator handed the event's batch to its producer (one clock,
// one process; the input record's Kafka timestamp is the same instant in wall-clock time). Outputs are matched to
// events by id (predictions and feature vectors: event_id; passthroughs: the event's transaction_id or the id in
// the value), and every event must come out exactly once: dup and miss are counted, and either makes the exit code 1.
//
// Flags: --rates 500,1000,2000  --duration 30s  --saturation-events 30000 (0 skips)  --kstreams-rate 1000
// --commit-intervals 100,10  --warmup 5s  --only streamloop,passthrough,kstreams,features (any of them).
// Broker: KAFKA_BROKERS, else deploy/local/kafka.sh on a random port, stopped (and its storage removed) at the end.
// Diagnostics: BENCH_CHILD_NODE_ARGS (node flags for each system's process, e.g. --cpu-prof), BENCH_E2E_TRACE=FILE
// (every event's send time and latency, per topic and phase, appended to FILE).
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AvroSerde, encodeWire, HttpRegistryClient, loadAvsc, readWireHeader } from '@streamloop/avro';
import { parseDuration } from '@streamloop/config';
import { createKafka, ensureTopics, readTopicToEnd, type Kafka, type Producer } from '@streamloop/kafka';
import { generateCardTransactions } from '@streamloop/testing';
import { buildKafkaStreamsPeer, startKafkaStreams, type StreamsTopology } from './kstreams';
import { sendEvents, type LoadEvent, type LoadResult } from './load';
import { LatencyProbe, type PhaseLatency } from './probe';
import { brokerPidOf, cpuSecondsOf, spawnChild, startBroker, type Broker, type Child } from './processes';
import type { ReadyMessage } from './system';

const REPO = new URL('../../', import.meta.url).pathname;
const HERE = new URL('./', import.meta.url).pathname;
const SYSTEMS = ['streamloop', 'passthrough', 'kstreams', 'features'] as const;
type SystemName = (typeof SYSTEMS)[number];

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '500,1000,2000' },
    duration: { type: 'string', default: '30s' },
    'saturation-events': { type: 'string', default: '30000' },
    'kstreams-rate': { type: 'string', default: '1000' },
    'commit-intervals': { type: 'string', default: '100,10' },
    warmup: { type: 'string', default: '5s' },
    only: { type: 'string', default: SYSTEMS.join(',') },
  },
});

function positiveList(flag: string, text: string): number[] {
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n > 0)) throw new RangeError(`bench:e2e: --${flag} expects positive integers separated by commas, got ${text}`);
  return list;
}
function durationMs(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) throw new RangeError(`bench:e2e: --${flag} expects a duration of at least 1s like 30s, got ${text}`);
  return ms;
}
const RATES = positiveList('rates', args.rates);
const DURATION_MS = durationMs('duration', args.duration);
const WARMUP_MS = durationMs('warmup', args.warmup);
const SATURATION_EVENTS = Number(args['saturation-events']);
if (!(Number.isInteger(SATURATION_EVENTS) && SATURATION_EVENTS >= 0)) throw new RangeError(`bench:e2e: --saturation-events expects 0 (skip) or a count, got ${args['saturation-events']}`);
const KSTREAMS_RATE = positiveList('kstreams-rate', args['kstreams-rate'])[0];
const COMMIT_INTERVALS = positiveList('commit-intervals', args['commit-intervals']);
const ONLY = new Set(args.only.split(',').map((s) => s.trim()).filter(Boolean));
for (const name of ONLY) {
  if (!(SYSTEMS as readonly string[]).includes(name)) throw new RangeError(`bench:e2e: --only expects some of ${SYSTEMS.join(', ')}, got ${name}`);
}
const runs = (s: SystemName) => ONLY.has(s);

/** Unique per run: pipeline names, topics, groups and event ids carry it. */
const STAMP = Date.now().toString(36);
/** A phase whose output has not grown for this long has lost events (reported as missing). */
const DRAIN_STALL_MS = 30_000;
const EVENT_TYPE = loadAvsc(join(REPO, 'examples/schemas/card_transaction.avsc'));
const PREDICTION_TYPE = loadAvsc(join(REPO, 'schemas/prediction.avsc'));
const FEATURE_VECTOR_TYPE = loadAvsc(join(REPO, 'schemas/feature-vector.avsc'));

interface ResultRow {
  system: string;
  workload: string;
  commitIntervalMs?: number;
  /** Offered events/s; null when sent as fast as possible. */
  offeredRate: number | null;
  /** Events sent and acknowledged per second over the sending time. */
  achievedSendRate: number;
  durationSeconds: number;
  /** Broker acknowledgement of the producer's batches (acks=all): the floor under every latency of the row. */
  producerAckMs: LoadResult['ackMs'];
  /** Events per second out: first sightings from the first send to the last first sighting. */
  throughput: number;
  /** Saturation rows: throughput over the 4-hop passthrough's saturation throughput. */
  vsPassthrough?: number;
  latencyMs: Omit<PhaseLatency, 'firstSeenAt' | 'lastSeenAt'>;
  /** CPU µs per event of the system under test (all its threads) and of the broker, over the phase. */
  cpuUsPerEvent: PhaseOutcome['cpuUsPerEvent'];
}

const results: ResultRow[] = [];
const children = new Set<{ stop(): Promise<void> }>();
const notes: string[] = [];

/**
 * The broker's CONCURRENT_TRANSACTIONS answers seen in each child's client log: a transactional producer that starts
 * its next transaction while the coordinator is still completing the previous commit is told to retry. The lines are
 * counted instead of printed: kafkajs' "Failed to send messages" retries with the delay it chose, and the Java
 * producer's warnings (one per partition of a produce request). Only what a client logs can be counted: the
 * passthrough and Kafka Streams log every one; the services only where their Kafka client logs them above LOG_LEVEL.
 */
const concurrentTransactions = new Map<string, { kafkajsRetries: number; kafkajsRetryMs: number; javaWarnings: number }>();
function countConcurrentTransactions(child: string): (line: string) => boolean {
  return (line) => {
    if (!/CONCURRENT_TRANSACTIONS|another concurrent operation on the same transaction/.test(line)) return false;
    const c = concurrentTransactions.get(child) ?? { kafkajsRetries: 0, kafkajsRetryMs: 0, javaWarnings: 0 };
    concurrentTransactions.set(child, c);
    const retry = /Failed to send messages.*"retryTime":(\d+)|"retryTime":(\d+).*Failed to send messages/.exec(line);
    if (retry) {
      c.kafkajsRetries++;
      c.kafkajsRetryMs += Number(retry[1] ?? retry[2]);
    } else if (/Error: CONCURRENT_TRANSACTIONS/.test(line)) {
      c.javaWarnings++;
    }
    return true;
  };
}

/** Events of one phase, generated and encoded before its clock starts; event time advances at the offered rate. */
async function phaseEvents(count: number, rate: number, phase: string, encode: (event: Record<string, unknown>) => Promise<Buffer>): Promise<LoadEvent[]> {
  const stream = generateCardTransactions({ seed: 17, events: count, cards: 1000, meanGapMs: 1000 / rate, startTime: Date.now(), idPrefix: `${STAMP}-${phase}` });
  const out: LoadEvent[] = [];
  for (const { event } of stream) out.push({ id: event.transaction_id, key: event.card_id, value: await encode(event as unknown as Record<string, unknown>) });
  return out;
}

interface PhaseOutcome {
  load: LoadResult;
  latency: PhaseLatency;
  sendStartedAt: number;
  /** CPU time per event sent, in µs, of the system under test and of the broker over the phase (Linux /proc). */
  cpuUsPerEvent: { system?: number; broker?: number };
}

/** The local broker's pid when this run started it (its CPU time is reported per phase). */
let brokerPid: number | undefined;

/** Sends one phase's events and waits until the probe has seen all of them (or has stalled). */
async function runPhase(
  producer: Producer, probe: LatencyProbe, input: string, phase: string, events: LoadEvent[], rate: number | undefined, systemPid: number | undefined,
): Promise<PhaseOutcome> {
  const cpuAtStart = { system: cpuSecondsOf(systemPid), broker: cpuSecondsOf(brokerPid) };
  let sendStartedAt = Number.NaN;
  const load = await sendEvents(producer, input, events, rate, (batch, sentAt) => {
    if (Number.isNaN(sendStartedAt)) sendStartedAt = sentAt;
    for (const e of batch) probe.markSent(e.id, phase, sentAt);
  });
  await probe.drain(phase, events.length, DRAIN_STALL_MS);
  const perEvent = (start: number | undefined, end: number | undefined) => (start === undefined || end === undefined ? undefined : ((end - start) * 1e6) / events.length);
  const cpuUsPerEvent = { system: perEvent(cpuAtStart.system, cpuSecondsOf(systemPid)), broker: perEvent(cpuAtStart.broker, cpuSecondsOf(brokerPid)) };
  return { load, latency: probe.summary(phase), sendStartedAt, cpuUsPerEvent };
}

function record(system: string, workload: string, rate: number | undefined, out: PhaseOutcome, commitIntervalMs?: number): void {
  const { firstSeenAt: _first, lastSeenAt, ...latency } = out.latency;
  results.push({
    system,
    workload,
    commitIntervalMs,
    offeredRate: rate ?? null,
    achievedSendRate: out.load.achievedRate,
    durationSeconds: out.load.seconds,
    producerAckMs: out.load.ackMs,
    throughput: latency.received / ((lastSeenAt - out.sendStartedAt) / 1000),
    latencyMs: latency,
    cpuUsPerEvent: out.cpuUsPerEvent,
  });
  const problems = [latency.missing > 0 ? `${latency.missing} MISSING` : '', latency.duplicates > 0 ? `${latency.duplicates} DUPLICATES` : ''].filter(Boolean).join(', ');
  process.stderr.write(`bench:e2e: ${system} — ${workload}${commitIntervalMs ? `, commit ${commitIntervalMs} ms` : ''}, ${rate ? `${rate}/s` : 'saturation'}: `
    + `${latency.received}/${latency.sent} out, p50 ${fmtMs(latency.p50)} p95 ${fmtMs(latency.p95)} p99 ${fmtMs(latency.p99)} max ${fmtMs(latency.max)} ms`
    + `${problems ? ` — ${problems}` : ''}\n`);
}

/** A Node system under test (bench/e2e/system.ts in a child process) with its probe and how its input is encoded. */
interface NodeSystem {
  label: string;
  workload: string;
  child: Child;
  ready: ReadyMessage;
  probe: LatencyProbe;
  encode(event: Record<string, unknown>): Promise<Buffer>;
}

type NodeSystemKind = 'streamloop' | 'features' | 'passthrough';

async function startNodeSystem(kind: NodeSystemKind, brokers: string[], options: { pipeline?: string; tag?: string; hops?: number; label: string; workload: string }): Promise<NodeSystem> {
  const childArgs = [...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', join(HERE, 'system.ts'), '--system', kind, '--brokers', brokers.join(',')];
  if (options.pipeline) childArgs.push('--pipeline', options.pipeline);
  if (options.tag) childArgs.push('--tag', options.tag);
  if (options.hops) childArgs.push('--hops', String(options.hops));
  const child = spawnChild(options.label, process.execPath, childArgs, 'READY', REPO, countConcurrentTransactions(options.label));
  children.add(child);
  const ready = JSON.parse(await child.ready) as ReadyMessage;
  process.stderr.write(`bench:e2e: ${options.label} ready in ${ready.startSeconds.toFixed(1)} s (${ready.input} → ${ready.output})\n`);
  const tag = `${STAMP}-${options.label.replace(/\W+/g, '-')}`;
  let probe: LatencyProbe;
  let encode: NodeSystem['encode'];
  if (kind === 'passthrough') {
    // Wire-format Avro without a registry (the passthrough never decodes); the probe reads the id with the known schema.
    encode = async (event) => encodeWire(1, EVENT_TYPE, event);
    probe = await LatencyProbe.start(brokers, ready.output, (value) => (EVENT_TYPE.fromBuffer(readWireHeader(value).payload) as { transaction_id: string }).transaction_id, tag);
  } else {
    // A producer app and a consumer app as any Confluent client does it: a registered schema, wire-format Avro.
    const serde = new AvroSerde(new HttpRegistryClient(ready.registryUrl!));
    encode = (event) => serde.encode(`${ready.input}-value`, EVENT_TYPE, event);
    const outputType = kind === 'streamloop' ? PREDICTION_TYPE : FEATURE_VECTOR_TYPE;
    probe = await LatencyProbe.start(brokers, ready.output, async (value) => (await serde.decode<{ event_id: string }>(value, outputType)).value.event_id, tag);
  }
  return { label: options.label, workload: options.workload, child, ready, probe, encode };
}

/**
 * What a system did outside its measured phases, as notes: its warm-up outcome counted again now (an event that came
 * out late still counts), records the probe could not match, and its dead letters (stage and reason of each kind).
 */
async function checkNodeSystem(kafka: Kafka, s: NodeSystem): Promise<void> {
  const warm = s.probe.summary(`${s.label}-warmup`);
  if (warm.missing > 0 || warm.duplicates > 0) notes.push(`${s.label} warm-up: ${warm.missing} events never came out, ${warm.duplicates} came out more than once`);
  if (s.probe.unknown > 0 || s.probe.unreadable > 0) notes.push(`${s.label}: the probe saw ${s.probe.unknown} records of unknown ids and ${s.probe.unreadable} unreadable ones`);
  if (!s.ready.deadLetters) return;
  const reasons = new Map<string, number>();
  const letters = await readTopicToEnd(kafka, s.ready.deadLetters, (r) => {
    const reason = `${r.headers['__connect.errors.stage']?.toString() ?? '?'}: ${r.headers['__connect.errors.exception.message']?.toString().slice(0, 160) ?? '?'}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  });
  if (letters > 0) notes.push(`${s.label}: ${letters} dead letters in ${s.ready.deadLetters} (${[...reasons].map(([r, n]) => `${n} × ${r}`).join('; ')})`);
}

async function stopNodeSystem(kafka: Kafka, s: NodeSystem): Promise<void> {
  await checkNodeSystem(kafka, s).catch((error: unknown) => notes.push(`${s.label}: could not check dead letters (${String(error)})`));
  await s.probe.stop().catch(() => undefined);
  await s.child.stop();
  children.delete(s.child);
}

async function warmUp(producer: Producer, s: NodeSystem, rate: number): Promise<void> {
  const phase = `${s.label}-warmup`;
  const events = await phaseEvents(Math.round((rate * WARMUP_MS) / 1000), rate, phase, s.encode);
  const out = await runPhase(producer, s.probe, s.ready.input, phase, events, rate, s.child.process.pid);
  process.stderr.write(`bench:e2e: ${s.label} warm-up: ${out.latency.received}/${out.latency.sent} out, p99 ${fmtMs(out.latency.p99)} ms (not reported)\n`);
}

/** The whole pipeline and the 4-hop passthrough, side by side at each rate, then saturated. */
async function benchPipeline(brokers: string[], kafka: Kafka, producer: Producer): Promise<void> {
  const systems: NodeSystem[] = [];
  try {
    // Started one after the other: two service processes starting at once on two cores slow each other down.
    if (runs('streamloop')) {
      systems.push(await startNodeSystem('streamloop', brokers, {
        pipeline: `bench_e2e_${STAMP}`, label: 'streamloop', workload: 'fraud.yaml: ingestion → features (2 stages) → inference',
      }));
    }
    if (runs('passthrough')) {
      systems.push(await startNodeSystem('passthrough', brokers, { tag: `${STAMP}-4hop`, hops: 4, label: 'passthrough', workload: 'EOS passthrough, 4 hops raw → a → b → c → out' }));
    }
    if (systems.length === 0) return;
    for (const s of systems) await warmUp(producer, s, Math.min(...RATES));
    for (const rate of RATES) {
      for (const s of systems) {
        const phase = `${s.label}-${rate}`;
        const events = await phaseEvents(Math.round((rate * DURATION_MS) / 1000), rate, phase, s.encode);
        record(s.label, s.workload, rate, await runPhase(producer, s.probe, s.ready.input, phase, events, rate, s.child.process.pid));
      }
    }
    if (SATURATION_EVENTS > 0) {
      for (const s of systems) {
        const phase = `${s.label}-saturation`;
        // Event time as if the burst had come at 10k events/s.
        const events = await phaseEvents(SATURATION_EVENTS, 10_000, phase, s.encode);
        record(s.label, s.workload, undefined, await runPhase(producer, s.probe, s.ready.input, phase, events, undefined, s.child.process.pid));
      }
      const base = results.find((r) => r.system === 'passthrough' && r.offeredRate === null);
      for (const r of results) if (base && r.offeredRate === null) r.vsPassthrough = r.throughput / base.throughput;
    }
  } finally {
    for (const s of systems) await stopNodeSystem(kafka, s);
  }
}

/** One Node system for one phase at `rate` (warm-up, measured run, stop). */
async function benchNodeSingle(
  brokers: string[], kafka: Kafka, producer: Producer, kind: NodeSystemKind, options: Parameters<typeof startNodeSystem>[2], rate: number,
): Promise<void> {
  const s = await startNodeSystem(kind, brokers, options);
  try {
    await warmUp(producer, s, rate);
    const phase = `${s.label}-${rate}`;
    const events = await phaseEvents(Math.round((rate * DURATION_MS) / 1000), rate, phase, s.encode);
    record(s.label, s.workload, rate, await runPhase(producer, s.probe, s.ready.input, phase, events, rate, s.child.process.pid));
  } finally {
    await stopNodeSystem(kafka, s);
  }
}

async function benchKafkaStreams(brokers: string[], kafka: Kafka, producer: Producer, topology: StreamsTopology, workload: string, commitIntervalMs: number): Promise<void> {
  const rate = KSTREAMS_RATE;
  const prefix = `bench-e2e-${STAMP}.ks.${topology}.${commitIntervalMs}`;
  const [input, output] = [`${prefix}.in`, `${prefix}.out`];
  await ensureTopics(kafka, [{ topic: input, partitions: 3 }, { topic: output, partitions: 3 }]);
  const label = `kstreams ${topology} ${commitIntervalMs}ms`;
  const app = await startKafkaStreams({ brokers, applicationId: `${prefix}-app`, topology, input, output, commitIntervalMs, swallow: countConcurrentTransactions(label) });
  children.add(app);
  let probe: LatencyProbe | undefined;
  try {
    // Output values start with the id of the input event that caused them ("eventId,..."); the passthrough copies them.
    probe = await LatencyProbe.start(brokers, output, (value) => value.toString('utf8', 0, Math.min(value.length, 64)).split(',')[0], prefix);
    // Plain text for the Java side: key = card id, value = "eventId,amount".
    const encode = async (event: Record<string, unknown>) => Buffer.from(`${String(event.transaction_id)},${String(event.amount)}`);
    const warm = await runPhase(producer, probe, input, `${prefix}-warmup`, await phaseEvents(Math.round((rate * WARMUP_MS) / 1000), rate, `${prefix}-warmup`, encode), rate, app.child.process.pid);
    process.stderr.write(`bench:e2e: ${label} warm-up: ${warm.latency.received}/${warm.latency.sent} out, p99 ${fmtMs(warm.latency.p99)} ms (not reported)\n`);
    const events = await phaseEvents(Math.round((rate * DURATION_MS) / 1000), rate, `${prefix}-run`, encode);
    record('kstreams', workload, rate, await runPhase(producer, probe, input, `${prefix}-run`, events, rate, app.child.process.pid), commitIntervalMs);
    const warmAgain = probe.summary(`${prefix}-warmup`);
    if (warmAgain.missing > 0 || warmAgain.duplicates > 0) notes.push(`${label} warm-up: ${warmAgain.missing} events never came out, ${warmAgain.duplicates} came out more than once`);
    if (probe.unknown > 0 || probe.unreadable > 0) notes.push(`${label}: the probe saw ${probe.unknown} records of unknown ids and ${probe.unreadable} unreadable ones`);
  } finally {
    await probe?.stop().catch(() => undefined);
    await app.stop();
    children.delete(app);
  }
}

/** One stage at --kstreams-rate: Kafka Streams' two topologies at each commit interval, each beside ours. */
async function benchSingleStage(brokers: string[], kafka: Kafka, producer: Producer): Promise<void> {
  const windowWorkload = 'per-card 1 h window count/sum/mean of amount (1 stage)';
  const hopWorkload = 'EOS passthrough, 1 hop';
  if (runs('kstreams')) {
    buildKafkaStreamsPeer();
    for (const ms of COMMIT_INTERVALS) await benchKafkaStreams(brokers, kafka, producer, 'window', windowWorkload, ms);
  }
  if (runs('features')) {
    await benchNodeSingle(brokers, kafka, producer, 'features', { pipeline: `bench_e2e_${STAMP}_f1`, label: 'features', workload: windowWorkload }, KSTREAMS_RATE);
  }
  if (runs('kstreams')) {
    for (const ms of COMMIT_INTERVALS) await benchKafkaStreams(brokers, kafka, producer, 'passthrough', hopWorkload, ms);
  }
  if (runs('passthrough') && runs('kstreams')) {
    await benchNodeSingle(brokers, kafka, producer, 'passthrough', { tag: `${STAMP}-1hop`, hops: 1, label: 'passthrough 1 hop', workload: hopWorkload }, KSTREAMS_RATE);
  }
}

/** When the broker is someone else's, the run's topics (they all carry STAMP) are deleted again. */
async function deleteRunTopics(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.includes(STAMP));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch (error) {
    console.error(`bench:e2e: could not delete this run's topics: ${String(error)}`);
  } finally {
    await admin.disconnect();
  }
}

const fmtMs = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 1 : 0) : '-');
const fmtUs = (us: number | undefined) => (us === undefined ? '-' : Math.round(us).toLocaleString('en'));
const fmtRate = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-');

function table(rows: ResultRow[]): string {
  const head = ['system', 'workload', 'commit', 'offered/s', 'sent/s', 'out/s', 'events', 'dup', 'miss', 'ack p99', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'cpu µs/ev', 'broker µs/ev', 'out/s vs passthrough'];
  const body = rows.map((r) => [
    r.system, r.workload, r.commitIntervalMs ? `${r.commitIntervalMs} ms` : '', r.offeredRate === null ? 'max' : fmtRate(r.offeredRate), fmtRate(r.achievedSendRate),
    fmtRate(r.throughput), `${r.latencyMs.received}/${r.latencyMs.sent}`, String(r.latencyMs.duplicates), String(r.latencyMs.missing), fmtMs(r.producerAckMs.p99),
    fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p95), fmtMs(r.latencyMs.p99), fmtMs(r.latencyMs.max),
    fmtUs(r.cpuUsPerEvent.system), fmtUs(r.cpuUsPerEvent.broker), r.vsPassthrough === undefined ? '' : `${r.vsPassthrough.toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const left = new Set([0, 1]);
  return [head, ...body].map((row) => row.map((cell, i) => (left.has(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const benchStarted = performance.now();
  let broker: Broker | undefined;
  const cleanup = async () => {
    for (const child of [...children]) await child.stop().catch(() => undefined);
    broker?.stop();
    broker = undefined;
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));
  broker = await startBroker();
  const brokers = broker.brokers;
  if (broker.started) brokerPid = brokerPidOf(Number(brokers[0].split(':').pop()));
  const external = !broker.started;
  const kafka = createKafka({ brokers, clientId: `bench-e2e-payments-app-${STAMP}` });
  // The producer app: idempotent, acks from all replicas (as the demo's payments app and the platform's producer).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
  const loadAtStart = loadavg()[0];
  try {
    await producer.connect();
    await benchPipeline(brokers, kafka, producer);
    await benchSingleStage(brokers, kafka, producer);
  } finally {
    await producer.disconnect().catch(() => undefined);
    if (external) await deleteRunTopics(kafka);
    await cleanup();
  }

  for (const [child, c] of concurrentTransactions) {
    notes.push(`${child}: CONCURRENT_TRANSACTIONS from the broker, as logged: `
      + (c.kafkajsRetries > 0 ? `kafkajs retried ${c.kafkajsRetries} sends, after ${Math.round(c.kafkajsRetryMs / c.kafkajsRetries)} ms on average` : '')
      + (c.javaWarnings > 0 ? `${c.javaWarnings} warnings of the Java producer (one per partition of a produce request)` : ''));
  }
  const header = `streamloop bench:e2e — ${startedAt.toISOString()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, `
    + `${Math.round(totalmem() / 2 ** 30)} GiB; broker ${brokers.join(',')}${external ? ' (KAFKA_BROKERS)' : ' (deploy/local/kafka.sh on this machine, started for the run)'}; `
    + `load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end; ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all`;
  const settingsLine = `pipeline: rates ${RATES.join(', ')}/s for ${DURATION_MS / 1000} s each, saturation ${SATURATION_EVENTS} events; one stage: ${KSTREAMS_RATE}/s for `
    + `${DURATION_MS / 1000} s, Kafka Streams commit.interval.ms ${COMMIT_INTERVALS.join(', ')}; warm-up ${WARMUP_MS / 1000} s per system (not reported); systems: ${[...ONLY].join(', ')}`;
  const text = `${header}\n${settingsLine}\n${table(results)}${notes.length > 0 ? `\n${notes.join('\n')}` : ''}`;
  console.log(text);
  writeFileSync(join(HERE, 'results.json'), `${JSON.stringify({
    startedAt: startedAt.toISOString(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    broker: external ? 'KAFKA_BROKERS' : 'deploy/local/kafka.sh (local, started for the run)',
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
    options: {
      rates: RATES, durationSeconds: DURATION_MS / 1000, saturationEvents: SATURATION_EVENTS, kstreamsRate: KSTREAMS_RATE,
      commitIntervalsMs: COMMIT_INTERVALS, warmupSeconds: WARMUP_MS / 1000, only: [...ONLY],
    },
    latencyDefinition: 'probe arrival (performance.now() when the read_committed fetch batch holding the first output of the event reached the outside '
      + 'consumer) minus the moment the load generator handed the event to its producer (same clock); the input record timestamp is that instant in wall-clock time',
    results,
    concurrentTransactions: Object.fromEntries(concurrentTransactions),
    notes,
  }, null, 2)}\n`);
  const failed = results.filter((r) => r.latencyMs.missing > 0 || r.latencyMs.duplicates > 0);
  if (failed.length > 0) {
    console.log(`bench:e2e: ${failed.length} run(s) lost or repeated events (see dup and miss)`);
    process.exitCode = 1;
  }
}

await main();
// kafkajs leaves timers behind for a while; the bench is done.
process.exit(process.exitCode ?? 0);
