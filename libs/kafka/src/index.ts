export { createKafka, type KafkaConnectionOptions } from './client';
export { ensureTopics, consumerLag, fetchTopicEnds, readTopicToEnd, type TopicSpec } from './topics';
export { runBatchConsumer, type BatchConsumerOptions, type ConsumedRecord, type RunningConsumer } from './batch-consumer';
export { deadLetter, deadLetterHeaders, deadLetterMessage, type DeadLetter, type DeadLetterSource } from './dlq';
export { DedupWindow } from './dedup';
export type { Kafka, Producer, Consumer, Message, IHeaders, TopicMessages } from 'kafkajs';
export { runTransactionalProcessor, type PartitionTask, type RunningProcessor, type TransactionalProcessorOptions } from './transactional-processor';
export { chunkMessages } from './chunks';
