// (b) of `npm run bench:serving`: REST predict latency at a fixed offered rate against a real
// `streamloop start --target inference` (and a `--target schema-registry` beside it), on a broker of the run's own
// (deploy/local/kafka.sh on a free port, or KAFKA_BROKERS), with a champion published to the registry topic.
//
// The load generator is open loop: request i is due at t0 + i / rate, whatever happened to the ones before, and its
// latency is measured from that due time to the end of its response, so a stall shows in every request it delays
// (no coordinated omission). autocannon's fixed rate (`overallRate`) paces the requests it sends but times each from
// when it is sent, which hides exactly that; hence this generator, on node:http with a keep-alive agent.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { topicsFor, type PipelineSpec } from '@streamloop/config';
import { cpuSecondsOf, publishRegistryRecord, startBrokerIfAny } from '../e2e/processes';
import { freePort, waitForApi, stopProcesses } from '../../test/support/cli-process';
import { startCliProcess, type ServiceProcess } from '../../test/support/processes';
import { AUTH_OFF_ENV } from '../../test/support/auth';
import { registryRecord } from './stage';

const REPO = new URL('../../', import.meta.url).pathname;

export interface RestBenchOptions {
  spec: PipelineSpec;
  featureNames: string[];
  onnx: Uint8Array;
  algorithm: string;
  bodies: Array<{ features: Record<string, number> }>;
  rate: number;
  seconds: number;
  optional: boolean;
  print(line?: string): void;
}

interface Sample {
  /** From the due time to the end of the response, ms. */
  latency: number;
  /** From the due time to when the request was handed to node:http (the generator's own lateness), ms. */
  sendLag: number;
  ok: boolean;
  /** What went wrong when not ok: the HTTP status or the error's code. */
  error?: string;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/** Offers `rate` requests/s for `seconds`, open loop; one sample per request. */
async function offer(url: string, bodies: string[], rate: number, seconds: number): Promise<{ samples: Sample[]; wallSeconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(url);
  const total = Math.round(rate * seconds);
  const samples: Sample[] = [];
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now() + 20;
  const send = (i: number) => new Promise<void>((resolve) => {
    const due = t0 + (i * 1000) / rate;
    const sendLag = performance.now() - due;
    const body = bodies[i % bodies.length];
    const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        samples.push({ latency: performance.now() - due, sendLag, ok: res.statusCode === 200, error: res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}` });
        resolve();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      samples.push({ latency: performance.now() - due, sendLag, ok: false, error: e.code ?? e.message });
      resolve();
    });
    req.end(body);
  });
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out; the next wake-up is at the next due time (timers have 1 ms resolution).
      while (next < total && t0 + (next * 1000) / rate <= now) pending.push(send(next++));
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + (next * 1000) / rate - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(pending);
  const wallSeconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { samples, wallSeconds };
}

export async function runRestBench(o: RestBenchOptions): Promise<'done' | 'skipped'> {
  const broker = await startBrokerIfAny('bench:serving', o.optional);
  if (!broker) return 'skipped';
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-bench-serving-'));
  const processes: ServiceProcess[] = [];
  try {
    const pipeline = `bench-serving-${Date.now().toString(36)}`;
    const doc = YAML.parse(readFileSync(o.spec.file, 'utf8')) as { pipeline: string; events: { schema: string } };
    doc.pipeline = pipeline;
    doc.events.schema = join(REPO, 'examples/pipelines', doc.events.schema);
    const specFile = join(dir, `${pipeline}.yaml`);
    writeFileSync(specFile, YAML.stringify(doc));
    const registryPort = await freePort();
    const registryUrl = `http://127.0.0.1:${registryPort}`;
    const env = { KAFKA_BROKERS: broker.brokers.join(','), STREAMLOOP_PIPELINES: specFile, SCHEMA_REGISTRY_URL: registryUrl, SCHEMA_REGISTRY_PORT: String(registryPort) };
    const registry = startCliProcess('streamloop start --target schema-registry', ['start', '--target', 'schema-registry'], { ...env, CLICKHOUSE_DATA_DIR: join(dir, 'chdb-registry') });
    processes.push(registry);
    await waitForApi(registryUrl, registry).catch(async () => {
      // The registry answers on /subjects, not necessarily /health.
      await waitFor(async () => (await fetch(`${registryUrl}/subjects`).catch(() => undefined))?.ok === true, 60_000, 'the schema registry');
    });
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    // BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") are node flags for the inference process.
    const inference = startInference(['start', '--target', 'inference', '--port', String(port)], { ...env, CLICKHOUSE_DATA_DIR: join(dir, 'chdb') });
    processes.push(inference);
    await waitForApi(api, inference);
    // Published as the training target does: Avro (schemas/model-registry.avsc) keyed pipeline/model/version.
    const topics = topicsFor({ ...o.spec, pipeline, topics: {} });
    const record = registryRecord(pipeline, o.spec.model.name, 1, 'champion', o.algorithm, o.featureNames, o.onnx);
    await publishRegistryRecord(broker.brokers, registryUrl, topics.models, record, 'bench-serving-model-publisher');
    await waitFor(async () => (await fetch(`${api}/v1/pipelines/${pipeline}/model`)).status === 200, 120_000, 'the champion to serve');
    const url = `${api}/v1/pipelines/${pipeline}/predict`;
    const bodies = o.bodies.map((b) => JSON.stringify(b));
    const check = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] });
    if (check.status !== 200) throw new Error(`bench:serving: predict answered ${check.status}: ${await check.text()}`);
    // Warm-up (JIT, sockets, onnxruntime's first calls), not recorded.
    await offer(url, bodies, o.rate, 3);
    // One request at a time (closed loop, no queueing): the round trip of a request with nothing else in flight.
    const single: number[] = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 2000; i++) {
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        const body = bodies[i % bodies.length];
        const req = request(url, { agent, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end(body);
      });
      single.push(performance.now() - started);
    }
    agent.destroy();
    single.sort((a, b) => a - b);
    const before = loadavg()[0];
    const cpuBefore = cpuSecondsOf(inference.child.pid);
    const { samples, wallSeconds } = await offer(url, bodies, o.rate, o.seconds);
    const cpuAfter = cpuSecondsOf(inference.child.pid);
    const after = loadavg()[0];
    const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / samples.length;
    const ok = samples.filter((s) => s.ok);
    const lat = ok.map((s) => s.latency).sort((a, b) => a - b);
    const lag = samples.map((s) => s.sendLag).sort((a, b) => a - b);
    const ms = (x: number) => x.toFixed(2).padStart(7);
    o.print(`(b) REST predict: POST ${'/v1/pipelines/P/predict'} {"features": …} (${o.featureNames.length} features, ${o.algorithm} champion), offered ${o.rate} requests/s open loop for ${o.seconds} s`);
    o.print(`    against \`streamloop start --target inference\` (a \`--target schema-registry\` process and a local broker beside it), keep-alive, ≤ 64 sockets`);
    o.print(`    latency from each request's due time to the end of its response; load average ${before.toFixed(1)} before, ${after.toFixed(1)} after`);
    o.print(`    one at a time (2000 sequential requests, nothing else in flight): p50 ${quantile(single, 0.5).toFixed(2)} ms, p99 ${quantile(single, 0.99).toFixed(2)} ms`);
    o.print(`    requests ${samples.length}, ok ${ok.length}, errors ${samples.length - ok.length}${errorKinds(samples)}, achieved ${(samples.length / wallSeconds).toFixed(0)} requests/s`);
    o.print(`    latency ms   p50 ${ms(quantile(lat, 0.5))}   p95 ${ms(quantile(lat, 0.95))}   p99 ${ms(quantile(lat, 0.99))}   p99.9 ${ms(quantile(lat, 0.999))}   max ${ms(lat[lat.length - 1])}`);
    if (cpuMs !== undefined) o.print(`    inference process CPU (user + system, /proc) per request: ${cpuMs.toFixed(3)} ms, ${((cpuMs * o.rate) / 10).toFixed(0)} % of one core at the offered rate`);
    o.print(`    generator's own send lag ms   p50 ${ms(quantile(lag, 0.5))}   p99 ${ms(quantile(lag, 0.99))}   max ${ms(lag[lag.length - 1])}`);
    o.print(`    target p99 ≤ 5 ms: ${quantile(lat, 0.99) <= 5 ? 'met' : 'MISSED'} (anchor: KServe sklearn iris p99 2.2 ms at 500 QPS)`);
    return 'done';
  } finally {
    await stopProcesses(processes);
    broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** " (ECONNRESET × 1, HTTP 503 × 2)" for the failed samples, or nothing. */
function errorKinds(samples: Sample[]): string {
  const kinds = new Map<string, number>();
  for (const s of samples) if (!s.ok) kinds.set(s.error ?? '?', (kinds.get(s.error ?? '?') ?? 0) + 1);
  return kinds.size === 0 ? '' : ` (${[...kinds].map(([k, n]) => `${k} × ${n}`).join(', ')})`;
}

/** `streamloop start …` as startCliProcess runs it, with BENCH_SERVER_NODE_FLAGS before the script when set. */
function startInference(args: string[], env: Record<string, string>): ServiceProcess {
  const flags = process.env.BENCH_SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  if (flags.length === 0) return startCliProcess('streamloop start --target inference', args, env);
  const child = spawn(process.execPath, [...flags, join(REPO, 'bin', 'streamloop.mjs'), ...args], { cwd: REPO, env: { ...process.env, LOG_LEVEL: 'warn', ...AUTH_OFF_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const all: Buffer[] = [];
  const keep = (b: Buffer) => {
    all.push(b);
    out = (out + b.toString('utf8')).slice(-20_000);
    // What the flags make the process print (a GC trace, say) goes to this process's stderr.
    process.stderr.write(b);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    name: 'streamloop start --target inference', child, output: () => out, transcript: () => Buffer.concat(all).toString('utf8'), exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
  };
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`bench:serving: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
