import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
// The query entry point only: the whole library (ClickHouse, chDB) would load with every CLI command.
import { parseReportTime } from '@streamloop/report/query';

/** How the report command reaches the services and describes a failed answer (from main.ts). */
export interface ReportCommandIo {
  servicesUrl(): string;
  describeHttpError(status: number, text: string): string;
  /** The Authorization header from --token (or the environment), where the services check tokens; with tokenHelp, --token is offered. */
  authHeaders?(opts: { token?: string }): Record<string, string>;
  tokenHelp?: string;
}

interface ReportOptions { pipeline: string; from?: string; to?: string; out: string; format: 'html' | 'json'; url?: string; token?: string }

/** The cause of a failed fetch in words: Node says "fetch failed" and keeps the reason (ECONNREFUSED, ENOTFOUND…) in `cause`. */
export function describeFetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * `streamloop report --pipeline P [--from T] [--to T] --out report.html`: the drift and performance report of a running
 * monitoring target (GET /v1/pipelines/:p/report), written to a file that opens without a network.
 */
export function addReportCommand(program: Command, io: ReportCommandIo): void {
  const command = program
    .command('report')
    .description('write the drift and performance report of a pipeline (one self-contained HTML file, charts included) from a running monitoring target')
    .requiredOption('--pipeline <name>', 'pipeline name')
    .option('--from <time>', 'start of the period, ISO 8601 event time (e.g. 2026-11-03T00:00:00Z; default: the latest monitoring window)', checkTime('--from'))
    .option('--to <time>', 'end of the period, ISO 8601 event time (default: just after the latest feature vector)', checkTime('--to'))
    .requiredOption('--out <file>', 'file to write, e.g. report.html')
    .option('--format <html|json>', 'the HTML page, or the report\'s data as JSON', toFormat, 'html')
    .option('--url <url>', 'base URL of the running monitoring target (default: http://127.0.0.1:$PORT, from the settings)');
  if (io.tokenHelp) command.option('--token <token>', io.tokenHelp);
  command
    .action(async (opts: ReportOptions) => {
      const base = (opts.url ?? io.servicesUrl()).replace(/\/+$/, '');
      const query = new URLSearchParams({ format: opts.format, ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) });
      const url = `${base}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/report?${query}`;
      let res: Response;
      try {
        res = await fetch(url, { headers: io.authHeaders?.(opts) ?? {} });
      } catch (error) {
        console.error(`report: cannot reach the monitoring target at ${base}: ${describeFetchFailure(error)} (is \`streamloop start\` running with the monitoring target? --url names another address)`);
        process.exit(1);
      }
      const text = await res.text();
      if (!res.ok) {
        console.error(`report: ${io.describeHttpError(res.status, text)}`);
        process.exit(1);
      }
      writeFileSync(opts.out, text);
      console.log(`report of ${opts.pipeline} written to ${opts.out} (${Math.round(text.length / 1024)} KiB)`);
    });
}

function checkTime(flag: string) {
  return (v: string): string => {
    try {
      parseReportTime(flag, v);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message.replace(`${flag}: `, ''));
    }
    return v;
  };
}

function toFormat(v: string): 'html' | 'json' {
  if (v !== 'html' && v !== 'json') throw new InvalidArgumentError(`expected html or json, got "${v}"`);
  return v;
}
