"""Apply Alembic migrations (programmatically: no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from partnerloop.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, settings: Settings | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    config.attributes["settings"] = settings
    return config


def upgrade(engine: Engine, revision: str = "head", *, settings: Settings | None = None) -> None:
    """Bring the database to `revision`; a no-op when it is there already. `settings` hold the keys of the
    migrations that seal secrets (0014); None: the environment's."""
    config = alembic_config(engine, settings)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str, *, settings: Settings | None = None) -> None:
    config = alembic_config(engine, settings)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision against `engine` (development only)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
