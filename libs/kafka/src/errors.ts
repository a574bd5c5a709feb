import { KafkaJS as RdKafkaJS } from '@confluentinc/kafka-javascript';
import kafkajs from 'kafkajs';

/**
 * Whether a Kafka client threw `error` and, if so, whether it counts it retriable — or gave up retrying one that is
 * (kafkajs' KafkaJSNumberOfRetriesExceeded is non-retriable itself; its cause tells whether the cluster was away).
 * undefined when no Kafka client threw it. Errors are told apart by class, not by name.
 */
export function kafkaErrorRetriable(error: unknown): boolean | undefined {
  // librdkafka's transactional errors: retriable (try the operation again) or abortable (abort, then try again) are
  // the cluster's passing trouble; fatal (a fenced producer) is a refusal.
  if (error instanceof RdKafkaJS.KafkaJSError) return error.retriable || error.abortable;
  // The admin's "several topics refused" (create, reassign): each was refused, none timed out.
  if (error instanceof kafkajs.KafkaJSAggregateError) return false;
  if (!(error instanceof kafkajs.KafkaJSError)) return undefined;
  if (error.retriable) return true;
  return error.cause instanceof kafkajs.KafkaJSError && error.cause.retriable;
}
