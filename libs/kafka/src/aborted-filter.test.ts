// kafkajs 2.2.4's read_committed filter leaks the first fetched record of the second of two aborted transactions that
// began before the fetch; the platform's replacement must leave out every aborted record and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterAbortedRecords, verifyAbortedFilter } from './aborted-filter';
import { createKafka } from './client';

const record = (offset: number, producerId: string, inTransaction = true) => ({
  offset: String(offset), batchContext: { producerId, inTransaction }, isControlRecord: false, key: null as Buffer | null,
});
/** A control record: key version 0, then type 0 (abort) or 1 (commit). */
const marker = (offset: number, producerId: string, type: 'abort' | 'commit') => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === 'abort' ? 0 : 1, 2);
  return { offset: String(offset), batchContext: { producerId, inTransaction: true }, isControlRecord: true, key };
};
const offsets = (records: Array<{ offset: string; isControlRecord: boolean }>) => records.filter((r) => !r.isControlRecord).map((r) => Number(r.offset));

test('two aborted transactions begun before the fetch: no record of either gets through, whichever producer comes first', () => {
  const aborted = [{ producerId: '1', firstOffset: '3' }, { producerId: '2', firstOffset: '4' }];
  assert.deepEqual(offsets(filterAbortedRecords({ messages: [record(10, '2'), record(11, '1'), record(12, '2')], abortedTransactions: aborted })), []);
  assert.deepEqual(offsets(filterAbortedRecords({ messages: [record(10, '1'), record(11, '2')], abortedTransactions: aborted })), []);
});

test('an abort marker ends its producer\'s aborted transaction: its next (committed) transaction and other producers are read', () => {
  const messages = [
    record(5, '1'), record(6, '2'), marker(7, '1', 'abort'), record(8, '1'), record(9, '2'), marker(10, '2', 'abort'),
    record(11, '2'), marker(12, '1', 'commit'), record(13, '3', false),
  ];
  const kept = filterAbortedRecords({ messages, abortedTransactions: [{ producerId: '2', firstOffset: '6' }, { producerId: '1', firstOffset: '5' }] });
  assert.deepEqual(offsets(kept), [8, 11, 13]);
});

test('without aborted transactions every record is kept', () => {
  const messages = [record(1, '1'), record(2, '2', false)];
  assert.equal(filterAbortedRecords({ messages, abortedTransactions: [] }), messages);
});

test('kafkajs\' consumer batches use the fixed filter once @streamloop/kafka is loaded', () => {
  assert.doesNotThrow(() => verifyAbortedFilter());
  assert.doesNotThrow(() => createKafka({ brokers: ['127.0.0.1:1'], clientId: 'aborted-filter-test' }));
});
