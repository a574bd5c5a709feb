// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import kafkajs from 'kafkajs';

/**
 * Whether kafkajs threw `error` and, if so, whether kafkajs counts it retriable — or gave up retrying one that is
 * (KafkaJSNumberOfRetriesExceeded is non-retriable itself; its cause tells whether the cluster was away).
 * undefined when kafkajs did not throw it. Errors are told apart by class, not by name.
 */
export function kafkaErrorRetriable(error: unknown): boolean | undefined {
  // The admin's "several topics refused" (create, reassign): each was refused, none timed out.
  if (error instanceof kafkajs.KafkaJSAggregateError) return false;
  if (!(error instanceof kafkajs.KafkaJSError)) return undefined;
  if (error.retriable) return true;
  return error.cause instanceof kafkajs.KafkaJSError && error.cause.retriable;
}
