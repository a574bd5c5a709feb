// REST predict's routing without a broker or a second process: the owner of each stage partition comes from a fake
// group lookup, the forwarded request goes to a fake fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureStageTopics, loadPipelineSpec, topicsFor } from '@streamloop/config';
import { featureStages, FeatureComputer, OwnedFeatureState } from '@streamloop/features';
import type { GroupOwners, PartitionOwner } from '@streamloop/kafka';
import { streamGroupId } from '@streamloop/stream';
import { advertisedUrlOf, ANSWERED_BY_HEADER, FORWARDED_BY_HEADER, PredictRouter, type OwnerLookup, type PredictRouting } from './predict-routing';

const FRAUD = new URL('../../../examples/pipelines/fraud.yaml', import.meta.url).pathname;
const spec = loadPipelineSpec(FRAUD);
const topics = topicsFor(spec);
const pipeline = { spec, topics };
// card_id → stage 0, merchant_id → stage 1; the key's trailing number is its partition (3 partitions).
const partitionOf = (key: string, partitions: number) => Number(/(\d+)$/.exec(key)?.[1] ?? 0) % partitions;
const [cards, merchants] = featureStages(spec);
const cardTopic = featureStageTopics(topics, cards).input;
const merchantTopic = featureStageTopics(topics, merchants).input;
const event = { transaction_id: 't', event_time: Date.UTC(2026, 0, 1), card_id: 'c1', merchant_id: 'm2', amount: 1 };

/** Owners per topic: partition → url (null: a member without an address). */
function lookup(byTopic: Record<string, Record<number, string | null>>, calls: string[] = []): OwnerLookup {
  return {
    owners: async (groupId, topic): Promise<GroupOwners> => {
      calls.push(`${groupId} ${topic}`);
      const owners = new Map<number, PartitionOwner>();
      for (const [p, url] of Object.entries(byTopic[topic] ?? {})) owners.set(Number(p), { memberId: `m-${url}`, clientHost: '/127.0.0.1', ...(url ? { url } : {}) });
      return { groupId, state: owners.size > 0 ? 'Stable' : 'Empty', owners };
    },
  };
}

function fakeFetch(answer: (url: string, init: RequestInit) => Response | Promise<Response>, seen: Array<{ url: string; init: RequestInit }> = []): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), init: init! });
    return answer(String(url), init!);
  }) as typeof fetch;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

test('an event owned elsewhere is forwarded, body as it came, to the owner of its primary entity\'s partition; the answer says who answered', async () => {
  const calls: string[] = [];
  const seen: Array<{ url: string; init: RequestInit }> = [];
  const owners = lookup({ [cardTopic]: { 1: 'http://b:2' }, [merchantTopic]: { 2: 'http://b:2' } }, calls);
  const router = new PredictRouter(() => 'http://a:1', owners, new OwnedFeatureState(partitionOf), {
    fetch: fakeFetch(() => json(200, { score: 0.25, features: { card_txn_count_1h: 4 } }, { [ANSWERED_BY_HEADER]: 'http://b:2' }), seen),
  });
  const routing: PredictRouting = { authorization: 'Bearer slt_caller' };
  const body = { event, explain: true };
  assert.deepEqual(await router.answerElsewhere(pipeline, event, body, routing), { score: 0.25, features: { card_txn_count_1h: 4 } });
  assert.equal(routing.answeredBy, 'http://b:2');
  assert.deepEqual(calls, [`${streamGroupId('features', cardTopic)} ${cardTopic}`, `${streamGroupId('features', merchantTopic)} ${merchantTopic}`]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, `http://b:2/v1/pipelines/${spec.pipeline}/predict`);
  assert.equal(seen[0].init.method, 'POST');
  assert.deepEqual(JSON.parse(String(seen[0].init.body)), body);
  assert.equal((seen[0].init.headers as Record<string, string>)[FORWARDED_BY_HEADER], 'http://a:1');
  assert.equal((seen[0].init.headers as Record<string, string>).authorization, 'Bearer slt_caller', 'the caller\'s own token goes with it');
  assert.ok(seen[0].init.signal, 'a forwarded request has a timeout');
});

async function refusal(router: PredictRouter, routing: PredictRouting = {}): Promise<{ code: string; status: number; message: string; details: { reason: string } & Record<string, unknown> }> {
  try {
    await router.answerElsewhere(pipeline, event, { event }, routing);
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a refusal');
}

test('no owner, an owner without an address, state split across instances, state not rebuilt yet: 503 OWNER_UNAVAILABLE naming why', async () => {
  const owned = new OwnedFeatureState(partitionOf);
  const never = fakeFetch(() => { throw new Error('must not forward'); });
  const make = (byTopic: Record<string, Record<number, string | null>>) => new PredictRouter(() => 'http://a:1', lookup(byTopic), owned, { fetch: never });

  let e = await refusal(make({}));
  assert.deepEqual([e.code, e.status, e.details.reason], ['OWNER_UNAVAILABLE', 503, 'no_owner']);
  assert.match(e.message, new RegExp(`no instance owns partition 1 of stage 0 \\(card_id="c1"\\).*${cardTopic.replace(/\./g, '\\.')}`));

  e = await refusal(make({ [cardTopic]: { 1: null }, [merchantTopic]: { 2: null } }));
  assert.equal(e.details.reason, 'no_address');
  assert.match(e.message, /advertises no HTTP address/);

  e = await refusal(make({ [cardTopic]: { 1: 'http://b:2' }, [merchantTopic]: { 2: 'http://c:3' } }));
  assert.equal(e.details.reason, 'state_split');
  assert.match(e.message, /card_id="c1"\) is on http:\/\/b:2, partition 2 of stage 1 \(merchant_id="m2"\) on http:\/\/c:3/);

  e = await refusal(make({ [cardTopic]: { 1: 'http://b:2' } }));
  assert.equal(e.details.reason, 'no_owner', 'the other stage\'s partition without an owner');
  assert.match(e.message, /merchant_id="m2"/);

  e = await refusal(make({ [cardTopic]: { 1: 'http://a:1' }, [merchantTopic]: { 2: 'http://a:1' } }));
  assert.equal(e.details.reason, 'state_not_ready', 'the group says this instance, its state is not registered yet');

  // A forwarded request is never forwarded again.
  e = await refusal(make({ [cardTopic]: { 1: 'http://b:2' }, [merchantTopic]: { 2: 'http://b:2' } }), { forwardedBy: 'http://c:3' });
  assert.equal(e.details.reason, 'not_owner');
  assert.match(e.message, /http:\/\/c:3 forwarded this request to http:\/\/a:1.*not forwarded again/);

  // Kafka does not describe the group.
  const failing = new PredictRouter(() => 'http://a:1', { owners: async () => { throw new Error('coordinator away'); } }, owned, { fetch: never });
  e = await refusal(failing);
  assert.equal(e.details.reason, 'lookup_failed');
  assert.match(e.message, /coordinator away/);
});

test('an owner that cannot be reached, does not serve predict, or refuses the request', async () => {
  const owned = new OwnedFeatureState(partitionOf);
  const owners = lookup({ [cardTopic]: { 1: 'http://b:2' }, [merchantTopic]: { 2: 'http://b:2' } });
  const make = (answer: (url: string, init: RequestInit) => Response | Promise<Response>, timeoutMs?: number) =>
    new PredictRouter(() => 'http://a:1', owners, owned, { fetch: fakeFetch(answer), ...(timeoutMs ? { timeoutMs } : {}) });

  let e = await refusal(make(() => { throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }); }));
  assert.deepEqual([e.code, e.details.reason], ['OWNER_UNAVAILABLE', 'unreachable']);
  assert.match(e.message, /http:\/\/b:2, could not be reached: ECONNREFUSED/);

  // An owner that never answers (AbortSignal.timeout's timer does not hold the event loop open; this one does).
  e = await refusal(make((_url, init) => new Promise((_, reject) => {
    const keep = setTimeout(() => undefined, 5000);
    init.signal!.addEventListener('abort', () => { clearTimeout(keep); reject(init.signal!.reason); });
  }), 50));
  assert.equal(e.details.reason, 'unreachable');
  assert.match(e.message, /no answer within 50 ms/);

  e = await refusal(make(() => json(404, { error: { code: 'NOT_FOUND', message: 'Cannot POST', status: 404 } })));
  assert.equal(e.details.reason, 'owner_not_serving');

  e = await refusal(make(() => new Response('<html>', { status: 502 })));
  assert.equal(e.details.reason, 'unreachable');

  // The owner's own error passes through with its code (the request's fault stays a 4xx).
  e = await refusal(make(() => json(400, { error: { code: 'INVALID_INPUT', message: 'bad field', status: 400 } })));
  assert.deepEqual([e.code, e.status], ['INVALID_INPUT', 400]);
  assert.match(e.message, /^http:\/\/b:2 \(the owner of the event's feature state\): bad field/);
});

test('the advertised address: the setting, else HOST and the port (the host name for a wildcard HOST)', () => {
  assert.equal(advertisedUrlOf({ advertisedUrl: 'https://predict-3.internal:9443', httpHost: '127.0.0.1' }, 8080), 'https://predict-3.internal:9443');
  assert.equal(advertisedUrlOf({ httpHost: '127.0.0.1' }, 8080), 'http://127.0.0.1:8080');
  assert.match(advertisedUrlOf({ httpHost: '0.0.0.0' }, 8080), /^http:\/\/[^/]+:8080$/);
  assert.doesNotMatch(advertisedUrlOf({ httpHost: '0.0.0.0' }, 8080), /0\.0\.0\.0/);
  assert.equal(advertisedUrlOf({ httpHost: '::1' }, 81), 'http://[::1]:81');
});

test('placement: each stage\'s partition of the event and whether it is held here', () => {
  const owned = new OwnedFeatureState(partitionOf);
  owned.set(spec.pipeline, 0, 1, new FeatureComputer(spec, { entities: cards.entities }));
  assert.deepEqual(owned.placement(spec, event), [
    { stage: 0, field: 'card_id', key: 'c1', partition: 1, owned: true },
    { stage: 1, field: 'merchant_id', key: 'm2', partition: 2, owned: false },
  ]);
});
