import { createHash } from 'node:crypto';
import { checkOnnxSafety, type OnnxSafetyLimits, type OnnxSafetyReport } from './onnx-safety';
import { probeOnnxModel, type ProbeOptions, type ProbeReport } from './probe';

export interface AdmitOptions extends OnnxSafetyLimits {
  probe?: ProbeOptions;
}

/** An untrusted model that passed: what the static checks saw, what the probe got back, and the file's SHA-256. */
export interface AdmittedModel {
  sha256: string;
  safety: OnnxSafetyReport;
  probe: ProbeReport;
}

/**
 * Admits an untrusted ONNX file: the static checks first (cheap, and they keep onnxruntime from ever parsing a file
 * with external data or a custom operator), then one probe in a limited child process. Throws ModelTooLargeError
 * (413) or UnsafeModelError (422) naming what is wrong.
 */
export async function admitOnnxModel(bytes: Uint8Array, opts: AdmitOptions = {}): Promise<AdmittedModel> {
  const safety = checkOnnxSafety(bytes, opts);
  const probe = await probeOnnxModel(bytes, safety, opts.probe);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), safety, probe };
}

/** One line per tensor, as a registry record's params keep it: `name type [dims]; …`. */
export function describeTensors(tensors: ReadonlyArray<{ name: string; type: string; dims: number[] }>): string {
  return tensors.map((t) => `${t.name} ${t.type} [${t.dims.join(', ')}]`).join('; ');
}
