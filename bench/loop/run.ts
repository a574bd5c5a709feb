// `npm run bench:loop`: the closed retraining loop on the real platform, beside a fixed-schedule baseline and no
// retraining. For every stream (SEA, Agrawal), variant (one sudden concept change at a known position, or none: the
// control) and strategy, one run (bench/loop/one.ts, a process of its own) starts every service in-process on a local
// Kafka broker (KAFKA_BROKERS when set) and embedded chDB, publishes the stream at a fixed rate with labels trailing,
// and reads back what the platform did. Measured: events from the change to the first promoted model serving; live
// ROC AUC in consecutive windows of events beside the best possible (a model of the spec's algorithm trained on the
// true current concept) and the generator's own labelling function; the AUC lost after the change (the area between
// the best-possible and the achieved curve); promotions on the controls (false promotions). Prints a table and writes
// bench/loop/results.json. Runs are sequential (the machine is small); each takes about 2.5 minutes at the defaults.
//
// Options: --streams sea,agrawal  --variants change,control  --strategies loop,schedule,none  --events 20000
// --change-at 6000  --rate 150 (events/s)  --label-lag 200 (events)  --auc-window 500  --seed 1  --window-rows 1000
// --cooldown 15s  --min-new-labels 500  --online-labels 500  --schedule 20s  --label-delay 3s  --drift-interval 3s
// --kafka-port 39492  --out bench/loop/results.json
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalKafka } from '@streamloop/testing';
import { aucCurve, aucLoss, promotionsOf, summarizePromotions, type AucLoss, type Promotion, type PromotionSummary, type WindowPoint } from './metrics';
import type { RunConfig, RunRecord } from './one';
import { DEFAULT_LOOP_SETTINGS, STRATEGIES, STRATEGY_LABELS, type LoopSettings, type Strategy } from './specs';
import { bestPossibleScores, LOOP_STREAMS, STREAM_NAMES, type StreamName } from './streams';

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: STREAM_NAMES.join(',') },
    variants: { type: 'string', default: 'change,control' },
    strategies: { type: 'string', default: STRATEGIES.join(',') },
    events: { type: 'string', default: '20000' },
    'change-at': { type: 'string', default: '6000' },
    rate: { type: 'string', default: '150' },
    'label-lag': { type: 'string', default: '200' },
    'auc-window': { type: 'string', default: '500' },
    seed: { type: 'string', default: '1' },
    'window-rows': { type: 'string', default: String(DEFAULT_LOOP_SETTINGS.windowRows) },
    cooldown: { type: 'string', default: DEFAULT_LOOP_SETTINGS.cooldown },
    'min-new-labels': { type: 'string', default: String(DEFAULT_LOOP_SETTINGS.minNewLabels) },
    'online-labels': { type: 'string', default: String(DEFAULT_LOOP_SETTINGS.onlineLabels) },
    schedule: { type: 'string', default: DEFAULT_LOOP_SETTINGS.schedule },
    'label-delay': { type: 'string', default: DEFAULT_LOOP_SETTINGS.labelDelay },
    'drift-interval': { type: 'string', default: '3s' },
    'kafka-port': { type: 'string', default: '39492' },
    out: { type: 'string', default: fileURLToPath(new URL('./results.json', import.meta.url)) },
  },
});

function integer(name: keyof typeof args, min: number): number {
  const v = Number(args[name]);
  if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`bench:loop: --${name} must be an integer ≥ ${min}, got ${String(args[name])}`);
  return v;
}
function listOf<T extends string>(name: keyof typeof args, allowed: readonly T[]): T[] {
  const list = String(args[name]).split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((s) => !allowed.includes(s as T));
  if (bad.length > 0 || list.length === 0) throw new RangeError(`bench:loop: --${name} takes a list of ${allowed.join(', ')}; got ${String(args[name])}`);
  return list as T[];
}

type Variant = 'change' | 'control';
const STREAMS = listOf<StreamName>('streams', STREAM_NAMES);
const VARIANTS = listOf<Variant>('variants', ['change', 'control']);
const STRATEGY_LIST = listOf<Strategy>('strategies', STRATEGIES);
const EVENTS = integer('events', 2_000);
const CHANGE_AT = integer('change-at', 1);
if (CHANGE_AT >= EVENTS) throw new RangeError(`bench:loop: --change-at ${CHANGE_AT} must be below --events ${EVENTS}`);
const RATE = integer('rate', 1);
const LABEL_LAG = integer('label-lag', 0);
const AUC_WINDOW = integer('auc-window', 50);
const SEED = integer('seed', 0);
const SETTINGS: LoopSettings = {
  windowRows: integer('window-rows', 10),
  cooldown: args.cooldown,
  minNewLabels: integer('min-new-labels', 0),
  onlineLabels: integer('online-labels', 0),
  schedule: args.schedule,
  labelDelay: args['label-delay'],
};

interface RunSummary {
  stream: StreamName;
  variant: Variant;
  strategy: Strategy;
  pipeline: string;
  seconds: RunRecord['seconds'];
  missing: number;
  /** Retraining decisions by outcome (the first model's run not counted). */
  runsStarted: number;
  runsSkipped: Record<string, number>;
  runsFailed: number;
  /** Registry outcomes of retrained models: offline (training) and online (policy). */
  offlineChallenger: number;
  offlineRejected: number;
  onlinePromoted: number;
  onlineRejected: number;
  promotions: Promotion[];
  promotion: PromotionSummary;
  /** First error-stream detection on the serving champion at or after the change (event index − change). */
  detectionDelay: number | undefined;
  /** The first training run started at or after the change, and the first model placed as challenger (event index − change). */
  retrainDelay: number | undefined;
  challengerDelay: number | undefined;
  before: AucLoss;
  after: AucLoss;
  /** The machine's 1-minute load average when the run ended (other agents share the cores). */
  loadAtEnd: number;
  /** Drift-job reports: the mean events between two, and the mean events their newest event trailed the producer by. */
  driftJob: { reports: number; meanPeriodEvents: number; meanLagEvents: number };
  curve: WindowPoint[];
}

function summarize(record: RunRecord, variant: Variant, best: Float64Array, oracle: Float64Array): RunSummary {
  const { config } = record;
  const curve = aucCurve(record.served, best, oracle, AUC_WINDOW, config.events);
  const promotions = promotionsOf(record.modelEvents, record.served, record.t0, record.stepMs);
  // Measured from the change position on the change streams and from the same position on the controls, so the
  // controls' numbers compare with theirs.
  const from = CHANGE_AT;
  const retrains = record.retraining.filter((d) => d.trigger !== 'first_model');
  const skipped: Record<string, number> = {};
  for (const d of retrains.filter((x) => x.decision === 'skipped')) skipped[d.reason] = (skipped[d.reason] ?? 0) + 1;
  const firstChampion = record.modelEvents.find((e) => e.stage === 'champion')?.model_version;
  const indexAt = (ms: number) => Math.round((ms - record.t0) / record.stepMs);
  const detection = record.detections.find((d) => d.index >= from && d.role === 'champion' && d.model_version === firstChampion);
  return {
    stream: config.stream,
    variant,
    strategy: config.strategy,
    pipeline: record.pipeline,
    seconds: record.seconds,
    missing: record.missing,
    runsStarted: retrains.filter((d) => d.decision === 'trained').length,
    runsSkipped: skipped,
    runsFailed: retrains.filter((d) => d.decision === 'failed').length,
    offlineChallenger: record.modelEvents.filter((e) => e.stage === 'challenger' && e.decided_by === 'training').length,
    offlineRejected: record.modelEvents.filter((e) => e.stage === 'rejected' && e.decided_by === 'training').length,
    onlinePromoted: record.modelEvents.filter((e) => e.stage === 'champion' && e.decided_by === 'policy').length,
    onlineRejected: record.modelEvents.filter((e) => e.stage === 'rejected' && e.decided_by === 'policy').length,
    promotions,
    promotion: summarizePromotions(promotions, variant === 'change' ? CHANGE_AT : null),
    detectionDelay: detection === undefined ? undefined : detection.index - from,
    retrainDelay: firstAtOrAfter(retrains.filter((d) => d.decision === 'trained').map((d) => indexAt(d.decided_at)), from),
    challengerDelay: firstAtOrAfter(record.modelEvents.filter((e) => e.stage === 'challenger').map((e) => indexAt(e.decided_at)), from),
    before: aucLoss(curve, 0, from),
    after: aucLoss(curve, from),
    driftJob: driftJobCadence(record.driftReports),
    loadAtEnd: loadavg()[0],
    curve,
  };
}

/** The first index at or after `from`, as a delay from it. */
function firstAtOrAfter(indices: number[], from: number): number | undefined {
  const after = indices.filter((i) => i >= from);
  return after.length > 0 ? Math.min(...after) - from : undefined;
}

function driftJobCadence(reports: RunRecord['driftReports']): RunSummary['driftJob'] {
  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  return {
    reports: reports.length,
    meanPeriodEvents: mean(reports.slice(1).map((r, k) => r.atIndex - reports[k].atIndex)),
    meanLagEvents: mean(reports.map((r) => r.atIndex - r.windowEndIndex)),
  };
}

/** One run in a child process; its log goes to `<workDir>/run.log`. */
function runChild(config: RunConfig): Promise<RunRecord> {
  mkdirSync(config.workDir, { recursive: true });
  const log = createWriteStream(join(config.workDir, 'run.log'));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./one.ts', import.meta.url)), JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(readFileSync(config.out, 'utf8')) as RunRecord);
      else reject(new Error(`run ${config.stream}/${config.strategy} exited with ${code}; its log: ${join(config.workDir, 'run.log')}`));
    });
  });
}

const fmt = (x: number | undefined, digits = 3) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));

function table(summaries: RunSummary[]): string {
  const header = ['stream', 'change', 'strategy', 'retrains', 'offline ch/rej', 'online pr/rej', 'detected +', 'retrain +', 'challenger +', 'promoted +', 'serving +',
    'false prom.', 'AUC before', 'AUC after', 'best after', 'AUC lost', 'mean gap', 'err after', 'best err', 'drift job', 'wall s', 'load'];
  const rows = summaries.map((s) => [
    s.stream,
    s.variant === 'change' ? `at ${CHANGE_AT}` : 'none',
    STRATEGY_LABELS[s.strategy],
    String(s.runsStarted),
    `${s.offlineChallenger}/${s.offlineRejected}`,
    `${s.onlinePromoted}/${s.onlineRejected}`,
    num(s.detectionDelay),
    num(s.retrainDelay),
    num(s.challengerDelay),
    s.variant === 'change' ? num(s.promotion.eventsToDecision) : '',
    s.variant === 'change' ? num(s.promotion.eventsToServing) : '',
    String(s.promotion.falsePromotions),
    fmt(s.before.achieved),
    fmt(s.after.achieved),
    fmt(s.after.best),
    num(s.after.lost),
    fmt(s.after.meanGap),
    fmt(s.after.errorRate),
    fmt(s.after.bestErrorRate),
    `${num(s.driftJob.meanPeriodEvents)}/${num(s.driftJob.meanLagEvents)}`,
    num(s.seconds.start + s.seconds.produce + s.seconds.drain),
    s.loadAtEnd.toFixed(1),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (j < 3 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The achieved curve per run, a window per column (after the change marked with |). */
function curves(summaries: RunSummary[]): string {
  return summaries.map((s) => {
    // AUC in hundredths, so 40 windows fit a line.
    const cells = s.curve.map((p) => (p.from === CHANGE_AT ? '| ' : '') + (Number.isFinite(p.achieved) ? String(Math.round(p.achieved * 100)).padStart(3) : '  —'));
    return `${`${s.stream} ${s.variant} ${s.strategy}`.padEnd(24)} ${cells.join(' ')}`;
  }).join('\n');
}

const brokerStarted = Date.now();
const kafka = startLocalKafka(integer('kafka-port', 1));
const root = mkdtempSync(join(tmpdir(), 'bench-loop-'));
const summaries: RunSummary[] = [];
const started = new Date();
const head = [
  `streamloop bench:loop — ${started.toISOString()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  `kafka ${kafka.brokers.join(',')}${kafka.started ? ` (started, ${((Date.now() - brokerStarted) / 1000).toFixed(0)} s)` : ''}; logs under ${root}`,
  `${EVENTS.toLocaleString('en-US')} events per run at ${RATE}/s (event time +${(1000 / RATE).toFixed(2)} ms per event), labels ${LABEL_LAG} events behind; change at ${CHANGE_AT.toLocaleString('en-US')}; seed ${SEED}`,
  `spec: training.window last_rows ${SETTINGS.windowRows} (= training.min_labels), retraining cooldown ${SETTINGS.cooldown}, min_new_labels ${SETTINGS.minNewLabels}, promotion.online_labels ${SETTINGS.onlineLabels}, schedule ${SETTINGS.schedule}, detectors.label_delay ${SETTINGS.labelDelay}; drift job every ${args['drift-interval']}`,
];
console.log(head.join('\n'));
try {
  for (const streamName of STREAMS) {
    const stream = LOOP_STREAMS[streamName];
    console.log(`  ${streamName}: ${stream.description}; ${stream.algorithm} ${JSON.stringify(stream.params)}`);
    for (const variant of VARIANTS) {
      const changeAt = variant === 'change' ? CHANGE_AT : null;
      const events = stream.generate(SEED, EVENTS, changeAt);
      const best = bestPossibleScores(stream, events, SEED);
      const oracle = Float64Array.from(events, (e) => stream.oracleScore(e));
      for (const strategy of STRATEGY_LIST) {
        const workDir = join(root, `${streamName}-${variant}-${strategy}`);
        const config: RunConfig = {
          stream: streamName, changeAt, strategy, events: EVENTS, rate: RATE, labelLag: LABEL_LAG, seed: SEED, brokers: kafka.brokers,
          settings: SETTINGS, driftInterval: args['drift-interval'], workDir, out: join(workDir, 'record.json'),
        };
        const t = Date.now();
        try {
          const record = await runChild(config);
          const s = summarize(record, variant, best, oracle);
          summaries.push(s);
          console.log(`  ${streamName} ${variant} ${strategy}: ${((Date.now() - t) / 1000).toFixed(0)} s; promotions ${s.promotions.map((p) => `v${p.version} by ${p.decidedBy} at event ${p.decidedIndex} (serving from ${p.firstServedIndex ?? '—'})`).join(', ') || 'none'}; ` +
            `retraining ${s.runsStarted} started, skipped ${JSON.stringify(s.runsSkipped)}, ${s.runsFailed} failed; ${s.missing} events not served+labelled`);
        } catch (error) {
          console.log(`  ${streamName} ${variant} ${strategy}: FAILED — ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }
} finally {
  kafka.stop();
}

console.log(`\nper run: retrains = training runs started after the first model; offline ch/rej = retrained models placed as challenger / rejected on the held-out window;
online pr/rej = challengers promoted / rejected on promotion.online_labels live events; detected + = events from the change to the first error-stream
detection on the first champion; retrain + / challenger + = to the first training run started / the first model placed as challenger at or after it;
promoted + / serving + = events from the change to the first promotion decided after it / to the first event that model served; false prom. = promotions decided before the change (all on a control); AUC before / after = served live ROC AUC, mean of ${AUC_WINDOW}-event
windows before / from event ${CHANGE_AT}; best after = the best-possible model's; AUC lost = Σ (best − achieved) × window events from ${CHANGE_AT}; mean gap = AUC lost / events;
err after / best err = error rate of the served class / of the best-possible model at 0.5 from ${CHANGE_AT}; drift job = mean events between two drift-job reports / mean
events the newest event in a report trailed the producer; load = the machine's 1-minute load average at the end of the run\n`);
console.log(table(summaries));
console.log(`\nlive ROC AUC × 100 per ${AUC_WINDOW}-event window (| = event ${CHANGE_AT})`);
console.log(curves(summaries));
writeFileSync(args.out, `${JSON.stringify({
  date: started.toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, header: head,
  options: { events: EVENTS, changeAt: CHANGE_AT, rate: RATE, labelLag: LABEL_LAG, aucWindow: AUC_WINDOW, seed: SEED, settings: SETTINGS, driftInterval: args['drift-interval'] },
  runs: summaries.map((s) => ({
    ...s,
    curve: s.curve.map((p) => ({
      from: p.from, n: p.n, achieved: round(p.achieved), best: round(p.best), oracle: round(p.oracle), errorRate: round(p.errorRate), bestErrorRate: round(p.bestErrorRate), version: p.version,
    })),
  })),
}, null, 1)}\n`);
console.log(`\nwrote ${args.out}; each run's log and record stay under ${root}`);

function round(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null;
}
