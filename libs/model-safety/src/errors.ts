import { PlatformError } from '@streamloop/errors';

/**
 * A model refused by the safety checks an untrusted ONNX file passes before it may serve: it does not decode, points
 * outside itself (external data), uses an operator outside the allow-list, declares tensors it does not carry, or
 * crashes, exhausts or outlasts the probe. 422: the request is well formed, its model is not acceptable.
 */
export class UnsafeModelError extends PlatformError {
  constructor(message: string) {
    super('UNSAFE_MODEL', message);
  }
}

/** A model file over the size limit (STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES). */
export class ModelTooLargeError extends PlatformError {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super('MODEL_TOO_LARGE', `ONNX model: ${bytes} bytes, over the limit of ${maxBytes} bytes (STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES)`);
  }
}
