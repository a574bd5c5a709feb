import type { Type } from 'avsc';

export type ValidationResult = { ok: true; value: unknown } | { ok: false; errors: string[] };

export interface ValidateOptions {
  /** Accept (and drop) object keys the record schema does not declare. Default false: they are reported. */
  allowUndeclaredFields?: boolean;
}

type Fields = Array<{ name: string; type: Type; defaultValue(): unknown }>;

/** A short human description of what a type accepts, for error messages. */
export function expectedOf(type: Type): string {
  const t = type as unknown as Record<string, unknown>;
  const name = type.typeName;
  if (name === 'logical:timestamp-millis') return 'timestamp-millis (integer ms since the epoch or an ISO-8601 string)';
  if (name.startsWith('logical:')) return `${name.slice(8)} (${expectedOf(t.underlyingType as Type)})`;
  if (name.startsWith('union:')) return `one of [${(t.types as Type[]).map(expectedOf).join(', ')}]`;
  switch (name) {
    case 'record': case 'error': return `record ${type.name}`;
    case 'enum': return `enum ${type.name} (one of ${(t.symbols as string[]).join(', ')})`;
    case 'fixed': return `fixed ${type.name} of ${t.size} bytes`;
    case 'array': return `array of ${expectedOf(t.itemsType as Type)}`;
    case 'map': return `map of ${expectedOf(t.valuesType as Type)}`;
    case 'int': return 'int (32-bit integer)';
    case 'long': return 'long (integer)';
    default: return name;
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Buffer.isBuffer(value)) return `${value.length} bytes`;
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);
}

function isNullable(type: Type): boolean {
  if (type.typeName === 'null') return true;
  return type.typeName.startsWith('union:') && (type as unknown as { types: Type[] }).types.some((b) => b.typeName === 'null');
}

const MISSING = Symbol('invalid');

/**
 * Turns JSON-ish input (an HTTP body) into a value of `type`: fills schema defaults for missing fields,
 * accepts plain values for unions (and avsc's {"branch": value} form), timestamp-millis as ms or ISO text.
 * Every problem is reported with its path and the expected type; avsc's own check runs last as a safety net.
 */
export function validateRecord(type: Type, value: unknown, opts: ValidateOptions = {}): ValidationResult {
  const errors: string[] = [];
  const converted = convert(type, value, '$', errors, opts);
  if (errors.length > 0 || converted === MISSING) return { ok: false, errors: errors.length > 0 ? errors : [`$: expected ${expectedOf(type)}`] };
  const hookErrors: string[] = [];
  type.isValid(converted, {
    errorHook: (path: string[], v: unknown, t: Type) => {
      const p = path.reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : `${acc}.${seg}`), '$');
      hookErrors.push(`${p}: expected ${expectedOf(t)}, got ${show(v)}`);
    },
  });
  if (hookErrors.length > 0) return { ok: false, errors: hookErrors };
  return { ok: true, value: converted };
}

function convert(type: Type, value: unknown, path: string, errors: string[], opts: ValidateOptions): unknown {
  const t = type as unknown as Record<string, unknown>;
  const bad = (detail?: string): typeof MISSING => {
    errors.push(`${path}: expected ${expectedOf(type)}, got ${show(value)}${detail ? ` (${detail})` : ''}`);
    return MISSING;
  };
  const name = type.typeName;
  if (name === 'logical:timestamp-millis') {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
    if (typeof value === 'string') {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return ms;
    }
    return bad();
  }
  if (name.startsWith('logical:')) return convert(t.underlyingType as Type, value, path, errors, opts);
  if (name.startsWith('union:')) return convertUnion(type, value, path, errors, opts);
  switch (name) {
    case 'null':
      return value === null || value === undefined ? null : bad();
    case 'boolean':
      return typeof value === 'boolean' ? value : bad();
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff ? value : bad();
    case 'long':
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : bad();
    case 'float': case 'double':
      return typeof value === 'number' ? value : bad();
    case 'string':
      return typeof value === 'string' ? value : bad();
    case 'bytes':
      if (Buffer.isBuffer(value)) return value;
      // Avro's JSON encoding of bytes: one char per byte (code points 0-255).
      return typeof value === 'string' ? Buffer.from(value, 'latin1') : bad();
    case 'fixed': {
      const buf = Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value, 'latin1') : undefined;
      if (!buf) return bad();
      return buf.length === t.size ? buf : bad(`${buf.length} bytes`);
    }
    case 'enum':
      return typeof value === 'string' && (t.symbols as string[]).includes(value) ? value : bad();
    case 'array': {
      if (!Array.isArray(value)) return bad();
      const items = t.itemsType as Type;
      return value.map((v, i) => convert(items, v, `${path}[${i}]`, errors, opts));
    }
    case 'map': {
      if (!isPlainObject(value)) return bad();
      const values = t.valuesType as Type;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = convert(values, v, `${path}[${JSON.stringify(k)}]`, errors, opts);
      return out;
    }
    case 'record': case 'error': {
      if (!isPlainObject(value)) return bad();
      const fields = t.fields as Fields;
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        const given = value[f.name];
        const fieldPath = `${path}.${f.name}`;
        // A missing field (or a null for a field that cannot be null) takes the schema default when there is one.
        if (given === undefined || (given === null && !isNullable(f.type))) {
          const dflt = f.defaultValue();
          if (dflt !== undefined) {
            out[f.name] = dflt;
            continue;
          }
          if (given === undefined) {
            errors.push(`${fieldPath}: missing required field (expected ${expectedOf(f.type)}, the schema has no default)`);
            continue;
          }
        }
        out[f.name] = convert(f.type, given, fieldPath, errors, opts);
      }
      if (!opts.allowUndeclaredFields) {
        const known = new Set(fields.map((f) => f.name));
        for (const k of Object.keys(value)) {
          if (!known.has(k)) errors.push(`${path}.${k}: unknown field (record ${type.name} declares ${[...known].join(', ')})`);
        }
      }
      return out;
    }
    default:
      return bad(`unsupported schema type ${name}`);
  }
}

function convertUnion(type: Type, value: unknown, path: string, errors: string[], opts: ValidateOptions): unknown {
  const branches = (type as unknown as { types: Array<Type & { branchName?: string }> }).types;
  const wrapped = type.typeName === 'union:wrapped';
  const wrap = (b: Type & { branchName?: string }, v: unknown) => (wrapped && b.typeName !== 'null' ? { [b.branchName!]: v } : v);
  if (value === null || value === undefined) {
    const nullBranch = branches.find((b) => b.typeName === 'null');
    if (nullBranch) return null;
  }
  // avsc / Avro JSON form: {"string": "abc"} names the branch.
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const named = branches.find((b) => b.branchName === keys[0]);
      if (named) {
        const scratch: string[] = [];
        const v = convert(named, value[keys[0]], path, scratch, opts);
        if (scratch.length === 0) return wrap(named, v);
      }
    }
  }
  // A plain value: the first branch that takes it.
  let firstErrors: string[] | undefined;
  for (const b of branches) {
    if (b.typeName === 'null') continue;
    const scratch: string[] = [];
    const v = convert(b, value, path, scratch, opts);
    if (scratch.length === 0) return wrap(b, v);
    firstErrors ??= scratch;
  }
  errors.push(`${path}: expected ${expectedOf(type)}, got ${show(value)}${firstErrors && isPlainObject(value) ? ` (${firstErrors.join('; ')})` : ''}`);
  return MISSING;
}
