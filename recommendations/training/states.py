"""What the training stages share: the pending states of a version, the heartbeat, the lock name, the
errors worth a retry."""
from __future__ import annotations

from common.outage import OUTAGE_ERRORS
from recommendations.models import ModelVersion

Status = ModelVersion.Status
PENDING_STATUSES = (Status.QUEUED, Status.TRAINING, Status.EVALUATING)
FINISHED_STATUSES = (Status.READY, Status.ACTIVE, Status.RETIRED, Status.FAILED, Status.DELETED)

HEARTBEAT_SECONDS = 2.0

#: errors worth a retry with backoff: the run is left pending (not failed) and the lock released
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = OUTAGE_ERRORS  # database, cache and broker outages


def training_lock_name(model_name: str) -> str:
    """The name of the lock that lets one process at a time train a version of ``model_name``."""
    return f"training:{model_name}"
