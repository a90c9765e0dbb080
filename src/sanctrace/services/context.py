"""What every service works on: the settings, the database and the chain store, opened once."""

from __future__ import annotations

from functools import cached_property

from sanctrace.chainstore.store import ChainStore
from sanctrace.settings import Settings, load_settings
from sanctrace.store import Database, open_database

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
    ) -> None:
        self.settings = settings or load_settings()
        if db is not None:
            self.__dict__["db"] = db
        if chain_store is not None:
            self.__dict__["chain_store"] = chain_store

    @cached_property
    def db(self) -> Database:
        return open_database(self.settings.db)

    @cached_property
    def chain_store(self) -> ChainStore:
        return ChainStore(self.settings.chain_dir)
