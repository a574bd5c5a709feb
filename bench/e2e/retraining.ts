// `npm run bench:retraining`: event → prediction latency at an outside read_committed consumer while the same process
// retrains, beside the latency without a run. The system (bench/e2e/retraining-system.ts, a child process) is the
// monolith's serving path plus the training target; training's hyperparameter search and fits run on a worker
// thread (STREAMLOOP_TRAINING_WORKER=true) or on the event loop that also serves (false), one system per --modes
// entry, one after the other.
//
// Per mode: warm-up (not reported); `baseline`: --duration of events at --rate, no run; `training`: POST
// /v1/pipelines/:p/train, then --duration of events at --rate, each event counted in the `training` phase when it was
// sent while the run was under way and in `after` once it had answered. Latency = the probe's performance.now() when
// the prediction's committed record arrived − when the event's batch was handed to the producer (bench/e2e/probe.ts).
//
// Flags: --rate 500  --duration 30s  --warmup 5s  --modes in-thread,worker  --rows 6000 (labelled vectors training
// reads)  --trials 4 (random search trials, 3 time-series folds each)  --gbdt-threads 1 (STREAMLOOP_GBDT_THREADS).
// Broker: KAFKA_BROKERS, else deploy/local/kafka.sh on a random port, stopped at the end.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { parseDuration } from '@streamloop/config';
import { createKafka, type Producer } from '@streamloop/kafka';
import { generateCardTransactions } from '@streamloop/testing';
import { sendEvents, type LoadEvent } from './load';
import { LatencyProbe, type PhaseLatency } from './probe';
import { cpuSecondsOf, spawnChild, startBroker, type Child } from './processes';
import type { RetrainingReady } from './retraining-system';

const REPO = new URL('../../', import.meta.url).pathname;
const HERE = new URL('./', import.meta.url).pathname;
const MODES = { 'in-thread': 'false', worker: 'true' } as const;
type Mode = keyof typeof MODES;

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '30s' },
    warmup: { type: 'string', default: '5s' },
    modes: { type: 'string', default: 'in-thread,worker' },
    rows: { type: 'string', default: '6000' },
    trials: { type: 'string', default: '4' },
    'gbdt-threads': { type: 'string', default: '1' },
  },
});
const RATE = Number(args.rate);
const DURATION_MS = parseDuration(args.duration) ?? Number.NaN;
const WARMUP_MS = parseDuration(args.warmup) ?? Number.NaN;
const MODE_LIST = args.modes.split(',').map((m) => m.trim()).filter(Boolean) as Mode[];
for (const m of MODE_LIST) if (!(m in MODES)) throw new RangeError(`bench:retraining: --modes expects in-thread and/or worker, got ${m}`);
if (!(RATE > 0) || !(DURATION_MS >= 1000) || !(WARMUP_MS >= 0)) throw new RangeError('bench:retraining: --rate > 0, --duration ≥ 1s and --warmup ≥ 0 expected');
const STAMP = Date.now().toString(36);
const EVENT_TYPE = loadAvsc(join(REPO, 'examples/schemas/card_transaction.avsc'));
const PREDICTION_TYPE = loadAvsc(join(REPO, 'schemas/prediction.avsc'));
/** A phase whose output has not grown for this long has lost events (reported as missing). */
const DRAIN_STALL_MS = 30_000;

interface Row {
  mode: Mode;
  phase: 'baseline' | 'training' | 'after';
  latency: Omit<PhaseLatency, 'firstSeenAt' | 'lastSeenAt'>;
  /** The system's event-loop delay over the phase (prom-client's monitorEventLoopDelay, reset at each scrape), ms. */
  loopDelayMs?: { p99: number; max: number };
  /** CPU seconds of the system process (all its threads) over the phase. */
  cpuSeconds?: number;
}

/** The system's event-loop delay since the previous scrape of its /metrics (prom-client resets the histogram). */
async function loopDelay(url: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^streamloop_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { p99: read('p99'), max: read('max') };
}
interface RunReport {
  mode: Mode;
  status: number;
  /** The run as the API answered it: duration, trials, stage; or its error body. */
  answer: Record<string, unknown>;
  /** Seconds from the POST to its answer, at the bench. */
  seconds: number;
}

const fmt = (ms: number) => (Number.isFinite(ms) ? String(Math.round(ms)) : '-');

async function phaseEvents(count: number, tag: string, encode: (e: Record<string, unknown>) => Promise<Buffer>): Promise<LoadEvent[]> {
  const stream = generateCardTransactions({ seed: 23, events: count, cards: 1000, meanGapMs: 1000 / RATE, startTime: Date.now(), idPrefix: `${STAMP}-${tag}` });
  const out: LoadEvent[] = [];
  for (const { event } of stream) out.push({ id: event.transaction_id, key: event.card_id, value: await encode(event as unknown as Record<string, unknown>) });
  return out;
}

async function benchMode(brokers: string[], producer: Producer, mode: Mode, rows: Row[], runs: RunReport[]): Promise<void> {
  const childArgs = ['--import', 'tsx', join(HERE, 'retraining-system.ts'), '--brokers', brokers.join(','), '--pipeline', `bench_retraining_${STAMP}_${mode.replace('-', '_')}`,
    '--rows', args.rows, '--trials', args.trials, '--training-worker', MODES[mode], '--gbdt-threads', args['gbdt-threads']];
  const child: Child = spawnChild(mode, process.execPath, childArgs, 'READY', REPO);
  let probe: LatencyProbe | undefined;
  try {
    const ready = JSON.parse(await child.ready) as RetrainingReady;
    process.stderr.write(`bench:retraining: ${mode} system ready in ${ready.startSeconds.toFixed(1)} s\n`);
    const serde = new AvroSerde(new HttpRegistryClient(ready.registryUrl));
    const encode = (event: Record<string, unknown>) => serde.encode(`${ready.input}-value`, EVENT_TYPE, event);
    probe = await LatencyProbe.start(brokers, ready.output, async (value) => (await serde.decode<{ event_id: string }>(value, PREDICTION_TYPE)).value.event_id, `${STAMP}-${mode}`);
    const p = probe;
    const count = (ms: number) => Math.round((RATE * ms) / 1000);

    const warm = await phaseEvents(count(WARMUP_MS), `${mode}-warmup`, encode);
    await sendEvents(producer, ready.input, warm, RATE, (batch, at) => batch.forEach((e) => p.markSent(e.id, `${mode}-warmup`, at)));
    await p.drain(`${mode}-warmup`, warm.length, DRAIN_STALL_MS, 500);

    const pid = child.process.pid;
    const measured: Partial<Record<Row['phase'], Pick<Row, 'loopDelayMs' | 'cpuSeconds'>>> = {};
    const baseline = await phaseEvents(count(DURATION_MS), `${mode}-baseline`, encode);
    await loopDelay(ready.url);
    let cpuAt = cpuSecondsOf(pid);
    await sendEvents(producer, ready.input, baseline, RATE, (batch, at) => batch.forEach((e) => p.markSent(e.id, `${mode}-baseline`, at)));
    await p.drain(`${mode}-baseline`, baseline.length, DRAIN_STALL_MS, 0);
    measured.baseline = { loopDelayMs: await loopDelay(ready.url), cpuSeconds: (cpuSecondsOf(pid) ?? Number.NaN) - (cpuAt ?? Number.NaN) };
    await new Promise((r) => setTimeout(r, 1500));

    const during = await phaseEvents(count(DURATION_MS), `${mode}-training`, encode);
    let answered = false;
    await loopDelay(ready.url);
    cpuAt = cpuSecondsOf(pid);
    const postedAt = Date.now();
    const run = fetch(`${ready.url}/v1/pipelines/${ready.pipeline}/train`, { method: 'POST' }).then(async (res) => {
      answered = true;
      runs.push({ mode, status: res.status, answer: (await res.json()) as Record<string, unknown>, seconds: (Date.now() - postedAt) / 1000 });
    }, (error: unknown) => {
      answered = true;
      runs.push({ mode, status: 0, answer: { error: String(error) }, seconds: (Date.now() - postedAt) / 1000 });
    });
    let [inRun, after] = [0, 0];
    await sendEvents(producer, ready.input, during, RATE, (batch, at) => batch.forEach((e) => {
      p.markSent(e.id, answered ? `${mode}-after` : `${mode}-training`, at);
      if (answered) after++;
      else inRun++;
    }));
    // A run on the event loop holds the predictions back until it ends: drained only after its answer.
    await run;
    measured.training = { loopDelayMs: await loopDelay(ready.url), cpuSeconds: (cpuSecondsOf(pid) ?? Number.NaN) - (cpuAt ?? Number.NaN) };
    await p.drain(`${mode}-training`, inRun, DRAIN_STALL_MS, 0);
    await p.drain(`${mode}-after`, after, DRAIN_STALL_MS);
    for (const phase of ['baseline', 'training', 'after'] as const) {
      const { firstSeenAt: _f, lastSeenAt: _l, ...latency } = p.summary(`${mode}-${phase}`);
      if (latency.sent > 0) rows.push({ mode, phase, latency, ...measured[phase] });
    }
  } finally {
    await probe?.stop().catch(() => undefined);
    await child.stop();
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load0 = loadavg()[0];
  const broker = await startBroker();
  const rows: Row[] = [];
  const runs: RunReport[] = [];
  const producer = createKafka({ brokers: broker.brokers, clientId: `bench-retraining-${STAMP}` }).producer({ idempotent: true });
  try {
    await producer.connect();
    for (const mode of MODE_LIST) await benchMode(broker.brokers, producer, mode, rows, runs);
  } finally {
    await producer.disconnect().catch(() => undefined);
    broker.stop();
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const cpu = cpus();
  const lines = [
    `streamloop bench:retraining — ${startedAt.toISOString()}, node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; `
      + `load average ${load0.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end; ${Math.round(seconds)} s in all`,
    `${RATE} events/s, ${args.duration} per phase; training: ${args.rows} labelled vectors, GBDT random search of ${args.trials} trials × 3 folds, STREAMLOOP_GBDT_THREADS=${args['gbdt-threads']}`,
    'event → prediction latency; loop delay: the system\'s event-loop delay p99 / max over the phase (training: from the POST to its answer); cpu s: the system process\'s CPU seconds over the same span',
    'mode       phase      sent   out  miss  p50 ms  p95 ms  p99 ms  max ms  loop delay p99 / max ms  cpu s',
    ...rows.map((r) => `${r.mode.padEnd(10)} ${r.phase.padEnd(9)} ${String(r.latency.sent).padStart(5)} ${String(r.latency.received).padStart(5)} ${String(r.latency.missing).padStart(5)}`
      + ` ${fmt(r.latency.p50).padStart(7)} ${fmt(r.latency.p95).padStart(7)} ${fmt(r.latency.p99).padStart(7)} ${fmt(r.latency.max).padStart(7)}`
      + `  ${(r.loopDelayMs ? `${fmt(r.loopDelayMs.p99)} / ${fmt(r.loopDelayMs.max)}` : '').padStart(23)}  ${r.cpuSeconds === undefined ? '' : r.cpuSeconds.toFixed(1).padStart(5)}`),
    ...runs.map((r) => `${r.mode} run: HTTP ${r.status} after ${r.seconds.toFixed(1)} s; `
      + (r.status >= 200 && r.status < 300
        ? `model v${String(r.answer.model_version)} ${String(r.answer.stage)}, duration_ms ${String(r.answer.duration_ms)}, search trials ${String((r.answer.search as { trials?: number } | null)?.trials ?? '-')}`
        : JSON.stringify(r.answer))),
  ];
  console.log(lines.join('\n'));
  writeFileSync(join(HERE, 'retraining-results.json'), `${JSON.stringify({ startedAt: startedAt.toISOString(), args, rows, runs }, null, 2)}\n`);
  const failed = runs.some((r) => r.status < 200 || r.status >= 300) || rows.some((r) => r.latency.missing > 0 || r.latency.duplicates > 0);
  process.exit(failed ? 1 : 0);
}

await main().catch((error: unknown) => {
  console.error(`bench:retraining failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
