// Services as separate OS processes, so tests can SIGKILL, SIGSTOP and scale them like an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { AUTH_OFF_ENV } from './auth';
import { FRAUD_SPEC } from './stack';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The example fraud pipeline written to a file of its own under another pipeline name (its topics are the test's own),
 * with `overrides` merged into its sections (a section given replaces the example's keys it names, keeps the others).
 */
export function writeSpecFile(pipeline: string, overrides: Record<string, Record<string, unknown>> = {}): string {
  const spec = parseYaml(readFileSync(FRAUD_SPEC, 'utf8')) as Record<string, unknown>;
  spec.pipeline = pipeline;
  const events = spec.events as Record<string, unknown>;
  events.schema = resolve(dirname(FRAUD_SPEC), String(events.schema));
  for (const [section, keys] of Object.entries(overrides)) spec[section] = { ...(spec[section] as Record<string, unknown> | undefined), ...keys };
  const file = join(mkdtempSync(join(tmpdir(), 'streamloop-spec-')), `${pipeline}.yaml`);
  writeFileSync(file, stringifyYaml(spec));
  return file;
}

/** The tail of each process's output, for an assertion's message when something did not happen. */
export function outputOf(processes: ServiceProcess[], chars = 3000): string {
  return processes.map((p) => `--- ${p.name}\n${p.output().slice(-chars)}`).join('\n');
}

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** The tail of stdout and stderr so far, for a failure message. */
  output(): string;
  /** Everything the process wrote to stdout and stderr so far (a test that greps its logs). */
  transcript(): string;
  signal(sig: NodeJS.Signals): void;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `services/<target>/src/main.ts` in its own process with the given environment on top of this one's. */
export function startServiceProcess(name: string, target: string, env: Record<string, string>): ServiceProcess {
  return startNodeProcess(name, ['--import', 'tsx', join(ROOT, 'services', target, 'src', 'main.ts')], { PORT: '0', ...env });
}

/** Runs the `streamloop` CLI (`bin/streamloop.mjs <args>`) in its own process, as an operator starts it. */
export function startCliProcess(name: string, args: string[], env: Record<string, string>): ServiceProcess {
  return startNodeProcess(name, [join(ROOT, 'bin', 'streamloop.mjs'), ...args], env);
}

function startNodeProcess(name: string, args: string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // Auth off unless the test sets it: the tests that start processes are about something else (auth.test.ts is not).
    env: { ...process.env, LOG_LEVEL: 'warn', ...AUTH_OFF_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const all: Buffer[] = [];
  const keep = (b: Buffer) => {
    all.push(b);
    out = (out + b.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    name,
    child,
    output: () => out,
    transcript: () => Buffer.concat(all).toString('utf8'),
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    exited,
  };
}
