-- The change log: every write appends its events in its own transaction. A location's events are
-- numbered 1, 2, 3, ... by `event_positions`, whose row the writer updates last, just before
-- commit: the row lock orders a location's committing writers, so positions become visible in
-- order and a reader that resumes after position N never misses a later-committed N-1.
create table event_positions (
    location_id  text primary key references locations (id),
    last         bigint not null
);

create table events (
    location_id          text not null references locations (id),
    position             bigint not null,
    id                   uuid not null default uuidv7(),
    type                 text not null,
    occurred_at          timestamptz not null default now(),
    actor_token_id       uuid,
    object_key           text,
    record_id            uuid,
    association_id       uuid,
    association_key      text,
    relation_id          uuid,
    first_record_id      uuid,
    second_record_id     uuid,
    first_object_key     text,
    second_object_key    text,
    first_object_label   text,
    second_object_label  text,
    data                 jsonb not null default '{}'::jsonb,
    primary key (location_id, position),
    unique (location_id, id)
);
-- A record's history: its own events and those of relations on either side.
create index events_by_record on events (location_id, record_id, position)
    where record_id is not null;
create index events_by_first_record on events (location_id, first_record_id, position)
    where first_record_id is not null;
create index events_by_second_record on events (location_id, second_record_id, position)
    where second_record_id is not null;
-- Pruning by age: events arrive in time order, so a BRIN index (a few pages, next to nothing to
-- maintain per insert) narrows the sweep to the old blocks.
create index events_by_time on events using brin (occurred_at);
