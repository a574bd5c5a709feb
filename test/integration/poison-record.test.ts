// No record can stop a pipeline. A producer app publishes one valid fraud-pipeline event with a 5 MB string,
// gzip-compressed so that it fits P.events.raw's default 1 MB max.message.bytes, then ordinary events on every raw
// partition. Ingestion, features and inference run in one `streamloop start` process with a champion serving. The big
// event must end up on P.events.dlq with the reason, Kafka Connect context headers and its bytes (whole, or cut and
// marked so); every ordinary event must get exactly one prediction; /health must stay 200. The HTTP ingest side must
// refuse what it cannot publish with a 4xx that says why, never a 5xx or a stuck pipeline.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@streamloop/kafka'; // before kafkajs: it fixes kafkajs' read_committed filter as kafkajs loads
import { CompressionTypes } from 'kafkajs';
import { loadPipelineSpec } from '@streamloop/config';
import { readTopicToEnd, type DeadLetter } from '@streamloop/kafka';
import type { PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions, type CardTransaction } from '@streamloop/testing';
import { freePort, waitForApi } from '../support/cli-process';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, startCliProcess, startServiceProcess, writeSpecFile } from '../support/processes';
import { assertErrorBody } from '../support/http-errors';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const MiB = 1024 * 1024;
/** Kafka's default max.message.bytes of a topic (1 MiB + 12), which P.events.raw, P.events and P.events.dlq keep. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/**
 * The event schema (examples/schemas/card_transaction.avsc) has no free-text field; device_id is an optional
 * string no feature reads, so a 5 MB value there is valid for the schema and harmless to features and the model.
 */
const BIG_FIELD = 'device_id';

/** The DLQ envelope as written (schemas/dlq-envelope.avsc), read with the writer's schema so any newer field shows. */
type DeadLetterEnvelope = DeadLetter & Record<string, unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An event with `field` set to a string of `bytes` ASCII characters (compressible, as logs and blobs often are). */
function withLongString(event: CardTransaction, id: string, field: string, bytes: number): CardTransaction {
  return { ...event, transaction_id: id, [field]: 'streamloop-poison-'.repeat(Math.ceil(bytes / 18)).slice(0, bytes) };
}

async function postJson(url: string, body: string): Promise<{ status: number; contentType: string; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(60_000) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

test('a 5 MB event is dead-lettered and stops nothing: every other event predicted once, /health 200, HTTP refuses with reasons', { skip, timeout: 420_000 }, async (t: TestContext) => {
  const name = uniqueName('poison');
  const specFile = writeSpecFile(name);
  const spec = loadPipelineSpec(specFile);
  const stack = await startStack(brokers!, [spec], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await publishModel(stack, name, championRecord(name, 'poison-model', 1, trainTestModel(['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'])));
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const pipelineProcess = startCliProcess('streamloop start --target ingestion,features,inference', ['start', '--target', 'ingestion,features,inference', '--port', String(port)], {
      KAFKA_BROKERS: brokers!.join(','),
      SCHEMA_REGISTRY_URL: stack.registryUrl,
      STREAMLOOP_PIPELINES: specFile,
      CLICKHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'streamloop-chdb-')),
      KAFKA_SESSION_TIMEOUT: '6s',
      // HTTP_BODY_LIMIT left at its default, 1mb.
    });
    processes.push(pipelineProcess);
    await waitForApi(api, pipelineProcess);

    const events = generateCardTransactions({ seed: 9, events: 60, cards: 30, idPrefix: name }).map((x) => x.event);
    const validIds = new Set(events.map((e) => e.transaction_id));

    // --- HTTP ingest with the default body limit (1mb = 1,048,576 bytes).
    const ingestUrl = `${api}/v1/pipelines/${name}/events`;
    await t.test('HTTP: a body over HTTP_BODY_LIMIT gets 413 PAYLOAD_TOO_LARGE with a JSON reason', async () => {
      const res = await postJson(ingestUrl, JSON.stringify(withLongString(events[0], `${name}-http-2mb`, BIG_FIELD, 2 * MiB)));
      t.diagnostic(`413 body: ${res.text.slice(0, 300)}`);
      const error = assertErrorBody(res, 413, 'PAYLOAD_TOO_LARGE');
      assert.match(error.message, /too large.*limit is 1048576 bytes/i, `a reason in ${res.text.slice(0, 500)}`);
    });
    // Assumption: with the defaults the body limit (1 MiB) is below the raw topic's max.message.bytes (1 MiB + 12) and
    // an event's Avro encoding is never longer than its JSON (no arrays or maps in this schema), so no single event the
    // body limit admits can be too large for P.events.raw. Here, an event just under the body limit must be accepted
    // (and then predicted like any other); refusing it is allowed only as a 4xx naming the limit. The case of an event
    // too large for the topic is checked below with a raised HTTP_BODY_LIMIT.
    const nearLimitId = `${name}-http-near-limit`;
    await t.test('HTTP: an event just under the default body limit is accepted (or refused with a 4xx naming the limit)', async () => {
      const res = await postJson(ingestUrl, JSON.stringify(withLongString(events[1], nearLimitId, BIG_FIELD, MiB - 2048)));
      if (res.status === 202) validIds.add(nearLimitId);
      else {
        assert.ok(res.status >= 400 && res.status < 500, `202, or a 4xx naming the limit; got ${res.status} ${res.text.slice(0, 500)}`);
        assert.match(res.text, /max\.message\.bytes|limit/i);
      }
    });

    // --- The producer app: the big event first (gzip, so the compressed batch fits the raw topic), then the rest.
    const bigEvent = withLongString(events[0], `${name}-big`, BIG_FIELD, 5 * MiB);
    const bigBytes = await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, bigEvent);
    assert.ok(bigBytes.length > 5 * MiB, 'the encoded event is over 5 MB');
    const [bigMeta] = await producer.send({
      topic: ctx.topics.raw, acks: -1, compression: CompressionTypes.GZIP,
      messages: [{ key: bigEvent.card_id, value: bigBytes }],
    });
    // Each raw record carries its own timestamp, a minute ago: every stage keeps it, and a prediction's latency_ms is
    // measured from it.
    const rawTimestamps = new Map(events.map((e, i) => [e.transaction_id, Date.now() - 60_000 - i]));
    const messages = await Promise.all(events.map(async (e) => ({
      key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e), timestamp: String(rawTimestamps.get(e.transaction_id)),
    })));
    const sent = await producer.send({ topic: ctx.topics.raw, acks: -1, messages });
    assert.deepEqual([...new Set(sent.map((m) => m.partition))].sort(), Array.from({ length: spec.events.partitions }, (_, i) => i), 'the ordinary events hit every raw partition');

    await t.test('the big event is on P.events.dlq (read_committed) with the reason, Connect headers and its bytes', async () => {
      // Its dead letter names raw partition/offset (refused by ingestion), or, if a later stage refused it, holds its
      // bytes, whose first field is the event id (so even a cut copy shows it).
      const idBytes = Buffer.from(bigEvent.transaction_id);
      const letter = await eventually(async () => {
        const all = await readAll<DeadLetterEnvelope>(stack.kafka, stack.serde, ctx.topics.dlq);
        return all.find(({ value: l }) => (l.source_topic === ctx.topics.raw && l.source_partition === bigMeta.partition && l.source_offset === Number(bigMeta.baseOffset))
          || (l.original_value?.subarray(0, 200).includes(idBytes) ?? false));
      }, `the dead letter of the big event (raw ${bigMeta.partition}@${bigMeta.baseOffset})\n${why()}`, 90_000);
      const { value: l, headers } = letter;
      t.diagnostic(`dead letter: stage ${l.stage}, ${l.error_class}: ${l.error_message.slice(0, 300)}; original_value ${l.original_value?.length ?? 'null'} bytes; headers ${Object.keys(headers).join(', ')}`);
      assert.equal(l.pipeline, name);
      assert.ok(l.stage.length > 0, 'the stage that refused it');
      assert.match(l.error_message, new RegExp(`max\\.message\\.bytes|max message size|${DEFAULT_MAX_MESSAGE_BYTES}|too large`, 'i'), `a reason naming the size limit: ${l.error_message}`);
      const header = (k: string) => headers[k]?.toString('utf8');
      assert.equal(header('__connect.errors.topic'), l.source_topic ?? undefined);
      assert.equal(header('__connect.errors.partition'), l.source_partition === null ? undefined : String(l.source_partition));
      assert.equal(header('__connect.errors.offset'), l.source_offset === null ? undefined : String(l.source_offset));
      if (l.source_topic === ctx.topics.raw) assert.deepEqual([l.source_partition, l.source_offset], [bigMeta.partition, Number(bigMeta.baseOffset)], 'the raw record it came from');
      assert.equal(header('__connect.errors.stage'), l.stage);
      assert.ok(header('__connect.errors.exception.class.name'), 'the error class header');
      assert.ok(header('__connect.errors.exception.message'), 'the error message header');
      assert.ok(l.original_value && l.original_value.length > 0, 'the original bytes, whole or cut');
      // Compared after the 5-byte wire-format header (magic byte, schema id): a later stage's copy has its topic's schema id.
      const value = l.original_value.subarray(5);
      const original = bigBytes.subarray(5);
      if (value.length === original.length) {
        assert.ok(value.equals(original), 'the original bytes whole');
      } else {
        assert.ok(value.length < original.length && value.equals(original.subarray(0, value.length)), 'a cut original holds its first bytes');
        // A cut original says so twice: the envelope's original_size and the header streamloop.dlq.original.size.
        const marked = Number(l.original_size) === bigBytes.length && header('streamloop.dlq.original.size') === String(bigBytes.length);
        assert.ok(marked, `a cut original_value (${l.original_value.length} of ${bigBytes.length} bytes) is marked as cut; envelope fields ${Object.keys(l).join(', ')}; headers ${Object.keys(headers).join(', ')}`);
      }
    });

    await t.test('every valid event gets exactly one prediction (read_committed)', async () => {
      const latencyFromRaw: string[] = [];
      const count = async () => {
        const counts = new Map<string, number>();
        latencyFromRaw.length = 0;
        for (const { value } of await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)) {
          counts.set(value.event_id, (counts.get(value.event_id) ?? 0) + 1);
          const raw = rawTimestamps.get(value.event_id);
          if (raw !== undefined && value.predicted_at - value.latency_ms !== raw) latencyFromRaw.push(`${value.event_id}: predicted_at ${value.predicted_at} − latency_ms ${value.latency_ms} ≠ raw timestamp ${raw}`);
        }
        return counts;
      };
      await eventually(async () => {
        const counts = await count();
        return [...validIds].every((id) => counts.has(id)) ? true : undefined;
      }, `a prediction for each of the ${validIds.size} valid events\n${why()}`, 60_000).catch(() => undefined);
      await sleep(1000);
      const counts = await count();
      const missing = [...validIds].filter((id) => !counts.has(id));
      const repeated = [...validIds].filter((id) => (counts.get(id) ?? 0) > 1);
      t.diagnostic(`predictions: ${validIds.size - missing.length} of ${validIds.size} valid events predicted, ${repeated.length} more than once`);
      assert.deepEqual({ missing: missing.length, repeated: repeated.length }, { missing: 0, repeated: 0 },
        `every valid event predicted once; missing e.g. ${missing.slice(0, 5).join(', ')}\n${why()}`);
      assert.deepEqual(latencyFromRaw.slice(0, 5), [], 'each prediction\'s latency_ms runs from its raw record\'s timestamp');
    });

    await t.test('/health is 200 at the end', async () => {
      const res = await fetch(`${api}/health`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      assert.equal(res.status, 200, text.slice(0, 2000));
    });

    // An operator who raises HTTP_BODY_LIMIT (here 8mb) lets through bodies whose events are too large for the raw
    // topic (1 MiB + 12 bytes by default): such an event must get a 4xx naming the record and the limit, and nothing is
    // published. Its own pipeline and ingestion-only process, so the stream above is not disturbed.
    await t.test('HTTP with a raised body limit: an event larger than the raw topic allows gets a 4xx naming the record and the limit', async () => {
      const other = uniqueName('poisonhttp');
      const otherSpecFile = writeSpecFile(other);
      const otherStack = await startStack(brokers!, [loadPipelineSpec(otherSpecFile)], []);
      try {
        const otherPort = await freePort();
        const ingestion = startServiceProcess('ingestion (HTTP_BODY_LIMIT=8mb)', 'ingestion', {
          KAFKA_BROKERS: brokers!.join(','),
          SCHEMA_REGISTRY_URL: otherStack.registryUrl,
          STREAMLOOP_PIPELINES: otherSpecFile,
          HTTP_BODY_LIMIT: '8mb',
          PORT: String(otherPort),
        });
        processes.push(ingestion);
        const otherApi = `http://127.0.0.1:${otherPort}`;
        await waitForApi(otherApi, ingestion);
        const id = `${other}-2mb`;
        const res = await postJson(`${otherApi}/v1/pipelines/${other}/events`, JSON.stringify(withLongString(events[2], id, BIG_FIELD, 2 * MiB)));
        assert.ok(res.status >= 400 && res.status < 500, `a 4xx, got ${res.status}: ${res.text.slice(0, 500)}`);
        assertErrorBody(res, res.status, 'INVALID_EVENT');
        assert.ok(res.text.includes(id) || /"index"\s*:\s*0/.test(res.text), `the response names the record: ${res.text.slice(0, 500)}`);
        assert.match(res.text, new RegExp(`max\\.message\\.bytes|${DEFAULT_MAX_MESSAGE_BYTES}|limit`, 'i'), 'the response names the limit');
        let published = 0;
        await readTopicToEnd(otherStack.kafka, otherStack.runtime.pipelines.pipeline(other).topics.raw, () => void published++);
        assert.equal(published, 0, 'nothing published to the raw topic');
      } finally {
        await otherStack.close();
      }
    });
  } finally {
    await producer.disconnect().catch(() => undefined);
    for (const p of processes) p.signal('SIGTERM');
    await Promise.all(processes.map((p) => Promise.race([p.exited, sleep(10_000)])));
    for (const p of processes) p.signal('SIGKILL');
    await stack.close();
  }
});
