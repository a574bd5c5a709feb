import { Injectable } from '@nestjs/common';
import { DedupWindow } from '@streamloop/kafka';
import type { PartitionState, PartitionStateFactory, StreamPipeline } from '@streamloop/stream';

/**
 * The event ids a raw partition accepted within the dedup window, restored from `P.changelog.dedup` (partition p:
 * the ids of raw partition p, valued by their arrival time as an 8-byte double).
 */
export class DedupState implements PartitionState {
  private changed: Array<{ key: string; value: Buffer }> = [];

  constructor(private readonly window: DedupWindow) {}

  restore(key: string, value: Buffer | null): void {
    if (value && value.length === 8) this.window.add(key, value.readDoubleBE(0));
  }

  isDuplicate(id: string, now: number): boolean {
    return this.window.has(id, now);
  }

  accept(id: string, now: number): void {
    this.window.add(id, now);
    const arrival = Buffer.alloc(8);
    arrival.writeDoubleBE(now, 0);
    this.changed.push({ key: id, value: arrival });
  }

  changes(): Array<{ key: string; value: Buffer }> {
    const out = this.changed;
    this.changed = [];
    return out;
  }
}

@Injectable()
export class DedupStateFactory implements PartitionStateFactory<DedupState> {
  changelog(pipeline: StreamPipeline): string {
    return pipeline.topics.changelog('dedup');
  }

  create(pipeline: StreamPipeline): DedupState {
    return new DedupState(new DedupWindow(pipeline.spec.events.dedupWindowMs));
  }
}
