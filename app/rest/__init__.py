"""The HighLevel-compatible REST API: Starlette routes over the same services as GraphQL."""

from __future__ import annotations

from starlette.routing import Route

from app.rest import associations, contacts, objects, relations, webhooks
from app.rest.base import Handler, endpoint
from app.rest.openapi import openapi_endpoint

# (method, path, handler). A path ending in "/" is also served without it and the other way
# round, so `/objects` and `/objects/` both answer (no redirect a client might not follow).
# More specific paths come first; Starlette also keeps looking past a method mismatch.
ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/associations/relations", relations.create),
    ("POST", "/associations/relations/bulk", relations.bulk),
    ("GET", "/associations/relations/{recordId}/history", relations.history),
    ("GET", "/associations/relations/{recordId}", relations.list_for_record),
    ("DELETE", "/associations/relations/{relationId}", relations.delete),
    ("POST", "/associations/", associations.create),
    ("GET", "/associations/", associations.list_all),
    ("GET", "/associations/key/{key}", associations.get_by_key),
    ("GET", "/associations/objectKey/{objectKey}", associations.list_by_object),
    ("GET", "/associations/{associationId}", associations.get),
    ("PUT", "/associations/{associationId}", associations.update),
    ("DELETE", "/associations/{associationId}", associations.delete),
    ("POST", "/objects-association", associations.oa_create),
    ("GET", "/objects-association", associations.list_all),
    ("GET", "/objects-association/key/{key}", associations.oa_get_by_key),
    ("GET", "/objects-association/object/{objectKey}", associations.list_by_object),
    ("GET", "/objects-association/{associationId}", associations.oa_get),
    ("PUT", "/objects-association/{associationId}", associations.oa_update),
    ("DELETE", "/objects-association/{associationId}", associations.delete),
    ("GET", "/objects/", objects.list_all),
    ("POST", "/objects/", objects.create),
    ("GET", "/objects/{key}", objects.get),
    ("PUT", "/objects/{key}", objects.update),
    ("POST", "/objects/{key}/records/search", objects.search_records),
    ("POST", "/objects/{key}/records", objects.create_record),
    ("GET", "/objects/{key}/records/{recordId}", objects.get_record),
    ("PUT", "/objects/{key}/records/{recordId}", objects.update_record),
    ("DELETE", "/objects/{key}/records/{recordId}", objects.delete_record),
    ("POST", "/contacts/search", contacts.search),
    ("POST", "/contacts/", contacts.create),
    ("GET", "/contacts/{contactId}", contacts.get),
    ("PUT", "/contacts/{contactId}", contacts.update),
    ("DELETE", "/contacts/{contactId}", contacts.delete),
    ("POST", "/webhooks", webhooks.create),
    ("GET", "/webhooks", webhooks.list_all),
    ("GET", "/webhooks/{webhookId}", webhooks.get),
    ("PUT", "/webhooks/{webhookId}", webhooks.update),
    ("DELETE", "/webhooks/{webhookId}", webhooks.delete),
    ("GET", "/webhooks/{webhookId}/deliveries", webhooks.deliveries),
    ("POST", "/webhooks/{webhookId}/deliveries/{eventId}/redeliver", webhooks.redeliver),
]


def routes() -> list[Route]:
    """Every REST route, plus GET /openapi.json describing them."""
    out: list[Route] = [Route("/openapi.json", openapi_endpoint, methods=["GET"])]
    for method, path, handler in ROUTES:
        app = endpoint(handler)
        twin = path.rstrip("/") if path.endswith("/") else path + "/"
        for p in (path, twin):
            out.append(Route(p, app, methods=[method], name=f"rest:{method}:{p}"))
    return out


__all__ = ["ROUTES", "routes"]
