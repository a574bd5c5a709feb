/**
 * Runs async operations one after another, in the order they were queued; a failed one does not stop the next.
 * Used wherever a kafkajs object (a transactional producer) must never see two operations at once.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
