from __future__ import annotations

from db.database import Database, Executor

# The standard objects, as one multi-row VALUES (a router statement on Citus).
_STANDARD_OBJECTS_SQL = """
insert into objects (location_id, key, is_standard, singular_label, plural_label,
                     primary_display_property)
values ($1, 'contact', true, 'Contact', 'Contacts', 'name'),
       ($1, 'company', true, 'Company', 'Companies', 'name'),
       ($1, 'opportunity', true, 'Opportunity', 'Opportunities', 'name')
on conflict (location_id, key) do nothing
"""

_SYSTEM_ASSOCIATION_SQL = """
insert into associations (location_id, key, association_type, first_object_key,
                          second_object_key, first_object_label, second_object_label,
                          first_to_second_limit, second_to_first_limit, description)
values ($1, 'contact_company', 'SYSTEM_DEFINED', 'contact', 'company', 'Contact', 'Company',
        1, 1000, 'A contact''s company')
on conflict (location_id, key) do nothing
"""


async def ensure_location(conn: Executor, location_id: str, name: str = "") -> bool:
    """Create the location with its standard objects and system association; True if new."""
    status = await conn.execute(
        "insert into locations (id, name) values ($1, $2) on conflict (id) do nothing",
        location_id,
        name,
    )
    await conn.execute(_STANDARD_OBJECTS_SQL, location_id)
    await conn.execute(_SYSTEM_ASSOCIATION_SQL, location_id)
    return status.endswith(" 1")


async def lock_location(conn: Executor, location_id: str) -> None:
    """Serialise the location's schema changes (objects and associations), so per-location
    caps hold: a row lock, which holds across a Citus cluster (locations is distributed by id,
    so this is a router statement)."""
    await conn.execute("select 1 from locations where id = $1 for no key update", location_id)


async def location_name(conn: Executor, location_id: str) -> str | None:
    value = await conn.fetchval("select name from locations where id = $1", location_id)
    return None if value is None else str(value)


async def any_location(db: Database) -> bool:
    """Whether the database holds any location: the CLI's first-start check, the one statement
    that looks across locations (never on an API path). On Citus it runs on every shard, which
    the cluster's guard against multi-shard statements is told to allow here."""
    async with db.transaction() as conn:
        await conn.execute("set local citus.multi_task_query_log_level = off")
        return bool(await conn.fetchval("select exists (select 1 from locations)"))
