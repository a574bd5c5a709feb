import assert from 'node:assert/strict';
import test from 'node:test';
import avro, { type Type } from 'avsc';
import { AvroSerde, parseSchema, schemaText, type RegisteredSchema, type RegistryClient } from '@streamloop/avro';
import { loadPipelineSpec, topicsFor } from '@streamloop/config';
import type { ConsumedRecord } from '@streamloop/kafka';
import { BatchProcessor, RebuildStateError, type StreamIO } from './batch-processor';
import type { StreamContext, StreamBatch } from './context';
import { NotReadyError } from './errors';
import type { PartitionState, StreamPipeline } from './options';

/** A registry in memory: ids by schema text, one subject list each. */
class MemoryRegistry implements RegistryClient {
  private readonly ids = new Map<string, number>();
  private readonly texts = new Map<number, string>();
  register(_subject: string, schema: string | object | Type): Promise<number> {
    const text = typeof schema === 'string' ? schema : avro.Type.isType(schema) ? schemaText(schema as Type) : JSON.stringify(schema);
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(text, id);
      this.texts.set(id, text);
    }
    return Promise.resolve(id);
  }
  getSchemaById(id: number): Promise<string> {
    const text = this.texts.get(id);
    return text ? Promise.resolve(text) : Promise.reject(Object.assign(new Error('not found'), { name: 'RegistryError', status: 404 }));
  }
  getLatest(): Promise<RegisteredSchema> {
    return Promise.reject(new Error('not used'));
  }
}

const eventType = parseSchema({ type: 'record', name: 'Ev', fields: [{ name: 'id', type: 'string' }, { name: 'note', type: 'string', default: '' }] });
const deadLetterType = parseSchema(JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('../../../schemas/dlq-envelope.avsc', import.meta.url), 'utf8'))));
const spec = loadPipelineSpec(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url).pathname);

function pipeline(): StreamPipeline {
  return { spec, topics: topicsFor(spec), eventType, labelType: eventType };
}

function io(limits: Record<string, number> = {}): StreamIO & { serde: AvroSerde } {
  return {
    serde: new AvroSerde(new MemoryRegistry()),
    deadLetterType,
    output: (p, role) => ({ topic: role === 'events' ? p.topics.events : p.topics.features, type: eventType }),
    maxMessageBytes: (topic) => limits[topic] ?? 1_048_588,
  };
}

async function records(serde: AvroSerde, values: Array<Record<string, unknown> | Buffer>): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  for (const [i, v] of values.entries()) {
    const value = Buffer.isBuffer(v) ? v : await serde.encode('fraud.events.raw-value', eventType, v);
    out.push({ topic: 'fraud.events.raw', partition: 0, offset: String(i), key: null, value, timestamp: '0', headers: {} });
  }
  return out;
}

const forward = async (batch: StreamBatch, context: StreamContext) => {
  for (const r of batch.records) {
    if (r.error) context.deadLetter(r, r.error);
    else context.emit('events', null, r.value, r);
  }
};

test('an undecodable record reaches the handler as a per-record error and is dead-lettered; the rest flow', async () => {
  const platform = io();
  const processor = new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'exactly-once', stage: 'unit' }, eventType, forward);
  const batch = await records(platform.serde, [{ id: 'a' }, Buffer.from('not avro'), { id: 'c' }]);
  const { messages } = await processor.process('fraud.events.raw', batch, undefined);
  const events = messages.find((m) => m.topic === 'fraud.events');
  const dlq = messages.find((m) => m.topic === 'fraud.events.dlq');
  assert.equal(events?.messages.length, 2);
  assert.equal(dlq?.messages.length, 1);
  assert.equal(String(dlq?.messages[0].headers?.['__connect.errors.offset']), '1');
});

test('a handler that throws on one record: the batch is narrowed down, that record dead-lettered, the others kept', async () => {
  const platform = io();
  let calls = 0;
  const handler = async (batch: StreamBatch, context: StreamContext) => {
    calls++;
    for (const r of batch.records) {
      if ((r.value as { id: string }).id === 'bad') throw new TypeError('cannot handle bad');
      context.emit('events', null, r.value, r);
    }
  };
  const processor = new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'at-least-once', stage: 'unit' }, eventType, handler);
  const batch = await records(platform.serde, [{ id: 'a' }, { id: 'bad' }, { id: 'c' }]);
  const { messages, context } = await processor.process('fraud.events.raw', batch, undefined);
  assert.deepEqual(messages.find((m) => m.topic === 'fraud.events')?.messages.length, 2);
  assert.equal(context.deadLetters.length, 1);
  assert.match(String((context.deadLetters[0].error as Error).message), /cannot handle bad/);
  assert.equal(calls, 4, 'one failed batch call, then one call per record');
});

test('with partition state, a failing record makes the state rebuild, then it is dead-lettered without running again', async () => {
  const platform = io();
  const seen: string[] = [];
  const handler = async (batch: StreamBatch, context: StreamContext) => {
    for (const r of batch.records) {
      const id = (r.value as { id: string }).id;
      seen.push(id);
      if (id === 'bad') throw new RangeError('bad state');
      context.emit('events', null, r.value, r);
    }
  };
  const state: PartitionState = { restore: () => undefined, changes: () => [] };
  const processor = new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'exactly-once', stage: 'unit' }, eventType, handler);
  const batch = await records(platform.serde, [{ id: 'a' }, { id: 'bad' }, { id: 'c' }]);
  await assert.rejects(processor.process('fraud.events.raw', batch, state), RebuildStateError);
  await assert.rejects(processor.process('fraud.events.raw', batch, state), RebuildStateError, 'the isolated run finds the record');
  seen.length = 0;
  const { messages, context } = await processor.process('fraud.events.raw', batch, state);
  assert.deepEqual(seen, ['a', 'c'], 'the known-bad record is not run again');
  assert.equal(messages.find((m) => m.topic === 'fraud.events')?.messages.length, 2);
  assert.equal(context.deadLetters.length, 1);
});

test('an output larger than its topic accepts dead-letters its record with the reason; the original is cut to fit the DLQ', async () => {
  const limits = { 'fraud.events': 100_000, 'fraud.events.dlq': 50_000 };
  const platform = io(limits);
  const processor = new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'exactly-once', stage: 'unit' }, eventType, forward);
  const batch = await records(platform.serde, [{ id: 'a' }, { id: 'big', note: 'x'.repeat(200_000) }, { id: 'c' }]);
  const { messages } = await processor.process('fraud.events.raw', batch, undefined);
  assert.equal(messages.find((m) => m.topic === 'fraud.events')?.messages.length, 2);
  const letter = messages.find((m) => m.topic === 'fraud.events.dlq')!.messages[0];
  assert.ok((letter.value as Buffer).length <= 50_000, `dead letter of ${(letter.value as Buffer).length} bytes fits the DLQ topic`);
  const { value } = await platform.serde.decode<{ error_class: string; error_message: string; original_value: Buffer; original_size: number }>(letter.value as Buffer);
  assert.equal(value.error_class, 'RecordTooLargeError');
  assert.match(value.error_message, /over the topic's max\.message\.bytes of 100000/);
  assert.equal(value.original_size, batch[1].value!.length, 'says how large the original was');
  assert.deepEqual(value.original_value, batch[1].value!.subarray(0, value.original_value.length), 'keeps the first bytes');
  assert.equal(String(letter.headers?.['streamloop.dlq.original.size']), String(batch[1].value!.length));
});

test('outages and not-ready escape so the batch is retried whole', async () => {
  const platform = io();
  const outage = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const batch = await records(platform.serde, [{ id: 'a' }]);
  const failing = (error: Error) => new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'exactly-once', stage: 'unit' }, eventType, async () => { throw error; });
  await assert.rejects(failing(outage).process('fraud.events.raw', batch, undefined), /ECONNREFUSED/);
  await assert.rejects(failing(new NotReadyError('no model yet')).process('fraud.events.raw', batch, undefined), NotReadyError);
});

test('a fusable stage runs inside the writing stage\'s transaction: its outputs join the batch and the input is marked for its consumer', async () => {
  const platform = io();
  const scorer = { role: 'events' as const, options: { role: 'events' as const, mode: 'exactly-once' as const, stage: 'scorer', fusable: true }, ready: true };
  const fusedInvoke = async (batch: StreamBatch, context: StreamContext) => {
    if (!scorer.ready) throw new NotReadyError('no model yet');
    for (const r of batch.records) context.emit('features', null, { id: `scored-${(r.value as { id: string }).id}` }, r);
  };
  const writer = new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'exactly-once', stage: 'writer' }, eventType, forward, undefined, [
    { role: 'events', options: scorer.options, invoke: fusedInvoke },
  ]);
  const batch = await records(platform.serde, [{ id: 'a' }, { id: 'b' }]);
  const { messages } = await writer.process('fraud.events.raw', batch, undefined);
  const events = messages.find((m) => m.topic === 'fraud.events')!.messages;
  const scored = messages.find((m) => m.topic === 'fraud.features')!.messages;
  assert.equal(scored.length, 2, 'the fused stage\'s outputs are in the same batch');
  assert.ok(events.every((m) => String(m.headers?.['streamloop.fused']) === 'scorer'), 'each input it handled is marked');

  // Its own consumer passes over marked records and handles unmarked ones (written while it was not ready).
  scorer.ready = false;
  const unready = await writer.process('fraud.events.raw', await records(platform.serde, [{ id: 'c' }]), undefined);
  assert.equal(unready.messages.find((m) => m.topic === 'fraud.features'), undefined);
  const unmarked = unready.messages.find((m) => m.topic === 'fraud.events')!.messages[0];
  assert.equal(unmarked.headers?.['streamloop.fused'], undefined);
  const seen: string[] = [];
  const own = new BatchProcessor(platform, pipeline(), scorer.options, eventType, async (b) => void seen.push(...b.records.map((r) => (r.value as { id: string }).id)));
  const consumed: ConsumedRecord[] = [...events, unmarked].map((m, i) => ({
    topic: 'fraud.events', partition: 0, offset: String(i), key: null, value: m.value as Buffer, timestamp: '0', headers: m.headers as ConsumedRecord['headers'],
  }));
  await own.process('fraud.events', consumed, undefined);
  assert.deepEqual(seen, ['c']);
});

test('every output keeps the timestamp of the record it came from, through a fused stage too', async () => {
  const platform = io();
  const fusedInvoke = async (batch: StreamBatch, context: StreamContext) => {
    for (const r of batch.records) context.emit('features', null, { id: `scored-${(r.value as { id: string }).id}` }, r);
  };
  const writer = new BatchProcessor(platform, pipeline(), { role: 'raw', mode: 'exactly-once', stage: 'writer' }, eventType, forward, undefined, [
    { role: 'events', options: { role: 'events', mode: 'exactly-once', stage: 'scorer', fusable: true }, invoke: fusedInvoke },
  ]);
  const batch = (await records(platform.serde, [{ id: 'a' }, { id: 'b' }])).map((r, i) => ({ ...r, timestamp: String(1_700_000_000_000 + i) }));
  const { messages } = await writer.process('fraud.events.raw', batch, undefined);
  for (const topic of ['fraud.events', 'fraud.features']) {
    assert.deepEqual(messages.find((m) => m.topic === topic)!.messages.map((m) => m.timestamp), ['1700000000000', '1700000000001'], topic);
  }
});
