// relay-compiler against the served schema: the schema comes from relata serve's introspection
// (printed with graphql-js's printSchema into relay/schema.graphql), relay/src holds fragments and
// operations using @connection, @refetchable, @appendNode and @deleteEdge; the compiler writes
// relay/__generated__, and each generated operation's `params.text` (exactly what a Relay app
// sends) is executed against the server with variables.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildClientSchema, printSchema } from 'graphql';
import { gql, introspection, post, seed } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const project = join(here, '..', 'relay');
const generated = join(project, '__generated__');
const compiler = join(here, '..', 'node_modules', '.bin', 'relay-compiler');

let data;
let sdl; // the printed served schema, or the error printing it
let compiled; // the compiler's run
const artifact = async (name) =>
  (await import(pathToFileURL(join(generated, `${name}.graphql.js`)).href)).default;

/** Runs a generated operation's text with variables; returns data, failing on any error. */
async function run(name, variables) {
  assert.equal(compiled?.status, 0, 'relay-compiler did not compile the project (see above)');
  const node = await artifact(name);
  assert.equal(node.params.name, name);
  const { status, body } = await post(node.params.text, variables);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, `${name}: ${JSON.stringify(body.errors, null, 2)}`);
  return body.data;
}

/** The connection id Relay's ConnectionHandler.getConnectionID gives this parent and key. */
const connectionId = (parentId, key) => `client:${parentId}:__${key}_connection`;

before(async () => {
  // Nothing from an earlier run: every artifact the tests execute comes from this compile.
  rmSync(generated, { recursive: true, force: true });
  data = await seed({ pets: 5 });
  try {
    sdl = printSchema(buildClientSchema(await introspection()));
  } catch (error) {
    sdl = error;
  }
});

describe('Relay (relay-compiler)', () => {
  test('the served introspection prints as SDL for the compiler', () => {
    assert.ok(typeof sdl === 'string', `printSchema(buildClientSchema(introspection)): ${sdl}`);
  });

  test('relay-compiler compiles the project against the served schema', () => {
    if (typeof sdl !== 'string') return assert.fail('no schema to compile against (see above)');
    writeFileSync(join(project, 'schema.graphql'), sdl);
    rmSync(generated, { recursive: true, force: true });
    mkdirSync(generated);
    compiled = spawnSync(compiler, [], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    const output = `${compiled.stdout}${compiled.stderr}`;
    assert.equal(compiled.status, 0, output);
    const made = readdirSync(generated).sort();
    for (const name of [
      'AddPetMutation',
      'OwnerPetsPaginationQuery',
      'OwnerPetsQuery',
      'OwnerPets_record',
      'PetListQuery',
      'RemovePetMutation',
    ]) {
      assert.ok(made.includes(`${name}.graphql.js`), `${name} generated; got ${made}`);
    }
  });

  test('@connection on Record.relations: the generated query reads the first page', async () => {
    const got = await run('OwnerPetsQuery', { id: data.ownerId, first: 2 });
    const relations = got.record.relations;
    assert.equal(got.record.id, data.ownerId);
    assert.equal(got.record.__isRecord, 'CustomObjectRecord');
    assert.equal(relations.totalCount, 5);
    assert.deepEqual(relations.edges.map((e) => e.node.id), data.petIds.slice(0, 2));
    assert.ok(relations.edges.every((e) => e.cursor && e.label === 'pet' && e.node.__typename));
    // Relay added pageInfo { endCursor hasNextPage } for the connection.
    assert.equal(relations.pageInfo.hasNextPage, true);
    assert.equal(relations.pageInfo.endCursor, relations.edges[1].cursor);
  });

  test('@refetchable on a Record fragment: the pagination query pages through node(id:)', async () => {
    const first = await run('OwnerPetsPaginationQuery', { id: data.ownerId, first: 2 });
    assert.equal(first.node.id, data.ownerId);
    assert.equal(first.node.__typename, 'CustomObjectRecord');
    const seen = first.node.relations.edges.map((e) => e.node.id);
    let cursor = first.node.relations.pageInfo.endCursor;
    let more = first.node.relations.pageInfo.hasNextPage;
    while (more) {
      const next = await run('OwnerPetsPaginationQuery', { id: data.ownerId, first: 2, after: cursor });
      seen.push(...next.node.relations.edges.map((e) => e.node.id));
      ({ endCursor: cursor, hasNextPage: more } = next.node.relations.pageInfo);
    }
    assert.deepEqual(seen, data.petIds);
  });

  test('@connection on Query.records: the generated query pages through records', async () => {
    const page = await run('PetListQuery', { objectKey: data.petKey, first: 3 });
    assert.equal(page.records.totalCount, 5);
    assert.equal(page.records.edges.length, 3);
    assert.equal(page.records.pageInfo.hasNextPage, true);
    const rest = await run('PetListQuery', {
      objectKey: data.petKey,
      first: 3,
      after: page.records.pageInfo.endCursor,
    });
    assert.equal(rest.records.pageInfo.hasNextPage, false);
    const ids = [...page.records.edges, ...rest.records.edges].map((e) => e.node.id);
    assert.deepEqual(new Set(ids), new Set(data.petIds));
  });

  test('@appendNode on createRelation: the generated mutation creates the relation', async () => {
    const pet = (
      await gql('mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }', {
        i: { objectKey: data.petKey, properties: { name: 'Relay' } },
      })
    ).createRecord;
    const connections = [connectionId(data.ownerId, 'OwnerPets_relations')];
    const got = await run('AddPetMutation', {
      input: { associationId: data.associationId, firstRecordId: data.ownerId, secondRecordId: pet.id },
      connections,
    });
    assert.equal(got.createRelation.firstRecordId, data.ownerId);
    assert.equal(got.createRelation.secondRecord.id, pet.id);
    assert.equal(got.createRelation.secondRecord.displayName, 'Relay');
    const after = await run('OwnerPetsQuery', { id: data.ownerId, first: 10 });
    assert.equal(after.record.relations.totalCount, 6);
    assert.equal(after.record.relations.edges.at(-1).node.id, pet.id);
  });

  test('@deleteEdge on deleteRelation: the generated mutation deletes the relation', async () => {
    const before = await run('OwnerPetsQuery', { id: data.ownerId, first: 10 });
    const edge = before.record.relations.edges[0];
    const got = await run('RemovePetMutation', {
      id: edge.relation.id,
      connections: [connectionId(data.ownerId, 'OwnerPets_relations')],
    });
    assert.equal(got.deleteRelation.deletedId, edge.relation.id);
    const after = await run('OwnerPetsQuery', { id: data.ownerId, first: 10 });
    assert.equal(after.record.relations.totalCount, before.record.relations.totalCount - 1);
    assert.ok(!after.record.relations.edges.some((e) => e.relation.id === edge.relation.id));
  });
});
