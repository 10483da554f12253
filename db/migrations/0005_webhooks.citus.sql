-- Webhooks and their deliveries live with the rest of their location's rows. The directory of
-- locations with webhooks is a reference table: the worker reads it on any node with one
-- statement, and it changes only when a location gets its first webhook or loses its last.
select create_distributed_table('webhooks', 'location_id', colocate_with => 'locations');
select create_distributed_table('webhook_deliveries', 'location_id', colocate_with => 'locations');
select create_reference_table('webhook_locations');
