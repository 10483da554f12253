-- Every table carries location_id, and every primary key, unique constraint and foreign key
-- includes it, so the schema distributes on location_id (Citus: 0003_*.citus.sql does it, once
-- the triggers below are gone).

create table locations (
    id          text primary key,
    name        text not null default '',
    created_at  timestamptz not null default now()
);

-- A token is `rlt.<base64url(location)>.<secret>`: the location is readable from the token
-- itself, so the lookup is by (location_id, token_hash) like every other row.
create table api_tokens (
    location_id  text not null references locations (id),
    token_hash   bytea not null,
    id           uuid not null default uuidv7(),
    role         text not null check (role in ('admin', 'user')),
    scopes       text[] not null,
    created_at   timestamptz not null default now(),
    revoked_at   timestamptz,
    primary key (location_id, token_hash),
    unique (location_id, id)
);

create table objects (
    location_id               text not null references locations (id),
    id                        uuid not null default uuidv7(),
    key                       text not null,
    is_standard               boolean not null default false,
    singular_label            text not null,
    plural_label              text not null,
    description               text,
    primary_display_property  text not null default 'name',
    created_at                timestamptz not null default now(),
    updated_at                timestamptz not null default now(),
    primary key (location_id, id),
    unique (location_id, key)
);

create table records (
    location_id   text not null,
    id            uuid not null default uuidv7(),
    object_key    text not null,
    properties    jsonb not null default '{}'::jsonb,
    display_name  text not null default '',
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (location_id, id),
    foreign key (location_id, object_key) references objects (location_id, key)
);
create index records_by_object on records (location_id, object_key, id);

create table associations (
    location_id            text not null,
    id                     uuid not null default uuidv7(),
    key                    text not null,
    association_type       text not null default 'USER_DEFINED'
                           check (association_type in ('USER_DEFINED', 'SYSTEM_DEFINED')),
    first_object_key       text not null,
    second_object_key      text not null,
    first_object_label     text not null,
    second_object_label    text,
    first_to_second_limit  integer not null check (first_to_second_limit between 1 and 1000),
    second_to_first_limit  integer not null check (second_to_first_limit between 1 and 1000),
    description            text,
    -- A single label between an object and itself reads the same both ways: (A,B) = (B,A).
    is_symmetric           boolean generated always as
                           (second_object_label is null and first_object_key = second_object_key) stored,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    primary key (location_id, id),
    unique (location_id, key),
    foreign key (location_id, first_object_key) references objects (location_id, key),
    foreign key (location_id, second_object_key) references objects (location_id, key)
);
create index associations_by_first_object on associations (location_id, first_object_key);
create index associations_by_second_object on associations (location_id, second_object_key);

create table relations (
    location_id       text not null,
    id                uuid not null default uuidv7(),
    association_id    uuid not null,
    first_record_id   uuid not null,
    second_record_id  uuid not null,
    created_at        timestamptz not null default now(),
    primary key (location_id, id),
    unique (location_id, association_id, first_record_id, second_record_id),
    -- NO ACTION: an association in use cannot disappear under a relation, whatever the race.
    foreign key (location_id, association_id) references associations (location_id, id),
    foreign key (location_id, first_record_id) references records (location_id, id) on delete cascade,
    foreign key (location_id, second_record_id) references records (location_id, id) on delete cascade,
    check (first_record_id <> second_record_id)
);
create index relations_by_first_record on relations (location_id, first_record_id, id);
create index relations_by_second_record on relations (location_id, second_record_id, id);
create index relations_by_association on relations (location_id, association_id, id);

-- How many links each record has through each association, per side (1 = as first record,
-- 2 = as second record, 0 = either side of a symmetric association). The row lock taken by the
-- upsert serialises racing inserts on the same record, so limits hold under any concurrency and
-- cost O(1) in the number of existing relations.
create table relation_counters (
    location_id     text not null,
    association_id  uuid not null,
    record_id       uuid not null,
    side            smallint not null check (side in (0, 1, 2)),
    n               integer not null,
    primary key (location_id, association_id, record_id, side),
    foreign key (location_id, association_id) references associations (location_id, id) on delete cascade,
    foreign key (location_id, record_id) references records (location_id, id) on delete cascade
);

create function relata_count_inserted_relations() returns trigger
language plpgsql as $$
declare
    over record;
begin
    with sides as (
        select n.location_id, n.association_id, n.first_record_id as record_id,
               case when a.is_symmetric then 0 else 1 end::smallint as side
        from inserted n
        join associations a on a.location_id = n.location_id and a.id = n.association_id
        union all
        select n.location_id, n.association_id, n.second_record_id,
               case when a.is_symmetric then 0 else 2 end::smallint
        from inserted n
        join associations a on a.location_id = n.location_id and a.id = n.association_id
    ), grouped as (
        select location_id, association_id, record_id, side, count(*)::int as c
        from sides group by 1, 2, 3, 4
    ), bumped as (
        insert into relation_counters as rc (location_id, association_id, record_id, side, n)
        select location_id, association_id, record_id, side, c
        from grouped order by 1, 2, 3, 4
        on conflict (location_id, association_id, record_id, side)
        do update set n = rc.n + excluded.n
        returning rc.location_id, rc.association_id, rc.record_id, rc.side, rc.n
    )
    select b.record_id, b.side, b.n, a.key,
           case when b.side = 2 then a.second_to_first_limit else a.first_to_second_limit end as lim,
           case when b.side = 2 then a.second_object_key else a.first_object_key end as object_key,
           case when b.side = 2 then coalesce(a.second_object_label, a.first_object_label)
                else a.first_object_label end as label
    into over
    from bumped b
    join associations a on a.location_id = b.location_id and a.id = b.association_id
    where b.n > case when b.side = 2 then a.second_to_first_limit else a.first_to_second_limit end
    limit 1;
    if found then
        raise exception using
            errcode = 'RL001',
            message = 'relation limit exceeded',
            detail = json_build_object(
                'associationKey', over.key, 'recordId', over.record_id, 'side', over.side,
                'limit', over.lim, 'objectKey', over.object_key, 'label', over.label)::text;
    end if;
    return null;
end
$$;

create function relata_count_deleted_relations() returns trigger
language plpgsql as $$
begin
    with sides as (
        select d.location_id, d.association_id, d.first_record_id as record_id,
               case when a.is_symmetric then 0 else 1 end::smallint as side
        from deleted d
        join associations a on a.location_id = d.location_id and a.id = d.association_id
        union all
        select d.location_id, d.association_id, d.second_record_id,
               case when a.is_symmetric then 0 else 2 end::smallint
        from deleted d
        join associations a on a.location_id = d.location_id and a.id = d.association_id
    ), grouped as (
        select location_id, association_id, record_id, side, count(*)::int as c
        from sides group by 1, 2, 3, 4
    )
    update relation_counters rc
    set n = rc.n - g.c
    from (select * from grouped order by 1, 2, 3, 4) g
    where rc.location_id = g.location_id and rc.association_id = g.association_id
      and rc.record_id = g.record_id and rc.side = g.side;
    return null;
end
$$;

create trigger relations_counted_on_insert
    after insert on relations
    referencing new table as inserted
    for each statement execute function relata_count_inserted_relations();

create trigger relations_counted_on_delete
    after delete on relations
    referencing old table as deleted
    for each statement execute function relata_count_deleted_relations();
