// The static half of admitting an untrusted ONNX file: decode it with onnx-proto (bounded by the bytes given) and
// walk every graph, subgraph, node, attribute and tensor before onnxruntime ever parses it. Each refusal names the
// tensor, node or field and what was expected.
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { MODEL_SAFETY_DEFAULTS } from '@streamloop/config';
import { ModelTooLargeError, UnsafeModelError } from './errors';
import { ALLOWED_DOMAINS, RISKY_OPERATORS } from './operators';

const { onnx } = onnxProto;

type Int64 = number | { toString(): string };

export interface OnnxSafetyLimits {
  /** Largest file (default MODEL_SAFETY_DEFAULTS.maxBytes): larger is 413 MODEL_TOO_LARGE. */
  maxBytes?: number;
  /** Largest tensor a model may declare, in bytes once dense (default: maxBytes; its data must be in the file anyway). */
  maxTensorBytes?: number;
  /** Deepest nesting of subgraphs (If, Loop, Scan bodies); default 8. */
  maxGraphDepth?: number;
  /** Largest rank of a tensor or declared shape; default 16. */
  maxRank?: number;
}

/** A graph input or output as declared: element type and dims (a number, or the symbolic name of a free dim). */
export interface DeclaredTensor {
  name: string;
  /** onnxruntime's name of the element type ('float32', 'int64', 'string', …); undefined: not a tensor (a sequence, a map). */
  type?: string;
  dims?: Array<number | string>;
}

/** What the static checks saw in a model that passed them. */
export interface OnnxSafetyReport {
  bytes: number;
  irVersion: number;
  /** Domain ('ai.onnx' for the default one) → imported opset version. */
  opsets: Record<string, number>;
  /** Every operator used, as domain:op_type (ai.onnx ones without the domain), sorted. */
  operators: string[];
  nodes: number;
  /** Initializer and attribute tensors checked, in every graph. */
  tensors: number;
  inputs: DeclaredTensor[];
  outputs: DeclaredTensor[];
}

const D = onnx.TensorProto.DataType;
/** Bits per element of each tensor element type (onnx.proto's TensorProto.DataType; 17+ are newer than onnx-proto's enum). */
const ELEMENT_BITS: Record<number, number> = {
  [D.FLOAT]: 32, [D.UINT8]: 8, [D.INT8]: 8, [D.UINT16]: 16, [D.INT16]: 16, [D.INT32]: 32, [D.INT64]: 64, [D.BOOL]: 8,
  [D.FLOAT16]: 16, [D.DOUBLE]: 64, [D.UINT32]: 32, [D.UINT64]: 64, [D.COMPLEX64]: 64, [D.COMPLEX128]: 128, [D.BFLOAT16]: 16,
  17: 8, 18: 8, 19: 8, 20: 8, // FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ
  21: 4, 22: 4, 23: 4, // UINT4, INT4, FLOAT4E2M1
  24: 8, // FLOAT8E8M0
};
/** onnxruntime-node's names of the element types it can feed or return. */
const ORT_TYPE: Record<number, string> = {
  [D.FLOAT]: 'float32', [D.UINT8]: 'uint8', [D.INT8]: 'int8', [D.UINT16]: 'uint16', [D.INT16]: 'int16', [D.INT32]: 'int32',
  [D.INT64]: 'int64', [D.STRING]: 'string', [D.BOOL]: 'bool', [D.FLOAT16]: 'float16', [D.DOUBLE]: 'float64',
  [D.UINT32]: 'uint32', [D.UINT64]: 'uint64',
};
const TYPE_NAME: Record<number, string> = Object.fromEntries(Object.entries(D).map(([k, v]) => [v, k]));
const typeName = (t: number) => TYPE_NAME[t] ?? `type ${t}`;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Checks an untrusted ONNX file without running it: its size (413 MODEL_TOO_LARGE), that it decodes as a whole
 * ModelProto, that no tensor anywhere points to external data, that every node's operator is in ai.onnx or ai.onnx.ml's
 * allow-list, that every tensor's dims are sane and its data is exactly what its dims and type declare, and that the
 * graph's inputs have shapes a probe can feed. Throws UnsafeModelError (422 UNSAFE_MODEL) naming what is wrong.
 */
export function checkOnnxSafety(bytes: Uint8Array, limits: OnnxSafetyLimits = {}): OnnxSafetyReport {
  const maxBytes = limits.maxBytes ?? MODEL_SAFETY_DEFAULTS.maxBytes;
  const maxTensorBytes = BigInt(limits.maxTensorBytes ?? maxBytes);
  const maxDepth = limits.maxGraphDepth ?? 8;
  const maxRank = limits.maxRank ?? 16;
  if (!(bytes instanceof Uint8Array)) throw new UnsafeModelError('ONNX model: expected the model bytes');
  if (bytes.length > maxBytes) throw new ModelTooLargeError(bytes.length, maxBytes);
  if (bytes.length === 0) throw new UnsafeModelError('ONNX model: the file is empty');

  let model: P.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    // protobufjs checks every length against the bytes that remain, so a cut file fails here rather than over-reading.
    throw new UnsafeModelError(`ONNX model: does not decode as an ONNX ModelProto (${(error as Error).message}); a truncated or corrupted file?`);
  }
  const irVersion = Number(model.irVersion ?? 0);
  if (!model.graph) throw new UnsafeModelError('ONNX model: no graph (a truncated file, or not an ONNX model)');
  if (!(irVersion >= 3)) throw new UnsafeModelError(`ONNX model: ir_version ${irVersion}, expected 3 or later (a truncated file, or not an ONNX model)`);
  if ((model.functions?.length ?? 0) > 0) {
    throw new UnsafeModelError(`ONNX model: model-local functions (${model.functions!.map((f) => `'${f.domain ?? ''}:${f.name ?? ''}'`).join(', ')}) are refused; export the model with standard operators only`);
  }
  if ((model.trainingInfo?.length ?? 0) > 0) throw new UnsafeModelError('ONNX model: training_info is refused (a served model needs none)');

  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) {
    const domain = o.domain ?? '';
    if (!ALLOWED_DOMAINS.has(domain)) {
      throw new UnsafeModelError(`ONNX model: imports operator set '${domain}', which is refused (only ai.onnx and ai.onnx.ml)`);
    }
    opsets[domain === '' ? 'ai.onnx' : domain] = Number(o.version ?? 0);
  }

  const operators = new Set<string>();
  let nodes = 0;
  let tensors = 0;

  const dimsOf = (raw: Int64[] | null | undefined, what: string): bigint => {
    const dims = raw ?? [];
    if (dims.length > maxRank) throw new UnsafeModelError(`ONNX model: ${what} has rank ${dims.length}, over ${maxRank}`);
    let count = 1n;
    dims.forEach((d, i) => {
      const v = BigInt(d.toString());
      if (v < 0n) throw new UnsafeModelError(`ONNX model: ${what} has a negative dimension (dims[${i}] = ${v})`);
      count *= v;
      if (count > MAX_SAFE) throw new UnsafeModelError(`ONNX model: ${what} declares dims [${dims.map(String).join(', ')}], whose product overflows`);
    });
    return count;
  };

  const tensor = (t: P.ITensorProto | null | undefined, where: string): void => {
    if (!t) return;
    tensors++;
    const what = `tensor '${t.name ?? ''}' in ${where}`;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
      const location = t.externalData?.find((e) => e.key === 'location')?.value;
      throw new UnsafeModelError(`ONNX model: ${what} uses external data${location ? ` ('${location}')` : ''}, which is refused (only self-contained models are loaded)`);
    }
    if (t.segment) throw new UnsafeModelError(`ONNX model: ${what} is segmented, which is refused`);
    const type = t.dataType ?? 0;
    const count = dimsOf(t.dims, what);
    const shape = `[${(t.dims ?? []).map(String).join(', ')}]`;
    if (type === D.STRING) {
      const n = t.stringData?.length ?? 0;
      if ((t.rawData?.length ?? 0) > 0 || BigInt(n) !== count) {
        throw new UnsafeModelError(`ONNX model: ${what} declares ${count} strings (dims ${shape}) but carries ${n}`);
      }
      return;
    }
    const bits = ELEMENT_BITS[type];
    if (bits === undefined) throw new UnsafeModelError(`ONNX model: ${what} has element type ${type}, which is not a known tensor type`);
    const declaredBytes = (count * BigInt(bits) + 7n) / 8n;
    if (declaredBytes > maxTensorBytes) {
      throw new UnsafeModelError(`ONNX model: ${what} declares dims ${shape} of ${typeName(type)}, ${declaredBytes} bytes, over the tensor limit of ${maxTensorBytes} bytes`);
    }
    const carried = carriedData(t);
    if (carried.fields.length > 1) throw new UnsafeModelError(`ONNX model: ${what} carries its data in more than one field (${carried.fields.join(', ')})`);
    const field = carried.fields[0];
    if (field === undefined) {
      if (count === 0n) return;
      throw new UnsafeModelError(`ONNX model: ${what} declares dims ${shape} of ${typeName(type)} (${count} elements) but carries no data`);
    }
    if (field === 'raw_data') {
      if (BigInt(carried.length) !== declaredBytes) {
        throw new UnsafeModelError(`ONNX model: ${what} declares dims ${shape} of ${typeName(type)}, ${declaredBytes} bytes, but its raw_data has ${carried.length}`);
      }
      return;
    }
    const expected = expectedValues(type, count, field);
    if (expected === undefined) throw new UnsafeModelError(`ONNX model: ${what} of ${typeName(type)} carries its data in ${field}, which does not hold that type`);
    if (!expected.includes(BigInt(carried.length))) {
      throw new UnsafeModelError(`ONNX model: ${what} declares dims ${shape} of ${typeName(type)} (${count} elements) but its ${field} has ${carried.length} values`);
    }
  };

  const sparse = (s: P.ISparseTensorProto | null | undefined, where: string): void => {
    if (!s) return;
    // onnxruntime makes a sparse initializer dense: its dense size is what it costs.
    const name = s.values?.name ?? '';
    const count = dimsOf(s.dims, `sparse tensor '${name}' in ${where}`);
    const type = s.values?.dataType ?? 0;
    const bytesDense = count * BigInt(ELEMENT_BITS[type] ?? 64) / 8n;
    if (bytesDense > maxTensorBytes) {
      throw new UnsafeModelError(`ONNX model: sparse tensor '${name}' in ${where} declares dims [${(s.dims ?? []).map(String).join(', ')}], ${bytesDense} bytes once dense, over the tensor limit of ${maxTensorBytes} bytes`);
    }
    tensor(s.values, where);
    tensor(s.indices, where);
  };

  const valueInfos = (list: P.IValueInfoProto[] | null | undefined, where: string): DeclaredTensor[] => (list ?? []).map((v) => {
    const name = v.name ?? '';
    const tt = v.type?.tensorType;
    if (!tt) return { name };
    const dims = tt.shape?.dim?.map((d, i) => {
      if (d.dimValue != null) {
        const value = BigInt(d.dimValue.toString());
        if (value < 0n || value > MAX_SAFE) throw new UnsafeModelError(`ONNX model: ${where} '${name}' declares dimension ${i} as ${value}`);
        return Number(value);
      }
      return d.dimParam || '?';
    });
    if (dims && dims.length > maxRank) throw new UnsafeModelError(`ONNX model: ${where} '${name}' has rank ${dims.length}, over ${maxRank}`);
    return { name, type: ORT_TYPE[tt.elemType ?? 0] ?? typeName(tt.elemType ?? 0), dims };
  });

  const graph = (g: P.IGraphProto, where: string, depth: number): void => {
    if (depth > maxDepth) throw new UnsafeModelError(`ONNX model: subgraphs nest deeper than ${maxDepth} levels (at ${where})`);
    for (const t of g.initializer ?? []) tensor(t, `${where} initializers`);
    for (const s of g.sparseInitializer ?? []) sparse(s, `${where} sparse initializers`);
    valueInfos(g.valueInfo, `${where} value_info`);
    for (const node of g.node ?? []) {
      nodes++;
      const domain = node.domain ?? '';
      const op = node.opType ?? '';
      const at = `${where} node '${node.name || op}'`;
      const allowed = ALLOWED_DOMAINS.get(domain);
      if (!allowed) throw new UnsafeModelError(`ONNX model: ${at} uses operator '${domain}:${op}' from a custom domain, which is refused (only ai.onnx and ai.onnx.ml)`);
      const risky = RISKY_OPERATORS.get(op);
      if (risky && (domain === '' || domain === 'ai.onnx')) throw new UnsafeModelError(`ONNX model: ${at} uses operator '${op}', which is refused: it ${risky}`);
      if (!allowed.has(op)) throw new UnsafeModelError(`ONNX model: ${at} uses operator '${op}', which is not in ${domain || 'ai.onnx'}'s allow-list`);
      if (!((domain === '' ? 'ai.onnx' : domain) in opsets)) {
        throw new UnsafeModelError(`ONNX model: ${at} uses domain '${domain || 'ai.onnx'}', which the model does not import (opset_import)`);
      }
      operators.add(domain === '' || domain === 'ai.onnx' ? op : `${domain}:${op}`);
      for (const a of node.attribute ?? []) {
        const attr = `${at} attribute '${a.name ?? ''}'`;
        tensor(a.t, attr);
        for (const t of a.tensors ?? []) tensor(t, attr);
        sparse(a.sparseTensor, attr);
        for (const s of a.sparseTensors ?? []) sparse(s, attr);
        if (a.g) graph(a.g, `${attr} subgraph`, depth + 1);
        for (const sub of a.graphs ?? []) graph(sub, `${attr} subgraph`, depth + 1);
      }
    }
  };

  graph(model.graph, 'the main graph', 0);
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = valueInfos(model.graph.input, 'input').filter((i) => !initializers.has(i.name));
  const outputs = valueInfos(model.graph.output, 'output');
  if (inputs.length === 0) throw new UnsafeModelError('ONNX model: the graph has no input');
  if (outputs.length === 0) throw new UnsafeModelError('ONNX model: the graph has no output');
  for (const i of inputs) {
    if (!i.type || !i.dims) throw new UnsafeModelError(`ONNX model: input '${i.name}' must be a tensor with a declared shape (the probe feeds it)`);
    // The probe feeds one row: free dims become 1; fixed dims must still make a sane tensor.
    const count = i.dims.reduce<bigint>((n, d) => n * BigInt(typeof d === 'number' ? d : 1), 1n);
    if (count * 8n > maxTensorBytes) throw new UnsafeModelError(`ONNX model: input '${i.name}' declares dims [${i.dims.join(', ')}], over the tensor limit for one probe row`);
  }
  return { bytes: bytes.length, irVersion, opsets, operators: [...operators].sort(), nodes, tensors, inputs, outputs };
}

/** Which data fields of a tensor are set, and how many values (bytes for raw_data) the set one holds. */
function carriedData(t: P.ITensorProto): { fields: string[]; length: number } {
  const fields: string[] = [];
  let length = 0;
  const add = (name: string, n: number | undefined) => {
    if (n) {
      fields.push(name);
      length = n;
    }
  };
  add('raw_data', t.rawData?.length);
  add('float_data', t.floatData?.length);
  add('int32_data', t.int32Data?.length);
  add('int64_data', t.int64Data?.length);
  add('double_data', t.doubleData?.length);
  add('uint64_data', t.uint64Data?.length);
  add('string_data', t.stringData?.length);
  return { fields, length };
}

/** The value counts a typed data field may hold for `count` elements of `type` (onnx.proto's rules); undefined: wrong field. */
function expectedValues(type: number, count: bigint, field: string): bigint[] | undefined {
  switch (field) {
    case 'float_data':
      return type === D.FLOAT ? [count] : type === D.COMPLEX64 ? [2n * count] : undefined;
    case 'double_data':
      return type === D.DOUBLE ? [count] : type === D.COMPLEX128 ? [2n * count] : undefined;
    case 'int64_data':
      return type === D.INT64 ? [count] : undefined;
    case 'uint64_data':
      return type === D.UINT32 || type === D.UINT64 ? [count] : undefined;
    case 'int32_data': {
      const bits = ELEMENT_BITS[type];
      if (type === D.INT32 || (bits !== undefined && bits <= 16)) {
        // 4-bit types pack two values per int32 entry in newer exporters, one in older ones.
        return bits === 4 ? [(count + 1n) / 2n, count] : [count];
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
