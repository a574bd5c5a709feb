export { createKafka, type KafkaConnectionOptions } from './client';
export { ensureTopics, consumerLag, fetchTopicEnds, fetchMaxMessageBytes, readTopicToEnd, DEFAULT_MAX_MESSAGE_BYTES, type TopicSpec } from './topics';
export { runBatchConsumer, type BatchConsumerOptions, type ConsumedRecord, type RunningConsumer } from './batch-consumer';
export { deadLetter, deadLetterHeaders, deadLetterMessage, fitDeadLetter, TRUNCATED_HEADER, type DeadLetter, type DeadLetterSource } from './dlq';
export { DedupWindow } from './dedup';
export type { Kafka, Producer, Consumer, Message, IHeaders, TopicMessages } from 'kafkajs';
export { runTransactionalProcessor, type BatchInfo, type PartitionTask, type RunningProcessor, type TransactionalProcessorOptions } from './transactional-processor';
export { chunkMessages } from './chunks';
export { SerialQueue } from './serial';
