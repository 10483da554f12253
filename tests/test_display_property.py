"""Changing a custom object's display property (`PUT /objects/{key}`, HighLevel's update):
every record's display name follows, searches find the new names, and record writes racing the
change never keep a name from the old property."""

from __future__ import annotations

import asyncio
from typing import Any

from app.validation import display_text
from tests.rest_support import admin, expect_error

NAMES = '{ records(objectKey: "pet", first: 500) { edges { node { displayName properties } } } }'


async def names(tenant: Any) -> list[tuple[str, dict[str, Any]]]:
    data = await tenant.admin.ok(NAMES)
    return [(e["node"]["displayName"], e["node"]["properties"]) for e in data["records"]["edges"]]


async def test_display_names_follow_a_new_display_property(tenant):
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    for props in (
        {"name": "Rex", "tag": "A-1"},
        {"name": "Tom", "tag": 42},
        {"name": "Kit", "tag": 1.5e20},
        {"name": "Bo", "tag": True},
        {"name": "Nib", "tag": {"nested": 1}},
        {"name": "Zed"},
    ):
        await tenant.admin.create_record("pet", **props)
    assert sorted(n for n, _ in await names(tenant)) == ["Bo", "Kit", "Nib", "Rex", "Tom", "Zed"]
    r = await api.put("/objects/pet", {"primaryDisplayProperty": "custom_objects.pet.tag"})
    assert r.status_code == 200, r.text
    assert r.json()["object"]["primaryDisplayProperty"] == "tag"
    shown = {props["name"]: name for name, props in await names(tenant)}
    assert shown == {
        "Rex": "A-1",
        "Tom": "42",
        "Kit": "150000000000000000000",
        "Bo": "true",
        "Nib": "",
        "Zed": "",
    }
    # New and updated records follow the same rule as the recomputed ones.
    rid = await tenant.admin.create_record("pet", name="New", tag=1.5e20)
    data = await tenant.admin.ok(f'{{ record(id: "{rid}") {{ displayName }} }}')
    assert data["record"]["displayName"] == "150000000000000000000"
    found = await api.post("/objects/pet/records/search", {"query": "a-1"})
    assert [x["displayName"] for x in found.json()["records"]] == ["A-1"]
    expect_error(await api.put("/objects/pet", {"primaryDisplayProperty": ""}), 400)
    expect_error(await api.put("/objects/contact", {"primaryDisplayProperty": "email"}), 403)


async def test_record_writes_racing_a_display_property_change(tenant):
    """Creates and updates race a flip of the display property back and forth: afterwards
    every record's display name is the one the final property gives."""
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    seed = [await tenant.admin.create_record("pet", name=f"n{i}", tag=f"t{i}") for i in range(10)]
    update = "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }"

    async def writer(w: int) -> None:
        for i in range(15):
            await tenant.admin.create_record("pet", name=f"w{w}-{i}", tag=f"x{w}-{i}")
            await tenant.admin.ok(
                update, {"i": {"id": seed[(w + i) % len(seed)], "properties": {"tag": f"u{w}{i}"}}}
            )

    async def flipper() -> None:
        for i in range(8):
            prop = "tag" if i % 2 == 0 else "name"
            r = await api.put("/objects/pet", {"primaryDisplayProperty": prop})
            assert r.status_code == 200, r.text
            await asyncio.sleep(0.01)

    await asyncio.gather(flipper(), *(writer(w) for w in range(4)))
    final = (await api.get("/objects/pet")).json()["object"]["primaryDisplayProperty"]
    assert final == "name"
    rows = await names(tenant)
    assert len(rows) == 10 + 4 * 15
    wrong = [(n, p) for n, p in rows if n != display_text(p.get(final))]
    assert not wrong, wrong
