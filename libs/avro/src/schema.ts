import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { Type } from 'avsc';
import { SchemaParseError } from './errors';

export type AvroType = Type;

/**
 * timestamp-millis as a plain number of milliseconds since the epoch (avsc's default would be a Date).
 * Numbers survive JSON, ClickHouse rows and arithmetic on event time without conversions everywhere.
 * On encode it also takes a Date or an ISO-8601 string, since that is what HTTP callers send.
 */
export class TimestampMillisType extends avro.types.LogicalType {
  protected override _fromValue(val: unknown): unknown {
    return val;
  }

  protected override _toValue(val: unknown): unknown {
    if (val instanceof Date) return val.getTime();
    if (typeof val === 'string') {
      const ms = Date.parse(val);
      return Number.isNaN(ms) ? val : ms;
    }
    return val;
  }

  protected override _resolve(writer: Type): ((v: unknown) => unknown) | undefined {
    // A long (or int, promoted) or another timestamp-millis carries the same number.
    const name = writer.typeName;
    if (name === 'long' || name === 'int' || name === 'logical:timestamp-millis') return (v) => (v instanceof Date ? v.getTime() : v);
    return undefined;
  }
}

// A fresh object per parse: avsc stores its name registry in the options it is given.
const parseOptions = () => ({ logicalTypes: { 'timestamp-millis': TimestampMillisType } });

/** Parses an Avro schema (JSON text or object) with Streamloop's logical types. Throws SchemaParseError. */
export function parseSchema(schema: string | object): Type {
  let json: unknown = schema;
  if (typeof schema === 'string') {
    try {
      json = JSON.parse(schema);
    } catch (error) {
      // A bare primitive name ("string") is a valid schema too, but it is JSON only when quoted.
      if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(schema.trim())) json = schema.trim();
      else throw new SchemaParseError(`schema is not valid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return avro.Type.forSchema(json as never, parseOptions() as never);
  } catch (error) {
    throw new SchemaParseError(`invalid Avro schema: ${(error as Error).message}`);
  }
}

/** Reads and parses an .avsc file; errors name the file. */
export function loadAvsc(path: string): Type {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SchemaParseError(`cannot read Avro schema file ${path}: ${(error as Error).message}`);
  }
  try {
    return parseSchema(text);
  } catch (error) {
    throw new SchemaParseError(`${path}: ${(error as Error).message}`);
  }
}

/**
 * A stable identity for "the same schema": avsc's export with attributes (defaults, docs, logical types,
 * order) and fully qualified names, in avsc's key order. Texts that differ only in whitespace or key order
 * get the same registry id; a changed doc or default is a new schema, as in Confluent's registry.
 */
export function canonicalSchema(type: Type): string {
  return JSON.stringify(type.schema({ exportAttrs: true }));
}

/** The schema JSON as compact text (what the registry stores and serves). */
export function schemaText(type: Type): string {
  return JSON.stringify(type.schema({ exportAttrs: true }));
}
