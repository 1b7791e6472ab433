"""Signals users sends about an account, so that apps above it (recommendations) add their part of the user's data
without users importing them (the sender never imports the listener). Each is sent with ``sender=User``.
"""
from django.dispatch import Signal

# Export of "My data": each receiver returns a dict of extra top-level JSON sections, merged into the export.
# Arguments: ``user``.
user_data_requested = Signal()

# Account deletion, inside its transaction, before the user row is deleted: delete what you keep about the user.
# Arguments: ``user``.
user_erasing = Signal()

# Sign-up or login: move what the anonymous browser session did onto the user. Each receiver returns the number
# of events it moved. Arguments: ``user``, ``session_key`` (the key from before login; Django rotates it).
session_history_claimed = Signal()
