// What a test needs around a `streamloop` process it started (processes.ts startCliProcess): a free HTTP port and a
// wait for the API to answer.
import { createServer } from 'node:net';
import type { ServiceProcess } from './processes';

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
