async def test_viewer_and_objects(tenant):
    data = await tenant.admin.ok("{ viewer { location { id } role scopes } objectSchemas { key } }")
    assert data["viewer"]["location"]["id"] == tenant.location
    assert data["viewer"]["role"] == "ADMIN"
    assert {o["key"] for o in data["objectSchemas"]} == {"contact", "company", "opportunity"}
