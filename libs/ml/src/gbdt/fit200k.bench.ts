// Ad-hoc profiling harness (not a test): fits the bench:ml 200k × 30 set once and prints CPU time, wall time and a
// hash of the fitted model, so a speed change can be checked for bit-identical output.
// Usage: [STREAMLOOP_GBDT_THREADS=n] node --import tsx libs/ml/src/gbdt/fit200k.bench.ts [dataset] [repeats]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '@streamloop/config';
import { rocAuc } from '../metrics';
import { GradientBoostedTrees } from './model';

const name = process.argv[2] ?? 'classification_200k';
const repeats = Number(process.argv[3] ?? 1);
const cache = process.env.STREAMLOOP_BENCH_ML_CACHE ?? join(homedir(), '.cache/streamloop/bench-ml');
// The thread count as the training target takes it (the settings schema); unset, libs/ml's default.
const threads = loadSettings({ STREAMLOOP_GBDT_THREADS: process.env.STREAMLOOP_GBDT_THREADS }).gbdtThreads;
const manifest = JSON.parse(readFileSync(join(cache, 'manifest.json'), 'utf8'));
const m = manifest.datasets[name];
const rows = (file: string, n: number): Float64Array[] => {
  const f = new Float32Array(new Uint8Array(readFileSync(join(cache, file))).buffer);
  return Array.from({ length: n }, (_, i) => Float64Array.from(f.subarray(i * m.n_features, (i + 1) * m.n_features)));
};
const Xtr = rows(m.files.X_train, m.n_train), ytr = new Uint8Array(readFileSync(join(cache, m.files.y_train)));
const Xte = rows(m.files.X_test, m.n_test), yte = new Uint8Array(readFileSync(join(cache, m.files.y_test)));
/** CPU seconds of the main thread alone (Linux), to see the critical path when helper threads share the work. */
const mainCpu = (): number => {
  const path = `/proc/self/task/${process.pid}/stat`;
  if (!existsSync(path)) return Number.NaN;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
for (let r = 0; r < repeats; r++) {
  const m0 = mainCpu();
  const c0 = process.cpuUsage(), t0 = performance.now();
  const model = GradientBoostedTrees.fit(Xtr, ytr, { maxIter: 100, learningRate: 0.1, maxLeafNodes: 31, minSamplesLeaf: 20, earlyStopping: false, l2Regularization: 0, maxBins: 255, seed: 0, threads });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const mainS = mainCpu() - m0;
  const hash = createHash('sha256').update(JSON.stringify(model.toJSON())).update(JSON.stringify(model.history)).digest('hex').slice(0, 16);
  console.log(`${name}: cpu ${((c.user + c.system) / 1e6).toFixed(3)} s (main thread ${mainS.toFixed(2)}), wall ${wall.toFixed(3)} s, AUC ${rocAuc(yte, model.predictProba(Xte)).toFixed(6)}, model ${hash}`);
}
