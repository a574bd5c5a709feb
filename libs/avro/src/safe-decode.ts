import type { Resolver, Type } from 'avsc';
import { AvroDecodeError } from './errors';

export interface SafeDecodeOptions {
  /** Decode into this reader schema (schema evolution); `type` is then the writer schema of the bytes. */
  reader?: Type;
  /** A resolver made by `reader.createResolver(type)`, to avoid building one per record. */
  resolver?: Resolver;
  /**
   * Items that take no bytes (null, empty records) cannot be bounded by the bytes left, so they get a budget
   * for the whole record. Default 1e6.
   */
  maxZeroSizeItems?: number;
  /** Nesting limit for recursive schemas, so hostile input cannot exhaust the stack. Default 128. */
  maxDepth?: number;
}

const TWO_POW_53 = 2 ** 53;
const minSizes = new WeakMap<Type, number>();

/** The fewest bytes a value of this type can take on the wire; bounds how many items a block may claim. */
export function minEncodedSize(type: Type, visiting = new Set<Type>()): number {
  const known = minSizes.get(type);
  if (known !== undefined) return known;
  if (visiting.has(type)) return 0; // recursion: count the cycle as free (a lower bound stays a lower bound)
  visiting.add(type);
  const t = type as unknown as Record<string, unknown>;
  let size: number;
  switch (kind(type)) {
    case 'null':
      size = 0;
      break;
    case 'boolean': case 'int': case 'long': case 'string': case 'bytes': case 'array': case 'map': case 'enum':
      size = 1;
      break;
    case 'float':
      size = 4;
      break;
    case 'double':
      size = 8;
      break;
    case 'fixed':
      size = t.size as number;
      break;
    case 'union':
      size = 1 + Math.min(...(t.types as Type[]).map((b) => minEncodedSize(b, visiting)));
      break;
    case 'record':
      size = (t.fields as Array<{ type: Type }>).reduce((acc, f) => acc + minEncodedSize(f.type, visiting), 0);
      break;
    case 'logical':
      size = minEncodedSize(t.underlyingType as Type, visiting);
      break;
    default:
      size = 0;
  }
  visiting.delete(type);
  minSizes.set(type, size);
  return size;
}

/** Types whose values take no bytes at all (null, records of nulls). */
function isEmptyType(type: Type): boolean {
  const t = type as unknown as Record<string, unknown>;
  switch (kind(type)) {
    case 'null': return true;
    case 'record': return (t.fields as Array<{ type: Type }>).every((f) => isEmptyType(f.type));
    case 'logical': return isEmptyType(t.underlyingType as Type);
    default: return false;
  }
}

function kind(type: Type): string {
  const name = type.typeName;
  if (name.startsWith('union:')) return 'union';
  if (name.startsWith('logical:')) return 'logical';
  if (name === 'error') return 'record';
  return name;
}

/**
 * Decodes untrusted Avro bytes without trusting their declared lengths.
 * avsc allocates whatever a block count or length says (5 bytes can demand 2e8 array items, an uncatchable
 * out-of-memory abort), so the bytes are first walked against the writer schema: every count and length must
 * fit in the bytes that remain, every union/enum index must exist, and nothing may trail the value.
 * Only then does avsc decode. Every failure is an AvroDecodeError naming the path and what was expected.
 */
export function safeDecode<T = unknown>(type: Type, payload: Buffer, opts: SafeDecodeOptions = {}): T {
  if (!Buffer.isBuffer(payload)) throw new AvroDecodeError('$', 'a Buffer of Avro binary data', `got ${typeof payload}`);
  const walker = new Walker(payload, opts.maxZeroSizeItems ?? 1_000_000, opts.maxDepth ?? 128);
  checkOf(type)(walker, 0);
  if (walker.pos !== payload.length) {
    throw new AvroDecodeError('$', `the end of the record after ${walker.pos} bytes`, `${payload.length - walker.pos} trailing bytes`);
  }
  let resolver = opts.resolver;
  const reader = opts.reader ?? type;
  if (opts.reader && !resolver && opts.reader !== type) {
    try {
      resolver = opts.reader.createResolver(type);
    } catch (error) {
      throw new AvroDecodeError('$', `data readable as the reader schema ${describe(opts.reader)}`, `writer schema ${describe(type)} is incompatible: ${(error as Error).message}`);
    }
  }
  try {
    return reader.fromBuffer(payload, resolver, false) as T;
  } catch (error) {
    // The walk accepts everything avsc needs; this is a last line (e.g. a logical type rejecting a value).
    throw new AvroDecodeError('$', `a valid ${describe(type)}`, (error as Error).message);
  }
}

function describe(type: Type): string {
  return type.name ?? type.typeName;
}

/** A map key's place in the bytes: decoded into the path only when something under it fails. */
interface KeyAt {
  start: number;
  end: number;
}

/** Walks (checks) one value of a type at the walker's position; `depth` is its nesting. */
type Check = (w: Walker, depth: number) => void;

/**
 * Each writer type's check, built once: the walk runs for every record a stage consumes, so the schema is turned
 * into closures rather than interpreted per value.
 */
const checks = new WeakMap<Type, Check>();

function checkOf(type: Type): Check {
  const known = checks.get(type);
  if (known) return known;
  // A recursive schema reaches its own type while being built: that reference calls the finished check later.
  const finished: { check?: Check } = {};
  checks.set(type, (w, depth) => finished.check!(w, depth));
  finished.check = buildCheck(type);
  checks.set(type, finished.check);
  return finished.check;
}

function buildCheck(type: Type): Check {
  const t = type as unknown as Record<string, unknown>;
  const entering = (w: Walker, depth: number) => {
    if (depth > w.maxDepth) w.fail(`nesting of at most ${w.maxDepth} levels`);
  };
  switch (kind(type)) {
    case 'null':
      return entering;
    case 'boolean':
      return (w, depth) => {
        entering(w, depth);
        if (w.pos >= w.buf.length) w.fail('a boolean', 'the data ends');
        const b = w.buf[w.pos++];
        if (b > 1) w.fail('a boolean byte 0 or 1', `got ${b}`);
      };
    case 'int':
      return (w, depth) => {
        entering(w, depth);
        w.int('an int');
      };
    case 'long':
      return (w, depth) => {
        entering(w, depth);
        w.long('a long');
      };
    case 'float':
      return (w, depth) => {
        entering(w, depth);
        w.take(4, 'a float (4 bytes)');
      };
    case 'double':
      return (w, depth) => {
        entering(w, depth);
        w.take(8, 'a double (8 bytes)');
      };
    case 'string': case 'bytes': {
      const what = type.typeName;
      return (w, depth) => {
        entering(w, depth);
        const n = w.length(what); // not `w.pos += w.length()`: that reads pos before the varint moves it
        w.pos += n;
      };
    }
    case 'fixed': {
      const size = t.size as number;
      const what = `fixed ${describe(type)} of ${size} bytes`;
      return (w, depth) => {
        entering(w, depth);
        w.take(size, what);
      };
    }
    case 'enum': {
      const count = (t.symbols as string[]).length;
      const name = describe(type);
      return (w, depth) => {
        entering(w, depth);
        const i = w.int(`an enum ${name} index`);
        if (i < 0 || i >= count) w.fail(`an index of enum ${name} in [0, ${count})`, `got ${i}`);
      };
    }
    case 'union': {
      const branches = t.types as Type[];
      let branchChecks: Check[] | undefined;
      return (w, depth) => {
        entering(w, depth);
        const i = w.long('a union branch index');
        if (i < 0 || i >= branches.length) {
          w.fail(`a union branch index in [0, ${branches.length}) for ${JSON.stringify(branches.map((b) => describe(b)))}`, `got ${i}`);
        }
        (branchChecks ??= branches.map(checkOf))[i](w, depth + 1);
      };
    }
    case 'logical': {
      const underlying = t.underlyingType as Type;
      let underlyingCheck: Check | undefined;
      return (w, depth) => (underlyingCheck ??= checkOf(underlying))(w, depth);
    }
    case 'record': {
      const fields = t.fields as Array<{ name: string; type: Type }>;
      const names = fields.map((f) => `.${f.name}`);
      let fieldChecks: Check[] | undefined;
      return (w, depth) => {
        entering(w, depth);
        fieldChecks ??= fields.map((f) => checkOf(f.type));
        for (let i = 0; i < fieldChecks.length; i++) {
          w.path.push(names[i]);
          fieldChecks[i](w, depth + 1);
          w.path.pop();
        }
      };
    }
    case 'array': {
      const items = t.itemsType as Type;
      const min = minEncodedSize(items);
      const empty = min === 0 && isEmptyType(items);
      let itemCheck: Check | undefined;
      return (w, depth) => {
        entering(w, depth);
        itemCheck ??= checkOf(items);
        let index = 0;
        for (;;) {
          const count = w.blockCount(min, 'array');
          if (count === 0) return;
          if (empty) { // nothing on the wire per item: no need to walk them one by one
            index += count;
            continue;
          }
          for (let k = 0; k < count; k++) {
            w.path.push(index++);
            itemCheck(w, depth + 1);
            w.path.pop();
          }
        }
      };
    }
    case 'map': {
      const values = t.valuesType as Type;
      const min = 1 + minEncodedSize(values); // every entry has at least a 1-byte key length
      let valueCheck: Check | undefined;
      return (w, depth) => {
        entering(w, depth);
        valueCheck ??= checkOf(values);
        for (;;) {
          const count = w.blockCount(min, 'map');
          if (count === 0) return;
          for (let k = 0; k < count; k++) {
            const len = w.length('map key');
            const key: KeyAt = { start: w.pos, end: w.pos + len };
            w.pos += len;
            w.path.push(key);
            valueCheck(w, depth + 1);
            w.path.pop();
          }
        }
      };
    }
    default:
      return (w) => w.fail(`a schema type this decoder knows`, `unsupported type ${type.typeName}`);
  }
}

class Walker {
  pos = 0;
  /** Where the walk is: field names, array indexes, map keys (decoded only for an error message). */
  readonly path: Array<string | number | KeyAt> = [];

  constructor(
    readonly buf: Buffer,
    private zeroSizeBudget: number,
    readonly maxDepth: number,
  ) {}

  fail(expected: string, detail?: string): never {
    let p = '$';
    for (const seg of this.path) {
      if (typeof seg === 'number') p += `[${seg}]`;
      else if (typeof seg === 'string') p += seg;
      else p += `[${JSON.stringify(this.buf.toString('utf8', seg.start, seg.end))}]`;
    }
    throw new AvroDecodeError(p, expected, detail);
  }

  private get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Zig-zag varint as a JS number; `maxBytes` 5 for int, 10 for long. */
  private varint(maxBytes: number, what: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.buf.length) this.fail(what, 'the data ends inside a varint');
      const b = this.buf[this.pos++];
      n += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) {
        if (n >= TWO_POW_53) this.fail(`${what} within ±2^53`, 'the value is too large for a JavaScript number');
        return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      }
    }
    return this.fail(what, `varint longer than ${maxBytes} bytes`);
  }

  int(what: string): number {
    const v = this.varint(5, what);
    if (v > 0x7fffffff || v < -0x80000000) this.fail(`${what} (32-bit int)`, `got ${v}`);
    return v;
  }

  long(what: string): number {
    return this.varint(10, what);
  }

  take(n: number, what: string): void {
    if (n > this.remaining) this.fail(what, `needs ${n} bytes, ${this.remaining} left`);
    this.pos += n;
  }

  length(what: string): number {
    const n = this.long(`${what} length`);
    if (n < 0) this.fail(`a non-negative ${what} length`, `got ${n}`);
    if (n > this.remaining) this.fail(`a ${what} length within the ${this.remaining} bytes left`, `declared ${n}`);
    return n;
  }

  /** Checks one block count: the items it claims must fit in what is left (or in the zero-size budget). */
  blockCount(itemMin: number, what: string): number {
    let count = this.long(`${what} block count`);
    if (count < 0) {
      count = -count;
      const size = this.long(`${what} block byte size`);
      if (size < 0 || size > this.remaining) this.fail(`a ${what} block byte size within the ${this.remaining} bytes left`, `declared ${size}`);
    }
    if (itemMin > 0) {
      if (count * itemMin > this.remaining) {
        this.fail(`a ${what} block count the remaining bytes can hold`, `declared ${count} items of at least ${itemMin} byte(s), ${this.remaining} bytes left`);
      }
    } else {
      this.zeroSizeBudget -= count;
      if (this.zeroSizeBudget < 0) this.fail(`at most the allowed number of zero-size ${what} items`, `declared ${count}`);
    }
    return count;
  }
}
