import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { PlatformError } from '@streamloop/errors';
import type { Matrix } from './data';
import { ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT } from './onnx-export';

const { onnx } = onnxProto;

/** A model that fails the checks a model must pass to serve (size, external data, shapes, declared tensors). */
export class OnnxModelError extends PlatformError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
  }
}

/** onnxruntime's graph optimization levels (SessionOptions.graphOptimizationLevel). */
export type OnnxGraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** The onnxruntime session options a pipeline may tune (`serving.onnx`). */
export interface OnnxSessionOptions {
  /** onnxruntime intra-op threads (default 1: many sessions share a few cores, and results stay reproducible). */
  intraOpNumThreads?: number;
  /** Default 'all'. */
  graphOptimizationLevel?: OnnxGraphOptimizationLevel;
}

export interface OnnxScorerOptions extends OnnxSessionOptions {
  /** Refuse a model whose input is not [N, expectedFeatures]. */
  expectedFeatures?: number;
  /** Refuse larger models (default 64 MiB). */
  maxBytes?: number;
  /** The tensors to feed and read, for a model made elsewhere (default: our own export's 'features' → 'probabilities'). */
  io?: OnnxIo;
}

/**
 * Declared tensor names of a classifier whose graph was not made by us (e.g. skl2onnx's 'float_input' and
 * 'output_probability'). With it, the scorer reads P(positive) from `probabilities[:, positiveClassIndex]` and
 * labels are P(positive) > 0.5 (a foreign label output may use any class values, so it is not read).
 */
export interface OnnxIo {
  /** The graph's single input must have this name. */
  input: string;
  /** A float [N, k] output of class probabilities, k ≥ 2. */
  probabilities: string;
  /** Column of `probabilities` holding the positive class. */
  positiveClassIndex: number;
}

export interface ScoreResult {
  /** P(class 1) per row. */
  probabilities: Float32Array;
  /** The model's predicted class per row (0/1). */
  labels: Uint8Array;
}

export interface ModelSignature {
  inputName: string;
  featureCount: number;
  hasLabelOutput: boolean;
  /** The output read for probabilities, and the column of the positive class in it. */
  probabilityOutput: string;
  positiveClassIndex: number;
  /** Columns of the probability output when the graph declares them (ours: always 2). */
  classCount?: number;
  opsets: Record<string, number>;
  metadata: Record<string, string>;
}

const ALLOWED_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml']);
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/** Throws when any tensor anywhere in the graph (initializers, attributes, subgraphs, functions) points to external data. */
function refuseExternalData(model: P.ModelProto): void {
  const tensor = (t: P.ITensorProto | null | undefined, where: string) => {
    if (!t) return;
    if (t.dataLocation === EXTERNAL || (t.externalData?.length ?? 0) > 0) {
      throw new OnnxModelError(`ONNX model: tensor '${t.name ?? ''}' in ${where} uses external data, which is refused (only self-contained models are loaded)`);
    }
  };
  const sparse = (s: P.ISparseTensorProto | null | undefined, where: string) => {
    if (!s) return;
    tensor(s.values, where);
    tensor(s.indices, where);
  };
  const nodes = (list: P.INodeProto[] | null | undefined, where: string) => {
    for (const node of list ?? []) {
      for (const a of node.attribute ?? []) {
        const at = `${where} node '${node.name ?? node.opType ?? ''}' attribute '${a.name ?? ''}'`;
        tensor(a.t, at);
        for (const t of a.tensors ?? []) tensor(t, at);
        sparse(a.sparseTensor, at);
        for (const s of a.sparseTensors ?? []) sparse(s, at);
        if (a.g) graph(a.g, at);
        for (const g of a.graphs ?? []) graph(g, at);
      }
    }
  };
  const graph = (g: P.IGraphProto, where: string) => {
    for (const t of g.initializer ?? []) tensor(t, `${where} initializers`);
    for (const s of g.sparseInitializer ?? []) sparse(s, `${where} sparse initializers`);
    nodes(g.node, where);
  };
  if (model.graph) graph(model.graph, 'the main graph');
  for (const f of model.functions ?? []) nodes(f.node, `function '${f.name ?? ''}'`);
  for (const ti of model.trainingInfo ?? []) {
    if (ti.initialization) graph(ti.initialization, 'training info');
    if (ti.algorithm) graph(ti.algorithm, 'training info');
  }
}

/** Reads and checks the model's declared signature without running it. */
export function inspectOnnx(bytes: Uint8Array, opts: OnnxScorerOptions = {}): ModelSignature {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(bytes instanceof Uint8Array)) throw new OnnxModelError('ONNX model: expected the model bytes as a Uint8Array');
  if (bytes.length === 0 || bytes.length > maxBytes) throw new OnnxModelError(`ONNX model: size ${bytes.length} bytes is outside 1..${maxBytes}`);
  let model: P.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new OnnxModelError(`ONNX model: not a valid ModelProto (${(error as Error).message})`);
  }
  if (!model.graph) throw new OnnxModelError('ONNX model: no graph');
  refuseExternalData(model);
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) {
    const domain = o.domain ?? '';
    if (!ALLOWED_DOMAINS.has(domain)) throw new OnnxModelError(`ONNX model: operator set domain '${domain}' is not allowed (only ai.onnx and ai.onnx.ml)`);
    opsets[domain === '' ? 'ai.onnx' : domain] = Number(o.version);
  }
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const inputs = (model.graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) throw new OnnxModelError(`ONNX model: expected exactly one input, found ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`);
  const input = inputs[0];
  const tt = input.type?.tensorType;
  if (!tt || tt.elemType !== onnx.TensorProto.DataType.FLOAT) throw new OnnxModelError(`ONNX model: input '${input.name}' must be a float tensor`);
  const dims = tt.shape?.dim ?? [];
  const width = dims[1]?.dimValue;
  if (dims.length !== 2 || width == null || Number(width) <= 0) {
    throw new OnnxModelError(`ONNX model: input '${input.name}' must have shape [N, d] with a fixed d, found [${dims.map((x) => x.dimValue ?? x.dimParam ?? '?').join(', ')}]`);
  }
  const featureCount = Number(width);
  if (opts.expectedFeatures !== undefined && featureCount !== opts.expectedFeatures) {
    throw new OnnxModelError(`ONNX model: input '${input.name}' has ${featureCount} features, expected ${opts.expectedFeatures}`);
  }
  const outputs = model.graph.output ?? [];
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  if (opts.io) {
    const declared = declaredProbabilities(outputs, input.name ?? '', opts.io);
    return { inputName: input.name ?? '', featureCount, hasLabelOutput: false, ...declared, opsets, metadata };
  }
  const probs = outputs.find((o) => o.name === ONNX_PROBABILITIES_OUTPUT);
  if (!probs || probs.type?.tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) {
    throw new OnnxModelError(`ONNX model: needs a float output '${ONNX_PROBABILITIES_OUTPUT}' [N, 2]; outputs are ${outputs.map((o) => o.name).join(', ') || 'none'}`);
  }
  return {
    inputName: input.name ?? '', featureCount, hasLabelOutput: outputs.some((o) => o.name === ONNX_LABEL_OUTPUT),
    probabilityOutput: ONNX_PROBABILITIES_OUTPUT, positiveClassIndex: 1, classCount: 2, opsets, metadata,
  };
}

/** Checks a declared input/output signature against the graph; errors name the declared tensor and what the graph has. */
function declaredProbabilities(outputs: P.IValueInfoProto[], inputName: string, io: OnnxIo): Pick<ModelSignature, 'probabilityOutput' | 'positiveClassIndex' | 'classCount'> {
  if (inputName !== io.input) throw new OnnxModelError(`ONNX model: declared input '${io.input}' does not exist; the graph's input is '${inputName}'`);
  if (!Number.isInteger(io.positiveClassIndex) || io.positiveClassIndex < 0) {
    throw new OnnxModelError(`ONNX model: positive class index must be a whole number ≥ 0, got ${io.positiveClassIndex}`);
  }
  const probs = outputs.find((o) => o.name === io.probabilities);
  if (!probs) {
    throw new OnnxModelError(`ONNX model: declared probability output '${io.probabilities}' does not exist; outputs are ${outputs.map((o) => o.name).join(', ') || 'none'}`);
  }
  const tt = probs.type?.tensorType;
  if (!tt || tt.elemType !== onnx.TensorProto.DataType.FLOAT) {
    const what = probs.type?.sequenceType ? 'a sequence (a ZipMap? convert with zipmap=False)' : 'not a float tensor';
    throw new OnnxModelError(`ONNX model: probability output '${io.probabilities}' must be a float tensor [N, k], it is ${what}`);
  }
  const dims = tt.shape?.dim;
  if (dims && dims.length !== 2) throw new OnnxModelError(`ONNX model: probability output '${io.probabilities}' has rank ${dims.length}, expected [N, k]`);
  const width = dims?.[1]?.dimValue;
  const classCount = width == null ? undefined : Number(width);
  if (classCount !== undefined && (classCount < 2 || io.positiveClassIndex >= classCount)) {
    throw new OnnxModelError(`ONNX model: probability output '${io.probabilities}' has ${classCount} columns; positive class index ${io.positiveClassIndex} needs at least ${Math.max(2, io.positiveClassIndex + 1)}`);
  }
  return { probabilityOutput: io.probabilities, positiveClassIndex: io.positiveClassIndex, classCount };
}

/**
 * A binary classifier served by onnxruntime-node: [N, d] float rows in, P(class 1) out. Loads from bytes
 * only (never a path), after checking the declared signature and refusing external data.
 */
export class OnnxScorer {
  private released = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: ModelSignature,
  ) {}

  static async load(bytes: Uint8Array, opts: OnnxScorerOptions = {}): Promise<OnnxScorer> {
    const signature = inspectOnnx(bytes, opts);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
        intraOpNumThreads: opts.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      });
    } catch (error) {
      throw new OnnxModelError(`ONNX model: onnxruntime refused it (${(error as Error).message})`);
    }
    if (session.inputNames.length !== 1 || session.inputNames[0] !== signature.inputName || !session.outputNames.includes(signature.probabilityOutput)) {
      await session.release().catch(() => undefined);
      throw new OnnxModelError(`ONNX model: session inputs [${session.inputNames.join(', ')}] / outputs [${session.outputNames.join(', ')}] do not match the declared graph`);
    }
    return new OnnxScorer(session, signature);
  }

  get featureCount(): number {
    return this.signature.featureCount;
  }

  get inputName(): string {
    return this.signature.inputName;
  }

  /** Scores n rows laid out row-major in `rows` (n × featureCount float32 values; NaN = missing). */
  async score(rows: Float32Array, n: number): Promise<ScoreResult> {
    if (this.released) throw new Error('OnnxScorer: the session was released');
    const d = this.signature.featureCount;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`OnnxScorer.score: n must be an integer ≥ 0, got ${n}`);
    if (!(rows instanceof Float32Array) || rows.length !== n * d) {
      throw new RangeError(`OnnxScorer.score: expected a Float32Array of ${n} × ${d} = ${n * d} values, got ${rows instanceof Float32Array ? rows.length : typeof rows}`);
    }
    if (n === 0) return { probabilities: new Float32Array(0), labels: new Uint8Array(0) };
    const { probabilityOutput, positiveClassIndex, classCount } = this.signature;
    const fetches = this.signature.hasLabelOutput ? [ONNX_LABEL_OUTPUT, probabilityOutput] : [probabilityOutput];
    const out = await this.session.run({ [this.signature.inputName]: new ort.Tensor('float32', rows, [n, d]) }, fetches);
    const probs = out[probabilityOutput];
    const k = probs.dims[1];
    if (probs.type !== 'float32' || probs.dims.length !== 2 || probs.dims[0] !== n || (classCount !== undefined ? k !== classCount : !(k >= 2 && k > positiveClassIndex))) {
      for (const t of Object.values(out)) t.dispose();
      throw new OnnxModelError(`ONNX model: '${probabilityOutput}' came back as ${probs.type} [${probs.dims.join(', ')}], expected float32 [${n}, ${classCount ?? `k > ${positiveClassIndex}`}]`);
    }
    const data = probs.data as Float32Array;
    const probabilities = new Float32Array(n);
    for (let i = 0; i < n; i++) probabilities[i] = data[k * i + positiveClassIndex];
    const labels = new Uint8Array(n);
    const label = out[ONNX_LABEL_OUTPUT];
    if (label && label.dims.length === 1 && label.dims[0] === n) {
      const ld = label.data as ArrayLike<bigint | number>;
      for (let i = 0; i < n; i++) labels[i] = Number(ld[i]) === 1 ? 1 : 0;
    } else {
      for (let i = 0; i < n; i++) labels[i] = probabilities[i] > 0.5 ? 1 : 0;
    }
    for (const t of Object.values(out)) t.dispose();
    return { probabilities, labels };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

export interface ParityResult {
  ok: boolean;
  /** Largest |onnx − expected| over the probe rows (Infinity when a score is NaN). */
  maxAbsDiff: number;
  /** Index of the probe row with the largest difference. */
  worstRow: number;
  rows: number;
  tolerance: number;
}

/** Row-major float32 copy of the rows (NaN kept: it is the missing-value marker). */
export function toFloat32Rows(X: Matrix, d: number): Float32Array {
  const out = new Float32Array(X.length * d);
  for (let i = 0; i < X.length; i++) {
    const row = X[i];
    if (row.length !== d) throw new RangeError(`toFloat32Rows: row ${i} has ${row.length} values, expected ${d}`);
    for (let j = 0; j < d; j++) out[i * d + j] = row[j];
  }
  return out;
}

/**
 * Loads the model, scores the probe rows and compares with the scores the training code expects.
 * Throws OnnxModelError when the model cannot be loaded; returns ok=false when it loads but disagrees.
 * Inputs are rounded to float32 on the way in, so `expectedScores` are best computed on
 * float32-rounded rows (roundToFloat32) when features have large magnitudes.
 */
export async function validateModel(bytes: Uint8Array, probeRows: Matrix, expectedScores: ArrayLike<number>, tolerance = 1e-5, opts: OnnxScorerOptions = {}): Promise<ParityResult> {
  if (probeRows.length === 0) throw new RangeError('validateModel: needs at least one probe row');
  if (probeRows.length !== expectedScores.length) throw new RangeError(`validateModel: ${probeRows.length} probe rows but ${expectedScores.length} expected scores`);
  const scorer = await OnnxScorer.load(bytes, { expectedFeatures: probeRows[0].length, ...opts });
  try {
    const { probabilities } = await scorer.score(toFloat32Rows(probeRows, scorer.featureCount), probeRows.length);
    let maxAbsDiff = 0;
    let worstRow = 0;
    for (let i = 0; i < probabilities.length; i++) {
      const a = probabilities[i], e = expectedScores[i];
      // A NaN on either side is a failure, even on both: a model must score every probe row.
      const diff = Math.abs(a - e);
      const d = Number.isNaN(diff) ? Infinity : diff;
      if (d > maxAbsDiff) {
        maxAbsDiff = d;
        worstRow = i;
      }
    }
    return { ok: maxAbsDiff <= tolerance, maxAbsDiff, worstRow, rows: probabilities.length, tolerance };
  } finally {
    await scorer.release();
  }
}
