// graphql-ws (the graphql-transport-ws client Apollo's GraphQLWsLink, urql and Relay use) against
// a real relata serve: subscribe, write over HTTP, receive, disconnect, write more, resume with
// `after` (exactly the missed events, then live ones), typed errors, a refused token.
// RELATA_URL and RELATA_TOKEN (an admin of a fresh location) come from tests/test_subscriptions_clients.py.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const URL_ = process.env.RELATA_URL;
const TOKEN = process.env.RELATA_TOKEN;
const WS_URL = URL_.replace(/^http/, "ws") + "/graphql";
const EVENTS = `subscription($after: String) {
  events(after: $after) { id position type recordId data }
}`;

function client(connectionParams = { Authorization: `Bearer ${TOKEN}` }) {
  return createClient({ url: WS_URL, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

async function gql(query, variables = {}) {
  const r = await fetch(URL_ + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

const contact = async (name) =>
  (await gql(`mutation($p: JSON!) { createRecord(input: {objectKey: "contact", properties: $p}) { id } }`,
    { p: { firstName: name } })).createRecord.id;
const update = (id, lastName) =>
  gql(`mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }`, { i: { id, properties: { lastName } } });

async function take(iterator, n, ms = 20000) {
  const out = [];
  const timer = setTimeout(() => iterator.return?.(), ms);
  try {
    while (out.length < n) {
      const { value, done } = await iterator.next();
      if (done) break;
      out.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  assert.equal(out.length, n, `expected ${n} results, got ${JSON.stringify(out)}`);
  return out;
}

const positions = (results) => results.map((r) => Number(r.data.events.position));

test("graphql-ws: subscribe, receive, disconnect, resume with after: exactly the missed events, then live", async () => {
  let c = client();
  let it = c.iterate({ query: EVENTS, variables: { after: "0" } });
  const first = take(it, 2);
  await new Promise((r) => setTimeout(r, 300));
  const a = await contact("Ada");
  const b = await contact("Bo");
  const got = await first;
  assert.deepEqual(positions(got), [1, 2]);
  assert.deepEqual(got.map((r) => r.data.events.recordId), [a, b]);
  await it.return();
  await c.dispose();

  await update(a, "Lovelace");
  await update(b, "Diddley");
  const cy = await contact("Cy");

  c = client();
  it = c.iterate({ query: EVENTS, variables: { after: "2" } });
  const missed = await take(it, 3);
  assert.deepEqual(positions(missed), [3, 4, 5]);
  assert.deepEqual(missed.map((r) => r.data.events.type), ["RECORD_UPDATE", "RECORD_UPDATE", "RECORD_CREATE"]);
  const live = take(it, 1);
  await update(cy, "Young");
  assert.deepEqual(positions(await live), [6]);
  await it.return();
  await c.dispose();
});

test("graphql-ws: a refused subscription rejects with the typed errors", async () => {
  const c = client();
  const it = c.iterate({ query: EVENTS, variables: { after: "not-a-position" } });
  await assert.rejects(it.next(), (errors) => {
    assert.ok(Array.isArray(errors), String(errors));
    assert.equal(errors[0].extensions.code, "BAD_USER_INPUT");
    assert.equal(errors[0].extensions.field, "after");
    return true;
  });
  await c.dispose();
});

test("graphql-ws: an unknown token closes the connection with 4403 and a reason", async () => {
  const c = client({ Authorization: "Bearer rlt.bm9wZQ." + "x".repeat(43) });
  const it = c.iterate({ query: EVENTS });
  await assert.rejects(it.next(), (event) => {
    assert.equal(event.code, 4403);
    assert.match(event.reason, /^UNAUTHENTICATED: /);
    return true;
  });
  await c.dispose();
});
