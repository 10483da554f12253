"""Live updates: GraphQL subscriptions fed by the change log (docs/events.md, "Live updates").

`hub.Hub` is the process's one reader of the log for live subscribers; `streams` turns a
subscription's arguments into a resumable stream of events. The transports are adapters above
them: app/graphql/websocket.py (graphql-transport-ws) and Strawberry's GraphQL over SSE behind
the HTTP endpoint; app/graphql/subscriptions.py is the schema's `Subscription`."""
