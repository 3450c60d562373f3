"""The store: opening the database, migrating it, and the few writes every part shares.

Decides how rows change hands safely. SQLite runs in WAL mode (readers never block the writer)
with a busy timeout; PostgreSQL works the same through `postgresql+psycopg://`. The schema is
always brought to the newest Alembic revision when the store opens, so an empty file or an old
database both just work. A message is claimed with a conditional UPDATE that only succeeds
while nobody else holds an unexpired lease (healthchecks' trick): it works on both databases
and lets several workers or replicas share one queue. Every state change goes through
`transition`, which writes the audit row in the same transaction. Whatever a message's bytes,
ingest records it: text columns get valid text (the raw bytes are kept as they came), and a
row the database still refuses is recorded bare, in quarantine, without sinking its batch.
One module per concern — `engine` (open, migrate, `session_scope`), `jsoncodec`, `text` (valid
text and its flush hook), `audit` (audit trail, `transition`), `ingest`, `content`, `cursors`,
`leases`, `locks`, `refs` (Message-ID references); importers name the module they use. Importing
the package (which importing any of its modules does) imports `text`, which registers that hook
on every Session.
"""

from __future__ import annotations

from daemon.store import text as text  # registers the valid-text flush hook
