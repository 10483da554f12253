// urql (@urql/core) against relata serve: queries over GET (preferGetMethod), a mutation over
// POST, and compressed (gzip) responses read transparently.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Client, fetchExchange, gql } from '@urql/core';
import { endpoint, paramsOf, recordingFetch, seed } from './support.mjs';

let data;
let client;
let log;

before(async () => {
  data = await seed({ pets: 3, extra: 9 });
  const recorded = recordingFetch();
  log = recorded.log;
  client = new Client({
    url: endpoint,
    exchanges: [fetchExchange],
    preferGetMethod: true,
    fetch: recorded.fetchFn,
    requestPolicy: 'network-only',
  });
});

const PETS = gql`
  query UrqlPets($objectKey: String!) {
    records(objectKey: $objectKey, first: 50) {
      totalCount
      edges { cursor node { __typename id objectKey displayName properties createdAt updatedAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

describe('urql (@urql/core)', () => {
  test('a query goes over GET (preferGetMethod: true) and is answered', async () => {
    const before = log.length;
    const result = await client.query(PETS, { objectKey: data.petKey }).toPromise();
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.data.records.totalCount, 12);
    assert.equal(result.data.records.edges.length, 12);
    const sent = log.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].method, 'GET');
    assert.match(paramsOf(sent[0]).query, /query UrqlPets/);
    assert.deepEqual(paramsOf(sent[0]).variables, { objectKey: data.petKey });
  });

  test('a mutation goes over POST and is answered', async () => {
    const before = log.length;
    const result = await client
      .mutation(
        gql`
          mutation UrqlCreatePet($i: CreateRecordInput!) {
            createRecord(input: $i) { __typename id displayName properties }
          }
        `,
        { i: { objectKey: data.petKey, properties: { name: 'Urql' } } },
      )
      .toPromise();
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.data.createRecord.displayName, 'Urql');
    assert.deepEqual(result.data.createRecord.properties, { name: 'Urql' });
    const sent = log.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].method, 'POST');
    assert.match(sent[0].requestBody.query, /mutation UrqlCreatePet/);
  });

  test('a GET query with a nested relations page', async () => {
    const result = await client
      .query(
        gql`
          query UrqlOwner($id: ID!) {
            record(id: $id) { id displayName relations(first: 2) { totalCount edges { label node { id } } } }
          }
        `,
        { id: data.ownerId },
      )
      .toPromise();
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.data.record.relations.totalCount, 3);
    assert.deepEqual(
      result.data.record.relations.edges.map((e) => e.node.id),
      data.petIds.slice(0, 2),
    );
    assert.equal(log.at(-1).method, 'GET');
  });

  test('a large answer comes compressed (Content-Encoding: gzip) and urql reads it', async () => {
    const before = log.length;
    const result = await client.query(PETS, { objectKey: data.petKey }).toPromise();
    assert.equal(result.error, undefined, String(result.error));
    assert.ok(result.data.records.edges.length >= 12);
    const [sent] = log.slice(before);
    assert.ok(sent.text.length > 1000, `a large answer (${sent.text.length} bytes)`);
    assert.match(
      sent.headers.get('content-encoding') ?? '(none)',
      /gzip|br|deflate/,
      'the server compresses a large answer when the client accepts it',
    );
  });
});
