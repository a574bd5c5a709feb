// What a test needs around a `streamloop` process it starts (processes.ts startCliProcess): a free HTTP port, a wait
// for the API to answer, the platform started on a test's pipeline, and a stop.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCliProcess, type ServiceProcess } from './processes';

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `GET url/health` answers at all (any status), i.e. the HTTP API is up; fails if the process exits first. */
export async function waitForApi(url: string, p: ServiceProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => { exited = true; });
  for (;;) {
    if (exited) throw new Error(`${p.name} exited before its API answered\n${p.output()}`);
    try {
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${p.name}: no answer from ${url}/health after ${timeoutMs} ms\n${p.output()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/**
 * `streamloop start --target <targets>` on a free port against the test's broker and registry, running the pipeline of
 * `specFile` with a chDB of its own; resolves once its API answers.
 */
export async function startPlatform(
  stack: { registryUrl: string }, brokers: string[], specFile: string, targets: string, env: Record<string, string> = {},
): Promise<{ service: ServiceProcess; api: string }> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const service = startCliProcess('streamloop start', ['start', '--target', targets, '--port', String(port)], {
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    STREAMLOOP_PIPELINES: specFile,
    CLICKHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'streamloop-chdb-')),
    ...env,
  });
  await waitForApi(api, service);
  return { service, api };
}

/** The model version inference serves for `pipeline` (GET /v1/pipelines/:p/model), undefined while none. */
export async function servedVersion(api: string, pipeline: string): Promise<number | undefined> {
  const res = await fetch(`${api}/v1/pipelines/${pipeline}/model`);
  return res.ok ? (await res.json() as { model_version?: number }).model_version : undefined;
}

/** Stops a test's processes as an operator would: SIGTERM, up to 10 s to exit, then SIGKILL. */
export async function stopProcesses(processes: ServiceProcess[]): Promise<void> {
  for (const p of processes) p.signal('SIGTERM');
  await Promise.all(processes.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))])));
  for (const p of processes) p.signal('SIGKILL');
}

const CLI = new URL('../../bin/streamloop.mjs', import.meta.url).pathname;

/** Runs the `streamloop` CLI as an operator would; resolves with its exit code and output (a non-zero exit is not a throw). */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
