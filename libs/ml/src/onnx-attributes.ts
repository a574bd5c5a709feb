// Small builders for ONNX protobuf pieces, shared by every export (linear, trees, preprocessing).
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

const Attr = onnxProto.onnx.AttributeProto.AttributeType;

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSETS = { 'ai.onnx': 17, 'ai.onnx.ml': 3 } as const;
const encoder = new TextEncoder();

export const ints = (name: string, values: number[]): P.IAttributeProto => ({ name, type: Attr.INTS, ints: values });
export const int = (name: string, value: number): P.IAttributeProto => ({ name, type: Attr.INT, i: value });
/** Values rounded to float32, as ONNX stores them. */
export const floats = (name: string, values: ArrayLike<number>): P.IAttributeProto => ({ name, type: Attr.FLOATS, floats: Array.from(values, (v) => Math.fround(v)) });
export const strings = (name: string, values: string[]): P.IAttributeProto => ({ name, type: Attr.STRINGS, strings: values.map((v) => encoder.encode(v)) });
export const str = (name: string, value: string): P.IAttributeProto => ({ name, type: Attr.STRING, s: encoder.encode(value) });

/** A graph input or output: element type and dims (numbers fixed, strings symbolic like 'N'). */
export function tensorInfo(name: string, elemType: number, dims: Array<number | string>, doc?: string): P.IValueInfoProto {
  return {
    name,
    docString: doc,
    type: { tensorType: { elemType, shape: { dim: dims.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v })) } } },
  };
}

/**
 * A whole model as bytes: our IR version and opsets, producer and domain, metadata sorted by key. Deterministic:
 * no timestamps, fixed field order.
 */
export function encodeModel(graph: P.IGraphProto, metadata: Record<string, string>, opts: { modelVersion?: number; docString: string }): Uint8Array {
  const proto = onnxProto.onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    producerName: 'streamloop',
    producerVersion: '0.1.0',
    domain: 'io.streamloop',
    modelVersion: opts.modelVersion ?? 0,
    docString: opts.docString,
    opsetImport: Object.entries(ONNX_OPSETS).map(([domain, version]) => ({ domain: domain === 'ai.onnx' ? '' : domain, version })),
    metadataProps: Object.keys(metadata).sort().map((key) => ({ key, value: metadata[key] })),
    graph,
  });
  return onnxProto.onnx.ModelProto.encode(proto).finish();
}
