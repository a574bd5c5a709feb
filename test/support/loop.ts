// The closed loop driven from outside, as the producer apps, the prediction consumers and an operator's HTTP client
// see it: `streamloop start` with every target in its own process, card transactions and their late labels sent in
// paced chunks, the registry and the retraining decisions read over HTTP, live AUC computed from P.predictions
// (read_committed) and the labels the producer knows.
import type { RetrainingDecisionRow } from '@streamloop/clickhouse';
import type { PipelineSpec } from '@streamloop/config';
import { loadPipelineSpec } from '@streamloop/config';
import { evaluateBinary } from '@streamloop/ml';
import type { ModelSummary } from '@streamloop/model-registry';
import type { AlertRecord, LabelRecord, PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions, type CardStreamOptions, type LabelledTransaction } from '@streamloop/testing';
import { startPlatform, stopProcesses } from './cli-process';
import { outputOf, type ServiceProcess, writeSpecFile } from './processes';
import { eventually, readAll, startStack, uniqueName, type TestStack } from './stack';

/** A version as `GET /v1/pipelines/:p/models` lists it. */
export type ModelLine = ModelSummary;

/** A row of `GET /v1/pipelines/:p/retraining`. */
export type DecisionLine = RetrainingDecisionRow;

export interface LoopPlatform {
  name: string;
  spec: PipelineSpec;
  stack: TestStack;
  api: string;
  /** The platform's output, for a failure message. */
  why(): string;
  models(): Promise<ModelLine[]>;
  decisions(): Promise<DecisionLine[]>;
  /** Every record of the pipeline's alerts topic so far (read_committed). */
  alerts(): Promise<AlertRecord[]>;
  /** Served predictions (P.predictions, read_committed), one per event id (the latest). */
  predictions(): Promise<Map<string, PredictionRecord>>;
  close(): Promise<void>;
}

/**
 * The example fraud pipeline under a fresh name with `overrides` merged into its sections, run by `streamloop start`
 * with every target (drift job every 5 s) against the test's broker and registry.
 */
export async function startLoopPlatform(brokers: string[], prefix: string, overrides: Record<string, Record<string, unknown>>): Promise<LoopPlatform> {
  const name = uniqueName(prefix);
  // A models topic of its own: the shared default holds other tests' records, in schemas this test's registry lacks.
  const specFile = writeSpecFile(name, { topics: { models: uniqueName('models') }, ...overrides });
  const spec = loadPipelineSpec(specFile);
  const stack = await startStack(brokers, [spec], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  try {
    const { service, api } = await startPlatform(stack, brokers, specFile, 'ingestion,features,inference,monitoring,training', { STREAMLOOP_DRIFT_INTERVAL: '5s' });
    processes.push(service);
    const getJson = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${api}/v1/pipelines/${name}${path}`);
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
      return await res.json() as T;
    };
    return {
      name, spec, stack, api,
      why: () => outputOf(processes, 6000),
      models: async () => (await getJson<{ models: ModelLine[] }>('/models')).models,
      decisions: () => getJson<DecisionLine[]>('/retraining'),
      alerts: async () => (await readAll<AlertRecord>(stack.kafka, stack.serde, ctx.topics.alerts)).map((r) => r.value),
      predictions: async () => new Map((await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => [r.value.event_id, r.value])),
      async close() {
        await stopProcesses(processes);
        await stack.close();
      },
    };
  } catch (error) {
    await stopProcesses(processes);
    await stack.close();
    throw error;
  }
}

/** The payments app: events to P.events.raw and, `labelLag` events later, their labels to P.labels. */
export class CardProducer {
  /** Events sent so far, in order. */
  readonly sent: LabelledTransaction[] = [];
  private labelled = 0;

  constructor(private readonly loop: LoopPlatform, private readonly labelLag: number) {}

  async send(items: LabelledTransaction[]): Promise<void> {
    const { stack, name } = this.loop;
    const ctx = stack.runtime.pipelines.pipeline(name);
    const producer = stack.kafka.producer({ idempotent: true });
    await producer.connect();
    try {
      const events = await Promise.all(items.map(async ({ event }) => ({ key: event.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, event) })));
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages: events });
      this.sent.push(...items);
      await this.sendLabels(producer, Math.max(this.labelled, this.sent.length - this.labelLag));
    } finally {
      await producer.disconnect();
    }
  }

  /** The labels still held back. */
  async flush(): Promise<void> {
    const producer = this.loop.stack.kafka.producer({ idempotent: true });
    await producer.connect();
    try {
      await this.sendLabels(producer, this.sent.length);
    } finally {
      await producer.disconnect();
    }
  }

  private async sendLabels(producer: ReturnType<TestStack['kafka']['producer']>, until: number): Promise<void> {
    const { stack, name } = this.loop;
    const ctx = stack.runtime.pipelines.pipeline(name);
    const items = this.sent.slice(this.labelled, until);
    if (items.length === 0) return;
    const labels = await Promise.all(items.map(async ({ event, label }) => {
      const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 3_600_000 };
      return { key: event.transaction_id, value: await stack.serde.encode(`${ctx.topics.labels}-value`, stack.runtime.types.label, record) };
    }));
    await producer.send({ topic: ctx.topics.labels, acks: -1, messages: labels });
    this.labelled = until;
  }
}

/**
 * Sends `stream` from `from` in chunks of `chunk` events with a pause between them (the loop works while events flow)
 * until `done` (asked every `checkEvery` events) says so or the stream ends; resolves with the index reached.
 */
export async function sendPaced(
  producer: CardProducer, stream: LabelledTransaction[], from: number, options: { chunk: number; pauseMs: number; checkEvery: number; done(): Promise<boolean> },
): Promise<number> {
  let i = from;
  while (i < stream.length) {
    const end = Math.min(stream.length, i + options.chunk);
    await producer.send(stream.slice(i, end));
    i = end;
    await new Promise((r) => setTimeout(r, options.pauseMs));
    if (i % options.checkEvery < options.chunk && await options.done()) break;
  }
  return i;
}

/** ROC AUC of the served predictions of `items` (by event id) against their labels; NaN when any is missing. */
export function liveAuc(items: LabelledTransaction[], predictions: Map<string, PredictionRecord>): { auc: number; n: number } {
  const scored = items.flatMap(({ event, label }) => {
    const p = predictions.get(event.transaction_id);
    return p ? [{ label, score: p.score }] : [];
  });
  if (scored.length < items.length) return { auc: Number.NaN, n: scored.length };
  return { auc: evaluateBinary(scored.map((s) => s.label), scored.map((s) => s.score), 0.5).rocAuc, n: scored.length };
}

// The scenario the loop tests share: the world, the spec's loop numbers, the first model, the pace.

/** Labels trail their events by this many events (about 6 h of event time at 90 s between transactions). */
export const LABEL_LAG = 250;
export const CHANGE_AT = 5000;

/** The loop's numbers scaled to a test: a sliding window, a short cooldown, horizons of 600 labelled live events. */
export const LOOP_SPEC = {
  training: { min_labels: 1500, window: { last_rows: 3000 } },
  retraining: { triggers: [{ kind: 'performance' }], cooldown: '30s', min_new_labels: 500 },
  promotion: { alpha: 0.05, online_labels: 600, probation_labels: 600 },
  monitoring: { detectors: { label_delay: '7h' } },
};

export function stream(seed: number, idPrefix: string, change: Partial<CardStreamOptions>, events = 30_000): LabelledTransaction[] {
  return generateCardTransactions({ seed, events, meanGapMs: 90_000, compromiseRate: 0.015, idPrefix, ...change });
}

/** Sends the first events fast and waits for the first model, trained by the platform once enough labels exist. */
export async function firstModel(loop: LoopPlatform, producer: CardProducer, items: LabelledTransaction[]): Promise<ModelLine> {
  for (let i = 0; i < 3000; i += 500) await producer.send(items.slice(i, i + 500));
  return eventually(async () => (await loop.models()).find((m) => m.serving), `the first model\n${loop.why()}`, 240_000);
}

export const paced = { chunk: 100, pauseMs: 400, checkEvery: 500 };

/** Sends the stream on from event 3000 at the loop's pace until a later version serves by policy (the loop promoted it). */
export async function sendUntilPromoted(
  loop: LoopPlatform, producer: CardProducer, items: LabelledTransaction[], first: ModelLine,
): Promise<{ promoted?: ModelLine; reached: number }> {
  let promoted: ModelLine | undefined;
  const reached = await sendPaced(producer, items, 3000, {
    ...paced,
    done: async () => {
      promoted = (await loop.models()).find((m) => m.model_version > first.model_version && m.serving && m.decided_by === 'policy');
      return promoted !== undefined;
    },
  });
  return { promoted, reached };
}
