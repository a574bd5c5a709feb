// A system under test of `npm run bench:e2e`, run as a child process of the bench so that the load generator and the
// probe (in the parent) never share an event loop with the work they measure; the Kafka Streams peer is a child too.
//   --system streamloop    ingestion, features (both stages) and inference of a copy of examples/pipelines/fraud.yaml
//                          named --pipeline, and the schema registry, in this one process (startStreamloop), serving
//                          a logistic regression champion trained here on synthetic vectors (no ClickHouse training)
//   --system features      the features target alone on a one-stage copy of the spec (per card, 1 h count, sum and mean
//                          of amount: the Kafka Streams peer's window workload), fed validated events on P.events
//   --system passthrough   four exactly-once hops raw → a → b → c → out (runTransactionalProcessor, identity tasks,
//                          the same client settings as the services): as many stages as the pipeline above;
//                          --hops 1 gives a single hop raw → a, the peer of a single Kafka Streams stage
// Prints one line `READY {json}` when it can take load, and stops cleanly when its standard input closes or on SIGTERM.
// The parent imports only types from here (this module runs main() when loaded).
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { loadPipelineSpec, loadSettings, topicsFor, type PipelineSpec } from '@streamloop/config';
import { FeatureComputer } from '@streamloop/features';
import { createKafka, ensureTopics, runTransactionalProcessor, type ConsumedRecord, type Message, type RunningProcessor } from '@streamloop/kafka';
import { gaussian, seededRandom, trainClassifier } from '@streamloop/ml';
import { registryKey, type ModelRegistryRecord } from '@streamloop/model-registry';
import { startStreamloop } from '../../apps/cli/src/server';
import { closeWhenParentLeaves } from './processes';

const REPO = new URL('../../', import.meta.url).pathname;
const FRAUD_SPEC = join(REPO, 'examples/pipelines/fraud.yaml');
const MODEL_REGISTRY_SCHEMA = join(REPO, 'schemas/model-registry.avsc');
/** The passthrough's topics have as many partitions as the pipeline's (examples/pipelines/fraud.yaml). */
const PASSTHROUGH_PARTITIONS = 3;

/** The passthrough's hops: as many as the pipeline's stages (ingestion, features card, features merchant, inference). */
const PASSTHROUGH_TOPICS = ['raw', 'a', 'b', 'c', 'out'] as const;

export interface ReadyMessage {
  /** Where the load goes and where the probe reads. */
  input: string;
  output: string;
  registryUrl?: string;
  /** The pipeline's dead-letter topic, which must stay empty (streamloop and features systems). */
  deadLetters?: string;
  /** How long the system took from start until it could take load (for the streamloop system: a champion serving). */
  startSeconds: number;
}

function passthroughTopic(tag: string, hop: (typeof PASSTHROUGH_TOPICS)[number]): string {
  return `bench-e2e-${tag}.pass.${hop}`;
}

interface SpecDocument {
  pipeline: string;
  events: { schema: string };
  features: { transforms: Array<Record<string, unknown>>; aggregates: Array<Record<string, unknown>> };
}

/**
 * The fraud example under another pipeline name, written where the services can load it (schema path absolute);
 * `adjust` may change the document first.
 */
function writeSpecCopy(dir: string, pipeline: string, adjust: (doc: SpecDocument) => void = () => undefined): string {
  const doc = YAML.parse(readFileSync(FRAUD_SPEC, 'utf8')) as SpecDocument;
  doc.pipeline = pipeline;
  doc.events.schema = join(REPO, 'examples/pipelines', doc.events.schema);
  adjust(doc);
  const file = join(dir, `${pipeline}.yaml`);
  writeFileSync(file, YAML.stringify(doc));
  return file;
}

/**
 * A logistic regression fitted on synthetic vectors with the pipeline's feature names, as the registry's champion.
 * What it predicts does not matter here; that it loads and scores every vector like a trained model does.
 */
function syntheticChampion(spec: PipelineSpec): ModelRegistryRecord {
  const featureNames = new FeatureComputer(spec).featureNames;
  const normal = gaussian(seededRandom(7));
  const X = Array.from({ length: 2000 }, () => featureNames.map(() => normal()));
  const y = X.map((row) => (row[0] + 0.5 * row[1] + 0.5 * normal() > 1 ? 1 : 0));
  const model = trainClassifier('logistic_regression', X, y, { featureNames, params: { l2: 1, max_iter: 100 } });
  const onnx = model.toOnnx(spec.model.name);
  const now = Date.now();
  return {
    pipeline: spec.pipeline,
    model_name: spec.model.name,
    model_version: 1,
    algorithm: 'logistic_regression',
    stage: 'champion',
    created_at: now,
    feature_names: featureNames,
    feature_spec_version: spec.features.version,
    threshold: 0.5,
    onnx: Buffer.from(onnx),
    onnx_sha256: createHash('sha256').update(onnx).digest('hex'),
    metrics: {},
    params: { ...model.describe(), source: 'bench:e2e synthetic vectors' },
    data_window_start: now,
    data_window_end: now,
    training_rows: X.length,
    reference: {},
    feature_importance: {},
    signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench:e2e: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function startStreamloopSystem(brokers: string[], pipeline: string): Promise<{ ready: ReadyMessage; close(): Promise<void> }> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-bench-e2e-'));
  const specFile = writeSpecCopy(dir, pipeline);
  const settings = loadSettings({
    // The bench measures the streams; it calls the API without tokens.
    STREAMLOOP_AUTH: 'off',
    KAFKA_BROKERS: brokers.join(','),
    PORT: '0',
    SCHEMA_REGISTRY_PORT: '0',
    STREAMLOOP_PIPELINES: specFile,
    // No target here touches ClickHouse; the directory is this run's own in case one ever does.
    CLICKHOUSE_DATA_DIR: join(dir, 'chdb'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const running = await startStreamloop(settings, ['schema-registry', 'ingestion', 'features', 'inference']);
  const close = async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const spec = loadPipelineSpec(specFile);
    const topics = topicsFor(spec);
    // Published as the training service does: Avro (schemas/model-registry.avsc) keyed pipeline/model/version.
    const serde = new AvroSerde(new HttpRegistryClient(running.registryUrl!));
    const record = syntheticChampion(spec);
    const producer = createKafka({ brokers, clientId: 'bench-e2e-model-publisher' }).producer({ idempotent: true });
    await producer.connect();
    try {
      const value = await serde.encode(`${topics.models}-value`, loadAvsc(MODEL_REGISTRY_SCHEMA), record);
      await producer.send({ topic: topics.models, acks: -1, messages: [{ key: registryKey(record), value }] });
    } finally {
      await producer.disconnect();
    }
    await waitFor(async () => (await fetch(`${running.url}/v1/pipelines/${pipeline}/model`)).status === 200, 120_000, 'the champion to serve');
    return {
      ready: { input: topics.raw, output: topics.predictions, registryUrl: running.registryUrl, deadLetters: topics.dlq, startSeconds: (Date.now() - started) / 1000 },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** The Kafka Streams window workload in our language: one stage keyed by card, nothing re-keyed. */
function cardWindowOnly(doc: SpecDocument): void {
  doc.features.transforms = [{ name: 'amount', op: 'passthrough', field: 'amount' }];
  doc.features.aggregates = [
    { name: 'card_txn_count_1h', entity: 'card_id', op: 'count', window: '1h' },
    { name: 'card_amount_sum_1h', entity: 'card_id', op: 'sum', field: 'amount', window: '1h' },
    { name: 'card_amount_mean_1h', entity: 'card_id', op: 'mean', field: 'amount', window: '1h' },
  ];
}

async function startFeaturesSystem(brokers: string[], pipeline: string): Promise<{ ready: ReadyMessage; close(): Promise<void> }> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-bench-e2e-'));
  const specFile = writeSpecCopy(dir, pipeline, cardWindowOnly);
  const settings = loadSettings({
    // The bench measures the streams; it calls the API without tokens.
    STREAMLOOP_AUTH: 'off',
    KAFKA_BROKERS: brokers.join(','),
    PORT: '0',
    SCHEMA_REGISTRY_PORT: '0',
    STREAMLOOP_PIPELINES: specFile,
    CLICKHOUSE_DATA_DIR: join(dir, 'chdb'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const running = await startStreamloop(settings, ['schema-registry', 'features']);
  const topics = topicsFor(loadPipelineSpec(specFile));
  return {
    ready: { input: topics.events, output: topics.features, registryUrl: running.registryUrl, deadLetters: topics.dlq, startSeconds: (Date.now() - started) / 1000 },
    close: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startPassthroughSystem(brokers: string[], tag: string, hopCount: number): Promise<{ ready: ReadyMessage; close(): Promise<void> }> {
  const started = Date.now();
  // The services' client and session settings (Runtime: createKafka with KAFKA_CLIENT_ID, errors only; KAFKA_SESSION_TIMEOUT).
  const settings = loadSettings({ KAFKA_BROKERS: brokers.join(',') });
  const kafka = createKafka({
    brokers,
    clientId: settings.kafkaClientId,
    logLevel: 'error',
    // As createKafka's own sink, except that the broker's CONCURRENT_TRANSACTIONS answers are printed whatever level
    // they were given, so that the bench can count them (bench/e2e/run.ts).
    log: (level, message, extra) => {
      if (level !== 'debug' || /concurrent operation on the same transaction/.test(String(extra.error ?? message))) {
        console.error(JSON.stringify({ level, message, ...extra }));
      }
    },
  });
  const topics = PASSTHROUGH_TOPICS.slice(0, hopCount + 1).map((hop) => passthroughTopic(tag, hop));
  await ensureTopics(kafka, topics.map((topic) => ({ topic, partitions: PASSTHROUGH_PARTITIONS })));
  const copy = (r: ConsumedRecord): Message => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
  const hops: RunningProcessor[] = [];
  try {
    for (let i = 0; i + 1 < topics.length; i++) {
      const [from, to] = [topics[i], topics[i + 1]];
      const groupId = `bench-e2e-passthrough-${tag}-${i}`;
      hops.push(await runTransactionalProcessor({
        kafka,
        groupId,
        topic: from,
        transactionalIdPrefix: groupId,
        sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
        // As the services run theirs (libs/stream's transport): every partition of a fetch in one round.
        partitionsConsumedConcurrently: PASSTHROUGH_PARTITIONS,
        createTask: async () => ({ process: async (records) => [{ topic: to, messages: records.map(copy) }] }),
      }));
    }
  } catch (error) {
    for (const hop of hops) await hop.stop().catch(() => undefined);
    throw error;
  }
  return {
    ready: { input: topics[0], output: topics[topics.length - 1], startSeconds: (Date.now() - started) / 1000 },
    close: async () => {
      for (const hop of hops) await hop.stop();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { system: { type: 'string' }, brokers: { type: 'string' }, pipeline: { type: 'string' }, tag: { type: 'string' }, hops: { type: 'string', default: '4' } },
  });
  const brokers = (values.brokers ?? '').split(',').filter(Boolean);
  if (brokers.length === 0) throw new Error('bench:e2e system: --brokers is required');
  let system: { ready: ReadyMessage; close(): Promise<void> };
  if (values.system === 'streamloop') system = await startStreamloopSystem(brokers, values.pipeline ?? `bench_e2e_${Date.now().toString(36)}`);
  else if (values.system === 'features') system = await startFeaturesSystem(brokers, values.pipeline ?? `bench_e2e_${Date.now().toString(36)}`);
  else if (values.system === 'passthrough') {
    const hops = Number(values.hops);
    if (!(Number.isInteger(hops) && hops >= 1 && hops < PASSTHROUGH_TOPICS.length)) throw new Error(`bench:e2e system: --hops must be 1-${PASSTHROUGH_TOPICS.length - 1}, got ${values.hops}`);
    system = await startPassthroughSystem(brokers, values.tag ?? Date.now().toString(36), hops);
  }
  else throw new Error(`bench:e2e system: --system must be streamloop, features or passthrough, got ${values.system}`);

  // The parent holds our stdin: its end (the bench finished or died) means stop.
  closeWhenParentLeaves(() => system.close(), 'bench:e2e system');
  console.log(`READY ${JSON.stringify(system.ready)}`);
}

await main().catch((error: unknown) => {
  console.error(`bench:e2e system failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
