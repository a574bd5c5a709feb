// fitAndExport on a worker thread, so a training run's search and fits leave the event loop of the process free: in
// the monolith that loop also serves predictions. Errors come back as the errors the compute threw (class, code,
// message, details); a worker that dies without an answer rejects the run, it never hangs.
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { isErrorCode, PlatformError } from '@streamloop/errors';
import { OnnxModelError } from '@streamloop/ml';
import type { FitInput, FitOutput, FitProgress } from './fit-and-export';

/** A plain .mjs entry registers tsx in the worker (a loader registered through tsx's API does not reach workers). */
const WORKER_ENTRY = new URL('./fit-worker-entry.mjs', import.meta.url);

/** An error as it crosses the thread boundary (structured clone keeps an Error's message, not its class or code). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  details?: unknown;
}

/** What the worker posts back: progress while it works, then its answer, once. */
export type FitWorkerReply = { kind: 'done'; output: FitOutput } | { kind: 'failed'; error: SerializedError } | { kind: 'progress'; progress: FitProgress };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const out: SerializedError = { name: error.name, message: error.message, stack: error.stack };
  if (error instanceof PlatformError) {
    out.code = error.code;
    if (error.details !== undefined) {
      // Details that do not clone (functions, class instances with handles) would lose the whole reply.
      try {
        out.details = structuredClone(error.details);
      } catch {
        out.details = String(error.details);
      }
    }
  }
  return out;
}

/** The PlatformError subclasses the compute throws, by name, so that instanceof checks keep working. */
const PLATFORM_ERROR_CLASSES: Record<string, { prototype: PlatformError }> = { OnnxModelError };
const BUILTIN_ERRORS: Record<string, new (message: string) => Error> = {
  Error, RangeError, TypeError, SyntaxError, ReferenceError, EvalError, URIError,
};

/** The error the worker threw, rebuilt on this side: its class where known, its code, message, details and stack. */
export function reviveError(s: SerializedError): Error {
  let error: Error;
  if (s.code !== undefined && isErrorCode(s.code)) {
    error = new PlatformError(s.code, s.message, s.details === undefined ? {} : { details: s.details });
    const known = PLATFORM_ERROR_CLASSES[s.name];
    if (known) Object.setPrototypeOf(error, known.prototype);
  } else {
    error = new (BUILTIN_ERRORS[s.name] ?? Error)(s.message);
  }
  error.name = s.name;
  if (s.stack) error.stack = s.stack;
  return error;
}

export interface FitOnWorkerOptions {
  /** Aborting terminates the worker and rejects the run (the process is shutting down). */
  signal?: AbortSignal;
  /** The worker's heap limits; above them it dies (ERR_WORKER_OUT_OF_MEMORY) and the run is rejected. */
  resourceLimits?: ResourceLimits;
  /** Each trial of the search, the final fit and the export as the worker reaches them. */
  onProgress?: (progress: FitProgress) => void;
}

/**
 * Runs fitAndExport(input) on a new worker thread and resolves with its output. The input's matrix buffers are
 * transferred, not copied: they are unusable in the caller afterwards. The worker is terminated once it has answered,
 * crashed or been aborted.
 */
export function fitOnWorker(input: FitInput, opts: FitOnWorkerOptions = {}): Promise<FitOutput> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(stopped());
  return new Promise<FitOutput>((resolve, reject) => {
    const worker = new Worker(WORKER_ENTRY, {
      workerData: input,
      transferList: [input.train.X.values.buffer, input.test.X.values.buffer],
      // The entry registers tsx itself; a parent started with `--import tsx` would register it a second time.
      execArgv: [],
      resourceLimits: opts.resourceLimits,
    });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      finish();
      // GBDT helper threads or onnxruntime may keep the worker alive after its answer.
      void worker.terminate();
    };
    const onAbort = () => settle(() => reject(stopped()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (reply: FitWorkerReply) => {
      if (reply.kind === 'progress') {
        if (!settled) opts.onProgress?.(reply.progress);
        return;
      }
      settle(() => {
        if (reply.kind === 'done') resolve(reply.output);
        else reject(reviveError(reply.error));
      });
    });
    worker.once('error', (error: Error) => settle(() => reject(
      new PlatformError('INTERNAL', `training worker thread crashed: ${error.message}`, { cause: error }),
    )));
    worker.once('exit', (code) => settle(() => reject(
      new PlatformError('INTERNAL', `training worker thread exited with code ${code} before returning a model`),
    )));
  });
}

function stopped(): PlatformError {
  return new PlatformError('INTERNAL', 'training run stopped: the process is shutting down');
}
