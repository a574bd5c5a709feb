// REST predict across instances (issue 12 item 7): two `streamloop start --target features,inference` processes share
// the feature stages' consumer groups, each advertising its HTTP address in its group metadata. Events stream in so
// both hold entity state; then REST predict of events owned by each instance, sent to both, must be answered from the
// owner's state (forwarded, with a header naming the owner), the same answer the owner gives directly, and the feature
// vector the stream computes for that event; an event whose card and merchant state live on different instances, and
// an event whose owner was killed (before the rebalance moves its partitions), get 503 OWNER_UNAVAILABLE naming why;
// after the rebalance the survivor answers for them from the state it restored.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { featureStageTopics, loadPipelineSpec } from '@streamloop/config';
import { featureStages } from '@streamloop/features';
import { GroupDirectory, partitionForKey } from '@streamloop/kafka';
import { ANSWERED_BY_HEADER, type FeatureVectorRecord } from '@streamloop/runtime';
import { streamGroupId } from '@streamloop/stream';
import { generateCardTransactions } from '@streamloop/testing';
import { servedVersion, startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const FEATURES = ['card_txn_count_24h', 'card_amount_mean_24h', 'merchant_txn_count_1h', 'log_amount'];

interface Answer {
  status: number;
  answeredBy: string | null;
  body: { score?: number; model_version?: number; features?: Record<string, number | null>; error?: { code: string; message: string; details?: { reason?: string } } };
}

async function predict(api: string, pipeline: string, event: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(`${api}/v1/pipelines/${pipeline}/predict`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event }), signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, answeredBy: res.headers.get(ANSWERED_BY_HEADER), body: await res.json() as Answer['body'] };
}

test('REST predict is answered from the state of the instance that owns the entity, whichever instance it is sent to; 503 where none can', { skip, timeout: 300_000 }, async (t: TestContext) => {
  const name = uniqueName('route');
  const specFile = writeSpecFile(name);
  const spec = loadPipelineSpec(specFile);
  const stack = await startStack(brokers!, [spec], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  const directory = new GroupDirectory(stack.kafka, { ttlMs: 0 });
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await publishModel(stack, name, championRecord(name, 'route-model', 1, trainTestModel(FEATURES, 7)));
    const a = await startPlatform(stack, brokers!, specFile, 'features,inference');
    processes.push(a.service);
    const b = await startPlatform(stack, brokers!, specFile, 'features,inference');
    processes.push(b.service);
    for (const { api } of [a, b]) await eventually(async () => ((await servedVersion(api, name)) === 1 ? true : undefined), `${api} serving v1\n${why()}`, 60_000);

    // --- Both instances are members of both feature stages' groups (card_id, then merchant_id behind its repartition
    // topic), each partition owned by one of them, each owner advertising its HTTP address.
    const stages = featureStages(spec).map((s) => {
      const topic = featureStageTopics(ctx.topics, s).input;
      return { ...s, topic, groupId: streamGroupId('features', topic) };
    });
    assert.deepEqual(stages.map((s) => s.field), ['card_id', 'merchant_id']);
    const owners = await eventually(async () => {
      const maps = await Promise.all(stages.map((s) => directory.owners(s.groupId, s.topic)));
      const complete = maps.every((m) => m.state === 'Stable' && m.owners.size === spec.events.partitions
        && new Set([...m.owners.values()].map((o) => o.url)).size === 2 && [...m.owners.values()].every((o) => o.url === a.api || o.url === b.api));
      return complete ? maps.map((m) => new Map([...m.owners].map(([p, o]) => [p, o.url!]))) : undefined;
    }, `both instances in both feature stages' groups, advertising their addresses\n${why()}`, 90_000);
    t.diagnostic(`owners: ${stages.map((s, i) => `${s.field}: ${[...owners[i]].map(([p, u]) => `${p}→${u === a.api ? 'A' : 'B'}`).join(' ')}`).join('; ')}`);

    // --- A producer app streams events: every partition of both stages gets records, so both instances hold state.
    const events = generateCardTransactions({ seed: 11, events: 90, cards: 12, merchants: 6, idPrefix: name }).map((x) => x.event);
    const messages = await Promise.all(events.map(async (e) => ({ key: String(e.card_id), value: await stack.serde.encode(`${ctx.topics.events}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.events, acks: -1, messages });
    await eventually(async () => {
      const vectors = await readAll<FeatureVectorRecord>(stack.kafka, stack.serde, ctx.topics.features);
      return vectors.length >= events.length ? true : undefined;
    }, `a feature vector for each of ${events.length} events\n${why()}`, 90_000);

    // --- Probes: new events of known cards and merchants, later than every event. For each instance, one whose card
    // and merchant partitions it owns both; and one whose card is on one instance and merchant on the other.
    const ownerOf = (stage: number, key: string) => owners[stage].get(partitionForKey(key, spec.events.partitions))!;
    const cards = [...new Set(events.map((e) => String(e.card_id)))];
    const merchants = [...new Set(events.map((e) => String(e.merchant_id)))];
    const last = events.at(-1)!;
    const lastTime = Math.max(...events.map((e) => Number(e.event_time)));
    const probe = (i: number, card: string, merchant: string) => ({ ...last, transaction_id: `${name}-probe-${i}`, event_time: lastTime + 60_000 + i, card_id: card, merchant_id: merchant });
    const pick = (cardOwner: string, merchantOwner: string) => {
      for (const card of cards) {
        for (const merchant of merchants) if (ownerOf(0, card) === cardOwner && ownerOf(1, merchant) === merchantOwner) return { card, merchant };
      }
      return undefined;
    };
    const onA = pick(a.api, a.api);
    const onB = pick(b.api, b.api);
    const split = pick(a.api, b.api) ?? pick(b.api, a.api);
    assert.ok(onA && onB && split, `entities owned by A, by B and split (owners ${JSON.stringify(owners.map((m) => [...m]))})`);
    const probes = [probe(0, onA.card, onA.merchant), probe(1, onB.card, onB.merchant)];
    const splitProbe = probe(2, split.card, split.merchant);

    // --- Each probe sent to both instances: the owner answers, directly or forwarded, with the same vector and score.
    const answers: Answer[] = [];
    for (const [i, event] of probes.entries()) {
      const owner = i === 0 ? a.api : b.api;
      const other = i === 0 ? b.api : a.api;
      const direct = await predict(owner, name, event);
      const forwarded = await predict(other, name, event);
      assert.equal(direct.status, 200, JSON.stringify(direct.body));
      assert.equal(forwarded.status, 200, `${other} forwarding to ${owner}: ${JSON.stringify(forwarded.body)}`);
      assert.equal(direct.answeredBy, owner, 'the owner answers itself');
      assert.equal(forwarded.answeredBy, owner, 'the forwarded answer names the owner');
      assert.deepEqual(forwarded.body, direct.body, 'the same answer from the owner directly and forwarded');
      // History, not a new entity's zeros: the card's and the merchant's earlier events count.
      const history = events.filter((e) => e.card_id === event.card_id).length;
      assert.ok(history > 0 && (direct.body.features!.card_txn_count_24h ?? 0) > 0, `card ${event.card_id} has history: ${JSON.stringify(direct.body.features)}`);
      assert.ok((direct.body.features!.merchant_txn_count_1h ?? 0) > 0, `merchant ${event.merchant_id} has history: ${JSON.stringify(direct.body.features)}`);
      answers.push(direct);
    }

    // --- Split state: neither instance holds the whole vector; both say so (503), neither answers without history.
    for (const api of [a.api, b.api]) {
      const refused = await predict(api, name, splitProbe);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error?.code, 'OWNER_UNAVAILABLE');
      assert.equal(refused.body.error?.details?.reason, 'state_split');
      assert.match(refused.body.error!.message, /split across instances/);
    }

    // --- The stream computes the same vectors for the probes (REST predict changed no state).
    const probeMessages = await Promise.all(probes.map(async (e) => ({ key: String(e.card_id), value: await stack.serde.encode(`${ctx.topics.events}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.events, acks: -1, messages: probeMessages });
    const streamed = await eventually(async () => {
      const vectors = (await readAll<FeatureVectorRecord>(stack.kafka, stack.serde, ctx.topics.features)).map((r) => r.value);
      const found = probes.map((p) => vectors.find((v) => v.event_id === p.transaction_id));
      return found.every(Boolean) ? found as FeatureVectorRecord[] : undefined;
    }, `the stream's vectors of the probes\n${why()}`, 60_000);
    for (const [i, vector] of streamed.entries()) {
      const rest = answers[i].body.features!;
      for (const [feature, value] of Object.entries(vector.values)) {
        if (Number.isNaN(value)) assert.equal(rest[feature], null, `${feature} of probe ${i}: missing in both`);
        else assert.ok(Math.abs(value - (rest[feature] as number)) < 1e-9, `${feature} of probe ${i}: stream ${value}, REST ${rest[feature]}`);
      }
    }

    // --- B is killed: until the group's session timeout moves its partitions, a request for B's entities sent to A
    // cannot be answered by anyone, and A says so (503) instead of answering from a state without their history.
    b.service.signal('SIGKILL');
    await b.service.exited;
    const orphan = await predict(a.api, name, probes[1]);
    assert.equal(orphan.status, 503, JSON.stringify(orphan.body));
    assert.equal(orphan.body.error?.code, 'OWNER_UNAVAILABLE');
    assert.equal(orphan.body.error?.details?.reason, 'unreachable');
    assert.match(orphan.body.error!.message, new RegExp(`${b.api.replace(/[.:/]/g, '\\$&')}, could not be reached`));
    // A's own entities are still answered.
    const still = await predict(a.api, name, probes[0]);
    assert.equal(still.status, 200, JSON.stringify(still.body));

    // Once the session times out, A owns every partition; it answers for B's entities as soon as it has rebuilt their
    // state from the changelog (with the partitions' next records), with their history.
    await eventually(async () => {
      const maps = await Promise.all(stages.map((s) => directory.owners(s.groupId, s.topic)));
      return maps.every((m) => m.state === 'Stable' && m.owners.size === spec.events.partitions && [...m.owners.values()].every((o) => o.url === a.api)) ? true : undefined;
    }, `A owning every partition after B's session expired\n${why()}`, 60_000);
    const next = probe(3, onB.card, onB.merchant);
    const nextMessage = { key: onB.card, value: await stack.serde.encode(`${ctx.topics.events}-value`, ctx.eventType, next) };
    await producer.send({ topic: ctx.topics.events, acks: -1, messages: [nextMessage] });
    const moved = await eventually(async () => {
      const answer = await predict(a.api, name, probe(4, onB.card, onB.merchant));
      if (answer.status === 503) assert.equal(answer.body.error?.details?.reason, 'state_not_ready', JSON.stringify(answer.body));
      return answer.status === 200 ? answer : undefined;
    }, `A answering for B's former entities\n${why()}`, 60_000);
    assert.equal(moved.answeredBy, a.api);
    assert.ok((moved.body.features!.card_txn_count_24h ?? 0) > (answers[1].body.features!.card_txn_count_24h ?? 0), `the card's history restored and grown: ${JSON.stringify(moved.body.features)}`);
  } finally {
    await directory.close();
    await producer.disconnect();
    await stopProcesses(processes);
    await stack.close();
  }
});
