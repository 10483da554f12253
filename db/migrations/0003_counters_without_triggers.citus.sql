-- On a Citus coordinator: distribute the schema of 0001 and 0002, now that no trigger is left.
-- `locations` is distributed by its id and every tenant table by location_id, all in one
-- colocation group: a location's rows live on one shard group, every foreign key (each includes
-- location_id) stays within it, and every statement that filters on the location is a
-- single-shard router statement. (A reference table for `locations` would copy every new
-- location to all nodes and turn the tables referencing it into local tables.)
-- Foreign-key order: a table is distributed after the tables it references.
select create_distributed_table('locations', 'id');
select create_distributed_table('api_tokens', 'location_id', colocate_with => 'locations');
select create_distributed_table('objects', 'location_id', colocate_with => 'locations');
select create_distributed_table('records', 'location_id', colocate_with => 'locations');
select create_distributed_table('associations', 'location_id', colocate_with => 'locations');
select create_distributed_table('relations', 'location_id', colocate_with => 'locations');
select create_distributed_table('relation_counters', 'location_id', colocate_with => 'locations');
