"""Regenerate the baseline revision from the models: `python -m daemon.migrations.baseline`.

Only until the first release: no deployed database has the baseline yet, so changing a table
may rewrite it. After the first release every change is a new revision (`alembic revision
--autogenerate` against the same script location).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from daemon.store.engine import MIGRATIONS, alembic_config


def main() -> None:
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(
            alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001"
        )
    for new in (MIGRATIONS / "versions").glob("0001_*.py"):
        new.write_text(new.read_text().replace("Revises: \n", "Revises:\n"))


if __name__ == "__main__":
    main()
