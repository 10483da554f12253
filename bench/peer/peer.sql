-- What PostGraphile needs to answer Relata's traversal with the same result: both ends of each
-- relation, ordered by relation id, with the related record's role label. A plain view over the
-- same tables (predicates and LIMIT push down into both UNION ALL branches and their indexes);
-- smart tags give it a key and the foreign keys PostGraphile turns into nested connections.
create schema if not exists peer;
create or replace view peer.relation_ends as
    select r.location_id, r.first_record_id as record_id, r.id as rel_id,
           r.second_record_id as other_id, r.association_id,
           coalesce(a.second_object_label, a.first_object_label) as label
    from public.relations r
    join public.associations a on a.location_id = r.location_id and a.id = r.association_id
    union all
    select r.location_id, r.second_record_id, r.id, r.first_record_id, r.association_id,
           a.first_object_label
    from public.relations r
    join public.associations a on a.location_id = r.location_id and a.id = r.association_id;
comment on view peer.relation_ends is E'@primaryKey location_id,record_id,rel_id\n@foreignKey (location_id, record_id) references public.records (location_id, id)|@fieldName record|@foreignFieldName relationEnds\n@foreignKey (location_id, other_id) references public.records (location_id, id)|@fieldName otherRecord|@foreignFieldName otherEnds';
