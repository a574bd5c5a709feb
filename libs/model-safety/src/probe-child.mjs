// The probe's child process: loads an untrusted ONNX model with onnxruntime-node and runs it once, under the memory
// limit and timeout its parent (probe.ts) set, so that a crash, an allocation bomb or a hang ends this process and not
// the service. Plain JavaScript, no loader: it starts in a fraction of a second.
// stdin: one JSON line { inputs: [{ name, type, dims }], fetches: [names] }, then the model's bytes.
// stdout: one JSON line, { ok: true, inputs, outputs: [{ name, type, dims }] } or { ok: false, stage, error }.
import * as ort from 'onnxruntime-node';

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
};

function answer(result, code) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

let stage = 'read';
try {
  const all = await readStdin();
  const newline = all.indexOf(0x0a);
  if (newline < 0) throw new Error('no header line on stdin');
  const header = JSON.parse(all.subarray(0, newline).toString('utf8'));
  const model = all.subarray(newline + 1);
  stage = 'load';
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    // No arena: memory goes back as soon as a tensor is freed, so the limit measures what the model really needs.
    enableCpuMemArena: false,
    logSeverityLevel: 3,
  });
  stage = 'run';
  const feeds = {};
  const fed = [];
  for (const input of header.inputs) {
    const dims = input.dims.map((d) => (typeof d === 'number' ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    if (input.type === 'string') feeds[input.name] = new ort.Tensor('string', new Array(size).fill(''), dims);
    else {
      const Typed = ARRAYS[input.type];
      if (!Typed) throw new Error(`input '${input.name}' is of type ${input.type}, which the probe cannot feed`);
      feeds[input.name] = new ort.Tensor(input.type, new Typed(size), dims);
    }
    fed.push({ name: input.name, type: input.type, dims });
  }
  const outputs = [];
  if (header.fetches.length > 0) {
    const result = await session.run(feeds, header.fetches);
    for (const name of header.fetches) {
      const t = result[name];
      outputs.push({ name, type: t.type, dims: [...t.dims] });
    }
  }
  await session.release();
  answer({ ok: true, inputs: fed, outputs }, 0);
} catch (error) {
  answer({ ok: false, stage, error: error instanceof Error ? error.message : String(error) }, 2);
}
