// `npm run bench:drift`: how fast and how falsely libs/drift's change detectors and windowed statistics flag
// drift, on seeded streams with known change points (libs/testing drift-streams: SEA and Agrawal generators).
// Per stream and seed: a model is trained on the first events; the streaming detectors (ADWIN, Page-Hinkley, DDM,
// River's defaults) watch its 0/1 error stream, ADWIN and Page-Hinkley also its score stream (no labels needed);
// the statistics compare a reference window of feature values from the training period with sliding windows.
// Reports detection delay (events from the change until the first alarm), misses and false alarms per 100k events,
// prints tables and writes a JSON result. Detectors run once per warm-up in --warm-up (no detection on a detector's
// first N values after a start or reset; 0 is River's behaviour), and are also restarted on the stable stretch to
// count false alarms on their first values, as after a new champion or a monitor restart. Options: --seeds N
// (default 5), --events N (default 100000, change positions scale with it), --only STREAM, --warm-up N,N
// (default 0 and the spec's default), --out FILE (default bench/drift/results.json).
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_DETECTOR_WARM_UP } from '@streamloop/config';
import { ADWIN, DDM, PageHinkley, datasetDrift, jensenShannonDistance, ksTest, psi, wasserstein1, type ChangeDetector } from '@streamloop/drift';
import { seededRandom, trainClassifier, type Algorithm } from '@streamloop/ml';
import {
  AGRAWAL_FEATURES, changeStart, generateAgrawalStream, generateSeaStream, SEA_FEATURES, SEA_THRESHOLDS,
  type ConceptChange, type DriftStreamEvent,
} from '@streamloop/testing';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    events: { type: 'string', default: '100000' },
    only: { type: 'string' },
    'warm-up': { type: 'string', default: `0,${DEFAULT_DETECTOR_WARM_UP}` },
    // Extra rows for the error-stream detectors at other thresholds than River's (Page-Hinkley λ 50, DDM drift 3).
    'ph-threshold': { type: 'string', default: '' },
    'ddm-drift': { type: 'string', default: '' },
    out: { type: 'string', default: fileURLToPath(new URL('./results.json', import.meta.url)) },
  },
});
const SEEDS = Number(args.seeds);
const EVENTS = Number(args.events);
if (!(Number.isInteger(SEEDS) && SEEDS >= 1)) throw new RangeError(`bench:drift: --seeds must be an integer ≥ 1, got ${args.seeds}`);
if (!(Number.isInteger(EVENTS) && EVENTS >= 20_000)) throw new RangeError(`bench:drift: --events must be an integer ≥ 20000, got ${args.events}`);
const WARM_UPS = [...new Set(args['warm-up'].split(',').map(Number))];
if (!WARM_UPS.every((w) => Number.isInteger(w) && w >= 0)) throw new RangeError(`bench:drift: --warm-up must list integers ≥ 0, got ${args['warm-up']}`);
const numbers = (option: 'ph-threshold' | 'ddm-drift'): number[] => {
  const list = args[option] === '' ? [] : args[option].split(',').map(Number);
  if (!list.every((v) => Number.isFinite(v) && v > 0)) throw new RangeError(`bench:drift: --${option} must list numbers > 0, got ${args[option]}`);
  return list;
};
const PH_THRESHOLDS = numbers('ph-threshold');
const DDM_DRIFTS = numbers('ddm-drift');

// Layout of every stream, as shares of its length: train on the first 10 %, change at 60 % (gradual: the middle of
// a 10 % transition), a detection counts if it comes within 20 % of the stream after the change starts.
const TRAIN = Math.round(EVENTS * 0.1);
const POSITION = Math.round(EVENTS * 0.6);
const WIDTH = Math.round(EVENTS * 0.1);
const MAX_DELAY = Math.round(EVENTS * 0.2);
// Windowed statistics as the monitoring service runs them: the reference is REF training values evenly spaced over
// the training events (the training service's reference sample, 2000), compared with the last WINDOW events every STEP.
const REF = 2_000;
const WINDOW = 2_000;
const STEP = 1_000;
// Restarts: on the stretch before the change, a fresh detector every START_SPAN events, watching START_SPAN values.
const START_SPAN = 5_000;
// Fresh starts on a stable error stream of a model better than the bench's (fraud models err on 1 % or less), where
// DDM's first-values alarms are most frequent: STARTS_PER_RATE starts per error rate, START_SPAN values each.
const START_ERROR_RATES = [0.01, 0.05];
const STARTS_PER_RATE = 200;

// A small boosted model is enough for Agrawal's rules (age and salary bands) and keeps scoring 90k events cheap.
const GBDT_PARAMS = { max_iter: 30, max_leaf_nodes: 15, seed: 0 };

interface StreamSpec {
  name: string;
  description: string;
  /** Undefined for a no-drift control. */
  change?: ConceptChange;
  features: readonly string[];
  algorithm: Algorithm;
  make(seed: number): DriftStreamEvent[];
}

const sudden: ConceptChange = { position: POSITION };
const gradual: ConceptChange = { position: POSITION, width: WIDTH };
const SEA_NOISE = 0.1;
const sea = (change?: ConceptChange) => (seed: number) => generateSeaStream({
  seed, events: EVENTS, noise: SEA_NOISE,
  concepts: change ? [SEA_THRESHOLDS[0], SEA_THRESHOLDS[1]] : [SEA_THRESHOLDS[0]], changes: change ? [change] : [],
});
const agrawal = (after: { fn: 2 | 4; salaryRange?: [number, number] } | null, change?: ConceptChange) => (seed: number) => generateAgrawalStream({
  seed, events: EVENTS, concepts: after && change ? [{ fn: 2 }, after] : [{ fn: 2 }], changes: after && change ? [change] : [],
});
const INFLATED_SALARY: [number, number] = [30_000, 160_000];

const STREAMS: StreamSpec[] = [
  { name: 'sea-sudden', description: `SEA θ ${SEA_THRESHOLDS[0]} → ${SEA_THRESHOLDS[1]} at ${POSITION}, ${SEA_NOISE * 100} % label noise (concept drift: P(y|x) only)`, change: sudden, features: SEA_FEATURES, algorithm: 'logistic_regression', make: sea(sudden) },
  { name: 'sea-none', description: `SEA θ ${SEA_THRESHOLDS[0]} throughout (control)`, features: SEA_FEATURES, algorithm: 'logistic_regression', make: sea() },
  { name: 'agrawal-sudden', description: `Agrawal function 2 → 4 at ${POSITION} (concept drift)`, change: sudden, features: AGRAWAL_FEATURES, algorithm: 'gbdt', make: agrawal({ fn: 4 }, sudden) },
  { name: 'agrawal-gradual', description: `Agrawal function 2 → 4, sigmoid centred at ${POSITION}, width ${WIDTH} (concept drift)`, change: gradual, features: AGRAWAL_FEATURES, algorithm: 'gbdt', make: agrawal({ fn: 4 }, gradual) },
  { name: 'agrawal-covariate', description: `Agrawal function 2, salary range [20k, 150k] → [30k, 160k] at ${POSITION} (covariate shift, same rule)`, change: sudden, features: AGRAWAL_FEATURES, algorithm: 'gbdt', make: agrawal({ fn: 2, salaryRange: INFLATED_SALARY }, sudden) },
  { name: 'agrawal-none', description: 'Agrawal function 2 throughout (control)', features: AGRAWAL_FEATURES, algorithm: 'gbdt', make: agrawal(null) },
];

interface DetectorSpec { key: string; input: 'error' | 'score'; warmUp: number; make(): ChangeDetector }
const DETECTORS: DetectorSpec[] = WARM_UPS.flatMap((warmUp) => {
  const key = (name: string, input: string) => (warmUp === 0 ? `${name} (${input})` : `${name} (${input}, warm-up ${warmUp})`);
  return [
    { key: key('ADWIN', 'error'), input: 'error' as const, warmUp, make: () => new ADWIN({ warmUp }) },
    { key: key('PageHinkley', 'error'), input: 'error' as const, warmUp, make: () => new PageHinkley({ warmUp }) },
    { key: key('DDM', 'error'), input: 'error' as const, warmUp, make: () => new DDM({ warmUp }) },
    { key: key('ADWIN', 'score'), input: 'score' as const, warmUp, make: () => new ADWIN({ warmUp }) },
    { key: key('PageHinkley', 'score'), input: 'score' as const, warmUp, make: () => new PageHinkley({ warmUp }) },
    ...PH_THRESHOLDS.map((threshold) => ({
      key: key(`PageHinkley λ ${threshold}`, 'error'), input: 'error' as const, warmUp, make: () => new PageHinkley({ warmUp, threshold }),
    })),
    ...DDM_DRIFTS.map((driftThreshold) => ({
      key: key(`DDM drift ${driftThreshold}`, 'error'), input: 'error' as const, warmUp, make: () => new DDM({ warmUp, driftThreshold }),
    })),
  ];
});

/** Per-feature values of one window comparison; each statistic turns them into an alarm or not. */
interface FeatureStats { psi: number; ksP: number; js: number; w1Scaled: number }
interface StatisticSpec { name: string; alarm(perFeature: FeatureStats[], names: readonly string[]): boolean }
// PSI > 0.2 is the monitoring service's default alert (monitoring.psi_threshold); the other thresholds are
// Evidently's defaults (PSI 0.1, KS p 0.05, JS 0.1, normed Wasserstein 0.1, drift share 0.5 — the service's dataset rule).
const STATISTICS: StatisticSpec[] = [
  { name: 'PSI > 0.2 (any feature)', alarm: (f) => f.some((s) => s.psi > 0.2) },
  { name: 'PSI > 0.1 (any feature)', alarm: (f) => f.some((s) => s.psi > 0.1) },
  { name: 'KS p < 0.05 (any feature)', alarm: (f) => f.some((s) => s.ksP < 0.05) },
  { name: 'JS > 0.1 (any feature)', alarm: (f) => f.some((s) => s.js > 0.1) },
  { name: 'W1/σ_ref > 0.1 (any feature)', alarm: (f) => f.some((s) => s.w1Scaled > 0.1) },
  { name: 'dataset drift share ≥ 0.5 (KS, BH)', alarm: (f, names) => datasetDrift(f.map((s, j) => ({ feature: names[j], pValue: s.ksP })), { alpha: 0.05, shareThreshold: 0.5 }).drift },
];

const METHODS = [
  ...DETECTORS.map((d) => ({ key: d.key, kind: 'detector' as const })),
  ...STATISTICS.map((s) => ({ key: s.name, kind: 'statistic' as const })),
];

interface RunOutcome {
  /** Alarm indices before the change starts (all alarms on a control), from the end of training on. */
  falseAlarms: number;
  /** Events watched before the change starts. */
  preEvents: number;
  /** Events from the change start to the first alarm within MAX_DELAY; null when missed (or a control). */
  delay: number | null;
  /** Detectors: fresh starts on the stretch before the change, and the alarms within their first START_SPAN values. */
  starts?: number;
  startAlarms?: number;
}

/** Alarm indices (increasing; the list may stop at the first alarm after the change) → outcome. */
function outcome(alarms: number[], start: number | null): RunOutcome {
  const limit = start ?? EVENTS;
  const falseAlarms = alarms.filter((t) => t < limit).length;
  const first = start === null ? undefined : alarms.find((t) => t >= start);
  const delay = first !== undefined && start !== null && first - start < MAX_DELAY ? first - start : null;
  return { falseAlarms, preEvents: limit - TRAIN, delay };
}

function detectorAlarms(make: () => ChangeDetector, values: Float64Array, start: number | null): number[] {
  const stopAt = start === null ? EVENTS : Math.min(EVENTS, start + MAX_DELAY);
  const detector = make();
  const alarms: number[] = [];
  for (let t = TRAIN; t < stopAt; t++) {
    detector.update(values[t - TRAIN]);
    if (!detector.driftDetected) continue;
    alarms.push(t);
    if (start !== null && t >= start) break; // the first alarm after the change is all that counts
  }
  return alarms;
}

/** A fresh detector every START_SPAN events before the change (or through a control), each fed START_SPAN values. */
function restartAlarms(make: () => ChangeDetector, values: Float64Array, start: number | null, first = TRAIN, end = EVENTS): { starts: number; startAlarms: number } {
  const stop = start ?? end;
  let starts = 0;
  let startAlarms = 0;
  for (let from = first; from + START_SPAN <= stop; from += START_SPAN) {
    const detector = make();
    starts++;
    for (let t = from; t < from + START_SPAN; t++) {
      detector.update(values[t - first]);
      if (detector.driftDetected) startAlarms++;
    }
  }
  return { starts, startAlarms };
}

function std(xs: Float64Array): number {
  let m = 0;
  for (const v of xs) m += v;
  m /= xs.length;
  let s = 0;
  for (const v of xs) s += (v - m) * (v - m);
  return Math.sqrt(s / xs.length);
}

/**
 * Alarm indices (the last event of the window) of every statistic. After an alarm a statistic stays quiet until
 * its current window holds only newer events, as a detector resets after signalling.
 */
function statisticAlarms(columns: Float64Array[], names: readonly string[], start: number | null): number[][] {
  const refs = columns.map((c) => Float64Array.from({ length: REF }, (_, k) => c[Math.floor((k * TRAIN) / REF)]));
  const refStd = refs.map(std);
  const alarms: number[][] = STATISTICS.map(() => []);
  const quietUntil = STATISTICS.map(() => 0);
  const done = STATISTICS.map(() => false);
  const stopAt = start === null ? EVENTS : Math.min(EVENTS, start + MAX_DELAY);
  for (let end = TRAIN + WINDOW; end <= stopAt; end += STEP) {
    if (done.every(Boolean)) break;
    const perFeature: FeatureStats[] = columns.map((c, j) => {
      const cur = c.subarray(end - WINDOW, end);
      return {
        psi: psi(refs[j], cur).value,
        ksP: ksTest(refs[j], cur).pValue,
        js: jensenShannonDistance(refs[j], cur),
        w1Scaled: refStd[j] > 0 ? wasserstein1(refs[j], cur) / refStd[j] : 0,
      };
    });
    const t = end - 1;
    STATISTICS.forEach((s, k) => {
      if (done[k] || t < quietUntil[k] || !s.alarm(perFeature, names)) return;
      alarms[k].push(t);
      quietUntil[k] = t + WINDOW;
      if (start !== null && t >= start) done[k] = true;
    });
  }
  return alarms;
}

interface StreamRun {
  seed: number;
  errorBefore: number;
  errorAfter: number | null;
  outcomes: Record<string, RunOutcome>;
}

function runStream(spec: StreamSpec, seed: number): StreamRun {
  const events = spec.make(seed);
  const train = events.slice(0, TRAIN);
  const model = trainClassifier(spec.algorithm, train.map((e) => e.x), train.map((e) => e.y), { featureNames: spec.features, params: spec.algorithm === 'gbdt' ? GBDT_PARAMS : {} });
  const watched = events.slice(TRAIN);
  const score = Float64Array.from(model.predictProba(watched.map((e) => e.x)));
  const error = Float64Array.from(watched, (e, i) => ((score[i] >= 0.5 ? 1 : 0) === e.y ? 0 : 1));
  const start = spec.change ? changeStart(spec.change) : null;
  const afterFrom = spec.change ? spec.change.position + (spec.change.width ?? 0) / 2 : EVENTS;
  const meanError = (from: number, to: number): number => {
    let s = 0;
    for (let t = from; t < to; t++) s += error[t - TRAIN];
    return s / (to - from);
  };
  const outcomes: Record<string, RunOutcome> = {};
  for (const d of DETECTORS) {
    const values = d.input === 'error' ? error : score;
    outcomes[d.key] = { ...outcome(detectorAlarms(d.make, values, start), start), ...restartAlarms(d.make, values, start) };
  }
  const columns = spec.features.map((_, j) => Float64Array.from(events, (e) => e.x[j]));
  statisticAlarms(columns, spec.features, start).forEach((alarms, k) => {
    outcomes[STATISTICS[k].name] = outcome(alarms, start);
  });
  return {
    seed,
    errorBefore: meanError(TRAIN, start ?? EVENTS),
    errorAfter: spec.change ? meanError(afterFrom, EVENTS) : null,
    outcomes,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const int = (x: number): string => Math.round(x).toLocaleString('en');

const t0 = process.hrtime.bigint();
const cpu = cpus();
console.log(`streamloop bench:drift — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`);
console.log(`${EVENTS.toLocaleString('en')} events per stream, ${SEEDS} seeds; model trained on events [0, ${TRAIN}); change at ${POSITION} (gradual: transition [${POSITION - WIDTH / 2}, ${POSITION + WIDTH / 2}], delay counted from its start); detection counts within ${MAX_DELAY.toLocaleString('en')} events`);
console.log(`statistics: reference = ${REF} training events evenly spaced, current = last ${WINDOW} events, evaluated every ${STEP}; detectors: River defaults, warm-up ${WARM_UPS.join(', ')}; restarts: a fresh detector every ${START_SPAN} events before the change, watching ${START_SPAN}`);

const streams = STREAMS.filter((s) => !args.only || s.name === args.only);
if (streams.length === 0) throw new RangeError(`bench:drift: --only ${args.only} names no stream; streams are ${STREAMS.map((s) => s.name).join(', ')}`);
const results: Array<{ spec: StreamSpec; runs: StreamRun[]; seconds: number }> = [];
for (const spec of streams) {
  const s0 = process.hrtime.bigint();
  const runs = Array.from({ length: SEEDS }, (_, k) => runStream(spec, k + 1));
  const seconds = Number(process.hrtime.bigint() - s0) / 1e9;
  results.push({ spec, runs, seconds });
  const after = runs[0].errorAfter === null ? '' : ` → ${(100 * mean(runs.map((r) => r.errorAfter!))).toFixed(1)} % after`;
  console.log(`  ${spec.name.padEnd(18)} model error ${(100 * mean(runs.map((r) => r.errorBefore))).toFixed(1)} % before${after} (${seconds.toFixed(1)} s) — ${spec.description}`);
}

interface Summary { detected: number; runs: number; delays: number[]; falseAlarms: number; preEvents: number; starts: number; startAlarms: number }
function summarize(runs: StreamRun[], method: string): Summary {
  const os = runs.map((r) => r.outcomes[method]);
  const delays = os.flatMap((o) => (o.delay === null ? [] : [o.delay]));
  const sum = (f: (o: RunOutcome) => number) => os.reduce((s, o) => s + f(o), 0);
  return {
    detected: delays.length, runs: os.length, delays, falseAlarms: sum((o) => o.falseAlarms), preEvents: sum((o) => o.preEvents),
    starts: sum((o) => o.starts ?? 0), startAlarms: sum((o) => o.startAlarms ?? 0),
  };
}
const per100k = (alarms: number, events: number): number => (events === 0 ? 0 : (alarms / events) * 100_000);

const driftStreams = results.filter((r) => r.spec.change);
const controls = results.filter((r) => !r.spec.change);
const header = ['method', ...driftStreams.map((r) => r.spec.name), 'FA/100k pre-change', 'FA/100k control', `P(chance alarm in ${int(MAX_DELAY)})`, 'FA/100 restarts'];
const table = METHODS.map(({ key }) => {
  const cells = driftStreams.map((r) => {
    const s = summarize(r.runs, key);
    return `${s.detected}/${s.runs} ${s.detected ? int(median(s.delays)) : '—'}`;
  });
  const pre = driftStreams.map((r) => summarize(r.runs, key));
  const ctl = controls.map((r) => summarize(r.runs, key));
  const rate = (ss: Summary[]) => per100k(ss.reduce((a, s) => a + s.falseAlarms, 0), ss.reduce((a, s) => a + s.preEvents, 0));
  const fa = (ss: Summary[]) => (ss.length === 0 ? '—' : rate(ss).toFixed(1));
  // How often the detection window would hold an alarm by chance alone, at the control's false-alarm rate (Poisson).
  const chance = ctl.length === 0 ? '—' : (1 - Math.exp((-rate(ctl) * MAX_DELAY) / 100_000)).toFixed(2);
  // Alarms on a fresh detector's first START_SPAN values, pre-change and controls together.
  const all = [...pre, ...ctl];
  const starts = all.reduce((a, s) => a + s.starts, 0);
  const restarts = starts === 0 ? '—' : ((100 * all.reduce((a, s) => a + s.startAlarms, 0)) / starts).toFixed(1);
  return [key, ...cells, fa(pre), fa(ctl), chance, restarts];
});
const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
const fmt = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ').trimEnd();
console.log('');
console.log('detected/runs and median delay in events, per drift stream; false alarms per 100k watched events');
console.log(fmt(header));
for (const r of table) console.log(fmt(r));

// Per control stream, for the reader who wants SEA and Agrawal apart.
console.log('');
console.log(`false alarms per 100k events on each control (${controls.map((r) => r.spec.name).join(', ')}): ` + METHODS.map(({ key }) => `${key} ${controls.map((r) => { const s = summarize(r.runs, key); return per100k(s.falseAlarms, s.preEvents).toFixed(1); }).join('/')}`).join('; '));

// Stable Bernoulli error streams: every alarm is false; per 100 fresh starts of START_SPAN values.
const errorDetectors = DETECTORS.filter((d) => d.input === 'error');
const bernoulli = START_ERROR_RATES.map((rate) => {
  const alarms = errorDetectors.map(() => 0);
  const rnd = seededRandom(Math.round(rate * 1e6));
  const values = new Float64Array(START_SPAN);
  for (let k = 0; k < STARTS_PER_RATE; k++) {
    for (let i = 0; i < START_SPAN; i++) values[i] = rnd() < rate ? 1 : 0;
    errorDetectors.forEach((d, j) => {
      alarms[j] += restartAlarms(d.make, values, null, 0, START_SPAN).startAlarms;
    });
  }
  return { rate, alarmsPer100Starts: Object.fromEntries(errorDetectors.map((d, j) => [d.key, (100 * alarms[j]) / STARTS_PER_RATE])) };
});
console.log('');
console.log(`false alarms per 100 fresh starts on a stable error stream (${STARTS_PER_RATE} starts of ${int(START_SPAN)} values per error rate)`);
const bHeader = ['detector', ...START_ERROR_RATES.map((r) => `error ${r * 100} %`)];
const bRows = errorDetectors.map((d) => [d.key, ...bernoulli.map((b) => b.alarmsPer100Starts[d.key].toFixed(1))]);
const bWidths = bHeader.map((h, c) => Math.max(h.length, ...bRows.map((r) => r[c].length)));
for (const r of [bHeader, ...bRows]) console.log(r.map((v, c) => (c === 0 ? v.padEnd(bWidths[c]) : v.padStart(bWidths[c]))).join('  ').trimEnd());
const totalSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`total ${totalSeconds.toFixed(1)} s`);

const json = {
  generated_at: new Date().toISOString(),
  node: process.version,
  cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}`,
  settings: { events: EVENTS, seeds: SEEDS, train: TRAIN, position: POSITION, width: WIDTH, maxDelay: MAX_DELAY, reference: REF, window: WINDOW, step: STEP, warmUps: WARM_UPS, startSpan: START_SPAN },
  streams: results.map(({ spec, runs, seconds }) => ({
    name: spec.name,
    description: spec.description,
    change: spec.change ? { ...spec.change, start: changeStart(spec.change) } : null,
    model: spec.algorithm,
    seconds,
    errorBefore: mean(runs.map((r) => r.errorBefore)),
    errorAfter: spec.change ? mean(runs.map((r) => r.errorAfter!)) : null,
    methods: Object.fromEntries(METHODS.map(({ key, kind }) => {
      const s = summarize(runs, key);
      return [key, {
        kind, detected: spec.change ? s.detected : null, runs: s.runs, delays: s.delays,
        medianDelay: s.detected ? median(s.delays) : null, meanDelay: s.detected ? mean(s.delays) : null,
        falseAlarms: s.falseAlarms, watchedEvents: s.preEvents, falseAlarmsPer100k: per100k(s.falseAlarms, s.preEvents),
        ...(kind === 'detector' ? { restarts: s.starts, restartAlarms: s.startAlarms } : {}),
      }];
    })),
  })),
  restartsOnStableErrors: { span: START_SPAN, startsPerRate: STARTS_PER_RATE, rates: bernoulli },
  totalSeconds,
};
writeFileSync(args.out!, JSON.stringify(json, null, 2) + '\n');
console.log(`wrote ${args.out}`);
