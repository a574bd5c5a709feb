// ONNX files built in code for the safety tests: a small valid classifier, and the same file made hostile one way at a
// time (cut short, external data, an oversized tensor, a custom-domain operator, an allocation bomb, a hang).
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

export const TINY_INPUT = 'x';
export const TINY_OUTPUT = 'probabilities';

function valueInfo(name: string, elemType: number, dims: Array<number | string>): P.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/**
 * A valid two-feature classifier: probabilities = softmax(x · W) with NaN as 0, x float [N, 2] → float [N, 2]. `tamper` changes
 * the model before it is encoded (to craft a hostile variant of it).
 */
/** Replaces the classifier's weights W with `w` (the rest of the graph as it is). */
export function withWeights(g: P.IGraphProto, w: P.ITensorProto): void {
  g.initializer = [w, ...(g.initializer ?? []).filter((t) => t.name !== 'W')];
}

export function tinyClassifier(tamper?: (model: P.IModelProto, graph: P.IGraphProto) => void): Uint8Array {
  const graph: P.IGraphProto = {
    name: 'tiny',
    input: [valueInfo(TINY_INPUT, T.FLOAT, ['N', 2])],
    output: [valueInfo(TINY_OUTPUT, T.FLOAT, ['N', 2])],
    initializer: [{ name: 'W', dims: [2, 2], dataType: T.FLOAT, floatData: [0.5, -0.5, -1, 1] }, { name: 'fill', dims: [], dataType: T.FLOAT, floatData: [0] }],
    node: [
      // A missing feature (NaN, as the pipeline sends it) counts as 0.
      { name: 'missing', opType: 'IsNaN', input: [TINY_INPUT], output: ['missing'] },
      { name: 'imputed', opType: 'Where', input: ['missing', 'fill', TINY_INPUT], output: ['imputed'] },
      { name: 'logits', opType: 'MatMul', input: ['imputed', 'W'], output: ['logits'] },
      { name: 'softmax', opType: 'Softmax', input: ['logits'], output: [TINY_OUTPUT], attribute: [{ name: 'axis', type: A.INT, i: 1 }] },
    ],
  };
  const model: P.IModelProto = { irVersion: 8, producerName: 'streamloop-test', opsetImport: [{ domain: '', version: 17 }], graph };
  tamper?.(model, graph);
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** The classifier whose weights are not in the file but in `location` (ONNX external data): a path traversal. */
export function externalDataModel(location = '../../etc/passwd'): Uint8Array {
  return tinyClassifier((_, g) => {
    withWeights(g, {
      name: 'W', dims: [2, 2], dataType: T.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: '16' }],
    });
  });
}

/** External data hidden in a subgraph: an If whose then-branch has a Constant with an external tensor. */
export function externalDataInSubgraph(location = '/etc/shadow'): Uint8Array {
  const branch = (external: boolean): P.IGraphProto => ({
    name: external ? 'then' : 'else',
    output: [valueInfo('c', T.FLOAT, [1])],
    node: [{
      opType: 'Constant', output: ['c'],
      attribute: [{
        name: 'value', type: A.TENSOR,
        t: external
          ? { name: 'secret', dims: [1], dataType: T.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: location }] }
          : { name: 'one', dims: [1], dataType: T.FLOAT, floatData: [1] },
      }],
    }],
  });
  return tinyClassifier((_, g) => {
    g.initializer!.push({ name: 'cond', dims: [], dataType: T.BOOL, int32Data: [1] });
    g.node!.push({ opType: 'If', input: ['cond'], output: ['branch'], attribute: [{ name: 'then_branch', type: A.GRAPH, g: branch(true) }, { name: 'else_branch', type: A.GRAPH, g: branch(false) }] });
  });
}

/** An initializer declaring 2^20 × 2^20 floats (4 TiB) and carrying four. */
export function oversizedTensorModel(): Uint8Array {
  return tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: [1 << 20, 1 << 20], dataType: T.FLOAT, floatData: [0.5, -0.5, -1, 1] });
  });
}

/** An initializer whose raw data is shorter than its dims say (an out-of-bounds read waiting to happen). */
export function shortRawDataModel(): Uint8Array {
  return tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: [2, 2], dataType: T.FLOAT, rawData: new Uint8Array(8) });
  });
}

/** An initializer with a negative dimension. */
export function negativeDimsModel(): Uint8Array {
  return tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: [-2, -2], dataType: T.FLOAT, floatData: [0.5, -0.5, -1, 1] });
  });
}

/** A node of a custom domain (com.example.evil), imported as an operator set. */
export function customDomainModel(domain = 'com.example.evil', opType = 'RunShell'): Uint8Array {
  return tinyClassifier((m, g) => {
    m.opsetImport!.push({ domain, version: 1 });
    const softmax = g.node!.findIndex((n) => n.opType === 'Softmax');
    g.node!.splice(softmax, 0, { name: 'payload', domain, opType, input: ['logits'], output: ['logits2'] });
    g.node![softmax + 1].input = ['logits2'];
  });
}

/**
 * Passes every static check, then allocates without bound: Expand of a scalar to [2^15, 2^15, 4] floats
 * (16 GiB) from a shape tensor of three int64s, added to the output.
 */
export function allocationBombModel(): Uint8Array {
  return tinyClassifier((_, g) => {
    g.initializer!.push({ name: 'huge_shape', dims: [3], dataType: T.INT64, int64Data: [1 << 15, 1 << 15, 4] });
    g.initializer!.push({ name: 'zero', dims: [], dataType: T.FLOAT, floatData: [0] });
    g.output!.push(valueInfo('bomb', T.FLOAT, [1 << 15, 1 << 15, 4]));
    g.node!.push({ name: 'bomb', opType: 'Expand', input: ['zero', 'huge_shape'], output: ['bomb'] });
  });
}

/** Passes every static check, then runs for a very long time: a Loop of 2^40 iterations. */
export function endlessLoopModel(): Uint8Array {
  const body: P.IGraphProto = {
    name: 'body',
    input: [valueInfo('i', T.INT64, []), valueInfo('cond_in', T.BOOL, []), valueInfo('acc_in', T.FLOAT, [])],
    output: [valueInfo('cond_out', T.BOOL, []), valueInfo('acc_out', T.FLOAT, [])],
    node: [
      { opType: 'Identity', input: ['cond_in'], output: ['cond_out'] },
      { opType: 'Identity', input: ['acc_in'], output: ['acc_out'] },
    ],
  };
  return tinyClassifier((_, g) => {
    g.initializer!.push({ name: 'trips', dims: [], dataType: T.INT64, int64Data: [2 ** 40] });
    g.initializer!.push({ name: 'go', dims: [], dataType: T.BOOL, int32Data: [1] });
    g.initializer!.push({ name: 'acc0', dims: [], dataType: T.FLOAT, floatData: [0] });
    g.output!.push(valueInfo('acc', T.FLOAT, []));
    g.node!.push({ name: 'spin', opType: 'Loop', input: ['trips', 'go', 'acc0'], output: ['acc'], attribute: [{ name: 'body', type: A.GRAPH, g: body }] });
  });
}
