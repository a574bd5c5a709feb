import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { formatTokenEntry, generateToken, hashToken, isScope, SCOPES, type Scope } from '@streamloop/auth';
import { loadSettings } from '@streamloop/config';
import type { ErrorBody } from '@streamloop/errors';
import { isRegistrationStage, REGISTRATION_STAGES } from '@streamloop/model-registry';
import { ProgressReporter } from '@streamloop/progress';
import { addModelsCommand } from './models-command';
import { addStatusCommand, fetchServices } from './status-command';
import { addReportCommand } from './report-command';
import { describeFailure, describeFeatures, featuresAsJson, loadCheckedSpec, validateSpec } from './spec-check';

const TOKEN_HELP = 'API token sent as Authorization: Bearer (default: STREAMLOOP_TOKEN)';

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
    const progress = new ProgressReporter({ stream: process.stdout, plainIntervalMs: 10_000 });
    const summary = await runDemo({ eventsBeforeModel: opts.events, eventsAfterModel: opts.after, seed: opts.seed, log: (l) => progress.line(l), progress });
    console.log(summary.text);
    process.exit(summary.ok ? 0 : 1);
  });

program
  .command('train')
  .description('train, evaluate and publish a model now, through the admin API of a running training target')
  .requiredOption('--pipeline <name>', 'pipeline name')
  .option('--api <url>', 'base URL of the running services (default: http://127.0.0.1:$PORT, from the settings)')
  .option('--token <token>', TOKEN_HELP)
  .action(async (opts: { pipeline: string; api?: string; token?: string }) => {
    const res = await fetchServices(`${opts.api ?? servicesUrl()}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/train`, { method: 'POST', headers: authHeaders(opts) }, '--api');
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
  .option('--token <token>', TOKEN_HELP)
  .action(async (opts: { pipeline: string; onnx: string; mapping: string; name?: string; stage: string; threshold?: number; api?: string; token?: string }) => {
    const onnx = readFileSync(opts.onnx);
    let mapping: unknown;
    try {
      mapping = JSON.parse(readFileSync(opts.mapping, 'utf8'));
    } catch (error) {
      throw new Error(`--mapping ${opts.mapping}: not readable JSON (${(error as Error).message})`);
    }
    const body = { name: opts.name, onnx_base64: onnx.toString('base64'), mapping, stage: opts.stage, threshold: opts.threshold };
    const res = await fetchServices(`${opts.api ?? servicesUrl()}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/models/external`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(opts) }, body: JSON.stringify(body),
    }, '--api');
    const text = await res.text();
    if (!res.ok) {
      const hint = res.status === 413 ? ` (the ONNX file is ${onnx.length} bytes: the training target takes up to STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES)` : '';
      console.error(`registration failed (${describeHttpError(res.status, text)})${hint}`);
      process.exit(1);
    }
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  });

addReportCommand(program, { servicesUrl: () => servicesUrl(), describeHttpError: (status, text) => describeHttpError(status, text), authHeaders, tokenHelp: TOKEN_HELP });
addStatusCommand(program, { servicesUrl: () => servicesUrl(), describeHttpError: (status, text) => describeHttpError(status, text), authHeaders, tokenHelp: TOKEN_HELP });
addModelsCommand(program, { servicesUrl: () => servicesUrl(), describeHttpError: (status, text) => describeHttpError(status, text), authHeaders, tokenHelp: TOKEN_HELP });

program
  .command('token')
  .description('API tokens (README "Authentication")')
  .command('create')
  .description('make a new token: prints it once, and the entry that makes the services accept it (its SHA-256, never the token)')
  .requiredOption('--name <name>', 'who holds it (shown in 403 messages and logs; basic auth\'s user name at the schema registry and ClickHouse)')
  .requiredOption('--scopes <list>', `comma list of ${SCOPES.join(', ')} (admin: all)`, toScopes)
  .option('--format <text|json|env>', 'text (for a person), json ({ name, token, scopes, entry, sha256 }), or env (export lines for a shell: STREAMLOOP_TOKENS with the entry, STREAMLOOP_TOKEN with the token)', toTokenFormat, 'text')
  .action((opts: { name: string; scopes: Scope[]; format: 'text' | 'json' | 'env' }) => {
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(opts.name)) {
      console.error(`--name ${JSON.stringify(opts.name)}: expected 1-64 letters, digits, _ . @ -`);
      process.exit(1);
    }
    const token = generateToken();
    const sha256 = hashToken(token);
    const entry = formatTokenEntry({ name: opts.name, sha256, scopes: opts.scopes });
    if (opts.format === 'json') {
      console.log(JSON.stringify({ name: opts.name, token, scopes: opts.scopes, entry, sha256: sha256.toString('hex') }, null, 2));
    } else if (opts.format === 'env') {
      // Neither value holds a shell metacharacter (base64url, hex, names of [A-Za-z0-9_.@-]): plain single quotes do.
      console.log(`export STREAMLOOP_TOKENS='${entry}'\nexport STREAMLOOP_TOKEN='${token}'`);
    } else {
      console.log([
        `token (shown once, give it to ${opts.name}; send it as Authorization: Bearer <token>):`,
        `  ${token}`,
        'accept it with STREAMLOOP_TOKENS (entries separated by ;):',
        `  ${entry}`,
        'or in STREAMLOOP_TOKENS_FILE:',
        `  - { name: ${opts.name}, sha256: ${sha256.toString('hex')}, scopes: [${opts.scopes.join(', ')}] }`,
      ].join('\n'));
    }
  });

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

/** The Authorization header of a command's requests: --token, else STREAMLOOP_TOKEN; none when neither is set. */
function authHeaders(opts: { token?: string }): Record<string, string> {
  // Read from the environment directly, as servicesUrl reads PORT: an unrelated bad setting does not stop the command.
  const token = opts.token ?? (process.env.STREAMLOOP_TOKEN || undefined);
  return token ? { authorization: `Bearer ${token}` } : {};
}

function toTokenFormat(v: string): string {
  if (v !== 'text' && v !== 'json' && v !== 'env') throw new InvalidArgumentError(`expected text, json or env, got "${v}"`);
  return v;
}

function toScopes(v: string): Scope[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((s) => !isScope(s));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`expected a comma list of ${SCOPES.join(', ')}, got "${v}"`);
  return [...new Set(list)] as Scope[];
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
