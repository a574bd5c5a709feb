// `npm run bench`: in-process throughput of the loop's hot paths, printed as a table with the machine it ran on.
// No broker needed; numbers go into BENCHMARKS.md with the command that produced them.
import { cpus } from 'node:os';
import { loadAvsc, safeDecode } from '@streamloop/avro';
import { loadPipelineSpec } from '@streamloop/config';
import { FeatureComputer } from '@streamloop/features';
import { exportOnnx, OnnxScorer, seededRandom, TabularPipeline } from '@streamloop/ml';
import { generateCardTransactions } from '@streamloop/testing';

interface Row { bench: string; value: string; unit: string; note: string }
const rows: Row[] = [];
const spec = loadPipelineSpec(new URL('../examples/pipelines/fraud.yaml', import.meta.url).pathname);

function time<T>(fn: () => T): { ms: number; result: T } {
  const start = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

// Features: events/s through transforms and per-entity windows.
for (const cards of [1_000, 100_000]) {
  const stream = generateCardTransactions({ seed: 1, events: 200_000, cards, meanGapMs: 500 }).map((x) => x.event as unknown as Record<string, unknown>);
  const computer = new FeatureComputer(spec);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const { ms } = time(() => { for (const e of stream) computer.compute(e); });
  gc?.();
  // Heap held by the computer's state after a full GC, over its entity states (one per entity field and value).
  const perState = (process.memoryUsage().heapUsed - before) / computer.entityCount();
  rows.push({
    bench: `features.compute, ${cards} cards`, value: Math.round(stream.length / (ms / 1000)).toLocaleString('en'), unit: 'events/s',
    // With few states the difference is lost in GC noise; memory is reported where states dominate the heap.
    note: !gc ? 'run with --expose-gc for memory' : computer.entityCount() < 10_000 ? `${computer.entityCount()} states` : `${Math.round(perState)} B heap per entity state (${computer.entityCount()} states)`,
  });
}

// Avro: bounded decode of the event schema against avsc's own decode.
{
  const type = loadAvsc(spec.events.schemaPath);
  const events = generateCardTransactions({ seed: 2, events: 100_000 }).map((x) => type.toBuffer(x.event));
  const plain = time(() => { for (const b of events) type.fromBuffer(b); });
  const safe = time(() => { for (const b of events) safeDecode(type, b); });
  rows.push({ bench: 'avro decode (avsc fromBuffer)', value: Math.round(events.length / (plain.ms / 1000)).toLocaleString('en'), unit: 'records/s', note: '' });
  rows.push({ bench: 'avro safeDecode (bounded)', value: Math.round(events.length / (safe.ms / 1000)).toLocaleString('en'), unit: 'records/s', note: `${(safe.ms / plain.ms).toFixed(2)}x the time of avsc` });
}

// Training and scoring: logistic regression on 100k × 20, ONNX export, onnxruntime in batches of 256.
{
  const rnd = seededRandom(3);
  const n = 100_000, d = 20;
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: d }, () => rnd() * 2 - 1);
    X.push(x);
    y.push(rnd() < 1 / (1 + Math.exp(-(x[0] * 2 - x[1] + x[2] * 0.5))) ? 1 : 0);
  }
  const names = Array.from({ length: d }, (_, j) => `f${j}`);
  const fit = time(() => TabularPipeline.fit(X, y, { featureNames: names }));
  rows.push({ bench: `logistic regression fit, ${n} × ${d}`, value: fit.ms.toFixed(0), unit: 'ms', note: 'Newton, L2' });
  const scorer = await OnnxScorer.load(exportOnnx(fit.result, { modelName: 'bench' }), { expectedFeatures: d });
  const batch = 256;
  const input = new Float32Array(batch * d).map(() => rnd());
  const rounds = 400;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await scorer.score(input, batch);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  rows.push({ bench: `onnxruntime score, batch ${batch}`, value: Math.round((rounds * batch) / (ms / 1000)).toLocaleString('en'), unit: 'rows/s', note: `${(ms / rounds).toFixed(3)} ms per batch` });
  await scorer.release();
}

console.log(`streamloop bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
const w = Math.max(...rows.map((r) => r.bench.length));
for (const r of rows) console.log(`${r.bench.padEnd(w)}  ${r.value.padStart(12)} ${r.unit.padEnd(10)} ${r.note}`);
