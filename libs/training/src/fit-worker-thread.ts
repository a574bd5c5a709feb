// The body of the training worker thread (started by fitOnWorker through fit-worker-entry.mjs): one fitAndExport
// of the workerData, its output posted back with the large buffers transferred, or the error it threw.
import { parentPort, workerData } from 'node:worker_threads';
import { fitAndExport, type FitInput } from './fit-and-export';
import { serializeError, type FitWorkerReply } from './fit-worker';

if (!parentPort) throw new Error('fit-worker-thread runs on a worker thread (fitOnWorker starts it)');
const port = parentPort;
try {
  const output = await fitAndExport(workerData as FitInput, (progress) => port.postMessage({ kind: 'progress', progress } satisfies FitWorkerReply));
  // The export may be a view on a larger (or pooled) buffer, which cannot be transferred: a copy of its own can.
  const onnx = new Uint8Array(output.onnx);
  const reply: FitWorkerReply = { kind: 'done', output: { ...output, onnx } };
  port.postMessage(reply, [onnx.buffer, output.heldOutScores.buffer]);
} catch (error) {
  const reply: FitWorkerReply = { kind: 'failed', error: serializeError(error) };
  port.postMessage(reply);
}
