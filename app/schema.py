"""The served GraphQL schema, composed at the top: Query and Mutation wire the resolvers
(`resolvers/`) to the types (`app/graphql/`). Only `app.web` and `app.cli` import this module,
so `app/graphql` never imports `resolvers/` (which import `app/graphql`): no package cycle."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from app.errors import AppError
from app.graphql.extensions.preshaped import PlanCache, PreShapedExecution
from app.graphql.extensions.walk import SelectionWalk
from app.graphql.scalar_defaults import check_printable_defaults
from app.graphql.subscriptions import Subscription
from app.graphql.types import (
    Association,
    Company,
    Contact,
    CustomObjectRecord,
    DeleteAssociationPayload,
    DeleteRecordPayload,
    DeleteRelationPayload,
    DeleteRelationsPayload,
    Event,
    EventConnection,
    Location,
    Node,
    ObjectSchema,
    Opportunity,
    Record,
    RecordConnection,
    Relation,
    Viewer,
)
from app.graphql.walker import core_schema
from app.graphql.webhook_types import CreateWebhookPayload, DeleteWebhookPayload, Webhook
from app.graphql.webhook_types import WebhookDelivery as WebhookDeliveryType
from db import is_unavailable
from resolvers import associations as association_resolvers
from resolvers import events as event_resolvers
from resolvers import objects as object_resolvers
from resolvers import records as record_resolvers
from resolvers import relations as relation_resolvers
from resolvers import viewer as viewer_resolvers
from resolvers import webhooks as webhook_resolvers

log = logging.getLogger("relata.graphql")


@strawberry.type
class Query:
    viewer: Viewer = strawberry.field(resolver=viewer_resolvers.viewer)
    node: Node | None = strawberry.field(resolver=viewer_resolvers.node)
    object_schemas: list[ObjectSchema] = strawberry.field(resolver=object_resolvers.object_schemas)
    object_schema: ObjectSchema | None = strawberry.field(resolver=object_resolvers.object_schema)
    record: Record | None = strawberry.field(resolver=record_resolvers.record)
    records: RecordConnection = strawberry.field(resolver=record_resolvers.records)
    associations: list[Association] = strawberry.field(resolver=association_resolvers.associations)
    association: Association | None = strawberry.field(resolver=association_resolvers.association)
    association_by_key: Association | None = strawberry.field(
        resolver=association_resolvers.association_by_key
    )
    webhooks: list[Webhook] = strawberry.field(
        resolver=webhook_resolvers.webhooks, description="The location's webhooks (admin)."
    )
    events: EventConnection = strawberry.field(resolver=event_resolvers.events)


@strawberry.type
class Mutation:
    create_object_schema: ObjectSchema = strawberry.field(
        resolver=object_resolvers.create_object_schema
    )
    create_record: Record = strawberry.field(resolver=record_resolvers.create_record)
    update_record: Record = strawberry.field(resolver=record_resolvers.update_record)
    delete_record: DeleteRecordPayload = strawberry.field(resolver=record_resolvers.delete_record)
    create_association: Association = strawberry.field(
        resolver=association_resolvers.create_association
    )
    update_association: Association = strawberry.field(
        resolver=association_resolvers.update_association
    )
    delete_association: DeleteAssociationPayload = strawberry.field(
        resolver=association_resolvers.delete_association
    )
    create_relation: Relation = strawberry.field(resolver=relation_resolvers.create_relation)
    create_relations: list[Relation] = strawberry.field(
        resolver=relation_resolvers.create_relations
    )
    delete_relation: DeleteRelationPayload = strawberry.field(
        resolver=relation_resolvers.delete_relation
    )
    delete_relations: DeleteRelationsPayload = strawberry.field(
        resolver=relation_resolvers.delete_relations
    )
    create_webhook: CreateWebhookPayload = strawberry.field(
        resolver=webhook_resolvers.create_webhook,
        description="Register an endpoint for the location's change events (admin); the"
        " answer carries its signing secret, shown this once.",
    )
    update_webhook: Webhook = strawberry.field(resolver=webhook_resolvers.update_webhook)
    delete_webhook: DeleteWebhookPayload = strawberry.field(
        resolver=webhook_resolvers.delete_webhook
    )
    redeliver: WebhookDeliveryType = strawberry.field(
        resolver=webhook_resolvers.redeliver,
        description="Send an event to a webhook again, now, with attempts counted from 0.",
    )


class RelataSchema(strawberry.Schema):
    # The pre-shaped path's plans (app/graphql/extensions/preshaped.py), per schema.
    plans: PlanCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors are answers, not incidents; only the unexpected is logged, with context.
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, (AppError, GraphQLError)):
                continue
            if is_unavailable(original):
                log.warning(
                    "database unavailable in %s: %s",
                    getattr(execution_context, "operation_name", None) or "anonymous operation",
                    original.__class__.__name__,
                )
                continue
            log.error(
                "unexpected error in %s at %s",
                getattr(execution_context, "operation_name", None) or "anonymous operation",
                ".".join(str(p) for p in (error.path or [])) or "-",
                exc_info=original,
            )


def build_schema(
    extensions: list[Any] | None = None, plan_cache_bytes: int = 32 * 2**20
) -> RelataSchema:
    """The schema, with `extensions` between the request's one selection walk (first: the
    limits read it) and pre-shaped execution (last: it answers only what every limit let
    through)."""
    plans = PlanCache(plan_cache_bytes)
    built = RelataSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Contact, Company, Opportunity, CustomObjectRecord, Location, Event],
        extensions=[SelectionWalk, *(extensions or []), partial(PreShapedExecution, plans)],
    )
    built.plans = plans
    # Every input default must be printable by graphql-js (GraphiQL, codegen): see the module.
    check_printable_defaults(core_schema(built))
    return built


schema = build_schema()
