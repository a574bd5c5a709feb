import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { loadSettings } from '@streamloop/config';
import type { ErrorBody } from '@streamloop/errors';
import { isRegistrationStage, REGISTRATION_STAGES } from '@streamloop/model-registry';
import { ProgressReporter } from '@streamloop/progress';
import { addModelsCommand } from './models-command';
import { addStatusCommand } from './status-command';
import { addReportCommand } from './report-command';
import { describeFailure, describeFeatures, featuresAsJson, loadCheckedSpec, validateSpec } from './spec-check';

const program = new Command();
program.name('streamloop').description('The machine-learning life cycle as Kafka streams').showHelpAfterError();

program
  .command('start')
  .description('start service targets in this process (default: all)')
  .option('-t, --target <targets>', 'all, or a comma list of ingestion,features,training,inference,monitoring,schema-registry', 'all')
  .option('-p, --port <port>', 'HTTP port of the services (PORT)', toPort)
  .action(async (opts: { target: string; port?: number }) => {
    const settings = loadSettings(process.env);
    // Imported here: the services take seconds to load, which the offline commands do not need.
    const { parseTargets, startStreamloop } = await import('./server');
    if (opts.port !== undefined) settings.httpPort = opts.port;
    const running = await startStreamloop(settings, parseTargets(opts.target));
    const lines = [`streamloop running targets: ${opts.target}`];
    if (running.url) lines.push(`  API      ${running.url}  (/health, /metrics, /v1/pipelines/:p/...)`);
    if (running.registryUrl) lines.push(`  registry ${running.registryUrl}`);
    if (running.clickhouseHttpUrl) lines.push(`  ClickHouse HTTP ${running.clickhouseHttpUrl}  (embedded chDB; read-only user ${settings.clickhouseHttp?.user})`);
    console.log(lines.join('\n'));
    const stop = async (signal: string) => {
      console.log(`${signal}: stopping`);
      await running.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('demo')
  .description('start a local broker and every service, stream a labelled card-fraud workload through the loop, print a summary')
  .option('--events <n>', 'events before the first model', toPositiveInt, 3000)
  .option('--after <n>', 'events after the first model, before the world changes', toPositiveInt, 2000)
  .option('--seed <n>', 'random seed of the workload', toPositiveInt, 42)
  .action(async (opts: { events: number; after: number; seed: number }) => {
    const { runDemo } = await import('./demo');
    // The timeline and the phases' progress on stdout (one updating line on a terminal; the services log to LOG_FILE).
    const progress = new ProgressReporter({ stream: process.stdout });
    const summary = await runDemo({ eventsBeforeModel: opts.events, eventsAfterModel: opts.after, seed: opts.seed, log: (l) => progress.line(l), progress });
    console.log(summary.text);
    process.exit(summary.ok ? 0 : 1);
  });

program
  .command('train')
  .description('train, evaluate and publish a model now, through the admin API of a running training target')
  .requiredOption('--pipeline <name>', 'pipeline name')
  .option('--api <url>', 'base URL of the running services (default: http://127.0.0.1:$PORT, from the settings)')
  .action(async (opts: { pipeline: string; api?: string }) => {
    const res = await fetch(`${opts.api ?? servicesUrl()}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/train`, { method: 'POST' });
    const body = await res.text();
    if (!res.ok) {
      console.error(`training failed (${describeHttpError(res.status, body)})`);
      process.exit(1);
    }
    console.log(JSON.stringify(JSON.parse(body), null, 2));
  });

program
  .command('register-model')
  .description('register an ONNX classifier trained elsewhere (e.g. scikit-learn via skl2onnx) with its input mapping, through a running training target')
  .requiredOption('--pipeline <name>', 'pipeline name')
  .requiredOption('--onnx <file>', 'the ONNX model file')
  .requiredOption('--mapping <file>', 'JSON: input, columns (the pipeline feature feeding each model column, in order), probability_output, positive_class_index, optional name and threshold')
  .option('--name <model>', 'model name (default: the mapping\'s name)')
  .option('--stage <stage>', 'candidate (stored, not served) or champion (served by inference)', toStage, 'candidate')
  .option('--threshold <p>', 'decision threshold on P(positive) (default: the mapping\'s, else the pipeline\'s)', toProbability)
  .option('--api <url>', 'base URL of the running services (default: http://127.0.0.1:$PORT, from the settings)')
  .action(async (opts: { pipeline: string; onnx: string; mapping: string; name?: string; stage: string; threshold?: number; api?: string }) => {
    const onnx = readFileSync(opts.onnx);
    let mapping: unknown;
    try {
      mapping = JSON.parse(readFileSync(opts.mapping, 'utf8'));
    } catch (error) {
      throw new Error(`--mapping ${opts.mapping}: not readable JSON (${(error as Error).message})`);
    }
    const body = { name: opts.name, onnx_base64: onnx.toString('base64'), mapping, stage: opts.stage, threshold: opts.threshold };
    const res = await fetch(`${opts.api ?? servicesUrl()}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/models/external`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      const hint = res.status === 413 ? ` (the ONNX file is ${onnx.length} bytes: the training target takes up to STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES)` : '';
      console.error(`registration failed (${describeHttpError(res.status, text)})${hint}`);
      process.exit(1);
    }
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  });

addModelsCommand(program, { servicesUrl: () => servicesUrl(), describeHttpError: (status, text) => describeHttpError(status, text) });
addStatusCommand(program, { servicesUrl: () => servicesUrl(), describeHttpError: (status, text) => describeHttpError(status, text) });
addReportCommand(program, { servicesUrl: () => servicesUrl(), describeHttpError: (status, text) => describeHttpError(status, text) });

program
  .command('validate')
  .description('check pipeline specs offline (no broker, no registry): YAML keys, durations, fields and types against the event schema, model params')
  .argument('<spec...>', 'pipeline spec files (YAML)')
  .option('--json', 'print one JSON array: per file ok, pipeline and feature count, or its problems (exit 1 still when any is invalid)')
  .action((files: string[], opts: { json?: boolean }) => {
    if (opts.json) {
      const reports = files.map((file) => validateSpec(file).json);
      console.log(JSON.stringify(reports, null, 2));
      if (reports.some((r) => !r.ok)) process.exit(1);
      return;
    }
    let failed = 0;
    for (const file of files) {
      const report = validateSpec(file);
      if (report.ok) console.log(report.text);
      else {
        failed++;
        console.error(report.text);
      }
    }
    if (failed > 0) {
      console.error(`${failed} of ${files.length} spec(s) invalid`);
      process.exit(1);
    }
  });

program
  .command('features')
  .description('print the feature vector a pipeline spec produces, in model order: name, type, what computes it, which stage')
  .argument('<spec>', 'a pipeline spec file (YAML)')
  .option('--json', 'print the stages and the feature columns as JSON')
  .action((file: string, opts: { json?: boolean }) => {
    let spec;
    try {
      spec = loadCheckedSpec(file);
    } catch (error) {
      console.error(describeFailure(file, error));
      process.exit(1);
    }
    console.log(opts.json ? JSON.stringify(featuresAsJson(spec), null, 2) : describeFeatures(spec));
  });

/**
 * The services on this machine, at the port the settings give them (PORT): read when a command needs it, so a bad
 * unrelated variable does not stop `--help`, and `--api` makes it unnecessary.
 */
function servicesUrl(): string {
  return `http://127.0.0.1:${loadSettings(process.env).httpPort}`;
}

/** An error answer of the services (docs/errors.md) as "HTTP 409 NOT_ENOUGH_DATA: …"; another body is shown as it is. */
function describeHttpError(status: number, text: string): string {
  try {
    const { error } = JSON.parse(text) as Partial<ErrorBody>;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') return `HTTP ${status} ${error.code}: ${error.message}`;
  } catch {
    // not JSON: a proxy's page, say
  }
  return `HTTP ${status}: ${text}`;
}

function toPort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${v}"`);
  return n;
}

function toPositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number, got "${v}"`);
  return n;
}

function toStage(v: string): string {
  if (!isRegistrationStage(v)) throw new InvalidArgumentError(`expected ${REGISTRATION_STAGES.join(' or ')}, got "${v}"`);
  return v;
}

function toProbability(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number in [0, 1], got "${v}"`);
  return n;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? `error: ${error.message}` : error);
  process.exit(1);
});
