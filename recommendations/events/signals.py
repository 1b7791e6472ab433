"""What the events package tells other packages, without importing them (receivers live with the listener)."""
from django.dispatch import Signal

#: Sent once per write that stored at least one new event, after that write's transaction block has committed
#: (inside a caller's transaction, before the caller commits: a receiver that caches must also act on commit).
#: Keyword arguments: ``user_ids`` (frozenset[int]) and ``session_keys`` (frozenset[str], anonymous sessions).
events_recorded = Signal()
