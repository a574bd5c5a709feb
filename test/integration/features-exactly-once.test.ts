// Exactly-once features on the real broker, with the features service in separate processes that are killed
// (SIGKILL), paused past their session timeout (SIGSTOP/SIGCONT) and scaled out and in mid-stream. After each
// run P.features (read_committed) must hold exactly one vector per event, equal to an uninterrupted computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPipelineSpec, type PipelineSpec } from '@streamloop/config';
import { FeatureComputer, featureStages } from '@streamloop/features';
import { readTopicToEnd } from '@streamloop/kafka';
import { featureStageTopics, type FeatureVectorRecord, type PipelineContext } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { outputOf, type ServiceProcess, startServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName, type TestStack } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const SESSION_TIMEOUT_MS = 6000;

interface Scenario {
  stack: TestStack;
  spec: PipelineSpec;
  ctx: PipelineContext;
  env: Record<string, string>;
  events: Array<Record<string, unknown>>;
}

async function scenario(events: number, seed: number): Promise<Scenario> {
  const name = uniqueName('eos');
  const specFile = writeSpecFile(name);
  const spec = loadPipelineSpec(specFile);
  const stack = await startStack(brokers!, [spec], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const env = {
    KAFKA_BROKERS: brokers!.join(','),
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    STREAMLOOP_PIPELINES: specFile,
    KAFKA_SESSION_TIMEOUT: `${SESSION_TIMEOUT_MS / 1000}s`,
  };
  // Half a second apart: the stream spans less than the shortest window, so however far the restarts and pauses
  // let one partition run ahead of another, no entity is idle long enough to be evicted (eviction depends on
  // wall-clock timing, which an uninterrupted run cannot reproduce).
  const generated = generateCardTransactions({ seed, events, cards: 150, merchants: 40, meanGapMs: 500, idPrefix: name }).map((x) => x.event as unknown as Record<string, unknown>);
  return { stack, spec, ctx, env, events: generated };
}

/**
 * Publishes events[from, to) in chunks over time, so the stream is live while processes come and go: to P.events as
 * ingestion would (keyed by card), or to P.events.raw with a few events of the previous chunk re-sent, as a
 * producer retrying would.
 */
async function publishInChunks(s: Scenario, chunk: number, pauseMs: number, range: [number, number] = [0, s.events.length], to: 'events' | 'raw' = 'events'): Promise<void> {
  const topic = to === 'events' ? s.ctx.topics.events : s.ctx.topics.raw;
  const producer = s.stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = range[0]; i < range[1]; i += chunk) {
      const resent = to === 'raw' && i > 0 ? s.events.slice(i - 10, i) : [];
      const messages = await Promise.all([...s.events.slice(i, Math.min(i + chunk, range[1])), ...resent].map(async (e) => ({
        key: String(e.card_id),
        value: await s.stack.serde.encode(`${topic}-value`, s.ctx.eventType, e),
      })));
      await producer.send({ topic, messages, acks: -1 });
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Runs `target` in a process that is SIGKILLed three times while it works, then a last one that finishes. Each
 * incarnation gets a quarter of the events as it starts, and is killed once it has committed some of them.
 */
async function killRepeatedly(s: Scenario, target: string, to: 'events' | 'raw', committed: () => Promise<number>, processes: ServiceProcess[]): Promise<void> {
  const quarter = Math.ceil(s.events.length / 4);
  for (let kill = 1; kill <= 3; kill++) {
    const p = startServiceProcess(`${target}#${kill}`, target, s.env);
    processes.push(p);
    const before = await committed();
    const publishing = publishInChunks(s, 50, 100, [(kill - 1) * quarter, kill * quarter], to);
    await eventually(async () => ((await committed()) > before ? true : undefined), `progress of ${p.name}\n${p.output()}`, 90_000);
    await sleep(200 + kill * 150);
    p.signal('SIGKILL');
    await p.exited;
    await publishing;
  }
  processes.push(startServiceProcess(`${target}#final`, target, s.env));
  await publishInChunks(s, 50, 100, [3 * quarter, s.events.length], to);
}

/**
 * What one uninterrupted run computes: each feature stage's input partitions in offset order through fresh
 * computers, stage 0 over P.events and each further stage over its committed repartition topic (whose order
 * is one valid interleaving of the stage before), with the aggregates of earlier stages from this reference.
 */
async function uninterruptedVectors(s: Scenario): Promise<Map<string, Record<string, number>>> {
  let partials = new Map<string, Record<string, number>>();
  let vectors = new Map<string, Record<string, number>>();
  for (const stage of featureStages(s.spec)) {
    const input = featureStageTopics(s.ctx.topics, stage).input;
    const byPartition = new Map<number, Buffer[]>();
    await readTopicToEnd(s.stack.kafka, input, (r) => {
      if (!r.value) return;
      if (!byPartition.has(r.partition)) byPartition.set(r.partition, []);
      byPartition.get(r.partition)!.push(r.value);
    });
    const nextPartials = new Map<string, Record<string, number>>();
    vectors = new Map();
    for (const values of byPartition.values()) {
      const computer = new FeatureComputer(s.spec, { entities: stage.entities });
      for (const bytes of values) {
        let eventBytes = bytes;
        if (stage.index > 0) eventBytes = ((await s.stack.serde.decode(bytes, s.stack.runtime.types.featurePartial)).value as { event: Buffer }).event;
        const event = (await s.stack.serde.decode(eventBytes, s.ctx.eventType)).value as Record<string, unknown>;
        const id = String(event[s.spec.events.idField]);
        assert.ok(!vectors.has(id), `event ${id} appears twice on ${input}`);
        const before = partials.get(id) ?? {};
        const computed = computer.compute(event, before).values;
        vectors.set(id, computed);
        nextPartials.set(id, { ...before, ...Object.fromEntries(computer.ownedAggregates().map((n) => [n, computed[n]])) });
      }
    }
    assert.equal(vectors.size, s.events.length, `every event once on ${input}`);
    partials = nextPartials;
  }
  return vectors;
}

async function featureCount(s: Scenario): Promise<number> {
  let n = 0;
  await readTopicToEnd(s.stack.kafka, s.ctx.topics.features, () => void n++);
  return n;
}

async function assertExactlyOnce(s: Scenario, processes: ServiceProcess[]): Promise<void> {
  const why = () => outputOf(processes);
  await eventually(async () => ((await featureCount(s)) >= s.events.length ? true : undefined), `${s.events.length} feature vectors\n${why()}`, 120_000);
  // A little longer: a duplicate committed late would show up now.
  await new Promise((r) => setTimeout(r, 2000));
  const vectors = await readAll<FeatureVectorRecord>(s.stack.kafka, s.stack.serde, s.ctx.topics.features);
  const ids = vectors.map((v) => v.value.event_id);
  const distinct = new Set(ids);
  assert.equal(distinct.size, s.events.length, `one vector per event id (${distinct.size} distinct of ${s.events.length})`);
  assert.equal(ids.length, s.events.length, `no duplicate vectors (${ids.length - distinct.size} duplicates)\n${why()}`);
  const expected = await uninterruptedVectors(s);
  let differing = 0;
  let example = '';
  for (const v of vectors) {
    const want = expected.get(v.value.event_id);
    assert.ok(want, `vector for unknown event ${v.value.event_id}`);
    for (const [name, x] of Object.entries(want)) {
      const got = v.value.values[name];
      if (!(Object.is(got, x) || (Number.isNaN(got) && Number.isNaN(x)))) {
        differing++;
        example ||= `${v.value.event_id} ${name}: got ${got}, uninterrupted run computed ${x}`;
        break;
      }
    }
  }
  assert.equal(differing, 0, `vectors equal to an uninterrupted run; first difference: ${example}`);
}

async function stopAll(processes: ServiceProcess[]): Promise<void> {
  for (const p of processes) {
    p.signal('SIGCONT');
    p.signal('SIGTERM');
  }
  await Promise.all(processes.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))])));
  for (const p of processes) p.signal('SIGKILL');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a scenario's body with its processes stopped and its stack closed afterwards, whatever happens. */
async function withScenario(events: number, seed: number, body: (s: Scenario, processes: ServiceProcess[]) => Promise<void>): Promise<void> {
  const s = await scenario(events, seed);
  const processes: ServiceProcess[] = [];
  try {
    await body(s, processes);
  } finally {
    await stopAll(processes);
    await s.stack.close();
  }
}

/** Two features instances in one group, the stream being published, and the first `vectors` vectors committed. */
async function startPair(s: Scenario, processes: ServiceProcess[], vectors: number): Promise<{ a: ServiceProcess; b: ServiceProcess; publishing: Promise<void> }> {
  const a = startServiceProcess('features-a', 'features', s.env);
  const b = startServiceProcess('features-b', 'features', s.env);
  processes.push(a, b);
  const publishing = publishInChunks(s, 100, 200);
  await eventually(async () => ((await featureCount(s)) > vectors ? true : undefined), `first vectors\n${a.output()}\n${b.output()}`, 90_000);
  return { a, b, publishing };
}

test('features survive SIGKILL mid-stream: one vector per event, equal to an uninterrupted run', { skip, timeout: 300_000 }, () =>
  withScenario(4000, 41, async (s, processes) => {
    await killRepeatedly(s, 'features', 'events', () => featureCount(s), processes);
    await assertExactlyOnce(s, processes);
  }));

test('features paused past the session timeout (SIGSTOP) and resumed produce no duplicate', { skip, timeout: 300_000 }, () =>
  withScenario(3000, 42, async (s, processes) => {
    const { a, b, publishing } = await startPair(s, processes, 200);
    // A pauses mid-stream; after its session times out, B owns every partition and carries on.
    a.signal('SIGSTOP');
    const paused = await featureCount(s);
    await sleep(SESSION_TIMEOUT_MS + 4000);
    await eventually(async () => ((await featureCount(s)) > paused ? true : undefined), `B taking over\n${b.output()}`, 60_000);
    // A wakes up believing it still owns its partitions: its stale work must be fenced, not committed.
    a.signal('SIGCONT');
    await publishing;
    await assertExactlyOnce(s, processes);
  }));

test('features scale out and in: a third instance joins, one leaves, nothing lost or doubled', { skip, timeout: 300_000 }, () =>
  withScenario(3000, 43, async (s, processes) => {
    const { b, publishing } = await startPair(s, processes, 300);
    processes.push(startServiceProcess('features-c', 'features', s.env));
    await sleep(4000);
    // B leaves cleanly (SIGTERM: it commits or aborts its open batch and leaves the group).
    b.signal('SIGTERM');
    await b.exited;
    await publishing;
    await assertExactlyOnce(s, processes);
  }));

test('ingestion survives SIGKILL mid-stream: each event once on P.events, re-sent duplicates still dropped after restarts', { skip, timeout: 300_000 }, () =>
  withScenario(3000, 44, async (s, processes) => {
    const eventsOnTopic = async () => {
      let n = 0;
      await readTopicToEnd(s.stack.kafka, s.ctx.topics.events, () => void n++);
      return n;
    };
    await killRepeatedly(s, 'ingestion', 'raw', eventsOnTopic, processes);
    await eventually(async () => ((await eventsOnTopic()) >= s.events.length ? true : undefined), `every event on P.events\n${processes.map((p) => p.output()).join('\n')}`, 120_000);
    await sleep(2000);
    const ids: string[] = [];
    await readTopicToEnd(s.stack.kafka, s.ctx.topics.events, async (r) => {
      const { value } = await s.stack.serde.decode(r.value!, s.ctx.eventType);
      ids.push(String((value as Record<string, unknown>)[s.spec.events.idField]));
    });
    assert.equal(new Set(ids).size, s.events.length, 'every event accepted');
    assert.equal(ids.length, s.events.length, `no event twice on P.events (${ids.length - new Set(ids).size} duplicates)`);
  }));
