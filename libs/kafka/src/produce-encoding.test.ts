import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProduceRequest, kafkajsProduceRequest, produceRequest } from './produce-encoding';

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const FIXED_NOW = 1_733_000_000_000;

/** Runs `f` with Date.now fixed: kafkajs stamps messages without a timestamp with Date.now(), as ours does. */
async function atFixedTime<T>(f: () => Promise<T>): Promise<T> {
  const now = Date.now;
  Date.now = () => FIXED_NOW;
  try {
    return await f();
  } finally {
    Date.now = now;
  }
}

async function kafkajsBytes(args: Parameters<typeof kafkajsProduceRequest>[0]): Promise<Buffer> {
  const encoder = await kafkajsProduceRequest(args).encode();
  return encoder.buf.subarray(0, encoder.offset);
}

async function ourBytes(args: Parameters<typeof kafkajsProduceRequest>[0]): Promise<Buffer> {
  const encoder = await produceRequest(args).encode();
  return encoder.buf.subarray(0, encoder.offset);
}

function text(rand: () => number, max: number): string {
  const alphabet = ['a', 'Z', '9', '-', '.', 'é', '€', '😀', ' '];
  let s = '';
  const n = Math.floor(rand() * max);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

function bytes(rand: () => number, max: number): Buffer {
  const b = Buffer.alloc(Math.floor(rand() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

test('produce requests are encoded byte for byte as kafkajs encodes them', async () => {
  const rand = random(7);
  let compared = 0;
  for (let round = 0; round < 300; round++) {
    const base = FIXED_NOW - Math.floor(rand() * 1e9);
    const topicData = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, t) => ({
      topic: `topic-${t}-${text(rand, 5)}`,
      partitions: Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, p) => ({
        partition: p,
        firstSequence: Math.floor(rand() * 1e6),
        messages: Array.from({ length: 1 + Math.floor(rand() * (round % 10 === 0 ? 400 : 12)) }, () => {
          const r = rand();
          const key = r < 0.2 ? null : r < 0.3 ? undefined : r < 0.7 ? text(rand, 20) : bytes(rand, 20);
          const value = rand() < 0.1 ? null : rand() < 0.5 ? bytes(rand, round % 25 === 0 ? 70_000 : 300) : text(rand, 200);
          const headers = rand() < 0.3 ? undefined : {
            'streamloop.fused': 'inference',
            [text(rand, 8)]: rand() < 0.5 ? bytes(rand, 10) : [text(rand, 5), bytes(rand, 5)],
          };
          const s = rand();
          // timestamps as kafkajs takes them: strings of ms, numbers, or none (stamped with now)
          const timestamp = s < 0.2 ? undefined : s < 0.6 ? String(base + Math.floor(rand() * 100_000)) : base + Math.floor(rand() * 100_000);
          return { key, value, headers, timestamp };
        }),
      })),
    }));
    const args = {
      acks: rand() < 0.5 ? -1 : 1,
      timeout: 30_000,
      transactionalId: rand() < 0.5 ? null : `tx-${text(rand, 10)}`,
      producerId: rand() < 0.5 ? Math.floor(rand() * 1e9) : String(Math.floor(rand() * 1e12)),
      producerEpoch: Math.floor(rand() * 100),
      topicData,
    };
    const [theirs, ours] = await atFixedTime(async () => [await kafkajsBytes(args), await ourBytes(args)]);
    assert.ok(encodeProduceRequest(args) !== undefined, `round ${round}: the fast path took the request`);
    assert.ok(theirs.equals(ours), `round ${round}: ${ours.length} bytes against kafkajs' ${theirs.length}`);
    compared += theirs.length;
  }
  assert.ok(compared > 1_000_000, 'large records and batches were among those compared');
});

test('what the fast path does not handle is left to kafkajs, with kafkajs\' result', async () => {
  const partition = (messages: unknown[]) => [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages: messages as never[] }] }];
  const cases = [
    { acks: -1, timeout: 1000, compression: 1, topicData: partition([{ key: 'k', value: 'v' }]) }, // gzip
    { acks: -1, timeout: 1000, topicData: partition([{ key: 42, value: 'v' }]) }, // a number for a key
    { acks: -1, timeout: 1000, topicData: partition([{ key: 'k', value: 'v', headers: { h: null } }]) }, // a null header
    { acks: -1, timeout: 1000, topicData: partition([{ key: 'k', value: 'v', timestamp: 1.5 }]) }, // a fraction of a ms
  ];
  for (const args of cases) {
    assert.equal(encodeProduceRequest(args as never), undefined);
    const theirs = await atFixedTime(() => kafkajsBytes(args as never).then((b) => ({ b }), (e: Error) => ({ e: e.message })));
    const ours = await atFixedTime(() => ourBytes(args as never).then((b) => ({ b }), (e: Error) => ({ e: e.message })));
    assert.deepEqual(ours, theirs);
  }
});
