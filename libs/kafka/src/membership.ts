// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import { AssignerProtocol, PartitionAssigners, type Admin, type GroupDescription, type Kafka, type PartitionAssigner } from 'kafkajs';

/**
 * Group membership that tells who owns what, as Kafka Streams' `application.server` does: each member of a consumer
 * group puts the HTTP address it answers on into its group protocol metadata (the subscription's userData), and anyone
 * who describes the group (DescribeGroups) reads, per partition, the member it is assigned to and that member's
 * address. kafkajs drops the userData of the assignment a member receives, so the map is read from the group's
 * description rather than carried in the assignment as Kafka Streams does.
 */

/** The protocol name of the advertising assignor (assignment as kafkajs' round robin; only the metadata differs). */
export const ADVERTISING_ASSIGNER = 'StreamloopAdvertisingRoundRobin';

const ADVERTISEMENT_VERSION = 1;

/** The userData of a member's subscription: its advertised HTTP address (JSON, versioned). */
export function encodeAdvertisement(url: string | undefined): Buffer {
  return url === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify({ v: ADVERTISEMENT_VERSION, url }), 'utf8');
}

/** The address in a subscription's userData; undefined for none, for another format or for bytes that do not parse. */
export function decodeAdvertisement(userData: Buffer | null | undefined): string | undefined {
  if (!userData || userData.length === 0) return undefined;
  try {
    const parsed = JSON.parse(userData.toString('utf8')) as { v?: unknown; url?: unknown };
    return parsed.v === ADVERTISEMENT_VERSION && typeof parsed.url === 'string' && parsed.url !== '' ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * kafkajs' round-robin assignment under a protocol of its own whose metadata carries `advertised()` (read at every
 * join, so an address known only once HTTP listens is sent from then on). Give it first, then kafkajs' round robin:
 * the group agrees on a protocol every member supports, so members of an older version still join (unadvertised).
 */
export function advertisingAssigner(advertised: () => string | undefined): PartitionAssigner {
  return (config) => {
    const roundRobin = PartitionAssigners.roundRobin(config);
    return {
      name: ADVERTISING_ASSIGNER,
      version: roundRobin.version,
      assign: (group) => roundRobin.assign(group),
      protocol: ({ topics }) => ({
        name: ADVERTISING_ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: roundRobin.version, topics, userData: encodeAdvertisement(advertised()) }),
      }),
    };
  };
}

/** The consumer's partition assigners for a member that advertises `advertised`. */
export function advertisingAssigners(advertised: () => string | undefined): PartitionAssigner[] {
  return [advertisingAssigner(advertised), PartitionAssigners.roundRobin];
}

/** The member a partition is assigned to. */
export interface PartitionOwner {
  memberId: string;
  clientHost: string;
  /** Its advertised HTTP address; undefined when it advertises none (not serving HTTP, or an older version). */
  url?: string;
}

/** One topic's partitions by owner, as a consumer group's description says. */
export interface GroupOwners {
  groupId: string;
  /** The group's state: `Stable` when the assignment below is the current one; during a rebalance it is empty. */
  state: string;
  /** partition → owner; a partition missing here has no owner now. */
  owners: Map<number, PartitionOwner>;
}

/** Reads a group's description: which member owns each partition of `topic`, with the address it advertises. */
export function ownersFromDescription(description: GroupDescription, topic: string): GroupOwners {
  const owners = new Map<number, PartitionOwner>();
  for (const member of description.members) {
    let assignment: Record<string, number[]> | undefined;
    let userData: Buffer | undefined;
    try {
      assignment = member.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment : undefined;
      userData = member.memberMetadata.length > 0 ? AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData : undefined;
    } catch {
      // A member of another protocol type (not a consumer): it owns nothing we know of.
      continue;
    }
    const url = decodeAdvertisement(userData);
    for (const partition of assignment?.[topic] ?? []) {
      owners.set(partition, { memberId: member.memberId, clientHost: member.clientHost, ...(url !== undefined ? { url } : {}) });
    }
  }
  return { groupId: description.groupId, state: description.state, owners };
}

/**
 * Who owns each partition of a consumer group's topic, read with DescribeGroups through one admin client and kept for
 * `ttlMs` (a lookup costs a round trip to the group coordinator; a rebalance is seen within that time).
 */
export class GroupDirectory {
  private admin: Promise<Admin> | undefined;
  private client: Admin | undefined;
  private readonly cache = new Map<string, { at: number; owners: Promise<GroupOwners> }>();

  constructor(private readonly kafka: Kafka, private readonly options: { ttlMs?: number; timeoutMs?: number } = {}) {}

  /** The owners of `topic`'s partitions in `groupId` (at most ttlMs old); fails when the group cannot be described in time. */
  owners(groupId: string, topic: string): Promise<GroupOwners> {
    const key = `${groupId}\u0000${topic}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < (this.options.ttlMs ?? 1000)) return hit.owners;
    const owners = this.describe(groupId, topic);
    this.cache.set(key, { at: Date.now(), owners });
    // A failed lookup is not kept.
    owners.catch(() => {
      if (this.cache.get(key)?.owners === owners) this.cache.delete(key);
    });
    return owners;
  }

  /** Forgets every cached description (after a rebalance this process took part in). */
  invalidate(): void {
    this.cache.clear();
  }

  async close(): Promise<void> {
    const client = this.client;
    this.admin = undefined;
    this.client = undefined;
    this.cache.clear();
    // Not waiting for a connect still under way (a broker that is away): disconnecting ends it.
    await client?.disconnect().catch(() => undefined);
  }

  private async describe(groupId: string, topic: string): Promise<GroupOwners> {
    const timeoutMs = this.options.timeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no description of consumer group ${groupId} from Kafka within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([timeout, (async () => {
        const admin = await this.connect();
        const { groups } = await admin.describeGroups([groupId]);
        const description = groups.find((g) => g.groupId === groupId);
        if (!description) throw new Error(`consumer group ${groupId}: no description returned`);
        return ownersFromDescription(description, topic);
      })()]);
    } finally {
      clearTimeout(timer);
    }
  }

  private connect(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: { retries: 1, initialRetryTime: 100 } });
      this.client = admin;
      this.admin = admin.connect().then(() => admin);
      this.admin.catch(() => { this.admin = undefined; });
    }
    return this.admin;
  }
}
