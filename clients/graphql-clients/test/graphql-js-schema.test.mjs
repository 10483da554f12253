// graphql-js over the served introspection: buildClientSchema and printSchema must not throw
// (a default value graphql-js cannot print, say, breaks every codegen and IDE), and the printed
// SDL has the main types.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildClientSchema, isInterfaceType, printSchema, validateSchema } from 'graphql';
import { introspection } from './support.mjs';

const intro = await introspection();

describe('graphql-js (buildClientSchema, printSchema)', () => {
  test('buildClientSchema accepts the served introspection and the schema is valid', () => {
    const schema = buildClientSchema(intro);
    assert.deepEqual(validateSchema(schema).map(String), []);
    assert.ok(isInterfaceType(schema.getType('Record')));
    assert.ok(isInterfaceType(schema.getType('Node')));
  });

  test('printSchema prints the served schema with the main types', () => {
    const sdl = printSchema(buildClientSchema(intro));
    for (const type of [
      'type Query',
      'type Mutation',
      'interface Node',
      'interface Record implements Node',
      'type Contact implements Record & Node',
      'type CustomObjectRecord implements Record & Node',
      'type RecordConnection',
      'type RelationConnection',
      'type RelationEdge',
      'type PageInfo',
      'type Association implements Node',
      'type ObjectSchema implements Node',
      'type Relation implements Node',
      'input CreateRecordInput',
      'scalar JSON',
      'scalar DateTime',
    ]) {
      assert.ok(sdl.includes(type), `the printed SDL has ${type}`);
    }
    assert.match(sdl, /node\(id: ID!\): Node/);
  });
});
