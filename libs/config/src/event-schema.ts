import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { Type } from 'avsc';

/** What the spec checks need to know about one top-level field of the event schema. */
export interface EventField {
  name: string;
  /** number: int, long, float, double; other: records, arrays, maps, bytes, fixed, unions of several types. */
  kind: 'string' | 'enum' | 'number' | 'boolean' | 'other';
  /** avsc's type name of the (unwrapped) type, e.g. long, double, enum, union:unwrapped. */
  typeName: string;
  /** A ["null", T] union: the value may be missing. */
  nullable: boolean;
  /** The logicalType declared on the field's (unwrapped) type, if any. */
  logicalType?: string;
  /** The symbols of an enum field. */
  symbols?: string[];
}

export interface EventSchemaInfo {
  name: string;
  fields: Map<string, EventField>;
}

/**
 * Reads an event schema (.avsc) and describes its top-level fields. avsc parses it, so an invalid schema
 * fails here with avsc's reason; the raw JSON is consulted only for logicalType, which avsc drops when no
 * logical type implementation is registered.
 */
export function readEventSchema(path: string): EventSchemaInfo {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    // The spec names it relative to its own file, which is easy to get wrong: say where it was looked for.
    throw new Error(missing ? `expected an Avro schema file at ${path} (relative to the spec file), there is none` : `cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  let type: Type;
  try {
    type = avro.Type.forSchema(json as never);
  } catch (error) {
    throw new Error(`${path} is not a valid Avro schema: ${(error as Error).message}`);
  }
  if (type.typeName !== 'record') throw new Error(`${path} must be an Avro record schema, it is ${type.typeName}`);
  const rawFields = new Map<string, unknown>(((json as { fields?: Array<{ name: string; type: unknown }> }).fields ?? []).map((f) => [f.name, f.type]));
  const fields = new Map<string, EventField>();
  for (const f of (type as unknown as { fields: Array<{ name: string; type: Type }> }).fields) {
    fields.set(f.name, describeField(f.name, f.type, rawFields.get(f.name)));
  }
  return { name: type.name ?? 'record', fields };
}

function describeField(name: string, type: Type, raw: unknown): EventField {
  let t = type;
  let rawType = raw;
  let nullable = false;
  if (t.typeName.startsWith('union')) {
    const members = (t as unknown as { types: Type[] }).types;
    const nonNull = members.filter((m) => m.typeName !== 'null');
    if (nonNull.length === 1 && members.length === 2) {
      t = nonNull[0];
      nullable = true;
      rawType = Array.isArray(raw) ? raw.find((r) => r !== 'null') : undefined;
    }
  }
  const logicalType = rawType && typeof rawType === 'object' && 'logicalType' in rawType ? String((rawType as { logicalType: unknown }).logicalType) : undefined;
  const typeName = t.typeName;
  const kind: EventField['kind'] =
    typeName === 'string' ? 'string'
    : typeName === 'enum' ? 'enum'
    : typeName === 'boolean' ? 'boolean'
    : ['int', 'long', 'float', 'double'].includes(typeName) ? 'number'
    : 'other';
  const symbols = kind === 'enum' ? [...(t as unknown as { symbols: string[] }).symbols] : undefined;
  return { name, kind, typeName, nullable, logicalType, symbols };
}

/** "long", "[null, string]", "enum MerchantCategory" as a user would recognise it in the .avsc. */
export function describeFieldType(f: EventField): string {
  const base = f.kind === 'enum' ? 'enum' : f.typeName;
  const withLogical = f.logicalType ? `${base} (${f.logicalType})` : base;
  return f.nullable ? `["null", ${withLogical}]` : withLogical;
}
