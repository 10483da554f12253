// Apollo Client 4 against relata serve: a normalized cache with relayStylePagination on
// Query.records and Record.relations (possibleTypes from the served introspection), fetchMore
// forwards and backwards, errorPolicy 'all' around a stale id, automatic persisted queries over
// POST and GET, and a bad token.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { filter, firstValueFrom, timeout } from 'rxjs';
import {
  ApolloClient,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  ServerError,
  gql,
} from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { relayStylePagination } from '@apollo/client/utilities';
import {
  codes,
  endpoint,
  introspection,
  paramsOf,
  possibleTypesOf,
  recordingFetch,
  seed,
  staleRecordId,
  unique,
} from './support.mjs';

let data; // seed()
let possibleTypes;

/** The cache setup the README's "Clients" section shows. */
function makeCache() {
  return new InMemoryCache({
    possibleTypes,
    typePolicies: {
      Query: { fields: { records: relayStylePagination(['objectKey', 'query', 'relatedTo']) } },
      // On the interface: every Record type (Contact, Company, ...) inherits it via possibleTypes.
      Record: {
        fields: { relations: relayStylePagination(['associationId', 'associationKey', 'objectKey']) },
      },
    },
  });
}

function makeClient({ headers, link } = {}) {
  const recorded = recordingFetch(headers);
  const http = new HttpLink({ uri: endpoint, fetch: recorded.fetchFn });
  const client = new ApolloClient({ cache: makeCache(), link: link ? link.concat(http) : http });
  return { client, log: recorded.log };
}

/** Subscribe, wait for the first settled result, return the ObservableQuery and the result. */
async function watch(client, options) {
  const observable = client.watchQuery({ ...options, notifyOnNetworkStatusChange: false });
  const sub = observable.subscribe(() => {});
  const result = await firstValueFrom(observable.pipe(filter((r) => !r.loading)));
  return { observable, result, stop: () => sub.unsubscribe() };
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

before(async () => {
  possibleTypes = possibleTypesOf(await introspection());
  data = await seed({ pets: 5 });
});

describe('Apollo Client 4', () => {
  test('possibleTypes derived from the served introspection cover Record and Node', () => {
    for (const t of ['Contact', 'Company', 'Opportunity', 'CustomObjectRecord']) {
      assert.ok(possibleTypes.Record.includes(t), `Record ⊇ ${t}`);
      assert.ok(possibleTypes.Node.includes(t), `Node ⊇ ${t}`);
    }
    for (const t of ['ObjectSchema', 'Association', 'Relation']) {
      assert.ok(possibleTypes.Node.includes(t), `Node ⊇ ${t}`);
    }
  });

  test('fetchMore on nested Record.relations merges the second page into the cached list', async () => {
    const { client } = makeClient();
    const query = gql`
      query OwnerPets($id: ID!, $first: Int!, $after: String) {
        record(id: $id) {
          id
          displayName
          relations(first: $first, after: $after) {
            totalCount
            edges { cursor label node { id displayName } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          }
        }
      }
    `;
    const variables = { id: data.ownerId, first: 2 };
    const { observable, result, stop } = await watch(client, { query, variables });
    try {
      const page1 = result.data.record.relations;
      assert.equal(page1.totalCount, 5);
      assert.deepEqual(page1.edges.map((e) => e.node.id), data.petIds.slice(0, 2));
      assert.ok(page1.edges.every((e) => e.label === 'pet'));
      assert.equal(page1.pageInfo.hasNextPage, true);
      await observable.fetchMore({ variables: { after: page1.pageInfo.endCursor } });
      const merged = client.readQuery({ query, variables }).record.relations;
      assert.deepEqual(merged.edges.map((e) => e.node.id), data.petIds.slice(0, 4));
      assert.equal(merged.pageInfo.hasNextPage, true);
      // The watching query sees the merged list too (what a component would render).
      const seen = await firstValueFrom(
        observable.pipe(
          filter((r) => r.data?.record?.relations?.edges?.length === 4),
          timeout({ first: 5000 }),
        ),
      );
      assert.deepEqual(seen.data.record.relations.edges.map((e) => e.node.id), data.petIds.slice(0, 4));
      // The related records are normalized entities of their concrete type.
      const cached = client.cache.extract();
      assert.ok(cached[`CustomObjectRecord:${data.petIds[3]}`], 'pet normalized by __typename:id');
    } finally {
      stop();
    }
  });

  test('fetchMore on Query.records merges forward pages', async () => {
    const { client } = makeClient();
    const query = gql`
      query Pets($objectKey: String!, $first: Int!, $after: String) {
        records(objectKey: $objectKey, first: $first, after: $after) {
          totalCount
          edges { cursor node { id displayName } }
          pageInfo { hasNextPage endCursor }
        }
      }
    `;
    const variables = { objectKey: data.petKey, first: 3 };
    const { observable, result, stop } = await watch(client, { query, variables });
    try {
      assert.equal(result.data.records.edges.length, 3);
      await observable.fetchMore({ variables: { after: result.data.records.pageInfo.endCursor } });
      const merged = client.readQuery({ query, variables }).records;
      assert.deepEqual(new Set(merged.edges.map((e) => e.node.id)), new Set(data.petIds));
      assert.equal(merged.edges.length, 5);
      assert.equal(merged.pageInfo.hasNextPage, false);
    } finally {
      stop();
    }
  });

  test("errorPolicy 'all': a stale record(id:) is null with NOT_FOUND, its sibling keeps its data", async () => {
    const { client } = makeClient();
    const stale = await staleRecordId(data.petKey);
    const result = await client.query({
      query: gql`
        query Siblings($good: ID!, $stale: ID!) {
          good: record(id: $good) { id displayName }
          stale: record(id: $stale) { id displayName }
        }
      `,
      variables: { good: data.ownerId, stale },
      errorPolicy: 'all',
      fetchPolicy: 'network-only',
    });
    assert.ok(CombinedGraphQLErrors.is(result.error), `a GraphQL error, got ${result.error}`);
    assert.deepEqual(codes(result.error.errors), ['NOT_FOUND']);
    assert.deepEqual(result.error.errors[0].path, ['stale']);
    assert.ok(result.data, 'data is kept next to the error');
    assert.equal(result.data.stale, null);
    assert.equal(result.data.good?.id, data.ownerId);
    assert.equal(result.data.good.displayName, 'Ann');
  });

  for (const useGETForHashedQueries of [false, true]) {
    const how = useGETForHashedQueries ? 'GET (useGETForHashedQueries)' : 'POST';
    test(`persisted queries over ${how}: PersistedQueryNotFound, retry with the query, then hash-only`, async () => {
      const apq = new PersistedQueryLink({ sha256, useGETForHashedQueries });
      const { client, log } = makeClient({ link: apq });
      // A unique operation per run: the server's APQ store must not know it yet.
      const name = `Apq_${unique()}_${useGETForHashedQueries ? 'get' : 'post'}`;
      const query = gql(`query ${name}($id: ID!) { record(id: $id) { id displayName } }`);
      const variables = { id: data.ownerId };

      const first = await client.query({ query, variables, fetchPolicy: 'network-only' });
      assert.equal(first.data.record.displayName, 'Ann');
      assert.equal(log.length, 2, `hash-only then the retry; got ${log.map((e) => e.method)}`);
      const [miss, register] = log;
      const missParams = paramsOf(miss);
      const sentQuery = paramsOf(register).query;
      assert.match(sentQuery ?? '', new RegExp(`query ${name}`), 'the retry carries the query');
      // The hash is of the query text Apollo sends (its cache adds __typename to the document).
      const hash = sha256(sentQuery);
      assert.equal(miss.method, useGETForHashedQueries ? 'GET' : 'POST');
      assert.equal(missParams.query, undefined, 'the first request carries only the hash');
      assert.deepEqual(missParams.extensions?.persistedQuery, { version: 1, sha256Hash: hash });
      const missError = miss.json?.errors?.[0];
      assert.ok(
        missError?.message === 'PersistedQueryNotFound' ||
          missError?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND',
        `PersistedQueryNotFound expected, got ${miss.status} ${miss.text}`,
      );
      assert.equal(register.method, 'POST', 'Apollo retries with the full query over POST');
      assert.deepEqual(paramsOf(register).extensions?.persistedQuery, { version: 1, sha256Hash: hash });
      assert.equal(register.status, 200);

      const second = await client.query({ query, variables, fetchPolicy: 'network-only' });
      assert.equal(second.data.record.displayName, 'Ann');
      assert.equal(log.length, 3, 'the second identical query is one request');
      const hit = log[2];
      assert.equal(hit.method, useGETForHashedQueries ? 'GET' : 'POST');
      assert.equal(paramsOf(hit).query, undefined, 'hash-only');
      assert.equal(hit.status, 200, hit.text);
      assert.equal(hit.json.errors, undefined, hit.text);
      assert.equal(hit.json.data.record.id, data.ownerId);
    });
  }

  test('a bad token: 401, errors[0].extensions.code UNAUTHENTICATED, surfaced by Apollo', async () => {
    const { client, log } = makeClient({ headers: { authorization: 'Bearer rlt.bad.token' } });
    let caught;
    try {
      await client.query({ query: gql`query Me { viewer { role } }`, fetchPolicy: 'network-only' });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught, 'Apollo rejects the query');
    assert.equal(log.length, 1);
    assert.equal(log[0].status, 401);
    assert.equal(log[0].json?.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', log[0].text);
    // application/json: a ServerError carrying the status and body; with
    // application/graphql-response+json Apollo reads the body as GraphQL errors instead.
    if (ServerError.is(caught)) {
      assert.equal(caught.statusCode, 401);
      assert.equal(JSON.parse(caught.bodyText).errors[0].extensions.code, 'UNAUTHENTICATED');
    } else {
      assert.ok(CombinedGraphQLErrors.is(caught), `ServerError or GraphQL errors, got ${caught}`);
      assert.deepEqual(codes(caught.errors), ['UNAUTHENTICATED']);
    }
  });

  test('backward pagination on Query.records: last/before through fetchMore (loadPrevious)', async () => {
    const forward = makeClient().client;
    const all = (
      await forward.query({
        query: gql`query All($k: String!) { records(objectKey: $k, first: 50) { edges { node { id } } } }`,
        variables: { k: data.petKey },
      })
    ).data.records.edges.map((e) => e.node.id);
    assert.equal(all.length, 5);

    const { client } = makeClient();
    const query = gql`
      query PetsBackward($objectKey: String!, $last: Int!, $before: String) {
        records(objectKey: $objectKey, last: $last, before: $before) {
          edges { cursor node { id } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        }
      }
    `;
    const variables = { objectKey: data.petKey, last: 2 };
    const { observable, result, stop } = await watch(client, { query, variables });
    try {
      assert.equal(result.error, undefined, String(result.error));
      const page = result.data.records;
      assert.deepEqual(page.edges.map((e) => e.node.id), all.slice(3));
      assert.equal(page.pageInfo.hasPreviousPage, true);
      await observable.fetchMore({ variables: { before: page.pageInfo.startCursor } });
      const merged = client.readQuery({ query, variables }).records;
      assert.deepEqual(merged.edges.map((e) => e.node.id), all.slice(1));
      assert.equal(merged.pageInfo.hasPreviousPage, true);
      await observable.fetchMore({ variables: { before: merged.pageInfo.startCursor } });
      const full = client.readQuery({ query, variables }).records;
      assert.deepEqual(full.edges.map((e) => e.node.id), all);
      assert.equal(full.pageInfo.hasPreviousPage, false);
    } finally {
      stop();
    }
  });

  test('backward pagination on nested Record.relations: last/before through fetchMore', async () => {
    const { client } = makeClient();
    const query = gql`
      query OwnerPetsBackward($id: ID!, $last: Int!, $before: String) {
        record(id: $id) {
          id
          relations(last: $last, before: $before) {
            edges { cursor node { id } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          }
        }
      }
    `;
    const variables = { id: data.ownerId, last: 3 };
    const { observable, result, stop } = await watch(client, { query, variables });
    try {
      assert.equal(result.error, undefined, String(result.error));
      const page = result.data.record.relations;
      assert.deepEqual(page.edges.map((e) => e.node.id), data.petIds.slice(2));
      assert.equal(page.pageInfo.hasPreviousPage, true);
      await observable.fetchMore({ variables: { before: page.pageInfo.startCursor } });
      const merged = client.readQuery({ query, variables }).record.relations;
      assert.deepEqual(merged.edges.map((e) => e.node.id), data.petIds);
      assert.equal(merged.pageInfo.hasPreviousPage, false);
    } finally {
      stop();
    }
  });
});
