import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { ModelSummary } from '@streamloop/model-registry';
import { fetchServices } from './status-command';

/** How the models commands reach the services and describe a failed answer (from main.ts). */
export interface ModelsCommandIo {
  servicesUrl(): string;
  describeHttpError(status: number, text: string): string;
  /** The Authorization header from --token or STREAMLOOP_TOKEN. */
  authHeaders(opts: { token?: string }): Record<string, string>;
  tokenHelp: string;
}

interface CommonOptions { pipeline: string; api?: string; json?: boolean; token?: string }
interface VersionOptions extends CommonOptions { version?: number; model?: string; reason?: string; to?: 'champion' | 'challenger' }
interface CardOptions extends CommonOptions { version: number; model?: string; format: 'md' | 'html'; out?: string }

/**
 * `streamloop models list|show|card|promote|archive|rollback`: the registry's versions and their stage changes, through the
 * training target's admin API (/v1/pipelines/:p/models...). Every change is recorded as decided by the CLI.
 */
export function addModelsCommand(program: Command, io: ModelsCommandIo): void {
  const models = program.command('models').description('list model versions, print their model cards and change their stage (promote, archive, rollback), through a running training target');
  const common = (c: Command) => c
    .requiredOption('--pipeline <name>', 'pipeline name')
    .option('--api <url>', 'base URL of the running services (default: http://127.0.0.1:$PORT, from the settings)')
    .option('--json', 'print the answer as JSON')
    .option('--token <token>', io.tokenHelp);
  const call = async (opts: CommonOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const url = `${opts.api ?? io.servicesUrl()}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/models${path}`;
    const headers = io.authHeaders(opts);
    const res = await fetchServices(url, body === undefined ? { method, headers } : { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }, '--api');
    const text = await res.text();
    if (!res.ok) {
      console.error(`models: ${io.describeHttpError(res.status, text)}`);
      process.exit(1);
    }
    return JSON.parse(text);
  };
  const change = (action: 'promote' | 'archive') => async (opts: VersionOptions) => {
    if (opts.version === undefined) throw new Error(`models ${action}: --version is required`);
    const answer = await call(opts, 'POST', `/${opts.version}/${action}`, { model: opts.model, reason: opts.reason, decided_by: 'cli', to: opts.to });
    console.log(opts.json ? JSON.stringify(answer, null, 2) : describeTransition(answer as TransitionAnswer));
  };

  common(models.command('list').description('every version with its stage, which one serves, and who decided its stage, when and why'))
    .action(async (opts: CommonOptions) => {
      const answer = await call(opts, 'GET', '') as { models: ModelSummary[] };
      console.log(opts.json ? JSON.stringify(answer, null, 2) : formatModelList(answer.models));
    });
  common(models.command('show').description('one version\'s record (without the model bytes)'))
    .requiredOption('--version <n>', 'model version', toVersion)
    .option('--model <name>', 'model name, when two models of the pipeline share the version number')
    .action(async (opts: VersionOptions) => {
      const query = opts.model ? `?model=${encodeURIComponent(opts.model)}` : '';
      console.log(JSON.stringify(await call(opts, 'GET', `/${opts.version}${query}`), null, 2));
    });
  common(models.command('card').description('a version\'s model card: intended use, data, features, search, metrics with confidence intervals, calibration, threshold, segments, lineage, limitations, history'))
    .requiredOption('--version <n>', 'model version', toVersion)
    .option('--model <name>', 'model name, when two models of the pipeline share the version number')
    .option('--format <md|html>', 'Markdown, or one self-contained HTML page', toCardFormat, 'md')
    .option('--out <file>', 'write the card to this file instead of printing it')
    .action(async (opts: CardOptions) => {
      const query = new URLSearchParams({ format: opts.json ? 'json' : opts.format, ...(opts.model ? { model: opts.model } : {}) });
      const url = `${opts.api ?? io.servicesUrl()}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/models/${opts.version}/card?${query}`;
      const res = await fetchServices(url, { headers: io.authHeaders(opts) }, '--api');
      const text = await res.text();
      if (!res.ok) {
        console.error(`models: ${io.describeHttpError(res.status, text)}`);
        process.exit(1);
      }
      if (opts.out) {
        writeFileSync(opts.out, text);
        console.log(`model card of v${opts.version} written to ${opts.out}`);
      } else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    });
  for (const action of ['promote', 'archive'] as const) {
    const command = common(models.command(action).description(action === 'promote'
      ? 'make a version the champion (it serves from the next batch) or, with --to challenger, score it beside the champion'
      : 'retire a version (the serving champion only if an earlier champion remains)'))
      .requiredOption('--version <n>', 'model version', toVersion)
      .option('--model <name>', 'model name, when two models of the pipeline share the version number')
      .option('--reason <text>', 'why, recorded with the change');
    if (action === 'promote') {
      command.option('--to <stage>', 'champion, or challenger: scored beside the champion in shadow or on a share of entities (the spec\'s serving.challenger)', toPromotionTarget, 'champion');
    }
    command.action(change(action));
  }
  common(models.command('rollback').description('reject the serving champion: the previous champion serves again, without a restart'))
    .option('--reason <text>', 'why, recorded with the change')
    .action(async (opts: VersionOptions) => {
      const answer = await call(opts, 'POST', '/rollback', { reason: opts.reason, decided_by: 'cli' });
      console.log(opts.json ? JSON.stringify(answer, null, 2) : describeTransition(answer as TransitionAnswer));
    });
}

interface TransitionAnswer {
  model_name: string; model_version: number; from: string; to: string;
  serving: { model_name: string; model_version: number } | null;
  challenger?: { model_name: string; model_version: number } | null;
  decision_reason: string;
}

function describeTransition(a: TransitionAnswer): string {
  const serving = a.serving ? `${a.serving.model_name} v${a.serving.model_version}` : 'none';
  const challenger = a.challenger ? `; challenger: ${a.challenger.model_name} v${a.challenger.model_version}` : '';
  return `${a.model_name} v${a.model_version}: ${a.from} → ${a.to} (${a.decision_reason}); serving: ${serving}${challenger}`;
}

/** The versions as a table: one line each, the serving one marked with *, the challenger with ~. */
export function formatModelList(models: ModelSummary[]): string {
  if (models.length === 0) return 'no model versions yet';
  const rows = models.map((m) => [
    m.serving ? '*' : m.challenger ? '~' : '', m.model_name, `v${m.model_version}`, m.stage, m.algorithm,
    Number.isFinite(m.metrics.roc_auc) ? m.metrics.roc_auc.toFixed(3) : '-',
    m.decided_at > 0 ? new Date(m.decided_at).toISOString().replace(/\.\d+Z$/, 'Z') : '-', m.decided_by || '-', m.decision_reason,
  ]);
  const header = ['', 'model', 'version', 'stage', 'algorithm', 'roc_auc', 'decided at', 'by', 'reason'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function toPromotionTarget(v: string): 'champion' | 'challenger' {
  if (v !== 'champion' && v !== 'challenger') throw new InvalidArgumentError(`expected champion or challenger, got "${v}"`);
  return v;
}

function toCardFormat(v: string): 'md' | 'html' {
  if (v === 'markdown') return 'md';
  if (v !== 'md' && v !== 'html') throw new InvalidArgumentError(`expected md or html, got "${v}"`);
  return v;
}

function toVersion(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a version number ≥ 1, got "${v}"`);
  return n;
}
