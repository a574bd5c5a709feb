import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { labelFromEvent, LabelRecordError } from '@streamloop/clickhouse';
import { eventLabelFieldsOf } from '@streamloop/config';
import type { LabelRecord } from '@streamloop/contracts';
import { StreamloopMetrics } from '@streamloop/observability';
import { StreamHandler, type StreamBatch, type StreamContext } from '@streamloop/stream';
import type { DedupState } from './dedup-state';
import { DedupStateFactory } from './dedup-state';
import { identifyEvent, InvalidEventError } from './identify';

/**
 * P.events.raw → P.events, exactly once: validated against the pipeline's schema (the transport decodes with it as
 * reader, filling defaults), duplicates by event id dropped within the dedup window, the rest forwarded keyed by
 * entity. Anything unreadable or invalid is dead-lettered with the reason. Where the spec says labels come from
 * events (labels.from_events), an event naming an earlier one also writes that event's label to P.labels, in the
 * same transaction: exactly once, and a duplicate event gives no second label.
 */
@Controller()
export class IngestionStream {
  constructor(@Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics) {}

  @StreamHandler({ role: 'raw', mode: 'exactly-once', stage: 'ingestion', deadLetterStage: 'ingestion.validate', state: DedupStateFactory })
  validate(@Payload() batch: StreamBatch<Record<string, unknown>>, @Ctx() context: StreamContext<DedupState>): void {
    const now = Date.now();
    const eventLabels = eventLabelFieldsOf(context.pipeline.spec);
    let duplicates = 0;
    for (const record of batch.records) {
      if (record.error || !record.value) {
        context.deadLetter(record, record.error ?? new InvalidEventError('record has no value'));
        continue;
      }
      let identity: { id: string; entity: string };
      try {
        identity = identifyEvent(context.pipeline.spec, record.value);
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        context.deadLetter(record, error);
        continue;
      }
      let label: LabelRecord | undefined;
      try {
        label = eventLabels ? labelFromEvent(record.value, eventLabels) : undefined;
      } catch (error) {
        // Before dedup state accepts the id: a corrected event with the same id may follow.
        if (!(error instanceof LabelRecordError)) throw error;
        context.deadLetter(record, error);
        continue;
      }
      if (context.state.isDuplicate(identity.id, now)) {
        duplicates++;
        continue;
      }
      // State changes before the transaction commits are fine: a failed transaction rebuilds the window.
      context.state.accept(identity.id, now);
      context.emit('events', identity.entity, record.value, record);
      // Keyed by the labelled event, so its labels stay in order on one partition.
      if (label) context.emit('labels', label.event_id, label, record);
    }
    if (duplicates > 0) context.onCommitted(() => this.metrics.duplicatesDropped.inc({ pipeline: context.pipeline.spec.pipeline }, duplicates));
  }
}
