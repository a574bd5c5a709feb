// Kafka security against a secured broker: deploy/local/kafka.sh start-secure (a CA and broker certificate generated on
// the spot, SASL_SSL only, SCRAM-SHA-512 users created at format time) on a free port of its own. Every target in one
// `streamloop start`, and the built-in schema registry alone, connect with the right credentials and work (an event in,
// a prediction out; a schema registered and read back); a wrong password or an untrusted certificate stops them with a
// clear message and a non-zero exit within seconds; the broker refuses clients without TLS and SCRAM; and no secret
// appears in any log the processes or the broker wrote.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSerde, HttpRegistryClient } from '@streamloop/avro';
import { loadPipelineSpec, topicsFor } from '@streamloop/config';
import { createKafka, KafkaAccessError, readTopicToEnd, verifyKafkaAccess, type Kafka, type KafkaConnectionOptions } from '@streamloop/kafka';
import { publishModelVersion } from '@streamloop/model-registry';
import { loadPlatformTypes } from '@streamloop/runtime';
import { freePort, waitForApi } from '../support/cli-process';
import { championRecord, trainTestModel } from '../support/models';
import { startCliProcess, startServiceProcess, writeSpecFile, type ServiceProcess } from '../support/processes';
import { eventually, uniqueName } from '../support/stack';

const ROOT = new URL('../..', import.meta.url).pathname;
const KAFKA_SH = join(ROOT, 'deploy/local/kafka.sh');
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
/** A start that fails closed must do so well before kafkajs' own retries (about half a minute) would end. */
const FAIL_CLOSED_MS = 20_000;

const runDir = mkdtempSync(join(tmpdir(), 'streamloop-kafka-secure-'));
let port = 0;
/** The settings file kafka.sh wrote for clients (KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL_*). */
let clientEnv: Record<string, string> = {};
const processes: ServiceProcess[] = [];
/** Files the processes logged to (LOG_FILE), grepped for secrets at the end. */
const logFiles: string[] = [];
/** What Kafka's tools printed, grepped for secrets at the end too. */
const toolOutputs: Array<[string, string]> = [];

/** A port whose neighbour (the broker's controller listener) is free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 65535 && await portIsFree(p + 1)) return p;
  }
}

function portIsFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: p });
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(true));
  });
}

function parseEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

function secureOptions(): KafkaConnectionOptions {
  return {
    brokers: clientEnv.KAFKA_BROKERS.split(','), clientId: uniqueName('secure-test-app'), ssl: true,
    tls: { caFile: clientEnv.KAFKA_SSL_CA_FILE },
    sasl: { mechanism: 'scram-sha-512', username: clientEnv.KAFKA_SASL_USERNAME, password: clientEnv.KAFKA_SASL_PASSWORD },
  };
}

/** Environment of a `streamloop` process on the secured broker, logging to a file of its own at info. */
function processEnv(extra: Record<string, string> = {}): Record<string, string> {
  const logFile = join(runDir, `${uniqueName('streamloop')}.log`);
  logFiles.push(logFile);
  return {
    ...clientEnv,
    LOG_LEVEL: 'info',
    LOG_FILE: logFile,
    SCHEMA_REGISTRY_TOPIC: uniqueName('_schemas'),
    CLICKHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'streamloop-chdb-')),
    ...extra,
  };
}

function track(p: ServiceProcess): ServiceProcess {
  processes.push(p);
  return p;
}

/** Waits for a process to exit; its exit code and how long it ran after `startedAt`. */
async function exitOf(p: ServiceProcess, startedAt: number): Promise<{ code: number | null; ms: number }> {
  const code = await Promise.race([p.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 90_000))]);
  if (code === 'running') throw new Error(`${p.name} still runs after 90 s: it did not fail closed\n${p.output()}`);
  return { code, ms: Date.now() - startedAt };
}

before(() => {
  // Everything of the broker (its config, certificates, secrets, logs) lives in runDir, removed by no one else.
  return freePortPair().then((p) => {
    port = p;
    const r = spawnSync('bash', [KAFKA_SH, 'start-secure', String(port), runDir], { encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0) throw new Error(`kafka.sh start-secure ${port} failed (${r.status}):\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`CA certificate: ${runDir}/tls-${port}/ca.pem`));
    assert.match(r.stderr, new RegExp(`client settings .*${runDir}/client-${port}.env`));
    clientEnv = parseEnvFile(join(runDir, `client-${port}.env`));
  });
});

after(async () => {
  for (const p of processes) p.signal('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  spawnSync('bash', [KAFKA_SH, 'stop', String(port), runDir], { stdio: 'ignore' });
});

test('kafka.sh start-secure writes the client settings: SASL_SSL, SCRAM-SHA-512, the generated CA; secrets readable by the owner only', () => {
  assert.equal(clientEnv.KAFKA_BROKERS, `127.0.0.1:${port}`);
  assert.equal(clientEnv.KAFKA_SSL, 'true');
  assert.equal(clientEnv.KAFKA_SASL_MECHANISM, 'scram-sha-512');
  assert.equal(clientEnv.KAFKA_SASL_USERNAME, 'streamloop');
  assert.match(clientEnv.KAFKA_SASL_PASSWORD, /^[0-9a-f]{48}$/);
  // The broker's certificate is the CA's, for 127.0.0.1 and localhost.
  const tls = join(runDir, `tls-${port}`);
  execFileSync('openssl', ['verify', '-CAfile', clientEnv.KAFKA_SSL_CA_FILE, join(tls, 'broker.pem')]);
  const text = execFileSync('openssl', ['x509', '-in', join(tls, 'broker.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
  assert.match(text, /IP Address:127\.0\.0\.1/);
  assert.match(text, /DNS:localhost/);
  for (const file of [join(runDir, `client-${port}.env`), join(runDir, `client-${port}.properties`), join(runDir, `server-${port}.properties`), join(tls, 'secrets.env'), join(tls, 'ca.key'), join(tls, 'broker.key')]) {
    assert.equal(statSync(file).mode & 0o077, 0, `${file} is readable by its owner only`);
  }
});

test('the broker is closed to clients without TLS and SCRAM: plaintext, TLS without a login, and its controller port without the broker\'s certificate', async () => {
  const brokers = [`127.0.0.1:${port}`];
  // Plaintext Kafka to the SASL_SSL listener: the broker closes the connection without an answer.
  await assert.rejects(verifyKafkaAccess({ brokers, clientId: 'plaintext' }, { timeoutMs: 3_000 }), (e: unknown) => {
    assert.ok(e instanceof KafkaAccessError, String(e));
    assert.equal(e.failure, 'unreachable');
    assert.match(e.message, /do they need KAFKA_SSL=true/);
    return true;
  });
  // TLS with the right CA but no SASL login: no request beyond the handshake is answered.
  await assert.rejects(verifyKafkaAccess({ brokers, clientId: 'no-login', ssl: true, tls: { caFile: clientEnv.KAFKA_SSL_CA_FILE } }, { timeoutMs: 3_000 }),
    (e: unknown) => e instanceof KafkaAccessError && e.failure === 'unreachable');
  // The controller listener wants the broker's own client certificate (mutual TLS): a client with the CA is refused.
  await assert.rejects(verifyKafkaAccess({ brokers: [`127.0.0.1:${port + 1}`], clientId: 'controller', ssl: true, tls: { caFile: clientEnv.KAFKA_SSL_CA_FILE } }, { timeoutMs: 3_000 }),
    (e: unknown) => e instanceof KafkaAccessError && ['tls', 'unreachable'].includes(e.failure));
  // And with everything right, the same check passes.
  await verifyKafkaAccess(secureOptions(), { timeoutMs: 10_000 });
});

test('Kafka\'s own kafka-topics connects with kafka.sh\'s client properties, and without them is refused (plaintext) or untrusted (TLS without the CA)', { timeout: 180_000 }, () => {
  const tools = join(ROOT, 'deploy/local/bin/kafka-topics');
  const topic = uniqueName('secured_tools');
  const props = join(runDir, `client-${port}.properties`);
  const topics = (config: string, ...args: string[]) => {
    const r = spawnSync(tools, ['--bootstrap-server', `127.0.0.1:${port}`, '--command-config', config, ...args], { encoding: 'utf8', timeout: 120_000 });
    toolOutputs.push([`kafka-topics ${args.join(' ')} (${config})`, `${r.stdout}${r.stderr}`]);
    return r;
  };
  const created = topics(props, '--create', '--topic', topic, '--partitions', '1');
  assert.equal(created.status, 0, created.stderr);
  const listed = topics(props, '--list');
  assert.equal(listed.status, 0, listed.stderr);
  assert.ok(listed.stdout.split('\n').includes(topic), listed.stdout);
  // The same tool without the SASL_SSL settings (short timeouts, so a refusal shows within seconds).
  const quick = 'request.timeout.ms=3000\ndefault.api.timeout.ms=6000\nsocket.connection.setup.timeout.ms=2000\n';
  const plaintext = join(runDir, 'plaintext.properties');
  writeFileSync(plaintext, quick);
  const refused = topics(plaintext, '--list');
  assert.notEqual(refused.status, 0, 'a plaintext client lists no topics');
  assert.ok(!refused.stdout.includes(topic), refused.stdout);
  const noCa = join(runDir, 'no-ca.properties');
  writeFileSync(noCa, `${quick}security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="streamloop" password="${clientEnv.KAFKA_SASL_PASSWORD}";\n`);
  const untrusted = topics(noCa, '--list');
  assert.notEqual(untrusted.status, 0, 'a client that does not trust the CA lists no topics');
  assert.match(untrusted.stderr, /SSL handshake failed|PKIX path building failed|unable to find valid certification path/, untrusted.stderr);
});

test('every target in one process on the secured broker: healthy, an event in, a prediction out', { timeout: 300_000 }, async () => {
  const pipeline = uniqueName('secure');
  const specFile = writeSpecFile(pipeline);
  const [api, registryPort] = [await freePort(), await freePort()];
  const service = track(startCliProcess('all targets', ['start', '--target', 'all', '--port', String(api)], processEnv({
    STREAMLOOP_PIPELINES: specFile, SCHEMA_REGISTRY_PORT: String(registryPort),
  })));
  const url = `http://127.0.0.1:${api}`;
  await waitForApi(url, service, 180_000);
  await eventually(async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined), 'the services to report healthy', 120_000)
    .catch((error: Error) => { throw new Error(`${error.message}\n${service.output()}`); });

  // A model published as the training target would, by an app of the test's own on the secured broker.
  const kafka: Kafka = createKafka(secureOptions());
  const serde = new AvroSerde(new HttpRegistryClient(`http://127.0.0.1:${registryPort}`));
  const topics = topicsFor(loadPipelineSpec(specFile));
  const producer = kafka.producer();
  await producer.connect();
  try {
    await publishModelVersion({ kafka, serde, types: loadPlatformTypes(), producer: async () => producer }, topics.models,
      championRecord(pipeline, 'secure-model', 1, trainTestModel(FEATURES, 7)));
  } finally {
    await producer.disconnect();
  }
  await eventually(async () => {
    const res = await fetch(`${url}/v1/pipelines/${pipeline}/model`);
    return res.ok && (await res.json() as { model_version?: number }).model_version === 1 ? true : undefined;
  }, 'inference to serve the published model', 120_000).catch((error: Error) => { throw new Error(`${error.message}\n${service.output()}`); });

  const ids = [0, 1, 2].map((i) => `${pipeline}-tx-${i}`);
  const ingest = await fetch(`${url}/v1/pipelines/${pipeline}/events`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ids.map((id, i) => ({
      transaction_id: id, event_time: Date.now() - i * 1000, card_id: `card-${i % 2}`, merchant_id: 'm-1',
      merchant_category: 'grocery', amount: 10 + i, currency: 'EUR', country: 'NL', is_online: false, device_id: null,
    }))),
  });
  assert.equal(ingest.status, 202, await ingest.text());

  const predicted = await eventually(async () => {
    const seen = new Set<string>();
    await readTopicToEnd(kafka, topics.predictions, async (message) => {
      if (!message.value) return;
      const { value } = await serde.decode<{ event_id: string; model_version: number }>(message.value);
      if (value.model_version === 1) seen.add(value.event_id);
    });
    return ids.every((id) => seen.has(id)) ? seen : undefined;
  }, 'a prediction of each event on the predictions topic', 120_000).catch((error: Error) => { throw new Error(`${error.message}\n${service.output()}`); });
  assert.equal(predicted.size, ids.length);

  service.signal('SIGTERM');
  assert.equal(await service.exited, 0, service.output());
});

test('the schema registry target alone on the secured broker: a schema registered is served, and again after a restart (its store is the topic)', { timeout: 180_000 }, async () => {
  const env = processEnv();
  const registryPort = await freePort();
  const startRegistry = async (name: string) => {
    const p = track(startCliProcess(name, ['start', '--target', 'schema-registry'], { ...env, SCHEMA_REGISTRY_PORT: String(registryPort) }));
    await eventually(() => (p.output().includes('streamloop running targets') ? true : p.child.exitCode !== null ? fail(p) : undefined), `${name} to start`, 120_000);
    return p;
  };
  const registryUrl = `http://127.0.0.1:${registryPort}`;
  const schema = JSON.stringify({ type: 'record', name: 'Secured', fields: [{ name: 'a', type: 'string' }] });
  const first = await startRegistry('registry');
  const registered = await fetch(`${registryUrl}/subjects/secured-value/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema }),
  });
  assert.equal(registered.status, 200, await registered.clone().text());
  const { id } = await registered.json() as { id: number };
  first.signal('SIGTERM');
  assert.equal(await first.exited, 0, first.output());

  const second = await startRegistry('registry restarted');
  const served = await fetch(`${registryUrl}/schemas/ids/${id}`);
  assert.equal(served.status, 200);
  assert.equal(JSON.parse((await served.json() as { schema: string }).schema).name, 'Secured');
  second.signal('SIGTERM');
  assert.equal(await second.exited, 0, second.output());
});

test('a wrong password stops `streamloop start` (and the registry or a service started alone) at once, non-zero, saying which user and what to check', { timeout: 180_000 }, async () => {
  for (const [name, start] of [
    ['streamloop start --target all', (env: Record<string, string>) => startCliProcess('wrong password: all', ['start', '--target', 'all', '--port', '0'], env)],
    ['the registry alone (services/schema-registry)', (env: Record<string, string>) => startServiceProcess('wrong password: registry alone', 'schema-registry', env)],
    ['ingestion alone (services/ingestion)', (env: Record<string, string>) => startServiceProcess('wrong password: ingestion alone', 'ingestion', env)],
  ] as const) {
    const startedAt = Date.now();
    const p = track(start(processEnv({ KAFKA_SASL_PASSWORD: 'not-the-password', STREAMLOOP_PIPELINES: writeSpecFile(uniqueName('wrongpw')), SCHEMA_REGISTRY_PORT: '0' })));
    const { code, ms } = await exitOf(p, startedAt);
    assert.notEqual(code, 0, `${name}: ${p.output()}`);
    assert.ok(ms < FAIL_CLOSED_MS, `${name} exited after ${ms} ms`);
    assert.match(p.output(), /Kafka authentication failed for user streamloop \(SASL SCRAM-SHA-512\)/, name);
    assert.match(p.output(), /check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/, name);
  }
});

test('an untrusted broker certificate stops `streamloop start` at once, non-zero, saying to set KAFKA_SSL_CA_FILE: without it, and with another CA', { timeout: 180_000 }, async () => {
  const otherCa = join(mkdtempSync(join(tmpdir(), 'streamloop-other-ca-')), 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=Some other CA', '-keyout', `${otherCa}.key`, '-out', otherCa], { stdio: 'ignore' });
  for (const [name, caFile, expected] of [
    ['no KAFKA_SSL_CA_FILE (the system\'s CAs)', '', /set KAFKA_SSL_CA_FILE to the CA certificate that signed it/],
    ['another CA', otherCa, new RegExp(`KAFKA_SSL_CA_FILE \\(${otherCa.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) is not the CA that signed it`)],
  ] as const) {
    const startedAt = Date.now();
    const p = track(startCliProcess(`untrusted: ${name}`, ['start', '--target', 'schema-registry,ingestion', '--port', '0'],
      processEnv({ KAFKA_SSL_CA_FILE: caFile, STREAMLOOP_PIPELINES: writeSpecFile(uniqueName('untrusted')), SCHEMA_REGISTRY_PORT: '0' })));
    const { code, ms } = await exitOf(p, startedAt);
    assert.notEqual(code, 0, `${name}: ${p.output()}`);
    assert.ok(ms < FAIL_CLOSED_MS, `${name}: exited after ${ms} ms`);
    assert.match(p.output(), new RegExp(`TLS: the certificate of Kafka broker 127\\.0\\.0\\.1:${port} is not trusted`), name);
    assert.match(p.output(), expected, name);
  }
});

test('no secret appears in any log: the processes\' output and log files, Kafka\'s tools\' output, the broker\'s logs', () => {
  const secrets = parseEnvFile(join(runDir, `tls-${port}`, 'secrets.env'));
  assert.deepEqual(Object.keys(secrets).sort(), ['BROKER_PASSWORD', 'SCRAM_PASSWORD', 'STORE_PASSWORD']);
  assert.equal(secrets.SCRAM_PASSWORD, clientEnv.KAFKA_SASL_PASSWORD);
  const logs: Array<[string, string]> = [
    ...processes.map((p): [string, string] => [`output of ${p.name}`, p.transcript()]),
    ...toolOutputs,
    ...logFiles.filter((f) => { try { return statSync(f).isFile(); } catch { return false; } }).map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
    // The broker's own: its log, and whatever else kafka.sh left that is a log.
    ...readdirSync(runDir).filter((f) => f.endsWith('.log')).map((f): [string, string] => [join(runDir, f), readFileSync(join(runDir, f), 'utf8')]),
  ];
  // The wrong password of the test above too: a refused secret is still a secret.
  for (const [label, secret] of [...Object.entries(secrets), ['the wrong password tried', 'not-the-password']]) {
    for (const [where, text] of logs) assert.ok(!text.includes(secret), `${label} appears in ${where}`);
  }
  // ...and there was something to grep: the processes of every test above, with their JSON logs.
  assert.ok(processes.length >= 8, `the processes of the tests above ran (${processes.length})`);
  assert.ok(logs.some(([, text]) => text.includes('"level"')), 'some JSON log lines were captured');
});

function fail(p: ServiceProcess): never {
  throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output()}`);
}
