// (d) of `npm run bench:serving`: serving.batch.max_wait on a broker. For each setting, a `streamloop start --target
// inference` of its own (so inference runs its own consumer, not fused into features) serves a champion while the
// bench produces feature vectors to P.features at a fixed rate; then the predictions are read back: their latency
// (latency_ms: from the feature vector's record timestamp, its send, to the prediction) and the inference process's
// CPU per vector, which is where fewer, larger batches (fewer transactions) would show.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { topicsFor, type PipelineSpec } from '@streamloop/config';
import { createKafka } from '@streamloop/kafka';
import { registryKey } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { cpuSecondsOf, startBrokerIfAny } from '../e2e/processes';
import { freePort, stopProcesses, waitForApi } from '../../test/support/cli-process';
import { startCliProcess, type ServiceProcess } from '../../test/support/processes';
import { readAll } from '../../test/support/stack';
import { registryRecord } from './stage';

const REPO = new URL('../../', import.meta.url).pathname;

export interface FetchWaitOptions {
  spec: PipelineSpec;
  featureNames: string[];
  onnx: Uint8Array;
  algorithm: string;
  vectors: FeatureVectorRecord[];
  /** The settings compared, in ms; null: unset. */
  waits: Array<number | null>;
  rate: number;
  seconds: number;
  optional: boolean;
  print(line?: string): void;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

export async function runFetchWaitBench(o: FetchWaitOptions): Promise<'done' | 'skipped'> {
  const broker = await startBrokerIfAny('bench:serving', o.optional);
  if (!broker) return 'skipped';
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-bench-serving-wait-'));
  const processes: ServiceProcess[] = [];
  try {
    const registryPort = await freePort();
    const registryUrl = `http://127.0.0.1:${registryPort}`;
    const registry = startCliProcess('streamloop start --target schema-registry', ['start', '--target', 'schema-registry'], {
      KAFKA_BROKERS: broker.brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, SCHEMA_REGISTRY_PORT: String(registryPort), CLICKHOUSE_DATA_DIR: join(dir, 'chdb-registry'),
      STREAMLOOP_PIPELINES: writeSpec(o.spec, dir, 'bench-serving-wait-registry', null),
    });
    processes.push(registry);
    await waitForApi(registryUrl, registry);
    const serde = new AvroSerde(new HttpRegistryClient(registryUrl));
    const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench-serving-wait' });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    o.print(`(d) serving.batch.max_wait on a broker: \`streamloop start --target inference\` alone (its own consumer), ${o.algorithm} champion,`);
    o.print(`    feature vectors produced to P.features at ${o.rate}/s for ${o.seconds} s (3 partitions, keyed by entity, one send per vector);`);
    o.print('    latency_ms of the predictions (from each vector\'s send), the inference process\'s CPU per vector');
    o.print(`${'max_wait'.padEnd(10)} ${'vectors'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'CPU µs/vector'.padStart(14)}`);
    try {
      for (const wait of o.waits) {
        const pipeline = `bench-serving-wait-${wait ?? 'unset'}-${Date.now().toString(36)}`;
        const specFile = writeSpec(o.spec, dir, pipeline, wait);
        const port = await freePort();
        const api = `http://127.0.0.1:${port}`;
        const inference = startCliProcess(`streamloop start --target inference (max_wait ${wait ?? 'unset'})`, ['start', '--target', 'inference', '--port', String(port)], {
          KAFKA_BROKERS: broker.brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, STREAMLOOP_PIPELINES: specFile, CLICKHOUSE_DATA_DIR: join(dir, `chdb-${pipeline}`),
        });
        processes.push(inference);
        await waitForApi(api, inference);
        const topics = topicsFor({ ...o.spec, pipeline, topics: {} });
        const record = registryRecord(pipeline, o.spec.model.name, 1, 'champion', o.algorithm, o.featureNames, o.onnx);
        await producer.send({ topic: topics.models, acks: -1, messages: [{ key: registryKey(record), value: await serde.encode(`${topics.models}-value`, loadAvsc(join(REPO, 'schemas/model-registry.avsc')), record) }] });
        await waitFor(async () => (await fetch(`${api}/v1/pipelines/${pipeline}/model`)).status === 200, 120_000, 'the champion to serve');
        const featureType = loadAvsc(join(REPO, 'schemas/feature-vector.avsc'));
        // A second of warm-up at the rate, then the measured part; open loop on a clock, one send per vector.
        const total = Math.round(o.rate * (o.seconds + 1));
        const encoded: Array<{ key: string; value: Buffer }> = [];
        for (let i = 0; i < total; i++) {
          const v = o.vectors[i % o.vectors.length];
          encoded.push({ key: v.entity_key, value: await serde.encode(`${topics.features}-value`, featureType, { ...v, pipeline, event_id: `w${i}` }) });
        }
        const cpuAt: number[] = [];
        const t0 = performance.now() + 10;
        let next = 0;
        const sends: Array<Promise<unknown>> = [];
        await new Promise<void>((resolve) => {
          const tick = () => {
            const now = performance.now();
            while (next < total && t0 + (next * 1000) / o.rate <= now) {
              if (next === o.rate) cpuAt.push(cpuSecondsOf(inference.child.pid) ?? Number.NaN);
              const m = encoded[next];
              sends.push(producer.send({ topic: topics.features, acks: -1, messages: [{ key: m.key, value: m.value, timestamp: String(Date.now()) }] }));
              next += 1;
            }
            if (next >= total) return resolve();
            setTimeout(tick, Math.max(0, t0 + (next * 1000) / o.rate - performance.now()));
          };
          setTimeout(tick, 10);
        });
        await Promise.all(sends);
        const predictions = await waitFor(async () => {
          const all = await readAll<PredictionRecord>(kafka, serde, topics.predictions);
          return all.length >= total ? all : undefined;
        }, 120_000, `${total} predictions`);
        cpuAt.push(cpuSecondsOf(inference.child.pid) ?? Number.NaN);
        // The measured part: the vectors after the warm-up second.
        const measured = predictions.filter((p) => Number(p.value.event_id.slice(1)) >= o.rate).map((p) => p.value.latency_ms).sort((a, b) => a - b);
        const cpuUs = ((cpuAt[1] - cpuAt[0]) * 1e6) / (total - o.rate);
        o.print(`${String(wait === null ? 'unset' : `${wait}ms`).padEnd(10)} ${String(measured.length).padStart(8)} ${quantile(measured, 0.5).toFixed(0).padStart(8)} ${quantile(measured, 0.95).toFixed(0).padStart(8)} ${quantile(measured, 0.99).toFixed(0).padStart(8)} ${cpuUs.toFixed(0).padStart(14)}`);
        await stopProcesses([inference]);
      }
    } finally {
      await producer.disconnect();
    }
    return 'done';
  } finally {
    await stopProcesses(processes);
    broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The spec under another pipeline name with serving.batch.max_wait set (or not). */
function writeSpec(spec: PipelineSpec, dir: string, pipeline: string, waitMs: number | null): string {
  const doc = YAML.parse(readFileSync(spec.file, 'utf8')) as { pipeline: string; events: { schema: string }; serving?: Record<string, unknown> };
  doc.pipeline = pipeline;
  doc.events.schema = join(REPO, 'examples/pipelines', doc.events.schema);
  if (waitMs !== null) doc.serving = { ...doc.serving, batch: { max_wait: `${waitMs}ms` } };
  const file = join(dir, `${pipeline}.yaml`);
  writeFileSync(file, YAML.stringify(doc));
  return file;
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`bench:serving: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
