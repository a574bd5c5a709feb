import { hostname } from 'node:os';
import { createServer } from 'node:net';
import { featureStageTopics, type PipelineSpec, type PipelineTopics } from '@streamloop/config';
import { isErrorCode, PlatformError } from '@streamloop/errors';
import type { OwnedFeatureState, StagePlacement } from '@streamloop/features';
import type { GroupOwners, PartitionOwner } from '@streamloop/kafka';
import { streamGroupId } from '@streamloop/stream';

/** On a REST predict request one instance forwarded to another: the sender's address. A forwarded request is never forwarded again. */
export const FORWARDED_BY_HEADER = 'streamloop-forwarded-by';
/** On a REST predict answer: the advertised address of the instance whose feature state answered. */
export const ANSWERED_BY_HEADER = 'streamloop-answered-by';
/** How long a forwarded REST predict waits for the owner (its own answer takes milliseconds). */
export const PREDICT_FORWARD_TIMEOUT_MS = 1000;
/** The stage name of the feature stages' stream handlers (their consumer groups are `streamloop-features-<input topic>`). */
export const FEATURES_STAGE = 'features';

/** Why no instance could answer from the event's feature state (OWNER_UNAVAILABLE's `details.reason`). */
export type OwnerUnavailableReason =
  /** The group's description could not be read from Kafka. */
  | 'lookup_failed'
  /** No member of the stage's consumer group owns the partition: no features instance runs, or a rebalance is under way. */
  | 'no_owner'
  /** The owner advertises no HTTP address (it serves no HTTP, or is of a version that does not advertise). */
  | 'no_address'
  /** The stages of a multi-stage pipeline keep the event's entities on different instances: no one has the whole vector. */
  | 'state_split'
  /** This instance owns the partition but has not rebuilt its state since the last rebalance (it does with the next batch). */
  | 'state_not_ready'
  /** A forwarded request reached an instance that does not own the state (a rebalance moved it meanwhile). */
  | 'not_owner'
  /** The owner did not answer in time, refused the connection, or answered with something that is not the platform's JSON. */
  | 'unreachable'
  /** The owner answered that it does not serve REST predict for the pipeline (its inference target runs elsewhere). */
  | 'owner_not_serving';

export class OwnerUnavailableError extends PlatformError {
  constructor(readonly reason: OwnerUnavailableReason, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('OWNER_UNAVAILABLE', message, { details: { reason, ...details }, cause });
  }
}

/** What the controller and the service know of a request's route: who forwarded it here, who answered it. */
export interface PredictRouting {
  /** The FORWARDED_BY_HEADER of the request, when another instance forwarded it. */
  forwardedBy?: string;
  /** Set when another instance answered (its advertised address). */
  answeredBy?: string;
  /**
   * The caller's Authorization header, sent on with a forwarded request: the owner checks the caller's own token (no
   * instance lends its rights to another's callers).
   */
  authorization?: string;
}

/** Who owns each partition of a consumer group's topic (libs/kafka's GroupDirectory). */
export interface OwnerLookup {
  owners(groupId: string, topic: string): Promise<GroupOwners>;
}

/** One stage's state placement with its owner per the stage's consumer group. */
interface StageOwner extends StagePlacement {
  topic: string;
  groupId: string;
  groupState: string;
  owner?: PartitionOwner;
}

/**
 * REST predict across instances, as Kafka Streams' interactive queries: each instance advertises its HTTP address in
 * the feature stages' consumer groups (STREAMLOOP_ADVERTISED_URL); a predict request with an event whose feature state
 * this process does not hold is forwarded to the instance that owns the partition of the event's primary entity
 * (stage 0) and answered with its answer, or refused with OWNER_UNAVAILABLE naming why no one can answer — never
 * answered from a state without the entities' history.
 *
 * Pipelines whose aggregates are keyed by several fields have a stage per field, each with its own consumer group and
 * assignment: the owner of the primary entity's partition answers only when it also owns the other stages' partitions
 * of the event; otherwise the answer is OWNER_UNAVAILABLE with reason `state_split`, naming where each part is.
 */
export class PredictRouter {
  constructor(
    private readonly advertised: () => string | undefined,
    private readonly directory: OwnerLookup,
    private readonly state: OwnedFeatureState,
    private readonly options: { timeoutMs?: number; fetch?: typeof fetch } = {},
  ) {}

  /** This instance's advertised address (undefined before HTTP listens, or without HTTP). */
  get self(): string | undefined {
    return this.advertised();
  }

  /**
   * The answer to a REST predict request of `event`, whose feature state this process does not (entirely) hold, from
   * the instance that does; `body` is sent as it came. Throws OWNER_UNAVAILABLE (503) where no one can answer, or the
   * owner's own error (e.g. 400 INVALID_INPUT).
   */
  async answerElsewhere(pipeline: { spec: PipelineSpec; topics: PipelineTopics }, event: Record<string, unknown>, body: unknown, routing: PredictRouting): Promise<unknown> {
    const { spec } = pipeline;
    const placements = this.state.placement(spec, event);
    const where = (p: StagePlacement) => `partition ${p.partition} of stage ${p.stage} (${p.field}=${JSON.stringify(p.key)})`;
    if (routing.forwardedBy !== undefined) {
      const missing = placements.filter((p) => !p.owned);
      throw new OwnerUnavailableError('not_owner',
        `pipeline ${spec.pipeline}: ${routing.forwardedBy} forwarded this request to ${this.self ?? 'this instance'}, which does not hold the feature state of ${missing.map(where).join(', ')} (a rebalance moved it); a forwarded request is not forwarded again`,
        { forwarded_by: routing.forwardedBy, partitions: missing.map((p) => ({ stage: p.stage, field: p.field, partition: p.partition })) });
    }
    const stages: StageOwner[] = [];
    for (const placement of placements) {
      const topic = featureStageTopics(pipeline.topics, { index: placement.stage, field: placement.field }).input;
      const groupId = streamGroupId(FEATURES_STAGE, topic);
      let owners: GroupOwners;
      try {
        owners = await this.directory.owners(groupId, topic);
      } catch (error) {
        throw new OwnerUnavailableError('lookup_failed', `pipeline ${spec.pipeline}: could not read which instance owns ${where(placement)} from consumer group ${groupId}: ${String((error as Error)?.message ?? error)}`,
          { group: groupId, topic, partition: placement.partition }, error);
      }
      const owner = owners.owners.get(placement.partition);
      stages.push({ ...placement, topic, groupId, groupState: owners.state, ...(owner ? { owner } : {}) });
    }
    const [primary, ...others] = stages;
    const details = (s: StageOwner) => ({ stage: s.stage, field: s.field, topic: s.topic, partition: s.partition, group: s.groupId, owner: s.owner?.url ?? null });
    for (const s of [primary, ...others]) {
      if (!s.owner) {
        throw new OwnerUnavailableError('no_owner',
          `pipeline ${spec.pipeline}: no instance owns ${where(s)}, i.e. partition ${s.partition} of ${s.topic} (consumer group ${s.groupId} is ${s.groupState}: no features instance runs, or a rebalance is under way)`,
          details(s));
      }
      if (!s.owner.url) {
        throw new OwnerUnavailableError('no_address',
          `pipeline ${spec.pipeline}: ${where(s)} is owned by member ${s.owner.memberId} (${s.owner.clientHost}), which advertises no HTTP address (it serves no HTTP API, or runs a version that does not advertise)`,
          details(s));
      }
    }
    const split = others.filter((s) => s.owner!.url !== primary.owner!.url);
    if (split.length > 0) {
      throw new OwnerUnavailableError('state_split',
        `pipeline ${spec.pipeline}: the event's feature state is split across instances: ${where(primary)} is on ${primary.owner!.url}, ${split.map((s) => `${where(s)} on ${s.owner!.url}`).join(', ')}; no instance holds the whole vector (send "features" instead)`,
        { stages: stages.map(details) });
    }
    const url = primary.owner!.url!;
    if (url === this.self) {
      throw new OwnerUnavailableError('state_not_ready',
        `pipeline ${spec.pipeline}: this instance (${url}) owns ${stages.filter((s) => !s.owned).map(where).join(', ')} but has not rebuilt that state since the last rebalance (it does with the partition's next batch)`,
        { stages: stages.map(details) });
    }
    return this.forward(url, spec.pipeline, body, routing);
  }

  private async forward(url: string, pipeline: string, body: unknown, routing: PredictRouting): Promise<unknown> {
    const timeoutMs = this.options.timeoutMs ?? PREDICT_FORWARD_TIMEOUT_MS;
    const doFetch = this.options.fetch ?? fetch;
    const target = `${url}/v1/pipelines/${encodeURIComponent(pipeline)}/predict`;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json', [FORWARDED_BY_HEADER]: this.self ?? 'unknown',
          ...(routing.authorization ? { authorization: routing.authorization } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new OwnerUnavailableError('unreachable', `pipeline ${pipeline}: the owner of the event's feature state, ${url}, could not be reached: ${why}`, { owner: url }, error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new OwnerUnavailableError('unreachable', `pipeline ${pipeline}: the owner of the event's feature state, ${url}, answered ${res.status} with a body that is not JSON`, { owner: url, status: res.status });
    }
    if (res.ok) {
      routing.answeredBy = res.headers.get(ANSWERED_BY_HEADER) ?? url;
      return parsed;
    }
    const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    if (res.status === 404 && error?.code === 'NOT_FOUND') {
      throw new OwnerUnavailableError('owner_not_serving', `pipeline ${pipeline}: the owner of the event's feature state, ${url}, does not serve REST predict (its inference target runs elsewhere)`, { owner: url });
    }
    if (error && isErrorCode(error.code)) {
      throw new PlatformError(error.code, `${url} (the owner of the event's feature state): ${String(error.message)}`, { details: error.details });
    }
    throw new OwnerUnavailableError('unreachable', `pipeline ${pipeline}: the owner of the event's feature state, ${url}, answered ${res.status} without the platform's error body`, { owner: url, status: res.status });
  }
}

/** The address this process advertises: STREAMLOOP_ADVERTISED_URL, else `http://HOST:PORT` (the host name for a wildcard HOST). */
export function advertisedUrlOf(settings: { advertisedUrl?: string; httpHost: string }, port: number): string {
  if (settings.advertisedUrl) return settings.advertisedUrl;
  const wildcard = settings.httpHost === '0.0.0.0' || settings.httpHost === '::' || settings.httpHost === '[::]';
  const host = wildcard ? hostname() : settings.httpHost;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** A TCP port free on `host` a moment ago (PORT=0: the port is chosen before the consumers join, so they can advertise it). */
export function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
