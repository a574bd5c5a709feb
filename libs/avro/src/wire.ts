import type { Type } from 'avsc';
import { WireFormatError } from './errors';

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_SIZE = 5;

/** Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro binary body. */
export function encodeWire(schemaId: number, type: Type, value: unknown): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) {
    throw new WireFormatError(`schema id must be an integer in [0, 2^31), got ${schemaId}`);
  }
  const body = type.toBuffer(value);
  const out = Buffer.allocUnsafe(WIRE_HEADER_SIZE + body.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeInt32BE(schemaId, 1);
  body.copy(out, WIRE_HEADER_SIZE);
  return out;
}

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
