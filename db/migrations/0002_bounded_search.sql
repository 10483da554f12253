-- Search by display name is served by a trigram index scoped to one location and object, so
-- `records(query:)` costs the same whatever the other locations hold (ILIKE '%q%' otherwise
-- scans every record of the object). pg_trgm and btree_gin are trusted extensions: the database
-- owner may create them.
create extension if not exists pg_trgm;
create extension if not exists btree_gin;

-- Display names are bounded (app/validation.py MAX_DISPLAY_NAME); cut any stored before that.
update records set display_name = left(display_name, 500) where length(display_name) > 500;

create index records_display_name_trgm on records
    using gin (location_id, object_key, display_name gin_trgm_ops);
