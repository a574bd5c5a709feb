// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { KAFKA_DEFAULTS } from './defaults';

/**
 * kafkajs 2.2.4 asks the cluster which broker coordinates a transaction (FindCoordinator) before every
 * AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn: four extra round trips per transaction, nearly
 * half of an exactly-once batch's requests, and as much broker work (measured on bench:e2e's passthrough: 10,721
 * FindCoordinator requests for 2,671 transactions). The Java client looks a coordinator up once and again only after
 * an error. This does the same for kafkajs: `Cluster#findGroupCoordinator` answers from a cache, and any failed
 * request to a coordinator that may have moved (NOT_COORDINATOR, a lost connection, a timeout) empties it, so the retry that follows
 * asks the cluster again. Entries also expire, so a coordinator that moved without an error being seen is
 * found again within KAFKA_DEFAULTS.coordinatorCacheTtlMs.
 */

/** The Broker methods whose requests go to a group or transaction coordinator. */
const COORDINATOR_REQUESTS = [
  'heartbeat', 'joinGroup', 'leaveGroup', 'syncGroup', 'offsetCommit', 'offsetFetch',
  'addPartitionsToTxn', 'addOffsetsToTxn', 'txnOffsetCommit', 'endTxn',
] as const;

type AsyncMethod = (this: unknown, ...args: unknown[]) => Promise<unknown>;
interface CoordinatorQuery { groupId: string; coordinatorType?: number }
interface CachedCoordinator { broker: Promise<unknown>; at: number; generation: number }

const INSTALLED = Symbol.for('streamloop.kafkajs.coordinatorCache');
/** Bumped by every failed coordinator request: entries of an older generation are not used. */
let generation = 0;

/** Installs the cache into kafkajs once per process (the classes are shared by every client). */
export function installCoordinatorCache(): void {
  const require = createRequire(import.meta.url);
  const version = (require('kafkajs/package.json') as { version: string }).version;
  // The patch knows kafkajs' internals of this version; a different one must be checked before it is trusted.
  if (version !== '2.2.4') throw new Error(`installCoordinatorCache: written for kafkajs 2.2.4, found ${version}`);
  const Cluster = require('kafkajs/src/cluster') as { prototype: Record<string | symbol, unknown> };
  const Broker = require('kafkajs/src/broker') as { prototype: Record<string, unknown> };
  if (Cluster.prototype[INSTALLED]) return;
  Cluster.prototype[INSTALLED] = true;

  const find = Cluster.prototype.findGroupCoordinator as AsyncMethod;
  const cacheKey = Symbol('coordinators');
  Cluster.prototype.findGroupCoordinator = function findGroupCoordinatorCached(this: Record<symbol, Map<string, CachedCoordinator>>, query: CoordinatorQuery) {
    const cache = (this[cacheKey] ??= new Map());
    const key = `${query.coordinatorType ?? 0}:${query.groupId}`;
    const hit = cache.get(key);
    if (hit && hit.generation === generation && Date.now() - hit.at < KAFKA_DEFAULTS.coordinatorCacheTtlMs) return hit.broker;
    const broker = find.call(this, query);
    cache.set(key, { broker, at: Date.now(), generation });
    broker.catch(() => cache.delete(key));
    return broker;
  };

  for (const name of COORDINATOR_REQUESTS) {
    const request = Broker.prototype[name] as AsyncMethod | undefined;
    if (typeof request !== 'function') throw new Error(`installCoordinatorCache: kafkajs Broker has no ${name}`);
    Broker.prototype[name] = async function coordinatorRequest(this: unknown, ...args: unknown[]) {
      try {
        return await request.apply(this, args);
      } catch (error) {
        if (mayHaveMoved(error)) forgetCoordinators();
        throw error;
      }
    };
  }
}

/**
 * Whether an error from a coordinator may mean it is no longer the one: anything but a protocol answer about
 * something else (CONCURRENT_TRANSACTIONS, REBALANCE_IN_PROGRESS, a fenced epoch… come from the right coordinator).
 */
function mayHaveMoved(error: unknown): boolean {
  return !(error instanceof kafkajs.KafkaJSProtocolError) || /COORDINATOR/.test(error.type);
}

/** Empties every client's cache (a coordinator answered with an error, or could not be reached). */
export function forgetCoordinators(): void {
  generation++;
}
