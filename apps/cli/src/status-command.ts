import type { Command } from 'commander';
import type { ModelRef, PlatformStatus } from '@streamloop/runtime';

/** How the status command reaches the services and describes a failed answer (from main.ts). */
export interface StatusCommandIo {
  servicesUrl(): string;
  describeHttpError(status: number, text: string): string;
  /** The Authorization header for --token (or the environment's token), when the services require one. */
  authHeaders?(opts: { token?: string }): Record<string, string>;
  tokenHelp?: string;
}

/**
 * `streamloop status [--url] [--json]`: GET /v1/status of a running process, as a table or as JSON. Unreachable is a
 * non-zero exit that says what to do next.
 */
export function addStatusCommand(program: Command, io: StatusCommandIo): void {
  program
    .command('status')
    .description('targets, lag per stage, champion and challenger, last drift verdict and DLQ counts of a running process')
    .option('--url <url>', 'base URL of the running services (default: http://127.0.0.1:$PORT, from the settings)')
    .option('--api <url>', 'the same as --url (the other commands\' name for it)')
    .option('--json', 'print the answer as JSON')
    .option('--token <token>', io.tokenHelp ?? 'bearer token with the read scope, when the services require one')
    .action(async (opts: { url?: string; api?: string; json?: boolean; token?: string }) => {
      const base = (opts.url ?? opts.api ?? io.servicesUrl()).replace(/\/+$/, '');
      const status = await getJson<PlatformStatus>(`${base}/v1/status`, io, io.authHeaders?.(opts) ?? {});
      console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    });
}

/**
 * GET a JSON answer of the services; exits 1 with the next step when nothing answers there, or with the error's code
 * and message when the services refuse.
 */
export async function getJson<T>(url: string, io: Pick<StatusCommandIo, 'describeHttpError'>, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetchServices(url, { signal: AbortSignal.timeout(60_000), headers }, '--url');
  const text = await res.text();
  if (!res.ok) {
    console.error(`error: ${io.describeHttpError(res.status, text)}`);
    process.exit(1);
  }
  return JSON.parse(text) as T;
}

/**
 * fetch() to the running services; when nothing answers there, exits 1 saying what to do next (start them, or point
 * `option` at them) instead of fetch's bare "fetch failed".
 */
export async function fetchServices(url: string, init: RequestInit, option: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    console.error(`error: cannot reach ${url} (${why}): is \`streamloop start\` running? set ${option} to its API address`);
    process.exit(1);
  }
}

/** The status as a person reads it: a header, then per pipeline its models, drift, DLQ and a lag table. */
export function formatStatus(status: PlatformStatus): string {
  const lines = [
    `targets   ${status.targets.join(', ') || 'none'}`,
    `brokers   ${status.brokers.join(', ')}`,
    `at        ${status.at}`,
  ];
  for (const p of status.pipelines) {
    lines.push('', `pipeline ${p.pipeline}`);
    lines.push(`  champion    ${describeModel(p.champion)}`);
    lines.push(`  challenger  ${describeModel(p.challenger)}`);
    if (p.drift) {
      const what = p.drift.verdict === 'drift' ? `drift in ${p.drift.drifted.join(', ')}` : 'no drift';
      lines.push(`  drift       ${what} (window ${p.drift.window_start} – ${p.drift.window_end}, ${p.drift.statistics} statistics)`);
    } else lines.push(`  drift       ${p.drift_note ?? 'unknown'}`);
    lines.push(`  DLQ         ${p.dlq.topic}: ${p.dlq.offsets} offsets${p.dlq.stored !== undefined ? `, ${p.dlq.stored} rows in ClickHouse` : ''}`);
    if (p.stages.length === 0) lines.push('  lag         no stage has committed offsets yet');
    else {
      const rows = p.stages.map((s) => [s.stage, s.topic, String(s.lag), String(s.partitions), s.group + (s.fused_into ? ` (runs in the ${s.fused_into} transaction; offsets commit lazily)` : '')]);
      lines.push(...table(['stage', 'topic', 'lag', 'partitions', 'group'], rows, [2]).map((l) => `  ${l}`));
      lines.push('  (lag counts offsets: on a transactional topic a caught-up group may trail by one commit marker per partition)');
    }
  }
  if (status.problems.length > 0) lines.push('', 'problems', ...status.problems.map((p) => `  ${p}`));
  return lines.join('\n');
}

function describeModel(m: ModelRef | null): string {
  if (!m) return 'none';
  return `${m.model_name} v${m.model_version} (${m.algorithm}${m.roc_auc !== null ? `, held-out ROC AUC ${m.roc_auc.toFixed(3)}` : ''})`;
}

/** Left-aligned columns, the given ones right-aligned (numbers). */
function table(header: string[], rows: string[][], rightAligned: number[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
