export { createKafka, type KafkaConnectionOptions } from './client';
export { ensureTopics, consumerLag, readTopicToEnd, type TopicSpec } from './topics';
export { runBatchConsumer, type BatchConsumerOptions, type ConsumedRecord, type RunningConsumer } from './batch-consumer';
export { deadLetter, deadLetterHeaders, deadLetterMessage, type DeadLetter, type DeadLetterSource } from './dlq';
export { DedupWindow } from './dedup';
export type { Kafka, Producer, Consumer, Message, IHeaders } from 'kafkajs';
