import { PlatformError } from '@streamloop/errors';
import { tableDef, type ColumnDef } from './schema';

/** A row that does not fit its table; names the table, the row and the field. */
export class RowValidationError extends PlatformError {
  constructor(message: string, readonly table: string, readonly rowIndex: number, readonly field?: string) {
    super('INVALID_ROW', message);
  }
}

const MIN_MS = Date.UTC(1900, 0, 1);
const MAX_MS = Date.UTC(2300, 0, 1) - 1;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Epoch milliseconds as DateTime64(3) text in UTC ('YYYY-MM-DD hh:mm:ss.fff'), which every ClickHouse parses. */
export function formatDateTime64(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** JSON cannot carry NaN/±Infinity (it writes null, stored as 0); ClickHouse parses these quoted forms as Float64. */
export function encodeFloat(v: number): number | string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return v;
}

/** Float64 from JSON output: null (denormals unquoted) and the quoted nan/inf forms become NaN/±Infinity. */
export function decodeFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'string') {
    const s = value.trim().toLowerCase();
    if (s === 'nan' || s === '-nan' || s === '+nan') return Number.NaN;
    if (s === 'inf' || s === '+inf') return Infinity;
    if (s === '-inf') return -Infinity;
    return Number(s);
  }
  return Number(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `bigint ${value}`;
  if (value instanceof Date) return `Date ${Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()}`;
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}

type Encoder = (value: unknown, fail: (expected: string) => never) => unknown;

const INT_RANGES: Record<string, [number, number]> = {
  UInt8: [0, 255], Int8: [-128, 127], UInt16: [0, 65535], Int16: [-32768, 32767],
  UInt32: [0, 4294967295], Int32: [-2147483648, 2147483647],
};

function timeEncoder(value: unknown, fail: (expected: string) => never): unknown {
  const expected = "epoch milliseconds (an integer between years 1900 and 2299), a Date or a 'YYYY-MM-DD hh:mm:ss[.fff]' UTC string";
  if (typeof value === 'string') {
    if (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,9})?Z?$/.test(value)) return value.replace('T', ' ').replace('Z', '');
    fail(expected);
  }
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'bigint') ms = Number(value);
  else if (value instanceof Date) ms = value.getTime();
  // Outside DateTime64's range is a unit mix-up (seconds or microseconds), not a time.
  if (ms === undefined || !Number.isInteger(ms) || ms < MIN_MS || ms > MAX_MS) fail(expected);
  return formatDateTime64(ms);
}

function floatEncoder(value: unknown, fail: (expected: string) => never): unknown {
  if (typeof value !== 'number') fail('a number (NaN and ±Infinity allowed)');
  return encodeFloat(value);
}

function stringEncoder(value: unknown, fail: (expected: string) => never): unknown {
  if (typeof value !== 'string') fail('a string');
  return value;
}

function intEncoder(type: string): Encoder {
  const range = INT_RANGES[type];
  if (range) {
    return (value, fail) => {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < range[0] || n > range[1]) fail(`an integer in [${range[0]}, ${range[1]}] (${type})`);
      return n;
    };
  }
  // UInt64/Int64: exact decimal text when a number cannot hold it.
  const unsigned = type.startsWith('U');
  return (value, fail) => {
    let big: bigint | undefined;
    if (typeof value === 'bigint') big = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
    else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
    const limit = unsigned ? 2n ** 64n : 2n ** 63n;
    if (big === undefined || big >= limit || big < (unsigned ? 0n : -limit)) return fail(`an integer (${type}) as a safe number, bigint or decimal string`);
    return Number.isSafeInteger(Number(big)) ? Number(big) : big.toString();
  };
}

function enumEncoder(type: string): Encoder {
  const symbols = [...type.matchAll(/'((?:[^'\\]|\\.)*)'\s*=/g)].map((m) => m[1]);
  return (value, fail) => {
    if (typeof value !== 'string' || !symbols.includes(value)) fail(`one of ${symbols.map((s) => JSON.stringify(s)).join(', ')}`);
    return value;
  };
}

function entries(value: unknown): [string, unknown][] | undefined {
  if (value instanceof Map) return [...value].map(([k, v]) => [String(k), v]);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) return Object.entries(value);
  return undefined;
}

/** An encoder per ClickHouse type: checks the JS value and turns it into what JSONEachRow input expects. */
function encoderFor(type: string): Encoder {
  const t = type.replace(/\s+/g, ' ').trim();
  let m: RegExpMatchArray | null;
  if ((m = /^Nullable\((.*)\)$/.exec(t))) {
    const inner = encoderFor(m[1]);
    return (value, fail) => (value === null || value === undefined ? null : inner(value, fail));
  }
  if ((m = /^LowCardinality\((.*)\)$/.exec(t))) return encoderFor(m[1]);
  if (t.startsWith('DateTime64')) return timeEncoder;
  if (t === 'Float64' || t === 'Float32') return floatEncoder;
  if (t === 'String') return stringEncoder;
  if (t === 'Bool') return (value, fail) => (typeof value === 'boolean' ? value : fail('a boolean (Bool)'));
  if (/^U?Int(8|16|32|64)$/.test(t)) return intEncoder(t);
  if (t.startsWith('Enum8(') || t.startsWith('Enum16(')) return enumEncoder(t);
  if ((m = /^Array\((.*)\)$/.exec(t))) {
    const item = encoderFor(m[1]);
    return (value, fail) => {
      if (!Array.isArray(value)) return fail(`an array (${t})`);
      return value.map((v, i) => item(v, (e) => fail(`${e} at index ${i}`)));
    };
  }
  if ((m = /^Map\(String, (.*)\)$/.exec(t))) {
    const item = encoderFor(m[1]);
    return (value, fail) => {
      const list = entries(value);
      if (!list) return fail(`an object or Map (${t})`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of list) out[k] = item(v, (e) => fail(`${e} for key ${JSON.stringify(k)}`));
      return out;
    };
  }
  throw new Error(`no row encoder for ClickHouse type ${type}`);
}

interface TableEncoder {
  columns: { def: ColumnDef; encode: Encoder }[];
  names: Set<string>;
}
const encoders = new Map<string, TableEncoder>();

function tableEncoder(table: string): TableEncoder | undefined {
  const def = tableDef(table);
  if (!def) return undefined;
  let enc = encoders.get(def.name);
  if (!enc) {
    enc = { columns: def.columns.map((c) => ({ def: c, encode: encoderFor(c.type) })), names: new Set(def.columns.map((c) => c.name)) };
    encoders.set(def.name, enc);
  }
  return enc;
}

/**
 * One row as JSONEachRow input. For Streamloop's tables every field is checked against its column (missing,
 * unknown or mistyped fields are refused, naming the field); times become UTC DateTime64 text, NaN/Infinity
 * survive. Rows for other tables only get the JSON-safe float and bigint encoding.
 */
export function encodeRow(table: string, row: unknown, index: number): Record<string, unknown> {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new RowValidationError(`${table} row ${index}: expected an object, got ${describe(row)}`, table, index);
  }
  const record = row as Record<string, unknown>;
  const enc = tableEncoder(table);
  if (!enc) return genericEncode(record) as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !enc.names.has(k) && record[k] !== undefined);
  if (unknown.length > 0) {
    throw new RowValidationError(
      `${table} row ${index}: field ${unknown.map((k) => JSON.stringify(k)).join(', ')} is not a column of ${table} (columns: ${[...enc.names].join(', ')})`,
      table, index, unknown[0],
    );
  }
  const out: Record<string, unknown> = {};
  for (const { def, encode } of enc.columns) {
    const value = record[def.name];
    const fail = (expected: string): never => {
      throw new RowValidationError(`${table} row ${index} field ${def.name} (${def.type}): expected ${expected}, got ${describe(value)}`, table, index, def.name);
    };
    if (value === undefined) {
      if (def.default !== undefined) continue;
      if (def.type.startsWith('Nullable(')) {
        out[def.name] = null;
        continue;
      }
      fail('a value (the column has no default)');
    }
    out[def.name] = encode(value, fail);
  }
  return out;
}

function genericEncode(value: unknown): unknown {
  if (typeof value === 'number') return encodeFloat(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return formatDateTime64(value.getTime());
  if (Array.isArray(value)) return value.map(genericEncode);
  const list = entries(value);
  if (list) return Object.fromEntries(list.map(([k, v]) => [k, genericEncode(v)]));
  return value;
}
