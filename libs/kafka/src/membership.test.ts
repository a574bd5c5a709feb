// Group membership that tells who owns what (REST predict's routing), without a broker: the advertisement in a
// member's subscription metadata, the assignor that sends it, and the partition → owner map read from a group's
// description.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssignerProtocol, type Cluster, type GroupDescription, type Logger } from 'kafkajs';
import { ADVERTISING_ASSIGNER, advertisingAssigner, advertisingAssigners, decodeAdvertisement, encodeAdvertisement, GroupDirectory, ownersFromDescription } from './membership';

test('an advertisement round-trips; nothing, another format or garbage reads as no address', () => {
  assert.equal(decodeAdvertisement(encodeAdvertisement('http://10.0.0.7:8080')), 'http://10.0.0.7:8080');
  assert.equal(encodeAdvertisement(undefined).length, 0);
  assert.equal(decodeAdvertisement(Buffer.alloc(0)), undefined);
  assert.equal(decodeAdvertisement(null), undefined);
  assert.equal(decodeAdvertisement(Buffer.from('not json')), undefined);
  assert.equal(decodeAdvertisement(Buffer.from(JSON.stringify({ v: 2, url: 'http://x:1' }))), undefined, 'a later version is not guessed at');
  assert.equal(decodeAdvertisement(Buffer.from(JSON.stringify({ v: 1, url: '' }))), undefined);
});

const cluster = (partitions: number) => ({
  findTopicPartitionMetadata: () => Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })),
}) as unknown as Cluster;
const logger = {} as Logger;

test('the advertising assignor sends the address read at each join, and assigns as kafkajs\' round robin', async () => {
  const address: { url?: string } = {};
  const assigner = advertisingAssigner(() => address.url)({ cluster: cluster(3), groupId: 'g', logger });
  assert.equal(assigner.name, ADVERTISING_ASSIGNER);
  const before = AssignerProtocol.MemberMetadata.decode(assigner.protocol({ topics: ['t'] }).metadata)!;
  assert.deepEqual(before.topics, ['t']);
  assert.equal(decodeAdvertisement(before.userData), undefined, 'nothing advertised before the address is known');
  address.url = 'http://a:1';
  const protocol = assigner.protocol({ topics: ['t'] });
  assert.equal(protocol.name, ADVERTISING_ASSIGNER);
  assert.equal(decodeAdvertisement(AssignerProtocol.MemberMetadata.decode(protocol.metadata)!.userData), 'http://a:1');

  const members = [{ memberId: 'm-b', memberMetadata: protocol.metadata }, { memberId: 'm-a', memberMetadata: protocol.metadata }];
  const assignment = await assigner.assign({ members, topics: ['t'] });
  const byMember = Object.fromEntries(assignment.map((a) => [a.memberId, AssignerProtocol.MemberAssignment.decode(a.memberAssignment)!.assignment]));
  assert.deepEqual(byMember, { 'm-a': { t: [0, 2] }, 'm-b': { t: [1] } });
  // Old members (kafkajs' round robin only) can still join a group of new ones: the plain protocol comes second.
  assert.deepEqual(advertisingAssigners(() => address.url).map((f) => f({ cluster: cluster(1), groupId: 'g', logger }).name), [ADVERTISING_ASSIGNER, 'RoundRobinAssigner']);
});

function member(memberId: string, url: string | undefined, partitions: number[], clientHost = '/10.0.0.1'): GroupDescription['members'][number] {
  return {
    memberId, clientId: 'c', clientHost,
    memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['t'], userData: encodeAdvertisement(url) }),
    memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { t: partitions, other: [5] }, userData: Buffer.alloc(0) }),
  };
}

test('a group description gives each partition of the topic its owner and the owner\'s address', () => {
  const description: GroupDescription = {
    groupId: 'g', protocol: ADVERTISING_ASSIGNER, protocolType: 'consumer', state: 'Stable',
    members: [member('m-a', 'http://a:1', [0, 2]), member('m-b', undefined, [1], '/10.0.0.2')],
  };
  const { groupId, state, owners } = ownersFromDescription(description, 't');
  assert.equal(groupId, 'g');
  assert.equal(state, 'Stable');
  assert.deepEqual([...owners.entries()].sort(([a], [b]) => a - b), [
    [0, { memberId: 'm-a', clientHost: '/10.0.0.1', url: 'http://a:1' }],
    [1, { memberId: 'm-b', clientHost: '/10.0.0.2' }],
    [2, { memberId: 'm-a', clientHost: '/10.0.0.1', url: 'http://a:1' }],
  ]);
  assert.equal(ownersFromDescription(description, 'nope').owners.size, 0);
  // During a rebalance members have no assignment yet: no partition has an owner.
  const rebalancing: GroupDescription = {
    ...description, state: 'CompletingRebalance',
    members: description.members.map((m) => ({ ...m, memberAssignment: Buffer.alloc(0) })),
  };
  assert.equal(ownersFromDescription(rebalancing, 't').owners.size, 0);
  // A member whose bytes are not the consumer protocol's owns nothing rather than breaking the lookup.
  const odd: GroupDescription = { ...description, members: [{ ...description.members[0], memberAssignment: Buffer.from([0, 0, 255, 255, 255]) }, description.members[1]] };
  assert.deepEqual([...ownersFromDescription(odd, 't').owners.keys()], [1]);
});

test('the directory keeps a description for its ttl, forgets it on invalidate, and does not keep a failure', async () => {
  let calls = 0;
  let fail = false;
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    describeGroups: async (ids: string[]) => {
      calls++;
      if (fail) throw new Error('coordinator away');
      return { groups: ids.map((groupId) => ({ groupId, protocol: ADVERTISING_ASSIGNER, protocolType: 'consumer', state: 'Stable', members: [member('m-a', 'http://a:1', [0])] })) };
    },
  };
  const directory = new GroupDirectory({ admin: () => admin } as never, { ttlMs: 60_000 });
  assert.equal((await directory.owners('g', 't')).owners.get(0)?.url, 'http://a:1');
  await directory.owners('g', 't');
  assert.equal(calls, 1, 'cached');
  directory.invalidate();
  fail = true;
  await assert.rejects(directory.owners('g', 't'), /coordinator away/);
  fail = false;
  assert.equal((await directory.owners('g', 't')).owners.size, 1);
  assert.equal(calls, 3, 'a failed lookup is not cached');
  await directory.close();
});
