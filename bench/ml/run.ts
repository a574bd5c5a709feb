// `npm run bench:ml`: libs/ml's GBDT and logistic regression against scikit-learn on the same data, same split.
// scikit-learn's numbers come from bench/ml/sklearn-results.json (committed, written by
// scripts/python/ml_reference/bench_ml.py); the datasets are read from that script's cache as raw float32, so both
// sides train on identical values. Options: --cache DIR (default ~/.cache/streamloop/bench-ml or
// $STREAMLOOP_BENCH_ML_CACHE), --refresh-sklearn (rerun the scikit-learn fits too), --only NAME, --strict (exit 1 on
// a missed target).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSettings } from '@streamloop/config';
import { gbdtThreads, GradientBoostedTrees, rocAuc, TabularPipeline } from '@streamloop/ml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/python/ml_reference/bench_ml.py');
const VENV_RUNNER = join(ROOT, 'scripts/python/run.sh');
const RESULTS = join(ROOT, 'bench/ml/sklearn-results.json');
const AUC_TOLERANCE = 0.005;
const TIME_RATIO_TARGET = 2;
const TIME_TARGET_DATASET = 'classification_200k';

interface ModelResult { roc_auc: number; fit_seconds: number; fit_seconds_all: number[]; n_iter: number }
interface DatasetInfo { description: string; n_train: number; n_test: number; n_features: number; data_sha256: string; repeats: number }
interface SklearnResults {
  generated_at: string;
  data_version: number;
  threads: number;
  versions: Record<string, string>;
  settings: { gbdt: { max_iter: number; learning_rate: number; max_leaf_nodes: number; min_samples_leaf: number; early_stopping: boolean; l2_regularization: number; max_bins: number }; logistic: { C: number } };
  datasets: Record<string, DatasetInfo & { models: { gbdt: ModelResult; logistic: ModelResult } }>;
}
interface Manifest { data_version: number; datasets: Record<string, DatasetInfo & { files: Record<'X_train' | 'y_train' | 'X_test' | 'y_test', string> }> }

const { values: args } = parseArgs({
  options: {
    cache: { type: 'string', default: process.env.STREAMLOOP_BENCH_ML_CACHE ?? join(homedir(), '.cache/streamloop/bench-ml') },
    'refresh-sklearn': { type: 'boolean', default: false },
    only: { type: 'string' },
    strict: { type: 'boolean', default: false },
  },
});
const cache = args.cache!;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/**
 * The scikit-learn side runs in the project's Python venv: scripts/python/run.sh creates it and installs the pinned
 * requirements-bench.txt (numpy, scikit-learn, threadpoolctl) first when needed, so a fresh machine needs only python3.
 */
function runPython(extra: string[]): void {
  const args = [VENV_RUNNER, '-r', 'requirements-bench.txt', SCRIPT, '--cache', cache, ...extra];
  console.log(`running bash ${args.join(' ')} …`);
  const r = spawnSync('bash', args, { stdio: 'inherit' });
  if (r.error) fail(`bench:ml: running bash ${VENV_RUNNER} failed (${r.error.message})`);
  if (r.status !== 0) fail(`bench:ml: ${SCRIPT} in the project's Python venv exited with status ${r.status} (scripts/python/run.sh says why above)`);
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

if (args['refresh-sklearn'] || !existsSync(RESULTS)) runPython([]);
const sk = readJson<SklearnResults>(RESULTS);
const manifestPath = join(cache, 'manifest.json');
if (!existsSync(manifestPath) || readJson<Manifest>(manifestPath).data_version !== sk.data_version) runPython(['--data-only']);
const manifest = readJson<Manifest>(manifestPath);

/** The cached dataset as rows of float64 (exactly the float32 values scikit-learn saw) and 0/1 labels. */
function load(name: string): { Xtr: Float64Array[]; ytr: Uint8Array; Xte: Float64Array[]; yte: Uint8Array; sha: string } {
  const m = manifest.datasets[name];
  if (!m) throw new Error(`bench:ml: dataset '${name}' is not in ${manifestPath}; delete the cache folder to regenerate it`);
  const bytes = (k: keyof typeof m.files) => readFileSync(join(cache, m.files[k]));
  const hash = createHash('sha256');
  const parts = { X_train: bytes('X_train'), y_train: bytes('y_train'), X_test: bytes('X_test'), y_test: bytes('y_test') };
  for (const b of Object.values(parts)) hash.update(b);
  const rows = (buf: Buffer, n: number): Float64Array[] => {
    if (buf.length !== n * m.n_features * 4) throw new Error(`bench:ml: ${name} matrix has ${buf.length} bytes, expected ${n} × ${m.n_features} float32`);
    const copy = new Uint8Array(buf); // aligned copy for the Float32Array view
    const f = new Float32Array(copy.buffer, 0, n * m.n_features);
    return Array.from({ length: n }, (_, i) => Float64Array.from(f.subarray(i * m.n_features, (i + 1) * m.n_features)));
  };
  return {
    Xtr: rows(parts.X_train, m.n_train), ytr: new Uint8Array(parts.y_train),
    Xte: rows(parts.X_test, m.n_test), yte: new Uint8Array(parts.y_test),
    sha: hash.digest('hex'),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Fits `repeats` times (timing only the fit call) and returns the last model with the median wall seconds, and the
 * CPU seconds of every fit (all threads of the process), which show how much the shared cores slowed the wall time.
 */
function timedFit<T>(repeats: number, fit: () => T): { model: T; seconds: number; all: number[]; cpu: number[] } {
  const all: number[] = [], cpu: number[] = [];
  let model!: T;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    model = fit();
    all.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { model, seconds: median(all), all, cpu };
}

interface Line { dataset: string; model: string; ours: number; theirs: number; oursS: number; theirsS: number; aucOk: boolean; timeOk: boolean | null }
const lines: Line[] = [];
const gs = sk.settings.gbdt;
const cpu = cpus();
console.log(`streamloop bench:ml — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`);
// The GBDT's thread count as the training target takes it: STREAMLOOP_GBDT_THREADS through the settings schema, else
// libs/ml's default (gbdtThreads); the logistic regression uses one.
const threads = gbdtThreads(loadSettings({ STREAMLOOP_GBDT_THREADS: process.env.STREAMLOOP_GBDT_THREADS }).gbdtThreads);
console.log(`scikit-learn ${sk.versions.sklearn} (numpy ${sk.versions.numpy}), ${sk.threads} threads, results of ${sk.generated_at}; ours: GBDT ${threads} thread(s), logistic 1 (Node)`);

for (const [name, ref] of Object.entries(sk.datasets)) {
  if (args.only && args.only !== name) continue;
  const data = load(name);
  if (data.sha !== ref.data_sha256) {
    console.warn(`WARNING ${name}: cached data (sha256 ${data.sha.slice(0, 12)}…) differs from the data scikit-learn was timed on (${ref.data_sha256.slice(0, 12)}…), probably another numpy/scikit-learn version; rerun with --refresh-sklearn for comparable numbers`);
  }
  const featureNames = Array.from({ length: ref.n_features }, (_, j) => `x${j}`);
  const gbdt = timedFit(ref.repeats, () => GradientBoostedTrees.fit(data.Xtr, data.ytr, {
    maxIter: gs.max_iter, learningRate: gs.learning_rate, maxLeafNodes: gs.max_leaf_nodes, minSamplesLeaf: gs.min_samples_leaf,
    earlyStopping: gs.early_stopping, l2Regularization: gs.l2_regularization, maxBins: gs.max_bins, seed: 0, threads,
  }));
  const lr = timedFit(ref.repeats, () => TabularPipeline.fit(data.Xtr, data.ytr, { featureNames, l2: 1 / sk.settings.logistic.C }));
  for (const [model, ours, r] of [
    ['gbdt', { auc: rocAuc(data.yte, gbdt.model.predictProba(data.Xte)), s: gbdt.seconds }, ref.models.gbdt],
    ['logistic', { auc: rocAuc(data.yte, lr.model.predictProba(data.Xte)), s: lr.seconds }, ref.models.logistic],
  ] as const) {
    lines.push({
      dataset: `${name} (${ref.n_train}×${ref.n_features})`, model, ours: ours.auc, theirs: r.roc_auc, oursS: ours.s, theirsS: r.fit_seconds,
      aucOk: Math.abs(ours.auc - r.roc_auc) <= AUC_TOLERANCE,
      timeOk: model === 'gbdt' && name === TIME_TARGET_DATASET ? ours.s <= TIME_RATIO_TARGET * r.fit_seconds : null,
    });
  }
  console.log(`  ${name}: done (fits repeated ${ref.repeats}×, median; ours gbdt ${gbdt.all.map((s) => s.toFixed(3)).join('/')} s wall, ${gbdt.cpu.map((s) => s.toFixed(3)).join('/')} s CPU)`);
}

const header = ['dataset', 'model', 'AUC ours', 'AUC sklearn', 'Δ AUC', 's ours', 's sklearn', 'ratio', 'targets'];
const table = lines.map((l) => [
  l.dataset, l.model, l.ours.toFixed(4), l.theirs.toFixed(4), (l.ours - l.theirs >= 0 ? '+' : '') + (l.ours - l.theirs).toFixed(4),
  l.oursS.toFixed(3), l.theirsS.toFixed(3), `${(l.oursS / l.theirsS).toFixed(2)}x`,
  [`AUC ${l.aucOk ? 'met' : 'MISSED'}`, l.timeOk === null ? '' : `time ${l.timeOk ? 'met' : 'MISSED'}`].filter(Boolean).join(', '),
]);
const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
const fmt = (r: string[]) => r.map((v, c) => (c < 2 || c === r.length - 1 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ').trimEnd();
console.log('');
console.log(fmt(header));
for (const r of table) console.log(fmt(r));
const missed = lines.filter((l) => !l.aucOk || l.timeOk === false);
console.log('');
console.log(`targets: |Δ AUC| ≤ ${AUC_TOLERANCE} on every dataset and model; GBDT fit ≤ ${TIME_RATIO_TARGET}× scikit-learn's on ${TIME_TARGET_DATASET}`);
const timeChecked = lines.some((l) => l.timeOk !== null);
console.log(missed.length === 0 ? `all targets met${timeChecked ? '' : ` (time target not checked: ${TIME_TARGET_DATASET} was not run)`}` : `${missed.length} target line(s) missed: ${missed.map((l) => `${l.dataset} ${l.model}`).join('; ')}`);
if (args.strict && missed.length > 0) process.exitCode = 1;
