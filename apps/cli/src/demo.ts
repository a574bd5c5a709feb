import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { formatTokenEntry, generateToken, hashToken } from '@streamloop/auth';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { AvroSerde, HttpRegistryClient } from '@streamloop/avro';
import { countRows, loadLabelledPredictions, queryRows, type RetrainingDecisionRow } from '@streamloop/clickhouse';
import { kafkaConnectionSettings, loadSettings } from '@streamloop/config';
import { InferenceService } from '@streamloop/inference';
import { createKafka, type Message } from '@streamloop/kafka';
import { evaluateBinary } from '@streamloop/ml';
import type { ModelSummary } from '@streamloop/model-registry';
import { MonitoringService } from '@streamloop/monitoring';
import type { LabelRecord } from '@streamloop/runtime';
import { ProgressReporter, type ProgressTask } from '@streamloop/progress';
import { generateCardTransactions, startLocalKafka, type LabelledTransaction } from '@streamloop/testing';
import { SERVICE_TARGETS, startStreamloop } from './server';

export interface DemoOptions {
  eventsBeforeModel: number;
  /** Events after the first model serves and before the world changes (its detectors warm up on them). */
  eventsAfterModel: number;
  seed: number;
  log: (line: string) => void;
  /** Progress of the phases (events published, waits): a terminal line or plain lines; default plain lines to `log`. */
  progress?: ProgressReporter;
  /** Where the local broker listens when KAFKA_BROKERS is not set (default: KAFKA_PORT, else DEMO_KAFKA_PORT). */
  kafkaPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Most events sent after the change while the loop works (it ends sooner once it has shown recovery). */
  maxEventsAfterChange?: number;
}

export interface DemoSummary {
  ok: boolean;
  text: string;
  eventsSent: number;
  validEvents: number;
  malformedSent: number;
  duplicatesSent: number;
  dlqCount: number;
  predictions: number;
  heldOutRocAuc: number;
  /** Live ROC AUC of the served predictions: before the change, after it until the promotion, after the promotion. */
  liveRocAuc: { beforeChange: number; afterChange: number; afterPromotion: number };
  /** The version promoted by the loop, if any. */
  promotedVersion?: number;
  topPsi: Array<{ feature: string; psi: number }>;
}

const PIPELINE = 'fraud';
/** Labels trail their events by this many events: ground truth arrives late. */
const LABEL_LAG = 250;
/** About 90 s of event time between transactions (the labels' lag is then about 6 h of event time). */
const MEAN_GAP_MS = 90_000;
/** Events per producer send, and the pause between sends while the loop works: about 250 events/s. */
const CHUNK = 100;
const PACE_MS = 400;
/** Chance that a transaction starts a fraud burst on its card. */
const COMPROMISE_RATE = 0.015;
/** Events after the promotion over which the live AUC of the new champion is measured before the demo ends. */
const EVENTS_AFTER_PROMOTION = 3000;

/**
 * The demo's pipeline: the fraud example with the loop's numbers scaled to a few minutes (a short cooldown, smaller
 * online and probation horizons, a sliding training window) and the detectors' label delay matched to the labels'
 * lag. Everything else is the example as a user would run it.
 */
function writeDemoSpec(dir: string): string {
  const example = resolve('examples/pipelines/fraud.yaml');
  const spec = parseYaml(readFileSync(example, 'utf8')) as Record<string, Record<string, unknown>>;
  spec.events.schema = resolve(dirname(example), String(spec.events.schema));
  spec.training = { ...spec.training, window: { last_rows: 3000 } };
  spec.retraining = { triggers: [{ kind: 'performance' }], cooldown: '1m', min_new_labels: 500 };
  spec.promotion = { alpha: 0.05, online_labels: 600, probation_labels: 600 };
  spec.monitoring = { ...spec.monitoring, detectors: { label_delay: '7h' } };
  const file = join(dir, 'fraud.yaml');
  writeFileSync(file, stringifyYaml(spec));
  return file;
}



/**
 * The whole loop on the embedded defaults: a local broker, the registry, embedded ClickHouse and every service in
 * this process. A producer app publishes Avro card transactions (and, late, their labels); the first model is trained
 * once enough labels exist and predictions stream out; then fraudsters change their method (a concept change the
 * features barely show), the change detectors on the champion's error stream alert, the retraining policy starts a
 * run, the data-quality gate checks its window, the new model is compared offline, proves itself in shadow, is
 * promoted with its p-value and watched on probation, and live AUC recovers. The timeline is printed as it happens.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { log } = options;
  const progress = options.progress ?? new ProgressReporter({ sink: (line) => log(line) });
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s`;
  // The demo's own choices (free ports, a fresh chDB directory, a quicker drift job) apply where the environment sets
  // nothing; everything is then read through the settings schema like any start.
  const env = options.env ?? process.env;
  const kafka = startLocalKafka(options.kafkaPort ?? demoKafkaPort(env), env);
  log(`kafka      ${kafka.brokers.join(',')}${kafka.started ? ' (local Apache Kafka, started for the demo)' : ''}`);
  mkdirSync(resolve('.streamloop'), { recursive: true });
  const dataDir = mkdtempSync(join(resolve('.streamloop'), 'demo-chdb-'));
  // Auth stays on in the demo: unless the environment configures tokens (or turns auth off), the demo makes an admin
  // token for this run, configures the services with its hash, uses it for its own calls and prints it.
  const generatedToken = env.STREAMLOOP_AUTH === 'off' || env.STREAMLOOP_TOKENS || env.STREAMLOOP_TOKENS_FILE ? undefined : generateToken();
  const settings = loadSettings({
    ...env,
    ...(generatedToken ? { STREAMLOOP_TOKENS: formatTokenEntry({ name: 'demo', sha256: hashToken(generatedToken), scopes: ['admin'] }), STREAMLOOP_TOKEN: generatedToken } : {}),
    KAFKA_BROKERS: kafka.brokers.join(','),
    CLICKHOUSE_DATA_DIR: env.CLICKHOUSE_URL ? undefined : dataDir,
    PORT: env.PORT ?? '0',
    SCHEMA_REGISTRY_PORT: env.SCHEMA_REGISTRY_PORT ?? '0',
    STREAMLOOP_DRIFT_INTERVAL: env.STREAMLOOP_DRIFT_INTERVAL ?? '5s',
    STREAMLOOP_PIPELINES: writeDemoSpec(dataDir),
    // The services' JSON logs go to a file, so the timeline below reads on its own.
    LOG_FILE: env.LOG_FILE ?? join(dataDir, 'services.log'),
  });
  const running = await startStreamloop(settings, [...SERVICE_TARGETS]);
  // The payments app connects as the services do (KAFKA_SSL*, KAFKA_SASL_* apply to it too).
  const producerKafka = createKafka({ ...kafkaConnectionSettings(settings), clientId: 'demo-payments-app' });
  if (generatedToken) log(`auth       admin token "demo", generated for this run (send it as Authorization: Bearer): ${generatedToken}`);
  const authorization: Record<string, string> = settings.auth.clientToken ? { authorization: `Bearer ${settings.auth.clientToken}` } : {};
  const producer = producerKafka.producer({ idempotent: true });
  try {
    const runtime = running.runtime!;
    const ctx = runtime.pipelines.pipeline(PIPELINE);
    const api = running.url;
    log(`services   ${api} (registry ${running.registryUrl}, ClickHouse ${settings.clickhouseUrl ?? `chDB in ${dataDir}`}; logs in ${settings.logFile})`);
    await producer.connect();
    // The payments app is an ordinary Confluent-style producer: it registers its schema and sends wire-format Avro.
    const serde = new AvroSerde(new HttpRegistryClient(running.registryUrl!, { headers: authorization }));
    const changeAt = options.eventsBeforeModel + options.eventsAfterModel;
    const total = changeAt + (options.maxEventsAfterChange ?? 24_000);
    // About one card in seventy compromised at a time: fraud is about 8 % of events, so a few thousand labelled events
    // carry the hundreds of positives the paired tests need.
    const stream = generateCardTransactions({ seed: options.seed, events: total, meanGapMs: MEAN_GAP_MS, compromiseRate: COMPROMISE_RATE, conceptChange: { fromIndex: changeAt } });
    const sendEvents = async (items: LabelledTransaction[]) => {
      const messages: Message[] = [];
      for (const { event } of items) {
        messages.push({ key: event.card_id, value: await serde.encodeValue(ctx.topics.raw, ctx.eventType, event) });
      }
      await producer.send({ topic: ctx.topics.raw, messages, acks: -1 });
    };
    const sendLabels = async (items: LabelledTransaction[]) => {
      const messages: Message[] = [];
      for (const { event, label } of items) {
        const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 3_600_000 };
        messages.push({ key: event.transaction_id, value: await serde.encodeValue(ctx.topics.labels, runtime.types.label, record) });
      }
      await producer.send({ topic: ctx.topics.labels, messages, acks: -1 });
    };
    const malformed = malformedRecords();
    let sent = 0;
    let labelled = 0;
    const publish = async (to: number, chunk = 200, task?: ProgressTask, from = 0) => {
      for (let i = sent; i < to; i += chunk) {
        const end = Math.min(to, i + chunk);
        await sendEvents(stream.slice(i, end));
        const labelUntil = Math.max(labelled, end - LABEL_LAG);
        if (labelUntil > labelled) await sendLabels(stream.slice(labelled, labelUntil));
        labelled = labelUntil;
        sent = end;
        task?.update(sent - from, `events sent, ${labelled} labels`);
      }
    };

    log(`phase 1    publishing ${options.eventsBeforeModel} transactions (labels trail by ${LABEL_LAG}), ${malformed.length} malformed records and 1 duplicate`);
    const phase1 = progress.task('publishing', options.eventsBeforeModel);
    await publish(options.eventsBeforeModel, 200, phase1);
    phase1.finish();
    await producer.send({ topic: ctx.topics.raw, messages: malformed.map((value) => ({ key: 'bad', value })) });
    await sendEvents([stream[10]]); // a producer retry: the same transaction id again

    log('training   waiting for enough labels to train the first model ...');
    const inference = running.get(InferenceService);
    const training = progress.task('waiting for the first model');
    const model = await waitFor(() => inference.models.get(PIPELINE), 180_000, 'the first model to be trained and served', () => training.update(0, 'until it is trained and served'));
    training.finish('served');
    const m = model.record;
    log(`${elapsed()}  model      ${m.model_name} v${m.model_version} (${m.algorithm}) trained on ${m.training_rows} rows; held-out ROC AUC ${fmt(m.metrics.roc_auc)}`);

    log(`phase 2    publishing ${options.eventsAfterModel} more transactions of the same world`);
    const phase2 = progress.task('publishing', options.eventsAfterModel);
    await publish(changeAt, 200, phase2, options.eventsBeforeModel);
    phase2.finish();
    log(`${elapsed()}  change     at event ${changeAt}: fraudsters switch from large online purchases to small card-present ones (the features barely move)`);

    // The loop, watched from outside: the registry (GET …/models) and the retraining decisions (GET …/retraining).
    const getJson = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${api}/v1/pipelines/${PIPELINE}${path}`, { headers: authorization });
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
      return await res.json() as T;
    };
    const seenModels = new Map<string, string>();
    const seenDecisions = new Set<string>();
    let promoted: { version: number; atEvent: number; pValue: number } | undefined;
    let probation: string | undefined;
    const ch = await runtime.clickhouseConnection.client();
    const watch = async () => {
      const decisions = await getJson<RetrainingDecisionRow[]>('/retraining');
      for (const d of decisions.slice().reverse()) {
        // Each kind of decision once: a held-back alert asked again, or one alert per drifting feature, is one line.
        const key = `${d.trigger}/${d.alert_kind}/${d.alert_statistic}/${d.decision}/${d.reason}`;
        if (seenDecisions.has(key) && d.decision !== 'trained') continue;
        if (seenDecisions.has(`${d.decided_at}/${key}`)) continue;
        seenDecisions.add(key);
        seenDecisions.add(`${d.decided_at}/${key}`);
        if (d.trigger === 'first_model') continue;
        const alert = d.trigger === 'alert' ? `alert ${d.alert_kind} (${d.alert_statistic}) → ` : `${d.trigger} → `;
        log(`${elapsed()}  retrain    ${alert}${d.decision}${d.decision === 'trained' ? '' : ` (${d.reason})`}: ${d.detail}`);
        if (d.decision === 'trained') {
          // The gate of that run: passed unless a blocking check failed (warnings do not block).
          const gate = await queryRows<{ failed: string; warnings: string; checks: string }>(ch,
            `SELECT countIf(NOT passed AND blocking) AS failed, countIf(NOT passed AND NOT blocking) AS warnings, count() AS checks
             FROM data_quality WHERE pipeline = {p:String} AND scope = 'training'
             GROUP BY run_id ORDER BY max(computed_at) DESC LIMIT 1`, { p: PIPELINE });
          if (gate[0]) {
            const g = gate[0];
            log(`${elapsed()}  gate       data-quality gate ${Number(g.failed) === 0 ? 'passed' : `FAILED (${g.failed} blocking)`}: ${g.checks} checks on the training window, ${g.warnings} warnings`);
          }
        }
      }
      const { models } = await getJson<{ models: ModelSummary[] }>('/models');
      for (const v of models) {
        const state = `${v.stage}/${v.decided_by}/${v.decision_reason}`;
        if (seenModels.get(`${v.model_version}`) === state) continue;
        seenModels.set(`${v.model_version}`, state);
        if (v.model_version === m.model_version && v.decided_by === 'training') continue;
        log(`${elapsed()}  registry   ${v.model_name} v${v.model_version} → ${v.stage}${v.serving ? ' (serving)' : ''} by ${v.decided_by}: ${v.decision_reason}`);
        if (v.model_version > m.model_version && v.stage === 'champion' && v.decided_by === 'policy' && !promoted) {
          promoted = { version: v.model_version, atEvent: sent, pValue: v.decision_metrics.online_auc_p_value ?? Number.NaN };
        }
        if (promoted && v.decided_by === 'policy' && /probation against/.test(v.decision_reason)) {
          probation = `v${v.model_version} ${v.stage === 'champion' ? 'kept' : 'rolled back'} (DeLong one-sided p ${(v.decision_metrics.probation_auc_p_value ?? Number.NaN).toFixed(4)} that it is worse than v${m.model_version})`;
        }
      }
    };

    log(`phase 3    publishing about ${Math.round((CHUNK * 1000) / PACE_MS)} transactions/s of the changed world while the loop works`);
    const phase3 = progress.task('changed world', total - changeAt);
    while (sent < total) {
      await publish(Math.min(total, sent + CHUNK), CHUNK, phase3, changeAt);
      await new Promise((r) => setTimeout(r, PACE_MS));
      if (sent % 1000 < CHUNK) await watch();
      if (promoted && probation && sent - promoted.atEvent >= EVENTS_AFTER_PROMOTION) break;
    }
    phase3.finish(promoted ? `events sent; v${promoted.version} promoted` : 'events sent; no promotion');
    await sendLabels(stream.slice(labelled, sent));
    labelled = sent;

    log(`${elapsed()}  waiting    for every valid event to be predicted and every label stored ...`);
    // Served predictions (not the shadow ones of a challenger or of the previous champion on probation): one per event.
    const servedCounts = async () => {
      // Aliases unlike the columns: ClickHouse would read `shadow` in one expression as another's alias.
      const [row] = await queryRows<{ served_events: string; served_rows: string; shadow_rows: string }>(ch,
        `SELECT uniqExactIf(event_id, NOT shadow) AS served_events, uniqExactIf((event_id, model_name, model_version), NOT shadow) AS served_rows,
                uniqExactIf((event_id, model_name, model_version), shadow) AS shadow_rows
         FROM predictions WHERE pipeline = {p:String}`, { p: PIPELINE });
      return { events: Number(row.served_events), rows: Number(row.served_rows), shadow: Number(row.shadow_rows) };
    };
    const predicted = progress.task('predictions', sent);
    await waitFor(async () => {
      const [p, l, d] = await Promise.all([
        servedCounts().then((c) => c.events),
        countRows(ch, 'labels', PIPELINE),
        countRows(ch, 'dlq', PIPELINE),
      ]);
      predicted.update(p, `served, ${l} labels stored, ${d} dead letters`);
      return p >= sent && l >= sent && d >= malformed.length ? true : undefined;
    }, 240_000, 'predictions for every event');
    predicted.finish();
    await watch();

    const monitoring = running.get(MonitoringService);
    const report = await monitoring.driftJob(PIPELINE);
    const live = await loadLabelledPredictions(ch, { pipeline: PIPELINE, from: 0, to: Date.UTC(2100, 0) });
    const changeTime = stream[changeAt].event.event_time;
    // After the promotion: the events the promoted champion served, from its first served prediction on.
    const promotedServed = promoted ? live.filter((r) => r.model_version === promoted!.version) : [];
    const promotedFrom = promotedServed.length > 0 ? Math.min(...promotedServed.map((r) => r.event_time)) : Number.POSITIVE_INFINITY;
    const auc = (rows: typeof live) => evaluateBinary(rows.map((r) => r.label), rows.map((r) => r.score), m.threshold).rocAuc;
    const liveRocAuc = {
      beforeChange: auc(live.filter((r) => r.event_time < changeTime)),
      afterChange: auc(live.filter((r) => r.event_time >= changeTime && r.event_time < promotedFrom)),
      afterPromotion: promotedServed.length > 0 ? auc(live.filter((r) => r.event_time >= promotedFrom)) : Number.NaN,
    };
    const [served, dlqCount, eventsStored] = await Promise.all([
      servedCounts(),
      countRows(ch, 'dlq', PIPELINE),
      countRows(ch, 'events', PIPELINE),
    ]);
    const topPsi = (report?.features ?? []).slice().sort((a, b) => b.psi - a.psi).slice(0, 5);
    const detections = await queryRows<{ statistic: string; n: string; first: string }>(ch,
      `SELECT statistic, count() AS n, min(toUnixTimestamp64Milli(window_start)) AS first FROM drift_metrics
       WHERE pipeline = {p:String} AND feature = '__error__' AND model_version = {v:UInt32} GROUP BY statistic ORDER BY statistic`,
      { p: PIPELINE, v: m.model_version });
    const describeDetection = (d: { statistic: string; n: string; first: string }) =>
      `${d.statistic} ×${d.n} (first ${Number(d.first) >= changeTime ? `${((Number(d.first) - changeTime) / 60_000).toFixed(0)} min of event time after` : 'before'} the change)`;
    const predictions = served.events;
    const countsOk = served.events === sent && served.rows === sent && dlqCount === malformed.length && eventsStored === sent;
    const recovered = promoted !== undefined && liveRocAuc.afterPromotion > liveRocAuc.afterChange;
    const ok = countsOk && recovered;
    const lines = [
      '',
      '── streamloop demo summary ──────────────────────────────────────',
      `events in         ${sent + malformed.length + 1} sent (${sent} valid, ${malformed.length} malformed, 1 duplicate)`,
      `events accepted   ${eventsStored}`,
      `DLQ               ${dlqCount}`,
      `predictions out   ${served.rows} served (one per event), ${served.shadow} in shadow (the challenger, then the previous champion on probation)`,
      `first model       ${m.model_name} v${m.model_version}, held-out ROC AUC ${fmt(m.metrics.roc_auc)} (${m.metrics.holdout_rows} rows)`,
      `concept change    at event ${changeAt}; top PSI of the latest ${ctx.spec.monitoring.window} window vs the training reference:`,
      ...topPsi.map((f) => `  ${f.feature.padEnd(28)} ${fmt(f.psi)}${f.drifted ? '  drifted' : ''}`),
      `error stream      of v${m.model_version}: ${detections.length > 0 ? detections.map(describeDetection).join(', ') : 'no change detected'}`,
      `promoted          ${promoted ? `v${promoted.version} by policy (online DeLong one-sided p ${promoted.pValue.toExponential(1)}), about ${promoted.atEvent - changeAt} events after the change` : 'none'}`,
      `probation         ${probation ?? 'not decided'}`,
      `live ROC AUC      ${fmt(liveRocAuc.beforeChange)} before the change → ${fmt(liveRocAuc.afterChange)} after it → ${fmt(liveRocAuc.afterPromotion)} served by the promoted model`,
      `took              ${((Date.now() - started) / 1000).toFixed(1)} s`,
      !countsOk ? 'result            FAILED: counts do not match'
        : !recovered ? 'result            FAILED: the loop did not promote a model that recovered live AUC'
          : 'result            OK: every valid event predicted, every malformed one dead-lettered; the loop retrained, promoted and recovered',
    ];
    return {
      ok,
      text: lines.join('\n'),
      eventsSent: sent + malformed.length + 1,
      validEvents: sent,
      malformedSent: malformed.length,
      duplicatesSent: 1,
      dlqCount,
      predictions,
      heldOutRocAuc: m.metrics.roc_auc,
      liveRocAuc,
      promotedVersion: promoted?.version,
      topPsi: topPsi.map((f) => ({ feature: f.feature, psi: f.psi })),
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await running.close().catch((e: unknown) => log(`error while stopping: ${String(e)}`));
    kafka.stop();
  }
}

/**
 * The demo's own broker port, off Kafka's usual 9092 so a broker the user runs there is left alone; KAFKA_PORT (the
 * variable deploy/local/kafka.sh reads) moves it. Its controller listens on the port after it.
 */
export const DEMO_KAFKA_PORT = 39092;

export function demoKafkaPort(env: NodeJS.ProcessEnv): number {
  const raw = env.KAFKA_PORT;
  if (raw === undefined || raw === '') return DEMO_KAFKA_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65534) throw new Error(`KAFKA_PORT: expected a port number 1-65534 (the controller takes the next one), got "${raw}"`);
  return port;
}

/** Records a careless or hostile producer could send: each must end in the DLQ, none may hurt the process. */
export function malformedRecords(): Buffer[] {
  const header = (id: number) => {
    const b = Buffer.alloc(5);
    b.writeUInt32BE(id, 1);
    return b;
  };
  return [
    Buffer.from('{"transaction_id":"json-not-avro"}'), // not the Confluent wire format
    Buffer.concat([header(987654), Buffer.from([2, 0x61])]), // a schema id the registry does not know
    Buffer.from([0, 0, 0]), // too short for the wire header
    Buffer.concat([header(1), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01])]), // a varint length far past the end
  ];
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string, waiting?: () => void): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    waiting?.();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function fmt(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(3);
}
