// The dynamic half of admitting an untrusted ONNX file: onnxruntime loads it and runs it once in a child process
// with a memory limit and a timeout, so that a model that crashes the runtime, allocates without bound or never
// finishes costs a child, not the service. Only a model whose probe passes may be registered.
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MODEL_SAFETY_DEFAULTS } from '@streamloop/config';
import { UnsafeModelError } from './errors';
import type { DeclaredTensor } from './onnx-safety';

const CHILD = fileURLToPath(new URL('./probe-child.mjs', import.meta.url));
const MIB = 1024 * 1024;
/** What the parent keeps of the child's output: the answer is one short JSON line. */
const MAX_STDOUT = MIB;
const STDERR_TAIL = 2048;

export interface ProbeOptions {
  /** Memory limit of the child, MiB (default MODEL_SAFETY_DEFAULTS.probeMemoryMb). */
  memoryMb?: number;
  /** The child is killed after this long (default MODEL_SAFETY_DEFAULTS.probeTimeoutMs). */
  timeoutMs?: number;
}

/** A tensor the probe fed or got back: onnxruntime's element type and the dims. */
export interface ProbedTensor {
  name: string;
  type: string;
  dims: number[];
}

export interface ProbeReport {
  inputs: ProbedTensor[];
  outputs: ProbedTensor[];
  durationMs: number;
  memoryMb: number;
  /** How the memory limit was applied: 'rlimit-data' (prlimit --data on the child), else 'v8-heap' only. */
  memoryLimit: 'rlimit-data' | 'v8-heap';
}

interface ChildAnswer {
  ok: boolean;
  stage?: string;
  error?: string;
  inputs?: ProbedTensor[];
  outputs?: ProbedTensor[];
}

let prlimitAvailable: boolean | undefined;
/** util-linux's prlimit sets the child's RLIMIT_DATA before it starts (Node has no setrlimit of its own). */
function hasPrlimit(): boolean {
  prlimitAvailable ??= spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0;
  return prlimitAvailable;
}

/** At most this many probes at once per process: each is a Node process with onnxruntime on a small machine. */
const MAX_CONCURRENT = 2;
let running = 0;
const waiting: Array<() => void> = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/**
 * Loads the model in a child process and runs it once on zeros of each input's declared shape (free dims as 1),
 * fetching the declared tensor outputs. Throws UnsafeModelError naming the cause when onnxruntime refuses the model,
 * the child dies (a crash, the memory limit), or it does not answer within the timeout.
 */
export async function probeOnnxModel(
  bytes: Uint8Array, declared: { inputs: DeclaredTensor[]; outputs: DeclaredTensor[] }, opts: ProbeOptions = {},
): Promise<ProbeReport> {
  const memoryMb = opts.memoryMb ?? MODEL_SAFETY_DEFAULTS.probeMemoryMb;
  const timeoutMs = opts.timeoutMs ?? MODEL_SAFETY_DEFAULTS.probeTimeoutMs;
  const header = {
    inputs: declared.inputs.map((i) => ({ name: i.name, type: i.type, dims: i.dims })),
    // Sequence and map outputs (a ZipMap) are not read by onnxruntime-node's run: fetch the tensors only.
    fetches: declared.outputs.filter((o) => o.type !== undefined).map((o) => o.name),
  };
  return slot(async () => {
    const started = Date.now();
    const limited = hasPrlimit();
    const node = [process.execPath, `--max-old-space-size=${Math.max(64, Math.floor(memoryMb / 2))}`, CHILD];
    const [command, ...args] = limited ? ['prlimit', `--data=${memoryMb * MIB}`, '--', ...node] : node;
    // A bare environment: the model's code path sees no credentials of the service.
    const child = spawn(command, args, { cwd: tmpdir(), env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < MAX_STDOUT) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_TAIL);
    });
    // The child may die before it has read all of stdin: that shows in its exit, not as an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), bytes]));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => clearTimeout(timer));
    const durationMs = Date.now() - started;
    const memory = limited ? `the probe's memory limit of ${memoryMb} MiB` : `the probe's heap limit`;
    if (timedOut) throw new UnsafeModelError(`probe: loading and running the model once did not finish within ${timeoutMs} ms; the probe was killed`);
    const answer = parseAnswer(stdout);
    if (answer?.ok && exit.code === 0) {
      return { inputs: answer.inputs ?? [], outputs: answer.outputs ?? [], durationMs, memoryMb, memoryLimit: limited ? 'rlimit-data' : 'v8-heap' };
    }
    if (answer && !answer.ok) {
      const oom = /bad_alloc|out of memory|Failed to allocate|allocat/i.test(answer.error ?? '') ? ` (over ${memory}?)` : '';
      throw new UnsafeModelError(`probe: onnxruntime failed to ${answer.stage === 'run' ? 'run the model once on zeros' : 'load the model'}: ${clip(answer.error ?? '')}${oom}`);
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const last = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ');
    throw new UnsafeModelError(`probe: the process loading the model ${how} (a crash of onnxruntime, or the model went over ${memory})${last ? `: ${clip(last)}` : ''}`);
  });
}

function parseAnswer(stdout: string): ChildAnswer | undefined {
  const line = stdout.trim().split('\n').pop();
  if (!line) return undefined;
  try {
    const parsed = JSON.parse(line) as unknown;
    return parsed !== null && typeof parsed === 'object' && 'ok' in parsed ? (parsed as ChildAnswer) : undefined;
  } catch {
    return undefined;
  }
}

function clip(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
