import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Type } from 'avsc';
import {
  AvroDecodeError, AvroSerde, WireFormatError, checkCompatibility, encodeWire, loadAvsc, parseSchema, readWireHeader,
  safeDecode, validateRecord, type CompatibilityLevel,
} from './index';

const SCHEMAS = fileURLToPath(new URL('../../../schemas/', import.meta.url));

const Order = parseSchema({
  type: 'record', name: 'Order', namespace: 't',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'currency', type: 'string', default: 'EUR' },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['a', 'b'] }, default: 'a' },
    { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'name', type: 'string' }, { name: 'qty', type: 'int' }] } } },
    { name: 'tags', type: { type: 'map', values: 'double' }, default: {} },
    { name: 'flags', type: { type: 'array', items: 'null' }, default: [] },
  ],
});
const order = { id: 'o1', at: 1_700_000_000_123, note: 'hi', currency: 'USD', kind: 'b', items: [{ name: 'x', qty: 2 }], tags: { k: 1.5 }, flags: [null] };

test('timestamp-millis stays a number through loadAvsc and a round trip', () => {
  const t = loadAvsc(`${SCHEMAS}prediction.avsc`);
  const value = {
    event_id: 'e', pipeline: 'p', entity_key: 'k', event_time: 1_700_000_000_000, model_name: 'm', model_version: 1,
    role: 'champion', score: 0.5, label: 1, threshold: 0.5, latency_ms: 1.2, predicted_at: 1_700_000_000_500,
  };
  const back = t.fromBuffer(t.toBuffer(value)) as typeof value;
  assert.equal(typeof back.event_time, 'number');
  assert.equal(back.predicted_at, 1_700_000_000_500);
  assert.throws(() => loadAvsc('/nonexistent.avsc'), /nonexistent\.avsc/);
});

test('wire format: magic byte, big-endian id, typed errors', () => {
  const buf = encodeWire(258, Order, order);
  assert.equal(buf[0], 0);
  assert.deepEqual([...buf.subarray(1, 5)], [0, 0, 1, 2]);
  const { schemaId, payload } = readWireHeader(buf);
  assert.equal(schemaId, 258);
  assert.deepEqual(JSON.parse(JSON.stringify(safeDecode(Order, payload))), order);
  assert.throws(() => readWireHeader(Buffer.from([0, 0, 1])), WireFormatError);
  assert.throws(() => readWireHeader(Buffer.from([1, 0, 0, 0, 1, 0])), (e: Error) => e instanceof WireFormatError && /magic byte 1/.test(e.message));
});

test('safeDecode rejects a 5-byte record declaring 2e8 array items, quickly, and the process lives', () => {
  const t = parseSchema({ type: 'record', name: 'R', fields: [{ name: 'items', type: { type: 'array', items: 'long' } }] });
  // zig-zag varint of 2e8, then one byte: what would make avsc allocate 2e8 items.
  const evil = Buffer.alloc(5);
  let n = 2e8 * 2;
  let i = 0;
  while (n >= 0x80) { evil[i++] = (n & 0x7f) | 0x80; n = Math.floor(n / 128); }
  evil[i++] = n;
  assert.ok(i <= 5);
  const started = Date.now();
  assert.throws(() => safeDecode(t, evil.subarray(0, 5)), (e: Error) => e instanceof AvroDecodeError && /\$\.items/.test(e.message) && /block count/.test(e.message));
  assert.ok(Date.now() - started < 100, 'rejected without walking 2e8 items');

  // zero-size items (null) are capped by the budget, not by the bytes.
  const nulls = parseSchema({ type: 'array', items: 'null' });
  assert.throws(() => safeDecode(nulls, Buffer.from([0x80, 0x88, 0xde, 0xbe, 0x01, 0x00])), AvroDecodeError);
  assert.deepEqual(safeDecode(nulls, Buffer.from([0x04, 0x00])), [null, null]);
});

test('safeDecode names the path, checks string lengths, unions, enums and trailing bytes', () => {
  const good = Order.toBuffer(order);
  assert.throws(() => safeDecode(Order, Buffer.concat([good, Buffer.from([0])])), /trailing bytes/);
  // items[0].name with a declared length past the end
  const t = parseSchema({ type: 'record', name: 'R', fields: [{ name: 'items', type: { type: 'array', items: { type: 'record', name: 'I', fields: [{ name: 'name', type: 'string' }] } } }] });
  const bytes = Buffer.from([0x04, 0x02, 0x61, 0x7e, 0x61]); // 2 items: "a", then a string declaring 63 bytes
  assert.throws(() => safeDecode(t, bytes), (e: Error) => e instanceof AvroDecodeError && e.message.includes('$.items[1].name') && /string length/.test(e.message));
  // a map key in the path is the key's text, quoted (read from the bytes only when something under it fails)
  const m = parseSchema({ type: 'record', name: 'M', fields: [{ name: 'values', type: { type: 'map', values: { type: 'array', items: 'double' } } }] });
  const mapBytes = Buffer.concat([Buffer.from([0x04, 0x02, 0x61, 0x00, 0x08]), Buffer.from('ü"b'), Buffer.from([0x02, 0x01, 0x02])]);
  assert.throws(() => safeDecode(m, mapBytes), (e: Error) => e instanceof AvroDecodeError && e.message.includes('$.values["ü\\"b"]:') && /block count/.test(e.message));
  const u = parseSchema(['null', 'string']);
  assert.throws(() => safeDecode(u, Buffer.from([0x06])), /union branch index/);
  const en = parseSchema({ type: 'enum', name: 'E', symbols: ['a'] });
  assert.throws(() => safeDecode(en, Buffer.from([0x02])), /enum E/);
  assert.throws(() => safeDecode(parseSchema('long'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), AvroDecodeError);
});

test('safeDecode resolves into a reader schema', () => {
  const v1 = parseSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });
  const v2 = parseSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'long' }, { name: 'b', type: 'string', default: 'd' }] });
  assert.deepEqual({ ...(safeDecode(v1, v1.toBuffer({ a: 3 }), { reader: v2 }) as object) }, { a: 3, b: 'd' });
  const bad = parseSchema({ type: 'record', name: 'R', fields: [{ name: 'c', type: 'string' }] });
  assert.throws(() => safeDecode(v1, v1.toBuffer({ a: 3 }), { reader: bad }), AvroDecodeError);
});

test('fuzz: random bytes only ever raise AvroDecodeError', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const recursive = parseSchema({ type: 'record', name: 'Node', fields: [{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'] }] });
  const types = [Order, recursive, parseSchema({ type: 'map', values: { type: 'array', items: ['null', 'double', 'bytes'] } })];
  const good = Order.toBuffer(order);
  let decoded = 0;
  for (let i = 0; i < 5000; i++) {
    const len = Math.floor(rand() * 40);
    const buf = Buffer.alloc(len);
    for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
    // also mutate valid records, which reach deeper into the schema
    const mutated = Buffer.from(good);
    mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
    for (const t of types) {
      for (const b of [buf, mutated]) {
        try {
          safeDecode(t, b);
          decoded++;
        } catch (e) {
          assert.ok(e instanceof AvroDecodeError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    }
  }
  assert.ok(decoded > 0);
  // deep recursion is bounded, not a stack overflow
  const deep = Buffer.alloc(20_000);
  for (let i = 0; i < deep.length; i += 2) { deep[i] = 0; deep[i + 1] = 2; }
  assert.throws(() => safeDecode(recursive, deep), /nesting/);
});

test('validateRecord fills defaults, wraps plain union values, parses ISO timestamps, names bad fields', () => {
  const r = validateRecord(Order, { id: 'o', at: '2024-01-02T03:04:05.006Z', note: 'plain', items: [] });
  assert.ok(r.ok);
  const v = r.value as Record<string, unknown>;
  assert.equal(v.at, Date.parse('2024-01-02T03:04:05.006Z'));
  assert.equal(v.currency, 'EUR');
  assert.equal(v.note, 'plain');
  assert.equal(v.kind, 'a');
  assert.deepEqual(v.tags, {});
  Order.toBuffer(v); // encodable as is
  assert.ok(validateRecord(Order, { id: 'o', at: 5, note: { string: 'wrapped' }, items: [], currency: null }).ok);

  const bad = validateRecord(Order, { at: 'yesterday', note: 5, kind: 'z', items: [{ name: 'n', qty: 1.5 }], extra: 1 });
  assert.equal(bad.ok, false);
  const text = (bad as { errors: string[] }).errors.join('\n');
  assert.match(text, /\$\.id: missing required field/);
  assert.match(text, /\$\.at: expected timestamp-millis/);
  assert.match(text, /\$\.note: expected one of \[null, string\]/);
  assert.match(text, /\$\.kind: expected enum t\.Kind/);
  assert.match(text, /\$\.items\[0\]\.qty: expected int/);
  assert.match(text, /\$\.extra: unknown field/);
  assert.ok(validateRecord(Order, { id: 'o', at: 1, items: [], extra: 1 }, { allowUndeclaredFields: true }).ok);

  const wrapped = parseSchema({ type: 'record', name: 'W', fields: [{ name: 'u', type: ['null', { type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] }, { type: 'record', name: 'B', fields: [{ name: 'b', type: 'string' }] }] }] });
  const w = validateRecord(wrapped, { u: { b: 'x' } });
  assert.ok(w.ok);
  assert.deepEqual(JSON.parse(JSON.stringify((w.value as { u: unknown }).u)), { B: { b: 'x' } });
});

test('compatibility levels', () => {
  const v1 = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] };
  const v2 = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, { name: 'b', type: 'string', default: 'x' }] };
  const addRequired = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, { name: 'c', type: 'string' }] };
  const dropA = { type: 'record', name: 'R', fields: [{ name: 'b', type: 'string', default: 'x' }] };
  const ok = (s: object, existing: object[], level: CompatibilityLevel) => checkCompatibility(s, existing, level).compatible;
  assert.ok(ok(addRequired, [v1], 'NONE'));
  assert.ok(ok(v2, [v1], 'BACKWARD'));
  assert.ok(ok(v2, [v1], 'FULL'));
  const r = checkCompatibility(addRequired, [v1], 'BACKWARD');
  assert.equal(r.compatible, false);
  assert.match(r.messages[0], /R\.c|"c"|\bc\b/);
  assert.ok(ok(addRequired, [v1], 'FORWARD'), 'old readers ignore the new field');
  assert.equal(ok(addRequired, [v1], 'FULL'), false);
  // dropA reads v2 (b has a default... a is ignored) but not v1? v1 has no b, dropA's b has a default: readable.
  assert.ok(ok(dropA, [v2], 'BACKWARD'));
  // transitive: a schema compatible with the latest but not with an older one
  const v3 = { type: 'record', name: 'R', fields: [{ name: 'b', type: 'string' }] };
  assert.ok(ok(v3, [v1, v2], 'BACKWARD'));
  assert.equal(ok(v3, [v1, v2], 'BACKWARD_TRANSITIVE'), false);
  assert.equal(ok(v1, [v3, dropA], 'FORWARD_TRANSITIVE'), false);
  assert.equal(ok(v3, [v1, v2], 'FULL_TRANSITIVE'), false);
  assert.ok(ok(v2, [v1, v2], 'FULL_TRANSITIVE'));
});

test('AvroSerde: once a schema id and a writer are known, records encode and decode without a promise, byte for byte as the async path', async () => {
  const type = parseSchema({ type: 'record', name: 'Probe', fields: [{ name: 'id', type: 'string' }, { name: 'n', type: 'long' }] });
  const texts = new Map<number, string>();
  let registrations = 0;
  const client = {
    async register(_subject: string, schema: string | object | Type) {
      registrations++;
      texts.set(7, JSON.stringify((schema as Type).schema()));
      return 7;
    },
    async getSchemaById(id: number) {
      return texts.get(id)!;
    },
    async getLatest(): Promise<never> {
      throw new Error('not used');
    },
  };
  const serde = new AvroSerde(client);
  const value = { id: 'e-1', n: 42 };
  assert.equal(serde.encodeValueIfKnown('probe', type, value), undefined, 'unknown before the first registration');
  const bytes = await serde.encodeValue('probe', type, value);
  assert.deepEqual(serde.encodeValueIfKnown('probe', type, value), bytes);
  assert.equal(serde.encodeValueIfKnown('other', type, value), undefined, 'another topic is another subject');
  assert.equal(serde.decodeIfKnown(bytes, type), undefined, 'the writer schema is not fetched yet');
  const decoded = await serde.decode(bytes, type);
  assert.deepEqual(serde.decodeIfKnown(bytes, type), decoded);
  assert.deepEqual({ ...decoded.value as object }, value);
  assert.equal(registrations, 1);
});

test('schemas/alert.avsc: the data_quality kind is a BACKWARD-compatible change (the registry\'s level); with the enum default, a reader that lacks a newer kind reads it as the default', () => {
  const current = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/alert.avsc', import.meta.url)), 'utf8')) as { fields: Array<{ name: string; type: unknown }> };
  const kindOf = (schema: typeof current) => schema.fields.find((f) => f.name === 'kind')!.type as { symbols: string[]; default?: string };
  assert.ok(kindOf(current).symbols.includes('data_quality'));
  assert.equal(kindOf(current).default, 'feature_drift');
  // The schema before data_quality (and before the enum had a default).
  const before = structuredClone(current);
  kindOf(before).symbols = ['feature_drift', 'prediction_drift', 'performance'];
  delete kindOf(before).default;
  const r = checkCompatibility(current, [before], 'BACKWARD');
  assert.deepEqual(r, { compatible: true, messages: [] });
  // A later reader of this schema's shape without data_quality, but with the default: a data_quality alert decodes as the default.
  const older = structuredClone(current);
  kindOf(older).symbols = ['feature_drift', 'prediction_drift', 'performance'];
  const writer = parseSchema(current);
  const reader = parseSchema(older);
  const alert = {
    alert_id: 'a', pipeline: 'p', kind: 'data_quality', feature: 'amount', statistic: 'max_missing_rate', value: 0.9, threshold: 0.5,
    window_start: 0, window_end: 1, model_name: 'm', model_version: 1, model_role: 'champion', created_at: 2,
  };
  const read = reader.fromBuffer(writer.toBuffer(alert), reader.createResolver(writer)) as { kind: string };
  assert.equal(read.kind, 'feature_drift');
  assert.equal(checkCompatibility(current, [older], 'FORWARD').compatible, true, 'a reader with the default reads the newer symbol');
});

test('encodeWire: header and body alike for records smaller and larger than its scratch buffer', () => {
  const t = parseSchema({ type: 'record', name: 'W', fields: [{ name: 's', type: 'string' }, { name: 'm', type: { type: 'map', values: 'double' } }] });
  for (const n of [0, 10, 65_000, 65_530, 70_000, 5_000_000]) {
    const value = { s: 'x'.repeat(n), m: { a: 1.5 } };
    const wire = encodeWire(7, t, value);
    const { schemaId, payload } = readWireHeader(wire);
    assert.equal(schemaId, 7);
    assert.deepEqual(payload, t.toBuffer(value), `string of ${n}`);
    assert.equal(wire.length, 5 + payload.length);
  }
  // an invalid value still throws, and leaves nothing behind for the next record
  assert.throws(() => encodeWire(7, t, { s: 3, m: {} }));
  assert.deepEqual(readWireHeader(encodeWire(8, t, { s: 'ok', m: {} })).payload, t.toBuffer({ s: 'ok', m: {} }));
});
