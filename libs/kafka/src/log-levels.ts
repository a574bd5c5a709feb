/** The levels kafkajs' log entries are given in the platform's log. */
export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * Broker answers kafkajs retries by itself (it logs them at error level before retrying): a group rebalancing or its
 * coordinator still loading or moving, a leader election, the previous transaction's markers still being written
 * (CONCURRENT_TRANSACTIONS), a member asked to rejoin. Routine on every start and rebalance; a real failure still
 * reaches the caller as an exception, and the caller logs it.
 */
const RETRIED = new RegExp([
  'concurrent operation on the same transaction',
  'CONCURRENT_TRANSACTIONS',
  'rebalanc',
  'coordinator is (not available|loading)',
  'COORDINATOR_(NOT_AVAILABLE|LOAD_IN_PROGRESS)',
  'not the (correct )?coordinator',
  'NOT_COORDINATOR',
  'leader(ship)? (not available|election)',
  'LEADER_NOT_AVAILABLE',
  'not (the )?leader',
  'NOT_LEADER',
  'member id is not valid|UNKNOWN_MEMBER_ID|coordinator is not aware of this member',
  'specified group generation id is not valid|ILLEGAL_GENERATION',
  'need to rejoin|MEMBER_ID_REQUIRED',
  'does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION',
].join('|'), 'i');

/** kafkajs restarting a consumer after a retriable crash: it recovers by itself, worth a warning, not an error. */
const RESTARTING = /restarting the consumer/i;

/**
 * Shutdown noise: a request kafkajs wrote to a socket the process was closing, or a connection closed under a pending
 * request while a client disconnects. Nothing is lost (the work is committed or redone by the next owner).
 */
const SHUTDOWN = /write after end|socket (is )?closed|connection (was )?closed|the client is disconnecting|KafkaJSConnectionClosedError|Closed connection/i;

/**
 * The level a kafkajs log entry gets in the platform's log: retried broker answers are debug, a consumer restart and
 * shutdown noise are warnings, anything else keeps kafkajs' own level. `closing` says the process is stopping.
 */
export function kafkaLogLevel(level: KafkaLogLevel, message: string, error: unknown, closing = false): KafkaLogLevel {
  if (level !== 'error' && level !== 'warn') return level;
  const text = `${message} ${error === undefined ? '' : String(error)}`;
  if (RETRIED.test(text)) return 'debug';
  if (SHUTDOWN.test(text)) return closing ? 'debug' : 'warn';
  if (RESTARTING.test(text)) return 'warn';
  return level;
}
