-- Both tables live with the rest of their location's rows.
select create_distributed_table('event_positions', 'location_id', colocate_with => 'locations');
select create_distributed_table('events', 'location_id', colocate_with => 'locations');
