"""What every service works on: the settings, the database and the chain store, opened once."""

from __future__ import annotations

from functools import cached_property

from sanctrace.chainstore.store import ChainStore
from sanctrace.settings import Settings, load_settings
from sanctrace.store import Database, open_database
from sanctrace.store.db import Timeouts

__all__ = ["Context"]


class Context:
    """The settings of one interface (a command, the API process) and what they open.

    The database opens (and migrates) on first use, so commands that need only the chain store
    never touch it. Pass ``db`` or ``chain_store`` to share ones opened elsewhere."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        db: Database | None = None,
        chain_store: ChainStore | None = None,
        create: bool = True,
    ) -> None:
        self.settings = settings or load_settings()
        self.create = create  # False: a SQLite file that does not exist is refused, not made
        if db is not None:
            self.__dict__["db"] = db
            _index_lives_in(db, self.settings)
        if chain_store is not None:
            self.__dict__["chain_store"] = chain_store

    @cached_property
    def db(self) -> Database:
        s = self.settings
        timeouts = Timeouts(
            connect=s.db_connect_timeout, statement=s.db_statement_timeout, busy=s.db_busy_timeout
        )
        db = open_database(s.db, create=self.create, timeouts=timeouts)
        _index_lives_in(db, s)
        return db

    @cached_property
    def chain_store(self) -> ChainStore:
        return ChainStore(self.settings.chain_dir)


def _index_lives_in(db: Database, settings: Settings) -> None:
    """Tell the name index of ``db`` to live in this context's data folder (whoever screens
    through the bare database, a list load's re-screen say, then uses the same index)."""
    from sanctrace.services._name_index import remember_data_dir

    remember_data_dir(db, settings.data_dir)
