"""Tenant walls: location B tries every query and mutation with location A's ids and keys.
Every attempt is NOT_FOUND (the answer for an id that never existed), nothing of A's is in any
response, and A's rows are byte-for-byte the same afterwards."""

from __future__ import annotations

import json

from tests.wall_support import ADMIN_ONLY, Q, attempts, populate, snapshot


async def test_location_b_cannot_touch_location_a(db, tenant, other_tenant):
    a = await populate(tenant.admin, "wa")
    b = await populate(other_tenant.admin, "wb")
    before_a = await snapshot(db, tenant.location)
    before_b = await snapshot(db, other_tenant.location)
    tried = await attempts(a, b)
    assert len(tried) > 60
    for caller, admin in ((other_tenant.admin, True), (other_tenant.user, False)):
        for label, query, variables in tried:
            r = await caller.gql(query, variables)
            assert r.body.get("errors"), (label, r.body)
            # A plain user is stopped even earlier on admin-only mutations, which says nothing.
            expected = {"NOT_FOUND"} if admin or not label.startswith(ADMIN_ONLY) else {"FORBIDDEN"}
            assert r.code in expected, (label, r.body)
            # Nothing answered: no data at all (a mutation, non-null) or a null root field
            # (a lookup, nullable so one stale id does not null the rest of a query).
            data = r.body["data"]
            assert data is None or set(data.values()) == {None}, (label, r.body)
            if data is not None:
                assert r.error["path"] == list(data), (label, r.body)
            text = json.dumps(r.body)
            for secret in a.secrets:
                assert secret not in text, (label, text)
    assert await snapshot(db, tenant.location) == before_a
    # All or nothing: B's own rows in the mixed batches were left alone too.
    assert await snapshot(db, other_tenant.location) == before_b


async def test_filters_with_foreign_ids_return_nothing_of_a(tenant, other_tenant):
    """Filters (not lookups) given A's association id just match nothing in B."""
    a = await populate(tenant.admin, "fa")
    b = await populate(other_tenant.admin, "fb")
    api = other_tenant.user
    for aid in a.associations.values():
        data = await api.ok(Q["recordRelations"], {"id": b.records["c1"], "a": aid})
        assert data["record"]["relations"]["edges"] == []
        assert data["record"]["relations"]["totalCount"] == 0
        data = await api.ok(Q["recordsRelatedTo"], {"k": "contact", "r": b.records["c1"], "a": aid})
        assert data["records"]["edges"] == [] and data["records"]["totalCount"] == 0
    listing = json.dumps(
        [
            await api.ok(Q["objectSchemas"]),
            await api.ok(Q["associations"], {"k": None}),
            await api.ok(Q["records"], {"k": "contact", "q": "secret"}),
            await api.ok(Q["recordRelations"], {"id": b.records["c1"], "a": None}),
        ]
    )
    for secret in a.secrets:
        assert secret not in listing
    assert all(i not in listing for i in a.all_ids)
