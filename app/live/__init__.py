"""Live updates: GraphQL subscriptions fed by the change log (docs/events.md, "Live updates").

`hub.Hub` is the process's one reader of the log for live subscribers; `streams` turns a
subscription's arguments into a resumable stream of events; `websocket` is the
graphql-transport-ws handler (GraphQL over SSE is Strawberry's, behind the HTTP endpoint)."""
