// `npm run bench:serving` (also run by `npm run bench`): the inference stage's serving cost.
//   (a) the stage's scoring path beside raw onnxruntime-node `session.run` on the same model and batch sizes (GBDT and
//       logistic regression, libs/ml trainers and their ONNX export), and the onnxruntime session options swept
//       (intra-op threads 1/2 × graph optimization levels) to choose serving.onnx's defaults;
//   (b) REST predict p50/p95/p99 at a fixed offered rate (open loop) against `streamloop start --target inference`
//       on a broker (bench/serving/rest.ts; skipped with --no-rest, or said so and skipped with --optional when no broker);
//   (c) the cost of a challenger: stage throughput without one, in shadow, and in split;
//   (d) serving.batch.max_wait on a broker (bench/serving/fetch-wait.ts): latency and CPU per vector of inference's own
//       consumer at a fixed rate, unset against 10 ms and 50 ms and unset again (--waits; skipped with --no-rest like (b)).
// Every ratio is measured side by side: the variants of a cell run interleaved, round after round, and the median
// round is reported. Flags: --rounds N (default 5), --cell-ms M (time per variant per round, default 250),
// --rate R and --seconds S for (b) (default 500 requests/s for 20 s), --wait-rate and --wait-seconds for (d) (default
// 1000 vectors/s for 15 s), --no-rest, --optional, --only a,b,c,d.
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadPipelineSpec, type GraphOptimizationLevel } from '@streamloop/config';
import { FeatureComputer } from '@streamloop/features';
import { gaussian, OnnxScorer, seededRandom, trainClassifier, type Algorithm } from '@streamloop/ml';
import type { FeatureVectorRecord } from '@streamloop/runtime';
import { InProcessStage, registryRecord } from './stage';
import { runFetchWaitBench } from './fetch-wait';
import { runRestBench } from './rest';

const args = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'cell-ms': { type: 'string', default: '250' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '20' },
    'no-rest': { type: 'boolean', default: false },
    'wait-rate': { type: 'string', default: '1000' },
    'wait-seconds': { type: 'string', default: '15' },
    waits: { type: 'string', default: 'unset,10,50,unset' },
    optional: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
}).values;
const ROUNDS = Number(args.rounds);
const CELL_MS = Number(args['cell-ms']);
const BATCHES = [1, 16, 64, 256, 1024];
const run = (part: string) => !args.only || args.only.split(',').includes(part);

const spec = loadPipelineSpec(new URL('../../examples/pipelines/fraud.yaml', import.meta.url).pathname);
const featureNames = new FeatureComputer(spec).featureNames;
const d = featureNames.length;

// Synthetic rows in the pipeline's feature names (what the models predict does not matter; that they are real does).
const normal = gaussian(seededRandom(11));
const X = Array.from({ length: 4000 }, () => featureNames.map(() => normal()));
const y = X.map((row) => (row[0] + 0.5 * row[1] - 0.3 * (row[2] ?? 0) + 0.5 * normal() > 0.8 ? 1 : 0));
const vectors: FeatureVectorRecord[] = X.slice(0, 1024).map((row, i) => ({
  event_id: `e${i}`, pipeline: spec.pipeline, entity_key: `card-${i % 500}`, event_time: 1_700_000_000_000 + i, feature_spec_version: spec.features.version,
  values: Object.fromEntries(featureNames.map((n, j) => [n, row[j]])), computed_at: 1_700_000_000_000 + i,
}));
const matrix = new Float32Array(1024 * d);
X.slice(0, 1024).forEach((row, i) => row.forEach((v, j) => { matrix[i * d + j] = v; }));

const models: Array<{ algorithm: Algorithm; label: string; onnx: Uint8Array }> = [];
for (const algorithm of ['logistic_regression', 'gbdt'] as const) {
  const started = performance.now();
  const model = trainClassifier(algorithm, X, y, { featureNames, params: algorithm === 'gbdt' ? {} : { l2: 1 } });
  const onnx = model.toOnnx(spec.model.name);
  const label = algorithm === 'gbdt' ? 'gbdt (100 trees ≤ 31 leaves)' : 'logistic';
  models.push({ algorithm, label, onnx });
  process.stderr.write(`bench:serving: ${algorithm} fitted in ${((performance.now() - started) / 1000).toFixed(1)} s, ONNX ${onnx.length} bytes\n`);
}

/** Runs `fn` (one call = `rows` rows) for about CELL_MS; rows per second. */
async function rate(fn: () => Promise<unknown>, rows: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < CELL_MS) {
    await fn();
    calls += 1;
    now = performance.now();
  }
  return (calls * rows) / ((now - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Variants measured interleaved, ROUNDS times; the median rows/s of each. */
async function sideBySide(variants: Array<{ name: string; fn: () => Promise<unknown>; rows: number }>): Promise<Map<string, number>> {
  const seen = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order each round, so neither side always runs first after the other warmed the caches.
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) seen.get(v.name)!.push(await rate(v.fn, v.rows));
  }
  return new Map([...seen].map(([k, xs]) => [k, median(xs)]));
}

async function rawSession(onnx: Uint8Array, threads: number, level: GraphOptimizationLevel): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnx, { executionProviders: ['cpu'], graphOptimizationLevel: level, intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
}

const fmt = (x: number) => Math.round(x).toLocaleString('en');
const out: string[] = [];
const print = (line = '') => {
  out.push(line);
  console.log(line);
};

print(`streamloop bench:serving — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
print(`models on the fraud example's ${d} features; medians of ${ROUNDS} interleaved rounds of ${CELL_MS} ms per variant`);

if (run('a')) {
  print();
  print('(a) the inference stage beside raw onnxruntime-node session.run, same model and batch (rows/s; 1 intra-op thread, optimization all)');
  print('    raw: session.run on a ready float32 tensor; scorer: OnnxScorer.score (checks, the P(1) column, labels);');
  print('    scoring: the handler\'s scoring call (scoreWithFallback over the chunked RowScorer: matrix from the records\' value maps, scorer);');
  print('    handler: InferenceStream.predict on a decoded batch (scoring, prediction records, per-prediction metrics);');
  print('    +avro: and each prediction Avro-encoded with the platform\'s type; +wire: the transport\'s BatchProcessor around the');
  print('    handler (Confluent wire decode of the feature vectors, encode with framing and size checks)');
  const cols = ['raw', 'scorer', 'scoring', 'handler', '+avro', '+wire'];
  print(`${'model'.padEnd(30)} ${'batch'.padStart(5)} ${cols.map((c) => c.padStart(10)).join(' ')}  ${['scoring', 'handler', '+avro', '+wire'].map((c) => `${c}/raw`.padStart(11)).join(' ')}`);
  for (const m of models) {
    const session = await rawSession(m.onnx, 1, 'all');
    const scorer = await OnnxScorer.load(m.onnx, { expectedFeatures: d });
    const stage = await InProcessStage.start({ spec, champion: registryRecord(spec.pipeline, spec.model.name, 1, 'champion', m.algorithm, featureNames, m.onnx) });
    for (const b of BATCHES) {
      const input = matrix.subarray(0, b * d);
      const decoded = stage.decoded(vectors.slice(0, b));
      const rows = vectors.slice(0, b).map((v) => v.values);
      const consumed = await stage.consumed(vectors.slice(0, b));
      const r = await sideBySide([
        { name: 'raw', rows: b, fn: () => session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [b, d]) }) },
        { name: 'scorer', rows: b, fn: () => scorer.score(input, b) },
        { name: 'scoring', rows: b, fn: () => stage.scoreOnly(rows) },
        { name: 'handler', rows: b, fn: () => stage.handle(decoded, false) },
        { name: '+avro', rows: b, fn: () => stage.handle(decoded) },
        { name: '+wire', rows: b, fn: () => stage.process(consumed) },
      ]);
      const raw = r.get('raw')!;
      const ratios = ['scoring', 'handler', '+avro', '+wire'].map((c) => `${(r.get(c)! / raw).toFixed(2)}x`.padStart(11)).join(' ');
      print(`${m.label.padEnd(30)} ${String(b).padStart(5)} ${cols.map((c) => fmt(r.get(c)!).padStart(10)).join(' ')}  ${ratios}`);
    }
    await session.release();
    await scorer.release();
  }

  print();
  print('serving.onnx sweep: raw session.run rows/s by intra-op threads and graph optimization level');
  const levels: GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
  print(`${'model'.padEnd(30)} ${'batch'.padStart(5)} ${levels.flatMap((l) => [1, 2].map((t) => `${l}/${t}t`.padStart(12))).join(' ')}`);
  for (const m of models) {
    const sessions = new Map<string, ort.InferenceSession>();
    for (const l of levels) for (const t of [1, 2]) sessions.set(`${l}/${t}`, await rawSession(m.onnx, t, l));
    for (const b of [1, 64, 1024]) {
      const input = matrix.subarray(0, b * d);
      const r = await sideBySide([...sessions].map(([name, s]) => ({ name, rows: b, fn: () => s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [b, d]) }) })));
      print(`${m.label.padEnd(30)} ${String(b).padStart(5)} ${levels.flatMap((l) => [1, 2].map((t) => fmt(r.get(`${l}/${t}`)!).padStart(12))).join(' ')}`);
    }
    for (const s of sessions.values()) await s.release();
  }

  print();
  print('serving.batch.max_rows: stage rows/s on consumed batches of 1024 rows, scored in calls of at most max_rows');
  const sizes = [64, 256, 1024];
  print(`${'model'.padEnd(30)} ${sizes.map((k) => `max_rows ${k}`.padStart(14)).join(' ')}`);
  for (const m of models) {
    const record = registryRecord(spec.pipeline, spec.model.name, 1, 'champion', m.algorithm, featureNames, m.onnx);
    const variants = [];
    for (const k of sizes) {
      const stage = await InProcessStage.start({ spec, champion: record, serving: { batch: { maxRows: k, maxWaitMs: null } } });
      const decoded = stage.decoded(vectors.slice(0, 1024));
      variants.push({ name: String(k), rows: 1024, fn: () => stage.handle(decoded) });
    }
    const r = await sideBySide(variants);
    print(`${m.label.padEnd(30)} ${sizes.map((k) => fmt(r.get(String(k))!).padStart(14)).join(' ')}`);
  }
}

if (run('c')) {
  print();
  print('(c) the cost of a challenger: stage rows/s (handler + Avro-encoding, as in (a)) without one, in shadow, in split (share 0.1)');
  print('    the challenger is the other model of the two (a GBDT champion has a logistic challenger, and the reverse)');
  print(`${'champion'.padEnd(30)} ${'batch'.padStart(5)} ${'alone'.padStart(11)} ${'shadow'.padStart(11)} ${'split'.padStart(11)}  shadow/alone  split/alone`);
  for (const [i, m] of models.entries()) {
    const other = models[1 - i];
    const champion = registryRecord(spec.pipeline, spec.model.name, 1, 'champion', m.algorithm, featureNames, m.onnx);
    const challenger = registryRecord(spec.pipeline, spec.model.name, 2, 'challenger', other.algorithm, featureNames, other.onnx);
    const alone = await InProcessStage.start({ spec, champion });
    const shadow = await InProcessStage.start({ spec, champion, challenger, serving: { challenger: { mode: 'shadow', share: 0.1 } } });
    const split = await InProcessStage.start({ spec, champion, challenger, serving: { challenger: { mode: 'split', share: 0.1 } } });
    for (const b of [16, 256, 1024]) {
      const batch = vectors.slice(0, b);
      const r = await sideBySide([
        { name: 'alone', rows: b, fn: () => alone.handle(alone.decoded(batch)) },
        { name: 'shadow', rows: b, fn: () => shadow.handle(shadow.decoded(batch)) },
        { name: 'split', rows: b, fn: () => split.handle(split.decoded(batch)) },
      ]);
      const a = r.get('alone')!;
      print(`${m.label.padEnd(30)} ${String(b).padStart(5)} ${fmt(a).padStart(11)} ${fmt(r.get('shadow')!).padStart(11)} ${fmt(r.get('split')!).padStart(11)}  ${(r.get('shadow')! / a).toFixed(2).padStart(11)}x  ${(r.get('split')! / a).toFixed(2).padStart(10)}x`);
    }
  }
}

if (run('b') && !args['no-rest']) {
  print();
  const model = models.find((m) => m.algorithm === 'gbdt')!;
  const outcome = await runRestBench({
    spec, featureNames, onnx: model.onnx, algorithm: model.algorithm, bodies: vectors.slice(0, 256).map((v) => ({ features: v.values })),
    rate: Number(args.rate), seconds: Number(args.seconds), optional: args.optional, print,
  });
  if (outcome === 'skipped') print('(b) REST predict: skipped (no broker could be had; --optional)');
}

if (run('d') && !args['no-rest']) {
  print();
  const model = models.find((m) => m.algorithm === 'gbdt')!;
  const outcome = await runFetchWaitBench({
    spec, featureNames, onnx: model.onnx, algorithm: model.algorithm, vectors, waits: args.waits.split(',').map((w) => (w === 'unset' ? null : Number(w))),
    rate: Number(args['wait-rate']), seconds: Number(args['wait-seconds']), optional: args.optional, print,
  });
  if (outcome === 'skipped') print('(d) serving.batch.max_wait: skipped (no broker could be had; --optional)');
}
