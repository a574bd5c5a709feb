import { createRequire } from 'node:module';
// The other replacement of a kafkajs module, which must happen at the same early moment.
import './linear-grouping';
import './produce-encoding';
import { replaceKafkajsModule } from './module-patch';

/**
 * kafkajs 2.2.4 lets records of aborted transactions through to read_committed consumers. A fetch answer lists the
 * aborted transactions that overlap it (producer id, first offset); kafkajs walks the records and starts ignoring a
 * producer when a record's offset reaches the next listed first offset — one listed transaction per record. When two
 * or more of them began before the fetch's first record (a fetch that starts in the middle of them, which is every
 * fetch but the first of a partition written by several transactional producers), the second one is switched on only
 * at the second record: if the first record is that producer's, the aborted record is handed to the application. In
 * this platform every stage's outputs and changelogs are written by one transactional producer per input partition, so
 * aborts (a fenced owner, a failed commit) and such overlaps happen; a stage that read the leaked record would process
 * it and commit its outputs, breaking exactly-once.
 *
 * The fix does what Kafka's Java consumer does: every aborted transaction whose first offset is at or below the
 * record is switched on before the record is judged, and a producer's abort marker switches it off. It replaces
 * kafkajs' filter in its module cache, so it must run before kafkajs loads its consumer (this file is the first
 * import of every libs/kafka file that imports kafkajs); `verifyAbortedFilter` refuses to go on if it did not.
 */

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}
interface FetchedRecord {
  offset: string;
  batchContext: { producerId: string; inTransaction: boolean };
  isControlRecord?: boolean;
  key?: Buffer | null;
}

/** The control record that ends a transaction: key version 0, type 0 for abort (1 is commit). */
function isAbortMarker(record: FetchedRecord): boolean {
  if (!record.isControlRecord || !record.key || record.key.length < 4) return false;
  return record.key.readInt16BE(2) === 0;
}

/** The records that were not written by an aborted transaction (control records stay; kafkajs drops them next). */
export function filterAbortedRecords<R extends FetchedRecord>({ messages, abortedTransactions }: { messages: R[]; abortedTransactions?: AbortedTransaction[] }): R[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0));
  const aborting = new Set<string>();
  return messages.filter((record) => {
    const offset = BigInt(record.offset);
    while (pending.length > 0 && offset >= BigInt(pending[0].firstOffset)) aborting.add(String(pending.shift()!.producerId));
    const producerId = String(record.batchContext.producerId);
    if (isAbortMarker(record)) {
      aborting.delete(producerId);
      return true;
    }
    return !(record.batchContext.inTransaction && aborting.has(producerId));
  });
}

const require = createRequire(import.meta.url);
const FILTER_MODULE = 'kafkajs/src/consumer/filterAbortedMessages';
const BATCH_MODULE = 'kafkajs/src/consumer/batch';

replaceKafkajsModule(FILTER_MODULE, BATCH_MODULE, filterAbortedRecords);

/** Throws unless kafkajs' consumer batches filter aborted transactions with the fix above. */
export function verifyAbortedFilter(): void {
  const Batch = require(BATCH_MODULE) as new (topic: string, fetchedOffset: string, partitionData: unknown) => { messages: FetchedRecord[] };
  const record = (offset: number, producerId: string): FetchedRecord => ({ offset: String(offset), batchContext: { producerId, inTransaction: true }, isControlRecord: false });
  // Two aborted transactions (producers 1 and 2) began before the fetched records; the first record is producer 2's.
  const batch = new Batch('probe', '10', {
    partition: 0,
    highWatermark: '20',
    abortedTransactions: [{ producerId: '1', firstOffset: '3' }, { producerId: '2', firstOffset: '4' }],
    messages: [record(10, '2'), record(11, '1')],
  });
  if (batch.messages.length !== 0) {
    throw new Error('kafkajs was loaded before @streamloop/kafka could fix its read_committed filter (aborted records would reach consumers): import @streamloop/kafka before kafkajs');
  }
}
