"""Events: who did what to which item, when. The package's public face; other packages and apps import from here.

- ``actors``: :class:`Actor` and its one cache key (``Actor.key``), the actor of a request.
- ``ingest``: write batches of events, all or nothing (API, shop pages, importers); ``validation`` checks them.
- ``importers``: stream CSV and MovieLens ``u.data`` files into ``ingest``.
- ``selectors``: read an actor's own events.
- ``signals``: :data:`events_recorded`, sent after new events are stored (serving listens).
"""
from recommendations.events.actors import Actor, actor_from_request, events_on_behalf_allowed
from recommendations.events.importers import event_import_file, event_import_rows
from recommendations.events.ingest import EventBatchError, IngestResult, event_ingest, event_ingest_rows
from recommendations.events.selectors import event_list
from recommendations.events.signals import events_recorded
from recommendations.events.validation import event_batch_validate

__all__ = [
    "Actor",
    "EventBatchError",
    "IngestResult",
    "actor_from_request",
    "event_batch_validate",
    "event_import_file",
    "event_import_rows",
    "event_ingest",
    "event_ingest_rows",
    "event_list",
    "events_on_behalf_allowed",
    "events_recorded",
]
