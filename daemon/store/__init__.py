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
`leases`, `locks`, `refs` (Message-ID references) — re-exported here for the existing importers;
importing the package imports `text`, which registers that hook on every Session.
"""

from __future__ import annotations

from daemon.store.audit import AUDIT_BUFFER as AUDIT_BUFFER
from daemon.store.audit import INSERT_AUDIT as INSERT_AUDIT
from daemon.store.audit import audit as audit
from daemon.store.audit import buffered_audit as buffered_audit
from daemon.store.audit import transition as transition
from daemon.store.content import Content as Content
from daemon.store.content import load_contents as load_contents
from daemon.store.content import message_content as message_content
from daemon.store.cursors import advance_cursor as advance_cursor
from daemon.store.engine import MIGRATIONS as MIGRATIONS
from daemon.store.engine import alembic_config as alembic_config
from daemon.store.engine import migrate_to_head as migrate_to_head
from daemon.store.engine import open_engine as open_engine
from daemon.store.engine import private_database as private_database
from daemon.store.engine import session_scope as session_scope
from daemon.store.engine import transactional_sqlite_engine as transactional_sqlite_engine
from daemon.store.ingest import INGEST_ERRORS as INGEST_ERRORS
from daemon.store.ingest import INSERT_CONTENT as INSERT_CONTENT
from daemon.store.ingest import INSERT_MESSAGE as INSERT_MESSAGE
from daemon.store.ingest import INSERT_QUARANTINE as INSERT_QUARANTINE
from daemon.store.ingest import MAX_TEXT as MAX_TEXT
from daemon.store.ingest import Ingested as Ingested
from daemon.store.ingest import ingest as ingest
from daemon.store.ingest import ingest_many as ingest_many
from daemon.store.ingest import insert_messages as insert_messages
from daemon.store.ingest import insert_one as insert_one
from daemon.store.ingest import insert_rows as insert_rows
from daemon.store.ingest import new_message_row as new_message_row
from daemon.store.ingest import read_message_id as read_message_id
from daemon.store.ingest import rekeyed_copies as rekeyed_copies
from daemon.store.ingest import valid_mail as valid_mail
from daemon.store.jsoncodec import dump_json as dump_json
from daemon.store.jsoncodec import load_json as load_json
from daemon.store.leases import claim as claim
from daemon.store.leases import claim_many as claim_many
from daemon.store.leases import owner_is_dead as owner_is_dead
from daemon.store.leases import release as release
from daemon.store.leases import worker_name as worker_name
from daemon.store.locks import serialize as serialize
from daemon.store.refs import INSERT_REF as INSERT_REF
from daemon.store.refs import insert_or_ignore as insert_or_ignore
from daemon.store.refs import remember_message_id as remember_message_id
from daemon.store.text import MAX_ID_BYTES as MAX_ID_BYTES
from daemon.store.text import assign as assign
from daemon.store.text import fit_id as fit_id
from daemon.store.text import is_valid_text as is_valid_text
from daemon.store.text import no_nul as no_nul
from daemon.store.text import valid_text as valid_text
