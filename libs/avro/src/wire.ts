import type { Type } from 'avsc';
import { WireFormatError } from './errors';

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_SIZE = 5;

/** Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro binary body. */
export function encodeWire(schemaId: number, type: Type, value: unknown): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) {
    throw new WireFormatError(`schema id must be an integer in [0, 2^31), got ${schemaId}`);
  }
  // Encoded once into a scratch buffer behind the header, then copied once into a record of its exact size
  // (type.toBuffer would allocate and copy the body, and the header would need a second copy).
  // A record larger than the scratch buffer is encoded again into one of its own (the scratch does not grow).
  const end = type.encode(value, scratch, WIRE_HEADER_SIZE);
  let out: Buffer;
  if (end >= 0) {
    out = Buffer.allocUnsafe(end);
    scratch.copy(out, WIRE_HEADER_SIZE, WIRE_HEADER_SIZE, end);
  } else {
    out = Buffer.allocUnsafe(scratch.length - end); // encode returns minus the bytes it was short of
    type.encode(value, out, WIRE_HEADER_SIZE);
  }
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeInt32BE(schemaId, 1);
  return out;
}

/** encodeWire's scratch buffer, reused by every call (encoding is synchronous). */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** Splits a wire-format record into its schema id and Avro payload (no copy). */
export function readWireHeader(buf: Buffer): { schemaId: number; payload: Buffer } {
  if (!Buffer.isBuffer(buf)) throw new WireFormatError('expected a Buffer with a Confluent wire-format record');
  if (buf.length < WIRE_HEADER_SIZE) {
    throw new WireFormatError(`record is ${buf.length} bytes; a Confluent wire-format record has at least ${WIRE_HEADER_SIZE} (magic byte + schema id)`);
  }
  const magic = buf.readUInt8(0);
  if (magic !== MAGIC_BYTE) {
    throw new WireFormatError(`unknown magic byte ${magic}; expected ${MAGIC_BYTE} (Confluent wire format)`);
  }
  const schemaId = buf.readInt32BE(1);
  if (schemaId < 0) throw new WireFormatError(`schema id ${schemaId} is negative; registry ids are positive`);
  return { schemaId, payload: buf.subarray(WIRE_HEADER_SIZE) };
}
