import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSchema, safeDecode, type AvroType } from '@streamloop/avro';
import {
  describeSchemas, GENERATED_RECORDS_FILE, generateRecordTypes, readSchemaDir, renderRecordTypes, staleness,
  type Declaration, type SchemaSource, type TsType,
} from './generator';

test('the committed records.generated.ts is what schemas/*.avsc generate (else: npm run gen:records)', () => {
  const why = staleness(readFileSync(GENERATED_RECORDS_FILE, 'utf8'), generateRecordTypes());
  assert.equal(why, undefined, why);
});

test('staleness names the first differing line and the command that fixes it', () => {
  const why = staleness('a\nb\nc\n', 'a\nB\nc\n');
  assert.match(why ?? '', /is stale/);
  assert.match(why ?? '', /line 2:\n {4}committed: b\n {4}generated: B/);
  assert.match(why ?? '', /npm run gen:records/);
  assert.equal(staleness('same', 'same'), undefined);
});

/** Every kind of Avro type the generator maps, in one record. */
const EVERY_KIND = {
  type: 'record', name: 'Sample', namespace: 'test.kinds', doc: 'One of each kind.',
  fields: [
    { name: 'flag', type: 'boolean' },
    { name: 'small', type: 'int', doc: 'An int.' },
    { name: 'big', type: 'long' },
    { name: 'ratio', type: 'float' },
    { name: 'score', type: 'double' },
    { name: 'text', type: 'string' },
    { name: 'raw', type: 'bytes' },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    // Not registered with the serde: avsc ignores the annotation and decodes the underlying bytes.
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 } },
    { name: 'maybe_text', type: ['null', 'string'], default: null },
    { name: 'text_or_int', type: ['null', 'string', 'int'], default: null },
    // int and long cannot be told apart once decoded: avsc wraps this union.
    { name: 'int_or_long', type: ['null', 'int', 'long'], default: null },
    { name: 'color', type: { type: 'enum', name: 'Color', doc: 'A color.', symbols: ['red', 'green'] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'maybe_list', type: { type: 'array', items: ['null', 'double'] } },
    { name: 'nested', type: { type: 'map', values: { type: 'array', items: 'double' } } },
    { name: 'child', type: ['null', { type: 'record', name: 'Child', fields: [{ name: 'color', type: 'Color' }, { name: 'next', type: ['null', 'Child'], default: null }] }], default: null },
    { name: 'either', type: ['null', { type: 'record', name: 'Left', fields: [] }, { type: 'record', name: 'Right', fields: [] }], default: null },
  ],
};

const sources = (...schemas: Array<[string, object]>): SchemaSource[] => schemas.map(([file, schema]) => ({ file, type: parseSchema(schema) }));

test('maps every Avro kind to the TypeScript type of its decoded value', () => {
  const text = renderRecordTypes(describeSchemas(sources(['sample.avsc', EVERY_KIND])));
  const sample = /export interface SampleRecord \{\n([\s\S]*?)\n\}/.exec(text)?.[1];
  assert.equal(sample, [
    '  flag: boolean;',
    '  /** An int. */',
    '  small: number;',
    '  big: number;',
    '  ratio: number;',
    '  score: number;',
    '  text: string;',
    '  raw: Buffer;',
    '  hash: Buffer;',
    '  at: number;',
    '  amount: Buffer;',
    '  maybe_text: string | null;',
    '  text_or_int: string | number | null;',
    '  int_or_long: { int: number } | { long: number } | null;',
    '  color: Color;',
    '  tags: string[];',
    '  maybe_list: Array<number | null>;',
    '  nested: Record<string, number[]>;',
    '  child: ChildRecord | null;',
    "  either: { 'test.kinds.Left': LeftRecord } | { 'test.kinds.Right': RightRecord } | null;",
  ].join('\n'));
  assert.match(text, /\/\*\*\n \* One of each kind\.\n \*\n \* Avro `test\.kinds\.Sample`, schemas\/sample\.avsc\.\n \*\/\nexport interface SampleRecord/);
  assert.match(text, /export const COLOR_SYMBOLS = \['red', 'green'\] as const;\n\/\*\*\n \* A color\.\n \*\n \* Avro `test\.kinds\.Color` \(in schemas\/sample\.avsc\)\.\n \*\/\nexport type Color = \(typeof COLOR_SYMBOLS\)\[number\];/);
  // A recursive record is declared once and refers to itself by name.
  assert.match(text, /export interface ChildRecord \{\n {2}color: Color;\n {2}next: ChildRecord \| null;\n\}/);
  assert.equal(text.match(/export interface ChildRecord/g)?.length, 1);
});

test('a doc that would close the comment early is escaped', () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 'x', type: 'int', doc: 'ends */ here' }] };
  assert.match(renderRecordTypes(describeSchemas(sources(['r.avsc', schema]))), /\/\*\* ends \*\\\/ here \*\//);
});

test('refuses names that would clash in TypeScript and one name defined two ways', () => {
  const foo = { type: 'record', name: 'Foo', fields: [{ name: 'x', type: 'int' }] };
  const fooRecord = { type: 'record', name: 'FooRecord', fields: [{ name: 'y', type: 'int' }] };
  assert.throws(() => describeSchemas(sources(['a.avsc', foo], ['b.avsc', fooRecord])), /Foo and FooRecord would both be declared as FooRecord/);
  const otherFoo = { type: 'record', name: 'Foo', fields: [{ name: 'x', type: 'string' }] };
  assert.throws(() => describeSchemas(sources(['a.avsc', foo], ['b.avsc', otherFoo])), /Foo is defined differently in schemas\/a\.avsc and schemas\/b\.avsc/);
  // The same definition in two files is one declaration.
  assert.equal(describeSchemas(sources(['a.avsc', foo], ['b.avsc', foo])).length, 1);
});

/** Where a decoded value is not of its generated type (undefined when it is). */
function mismatch(value: unknown, type: TsType, declarations: Map<string, Declaration>, path: string): string | undefined {
  const fail = (expected: string) => `${path}: expected ${expected}, decoded ${Buffer.isBuffer(value) ? 'a Buffer' : JSON.stringify(value)}`;
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
  switch (type.kind) {
    case 'primitive':
      if (type.name === 'null') return value === null ? undefined : fail('null');
      if (type.name === 'Buffer') return Buffer.isBuffer(value) ? undefined : fail('a Buffer');
      return typeof value === type.name ? undefined : fail(type.name);
    case 'array':
      if (!Array.isArray(value)) return fail('an array');
      return value.map((v, i) => mismatch(v, type.items, declarations, `${path}[${i}]`)).find(Boolean);
    case 'map':
      if (!isObject(value)) return fail('an object');
      return Object.entries(value).map(([k, v]) => mismatch(v, type.values, declarations, `${path}.${k}`)).find(Boolean);
    case 'wrapper':
      if (!isObject(value) || Object.keys(value).join() !== type.key) return fail(`{ ${type.key}: … }`);
      return mismatch(value[type.key], type.type, declarations, `${path}.${type.key}`);
    case 'union': {
      const each = type.branches.map((b) => mismatch(value, b, declarations, path));
      return each.some((m) => m === undefined) ? undefined : each.join('; ');
    }
    case 'named': {
      const declaration = declarations.get(type.avroName)!;
      if (declaration.kind === 'enum') return declaration.symbols.includes(value as string) ? undefined : fail(declaration.symbols.join(' | '));
      if (!isObject(value)) return fail(`a ${declaration.tsName}`);
      const names = declaration.fields.map((f) => f.name);
      if (Object.keys(value).join() !== names.join()) return fail(`the fields ${names.join(', ')}`);
      return declaration.fields.map((f) => mismatch(value[f.name], f.type, declarations, `${path}.${f.name}`)).find(Boolean);
    }
  }
}

/** Random values of the schema, encoded and decoded as the serde decodes them, checked against the generated types. */
function checkDecodedValues(file: string, type: AvroType, declarations: Declaration[], samples = 50): void {
  const byName = new Map(declarations.map((d) => [d.avroName, d]));
  const root = declarations.find((d) => d.file === file && d.topLevel)!;
  for (let i = 0; i < samples; i++) {
    const decoded = safeDecode(type, type.toBuffer(type.random()));
    const why = mismatch(decoded, { kind: 'named', avroName: root.avroName, tsName: root.tsName }, byName, root.tsName);
    assert.equal(why, undefined, `${file}: ${why}`);
  }
}

test("every platform record, as the serde decodes it, has its generated type (logical types, longs, unions, maps)", () => {
  const platform = readSchemaDir();
  assert.ok(platform.length >= 7, 'schemas/*.avsc were found');
  const declarations = describeSchemas(platform);
  for (const { file, type } of platform) checkDecodedValues(file, type, declarations);
  const sample = sources(['sample.avsc', EVERY_KIND]);
  checkDecodedValues('sample.avsc', sample[0].type, describeSchemas(sample));
});

test('the decoded-value check catches a wrong mapping (timestamp-millis declared as a string)', () => {
  const schema = sources(['t.avsc', { type: 'record', name: 'T', fields: [{ name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }] }]);
  const declarations = describeSchemas(schema);
  const record = declarations[0];
  assert.equal(record.kind, 'record');
  if (record.kind === 'record') record.fields[0].type = { kind: 'primitive', name: 'string' };
  assert.throws(() => checkDecodedValues('t.avsc', schema[0].type, declarations, 1), /TRecord\.at: expected string, decoded \d+/);
});
