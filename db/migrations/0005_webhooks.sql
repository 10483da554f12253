-- Webhooks: a location's endpoints, and one delivery row per (webhook, event) it must receive.
-- The delivery worker turns each webhook's new events (after `scanned_position`) into pending
-- deliveries, then claims due ones with row locks (FOR UPDATE SKIP LOCKED) and a lease
-- (`claimed_until`): a delivery claimed by a worker that died is claimed again after the lease.
create table webhooks (
    location_id       text not null references locations (id),
    id                uuid not null default uuidv7(),
    url               text not null,
    event_types       text[] not null,
    object_key        text,
    -- The signing key (`whsec_` + base64): needed in clear to sign; shown once at creation.
    secret            text not null,
    active            boolean not null default true,
    -- The last event position turned into deliveries (events after it are still to scan).
    scanned_position  bigint not null default 0,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    primary key (location_id, id)
);

create table webhook_deliveries (
    location_id       text not null,
    webhook_id        uuid not null,
    event_position    bigint not null,
    event_id          uuid not null,
    event_type        text not null,
    -- What the event touches (records, or the association / object): deliveries sharing a key
    -- go out in event order, one at a time.
    ordering_keys     uuid[] not null,
    status            text not null default 'pending'
                      check (status in ('pending', 'delivered', 'dead')),
    attempts          integer not null default 0,
    next_attempt_at   timestamptz not null default now(),
    claimed_until     timestamptz,
    claim             uuid,
    last_status_code  integer,
    last_error        text,
    last_attempt_at   timestamptz,
    created_at        timestamptz not null default now(),
    primary key (location_id, webhook_id, event_position),
    unique (location_id, webhook_id, event_id),
    foreign key (location_id, webhook_id) references webhooks (location_id, id) on delete cascade
);
-- The worker's claim: a location's pending deliveries, oldest first per webhook.
create index webhook_deliveries_pending on webhook_deliveries (location_id, webhook_id, event_position)
    where status = 'pending';

-- The locations that have webhooks: the worker's directory, so it finds work with one statement
-- per location (never one across locations). A row exists while its location has a webhook.
create table webhook_locations (
    location_id  text primary key
);
