// The graphql-http audit suite (the GraphQL-over-HTTP spec's conformance checks) against relata
// serve, authenticated through fetchFn. Every audit must come back `ok`: one test per audit (named
// by the audit) and a summary test that lists every failing one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditServer } from 'graphql-http';
import { auth, endpoint } from './support.mjs';

async function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers ?? {});
  headers.set('authorization', auth.authorization);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url: endpoint, fetchFn });

const explain = (r) =>
  `${r.status.toUpperCase()} ${r.name}: ${r.reason}` +
  (r.response ? ` [${r.response.status} ${r.response.headers?.get?.('content-type') ?? ''}]` : '');

describe('graphql-http audit (GraphQL over HTTP)', () => {
  test('every MUST and SHOULD audit is ok', () => {
    assert.ok(results.length > 20, `the audit ran (${results.length} results)`);
    const failing = results.filter((r) => r.status !== 'ok');
    assert.equal(
      failing.length,
      0,
      `${failing.length} of ${results.length} audits not ok:\n${failing.map(explain).join('\n')}`,
    );
  });

  for (const r of results) {
    test(r.name, () => {
      assert.equal(r.status, 'ok', explain(r));
    });
  }
});
