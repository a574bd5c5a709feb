// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
export { createKafka, tlsOptions, type KafkaConnectionOptions } from './client';
export { verifyKafkaAccess, describeAccessFailure, KafkaAccessError, type KafkaAccessFailure, type VerifyKafkaAccessOptions } from './access';
export { ensureTopics, topicPartitionCount, consumerLag, fetchTopicEnds, fetchMaxMessageBytes, readTopicToEnd, type TopicSpec } from './topics';
export { runBatchConsumer, type BatchConsumerOptions, type ConsumedRecord, type RunningConsumer } from './batch-consumer';
export { deadLetter, deadLetterHeaders, deadLetterMessage, fitDeadLetter, TRUNCATED_HEADER, type DeadLetter, type DeadLetterSource } from './dlq';
export { DedupWindow } from './dedup';
export type { Kafka, Producer, Consumer, Message, IHeaders, TopicMessages } from 'kafkajs';
export { runTransactionalProcessor, type BatchInfo, type PartitionTask, type RunningProcessor, type TransactionalProcessorOptions } from './transactional-processor';
export { chunkMessages } from './chunks';
export { SerialQueue } from './serial';
export { forgetCoordinators } from './coordinator-cache';
export { fetchStableOffsets, generationOf, withGroupMetadata, type GroupMetadata } from './group-fencing';
export { KAFKA_DEFAULTS, KAFKA_SASL_MECHANISMS, heartbeatIntervalFor, type KafkaSasl, type KafkaSaslMechanism, type KafkaTlsFiles } from './defaults';
export { kafkaErrorRetriable } from './errors';
export { partitionForKey } from './partitioner';
export {
  ADVERTISING_ASSIGNER, advertisingAssigner, advertisingAssigners, decodeAdvertisement, encodeAdvertisement, GroupDirectory, ownersFromDescription,
  type GroupOwners, type PartitionOwner,
} from './membership';
