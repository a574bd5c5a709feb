// npm run deploy:run-locally -- --compose [FILE] | --k8s OVERLAY
// Proves a manifest by running it without Docker or a cluster: reads the compose file (or `kustomize build` of the
// overlay), starts each Streamloop target's command (`node bin/streamloop.mjs <args>`) with exactly its environment —
// only addresses and container paths made local (libs/deployment planLocalProcesses) — against a local Kafka broker
// and, for the ClickHouse server, embedded chDB behind ClickHouse's HTTP protocol with the manifest's user and
// password; waits until each answers the image's HEALTHCHECK; then runs the end-to-end check: labelled card
// transactions in, the first model trained and served, more events, exactly one prediction per event on the
// prediction topic (read_committed). Stops everything it started; exits 1 with the reason when anything fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { openEmbeddedSession, startClickHouseHttp, type ClickHouseHttpUser } from '@streamloop/clickhouse';
import { loadPipelineSpec, topicsFor } from '@streamloop/config';
import { planLocalProcesses, targetsOf, type LocalProcess, type Workload } from '@streamloop/deployment';
import { createKafka, readTopicToEnd, type Message } from '@streamloop/kafka';
import { loadPlatformTypes, type LabelRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { COMPOSE_FILE, composeEnv, loadComposeWorkloads, loadImage, loadK8sWorkloads, ROOT } from './common';

const LABELLED_EVENTS = 1800; // above fraud.yaml's training.min_labels (1500)
const LATER_EVENTS = 300;

function usage(message: string): never {
  console.error(`deploy:run-locally: ${message}\nusage: npm run deploy:run-locally -- --compose [FILE] | --k8s OVERLAY`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let source: { kind: 'compose'; file: string } | { kind: 'k8s'; overlay: string };
if (argv[0] === '--compose') source = { kind: 'compose', file: resolve(argv[1] ?? COMPOSE_FILE) };
else if (argv[0] === '--k8s') source = argv[1] ? { kind: 'k8s', overlay: argv[1] } : usage('--k8s needs an overlay (local)');
else usage('say --compose or --k8s');

const log = (line: string) => console.log(`[run-locally ${new Date().toISOString().slice(11, 19)}] ${line}`);
const work = mkdtempSync(join(tmpdir(), 'streamloop-run-locally-'));
const cleanups: Array<() => Promise<void> | void> = [];
const children: Array<{ process: LocalProcess; child: ChildProcess; exited: Promise<number | null> }> = [];

async function main(): Promise<void> {
  let workloads: Workload[];
  // The operator's admin token for the end-to-end check (auth is on): compose's .env STREAMLOOP_ADMIN_TOKEN, the local
  // overlay's Secret key admin-token; no workload reads either.
  let adminToken: string | undefined;
  if (source.kind === 'compose') {
    workloads = loadComposeWorkloads(source.file);
    adminToken = composeEnv(source.file).STREAMLOOP_ADMIN_TOKEN;
  } else {
    const rendered = loadK8sWorkloads(source.overlay);
    workloads = rendered.workloads;
    const secret = rendered.objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'streamloop-credentials');
    const encoded = secret?.data?.['admin-token'];
    adminToken = secret?.stringData?.['admin-token'] ?? (encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined);
  }
  log(`${workloads.length} workloads from ${source.kind === 'compose' ? source.file : `deploy/k8s/overlays/${source.overlay}`}: ${workloads.map((w) => `${w.name} (${w.args.join(' ')})`).join(', ')}`);

  // The plan first, so a manifest whose addresses do not add up fails before anything starts.
  const ports = new Set<number>();
  const nextPort = async () => {
    let p = await freePort();
    while (ports.has(p)) p = await freePort();
    ports.add(p);
    return p;
  };
  const kafkaPort = await nextPort();
  const brokers = `127.0.0.1:${kafkaPort}`;
  const clickhousePort = await nextPort();
  const free: number[] = [];
  for (let i = 0; i < workloads.length * 2; i++) free.push(await nextPort());
  const image = loadImage();
  const plan = planLocalProcesses(workloads, {
    brokers, clickhouse: `127.0.0.1:${clickhousePort}`, repoRoot: ROOT.replace(/\/$/, ''), imageWorkdir: image.workdir, tempDir: work, freePort: () => free.shift()!,
  });
  for (const p of plan) {
    for (const f of p.files) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content);
    }
  }

  // The broker: a local Apache Kafka of our own.
  log(`starting a local Kafka broker on port ${kafkaPort}`);
  const started = spawnSync('bash', [join(ROOT, 'deploy/local/kafka.sh'), 'start', String(kafkaPort)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (started.status !== 0) throw new Error(`deploy/local/kafka.sh start ${kafkaPort} failed (exit ${started.status})`);
  cleanups.push(() => void spawnSync('bash', [join(ROOT, 'deploy/local/kafka.sh'), 'stop', String(kafkaPort)], { stdio: 'inherit' }));

  // The ClickHouse server's stand-in: embedded chDB over ClickHouse's HTTP protocol, with the users the manifests'
  // CLICKHOUSE_URLs carry (the compose server's CLICKHOUSE_USER/PASSWORD, the Secret's URL).
  const users = new Map<string, ClickHouseHttpUser>();
  for (const w of workloads) {
    if (!w.env.CLICKHOUSE_URL) continue;
    const url = new URL(w.env.CLICKHOUSE_URL);
    const name = decodeURIComponent(url.username) || 'default';
    users.set(name, { name, password: decodeURIComponent(url.password), readOnly: false });
  }
  if (users.size > 0) {
    const session = await openEmbeddedSession({ dataDir: join(work, 'clickhouse-server'), database: 'streamloop' });
    const server = await startClickHouseHttp({ session, host: '127.0.0.1', port: clickhousePort, users: [...users.values()] });
    cleanups.push(async () => {
      await server.close();
      await session.close();
    });
    log(`ClickHouse stand-in (embedded chDB over HTTP) at ${server.url} for user(s) ${[...users.keys()].join(', ')}`);
  }

  // The registry first (the others register and read schemas through it), then the rest at once.
  const order = [...plan].sort((a, b) => Number(!isRegistryOnly(a)) - Number(!isRegistryOnly(b)));
  for (const p of order) {
    startProcess(p, image.entrypoint);
    if (isRegistryOnly(p)) await waitHealthy(p, image.healthcheck!);
  }
  await Promise.all(order.filter((p) => !isRegistryOnly(p)).map((p) => waitHealthy(p, image.healthcheck!)));
  log('every workload answers its health check');

  await endToEnd(plan, brokers, adminToken);
}

function isRegistryOnly(p: LocalProcess): boolean {
  const targets = targetsOf(p.args) ?? [];
  return targets.length === 1 && targets[0] === 'schema-registry';
}

function startProcess(p: LocalProcess, entrypoint: string[]): void {
  const [command, ...entryArgs] = entrypoint;
  if (command !== 'node') throw new Error(`the image's ENTRYPOINT runs ${command}, not node`);
  // Exactly the manifest's environment; PATH and HOME only so node and its tools find themselves.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work, TMPDIR: join(work, p.name, 'tmp'), ...p.env };
  mkdirSync(env.TMPDIR, { recursive: true });
  const logFile = join(work, `${p.name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [...entryArgs.map((a) => join(ROOT, a)), ...p.args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  children.push({ process: p, child, exited });
  log(`started ${p.name}: node ${entryArgs.join(' ')} ${p.args.join(' ')} (pid ${child.pid}, ports ${JSON.stringify(p.ports)}, log ${logFile})`);
}

/** Runs the image's HEALTHCHECK command with the workload's environment until it passes. */
async function waitHealthy(p: LocalProcess, healthcheck: string[], timeoutMs = 300_000): Promise<void> {
  const running = children.find((c) => c.process === p)!;
  const deadline = Date.now() + timeoutMs;
  const [, ...args] = healthcheck;
  for (;;) {
    if (running.child.exitCode !== null) throw new Error(`${p.name} exited with ${running.child.exitCode} before it was healthy; see ${join(work, `${p.name}.log`)}`);
    const r = spawnSync(process.execPath, args.map((a) => join(ROOT, a)), { env: { PATH: process.env.PATH, ...p.env }, encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) {
      log(`${p.name} healthy`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${p.name}: not healthy after ${timeoutMs / 1000} s: ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

const serviceUrl = (plan: LocalProcess[], target: string) => {
  const p = plan.find((x) => (targetsOf(x.args) ?? []).some((t) => t === target || t === 'all'));
  if (!p) throw new Error(`no workload runs the ${target} target`);
  return `http://127.0.0.1:${p.env.PORT}`;
};

async function endToEnd(plan: LocalProcess[], brokers: string, adminToken: string | undefined): Promise<void> {
  const headers: Record<string, string> = adminToken ? { authorization: `Bearer ${adminToken}` } : {};
  const ingestion = plan.find((p) => (targetsOf(p.args) ?? []).some((t) => t === 'ingestion' || t === 'all'))!;
  const specFile = ingestion.env.STREAMLOOP_PIPELINES!.split(',')[0]!;
  const spec = loadPipelineSpec(specFile);
  const topics = topicsFor(spec);
  const registryProcess = plan.find((p) => (targetsOf(p.args) ?? []).some((t) => t === 'schema-registry' || t === 'all'));
  const registryUrl = ingestion.env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${registryProcess!.env.SCHEMA_REGISTRY_PORT}`;
  const training = serviceUrl(plan, 'training');
  const inference = serviceUrl(plan, 'inference');
  log(`end-to-end: pipeline ${spec.pipeline}, registry ${registryUrl}, training ${training}, inference ${inference}`);

  // The payments app: Confluent-style Avro to P.events.raw, the labels (late, as chargebacks) to P.labels.
  const kafka = createKafka({ brokers: [brokers], clientId: 'run-locally-payments-app' });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  cleanups.unshift(() => producer.disconnect());
  const serde = new AvroSerde(new HttpRegistryClient(registryUrl, { headers }));
  const eventType = loadAvsc(spec.events.schemaPath);
  const labelType = loadPlatformTypes().label;
  const stream = generateCardTransactions({ seed: 7, events: LABELLED_EVENTS + LATER_EVENTS, meanGapMs: 90_000, compromiseRate: 0.015, idPrefix: `run-locally-${Date.now().toString(36)}-` });
  const send = async (from: number, to: number, labelled: boolean) => {
    for (let i = from; i < to; i += 300) {
      const chunk = stream.slice(i, Math.min(to, i + 300));
      const events: Message[] = [];
      for (const { event } of chunk) events.push({ key: event.card_id, value: await serde.encodeValue(topics.raw, eventType, event) });
      await producer.send({ topic: topics.raw, messages: events, acks: -1 });
      if (!labelled) continue;
      const labels: Message[] = [];
      for (const { event, label } of chunk) {
        const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 3_600_000 };
        labels.push({ key: event.transaction_id, value: await serde.encodeValue(topics.labels, labelType, record) });
      }
      await producer.send({ topic: topics.labels, messages: labels, acks: -1 });
    }
  };
  log(`sending ${LABELLED_EVENTS} labelled events`);
  await send(0, LABELLED_EVENTS, true);

  // The first model: trained by the training target once enough labels are in ClickHouse (asked over its API, as an
  // operator would with `streamloop train`), then served by inference.
  const modelDeadline = Date.now() + 300_000;
  let version: number | undefined;
  while (version === undefined) {
    if (Date.now() > modelDeadline) throw new Error('no model served within 300 s');
    assertAlive();
    const served = await fetch(`${inference}/v1/pipelines/${spec.pipeline}/model`, { headers }).catch(() => undefined);
    if (served?.ok) {
      version = (await served.json() as { model_version: number }).model_version;
      break;
    }
    const trained = await fetch(`${training}/v1/pipelines/${spec.pipeline}/train`, { method: 'POST', headers }).catch((e: Error) => ({ ok: false, status: 0, text: async () => e.message }));
    if (trained.status === 401 || trained.status === 403) throw new Error(`train: HTTP ${trained.status} ${await trained.text()} (the operator's token: STREAMLOOP_ADMIN_TOKEN in compose's .env, admin-token in the overlay's Secret)`);
    if (!trained.ok && trained.status !== 409) log(`train: HTTP ${trained.status} ${(await trained.text()).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
  log(`inference serves model version ${version}; sending ${LATER_EVENTS} more events`);
  await send(LABELLED_EVENTS, LABELLED_EVENTS + LATER_EVENTS, false);

  // Every event predicted exactly once on P.predictions, as a read_committed consumer app sees it.
  const ids = new Set(stream.map((s) => s.event.transaction_id));
  const deadline = Date.now() + 240_000;
  for (;;) {
    assertAlive();
    const counts = new Map<string, number>();
    await readTopicToEnd(kafka, topics.predictions, async (r) => {
      if (!r.value) return;
      const { value } = await serde.decode(r.value);
      const id = (value as { event_id: string }).event_id;
      if (ids.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
    }, { isolation: 'read_committed' });
    const repeated = [...counts].filter(([, n]) => n > 1);
    if (repeated.length > 0) throw new Error(`${repeated.length} events have more than one prediction, e.g. ${repeated[0]![0]} (${repeated[0]![1]})`);
    if (counts.size === ids.size) {
      log(`end-to-end ok: ${ids.size} events in, ${counts.size} predictions out, one per event (read_committed)`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`only ${counts.size} of ${ids.size} events predicted after 240 s`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

function assertAlive(): void {
  const dead = children.find((c) => c.child.exitCode !== null);
  if (dead) throw new Error(`${dead.process.name} exited with ${dead.child.exitCode}; see ${join(work, `${dead.process.name}.log`)}`);
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

async function stopAll(): Promise<void> {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 15_000))])));
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`cleanup: ${(error as Error).message}`);
    }
  }
}

let code = 0;
try {
  await main();
} catch (error) {
  code = 1;
  console.error(`deploy:run-locally FAILED: ${(error as Error).message}`);
  console.error(`logs of the workloads: ${work}`);
}
await stopAll();
process.exit(code);
