// Shared by every client test: the server under test (RELATA_URL, RELATA_TOKEN from the pytest
// wrapper tests/test_graphql_clients.py), a plain-fetch GraphQL helper for setup, a recording
// fetch (what went over the wire), fresh seed data through GraphQL mutations, and the served
// introspection.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';

export const baseUrl = process.env.RELATA_URL;
export const token = process.env.RELATA_TOKEN;
assert.ok(baseUrl && token, 'set RELATA_URL and RELATA_TOKEN (tests/test_graphql_clients.py does)');
export const endpoint = `${baseUrl}/graphql`;
export const auth = { authorization: `Bearer ${token}` };

/** A fresh suffix per run (and per call), so reruns against one database never collide. */
export const unique = () => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** POST a GraphQL request; returns the parsed body (data and errors both). */
export async function post(query, variables = {}, headers = auth) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${res.status} non-JSON answer: ${text}`);
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST and return `data`, failing on any error (setup must not half-work). */
export async function gql(query, variables = {}) {
  const { status, body } = await post(query, variables);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, `${query}\n${JSON.stringify(body.errors, null, 2)}`);
  return body.data;
}

/** A fetch that records every exchange: method, URL, request body, status, headers, body text. */
export function recordingFetch(extraHeaders = auth) {
  const log = [];
  async function fetchFn(input, init = {}) {
    const headers = new Headers(init.headers ?? {});
    for (const [k, v] of Object.entries(extraHeaders)) headers.set(k, v);
    const method = init.method ?? 'GET';
    const url = typeof input === 'string' ? input : input.url ?? String(input);
    const res = await fetch(input, { ...init, headers });
    const text = await res.clone().text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    log.push({
      method,
      url,
      requestBody: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      status: res.status,
      headers: res.headers,
      text,
      json,
    });
    return res;
  }
  return { fetchFn, log };
}

/** The GraphQL parameters of a logged request, wherever they travelled (GET query string or body). */
export function paramsOf(entry) {
  if (entry.method === 'GET') {
    const p = new URL(entry.url).searchParams;
    const parse = (v) => (v ? JSON.parse(v) : undefined);
    return {
      query: p.get('query') ?? undefined,
      variables: parse(p.get('variables')),
      extensions: parse(p.get('extensions')),
    };
  }
  return entry.requestBody ?? {};
}

const RECORD = 'mutation($i: CreateRecordInput!) { createRecord(input: $i) { id displayName } }';

/**
 * Fresh data: two custom objects (owners, pets), an association owner→pet, one owner with
 * `pets` related pets (created in order, so relations come back in that order), plus `extra`
 * unrelated pets. Returns their ids and keys.
 */
export async function seed({ pets = 5, extra = 0 } = {}) {
  const s = unique();
  const ownerKey = `custom_objects.owner_${s}`;
  const petKey = `custom_objects.pet_${s}`;
  const mk = (key, singular, plural) =>
    gql('mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { id key } }', {
      i: { key, labels: { singular, plural } },
    });
  const ownerObject = (await mk(ownerKey, 'Owner', 'Owners')).createObjectSchema;
  await mk(petKey, 'Pet', 'Pets');
  const association = (
    await gql(
      'mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id key } }',
      {
        i: {
          key: `owner_pet_${s}`,
          firstObjectKey: ownerKey,
          secondObjectKey: petKey,
          firstObjectLabel: 'owner',
          secondObjectLabel: 'pet',
        },
      },
    )
  ).createAssociation;
  const owner = (await gql(RECORD, { i: { objectKey: ownerKey, properties: { name: 'Ann' } } }))
    .createRecord;
  const petIds = [];
  for (let n = 0; n < pets + extra; n++) {
    const pet = (
      await gql(RECORD, {
        i: { objectKey: petKey, properties: { name: `Pet ${String(n).padStart(2, '0')}`, n } },
      })
    ).createRecord;
    petIds.push(pet.id);
  }
  const relationIds = [];
  for (const petId of petIds.slice(0, pets)) {
    const rel = await gql(
      'mutation($i: CreateRelationInput!) { createRelation(input: $i) { id } }',
      { i: { associationId: association.id, firstRecordId: owner.id, secondRecordId: petId } },
    );
    relationIds.push(rel.createRelation.id);
  }
  return {
    suffix: s,
    ownerKey,
    petKey,
    ownerObjectId: ownerObject.id,
    associationId: association.id,
    associationKey: association.key,
    ownerId: owner.id,
    petIds,
    relationIds,
  };
}

/** A record id that existed and no longer does. */
export async function staleRecordId(objectKey) {
  const { id } = (await gql(RECORD, { i: { objectKey, properties: { name: 'Gone' } } }))
    .createRecord;
  await gql('mutation($id: ID!) { deleteRecord(id: $id) { deletedId } }', { id });
  return id;
}

/** The served introspection (`data` of the standard introspection query). */
export async function introspection() {
  return gql(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true }));
}

/** possibleTypes for Apollo's InMemoryCache, from the served introspection. */
export function possibleTypesOf(intro) {
  const out = {};
  for (const t of intro.__schema.types) {
    if ((t.kind === 'INTERFACE' || t.kind === 'UNION') && !t.name.startsWith('__')) {
      out[t.name] = (t.possibleTypes ?? []).map((p) => p.name);
    }
  }
  return out;
}

/** The `extensions.code` of every GraphQL error in a list. */
export const codes = (errors) => (errors ?? []).map((e) => e.extensions?.code);
