import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaLogLevel } from './log-levels';

// Messages as kafkajs 2.2.4 logs them (its Connection, Consumer and Producer namespaces).
test('broker answers kafkajs retries by itself are debug, whatever level kafkajs gave them', () => {
  const retried: Array<[string, string | undefined]> = [
    ['Response GroupCoordinator(key: 10, version: 2)', 'The coordinator is loading and hence can\'t process requests'],
    ['Response AddOffsetsToTxn(key: 25, version: 1)', 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing'],
    ['Response JoinGroup(key: 11, version: 5)', 'The group is rebalancing, so a rejoin is needed'],
    ['Response Heartbeat(key: 12, version: 3)', 'KafkaJSProtocolError: REBALANCE_IN_PROGRESS'],
    ['Response FindCoordinator(key: 10, version: 2)', 'The coordinator is not available'],
    ['Response OffsetCommit(key: 8, version: 5)', 'This is not the correct coordinator for this group'],
    ['Response Metadata(key: 3, version: 6)', 'There is no leader for this topic-partition as we are in the middle of a leadership election'],
    ['Response Produce(key: 0, version: 7)', 'This server is not the leader for that topic-partition'],
    ['Response SyncGroup(key: 14, version: 3)', 'The member id is not valid'],
    ['Response Heartbeat(key: 12, version: 3)', 'The coordinator is not aware of this member'],
    ['Runner: The coordinator is not aware of this member, re-joining the group', undefined],
    ['Response GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available'],
  ];
  for (const [message, error] of retried) assert.equal(kafkaLogLevel('error', message, error), 'debug', `${message}: ${error}`);
});

test('a consumer restart is a warning; shutdown noise is debug while closing and a warning otherwise', () => {
  assert.equal(kafkaLogLevel('error', 'Restarting the consumer in 2331ms', undefined), 'warn');
  assert.equal(kafkaLogLevel('error', 'Crash: KafkaJSNumberOfRetriesExceeded: The group is rebalancing, so a rejoin is needed', 'The group is rebalancing'), 'debug');
  assert.equal(kafkaLogLevel('error', 'Connection error: write after end', 'Error [ERR_STREAM_WRITE_AFTER_END]: write after end', true), 'debug');
  assert.equal(kafkaLogLevel('error', 'Connection error: write after end', undefined, false), 'warn');
  assert.equal(kafkaLogLevel('error', 'Failed to send heartbeat', 'KafkaJSConnectionClosedError: Closed connection', true), 'debug');
});

test('real failures stay errors, and levels below warn are kept', () => {
  assert.equal(kafkaLogLevel('error', 'Crash: KafkaJSNonRetriableError', 'SASL SCRAM SHA512 authentication failed'), 'error');
  assert.equal(kafkaLogLevel('error', 'Response Produce(key: 0, version: 7)', 'The request included a message larger than the max message size the server will accept'), 'error');
  assert.equal(kafkaLogLevel('error', 'Response Produce(key: 0, version: 7)', 'Topic authorization failed'), 'error');
  assert.equal(kafkaLogLevel('info', 'Consumer has joined the group', undefined), 'info');
  assert.equal(kafkaLogLevel('debug', 'The group is rebalancing', undefined), 'debug');
});
