"""A SparkSession with sanctrace's defaults, which ``spark-submit`` settings override.

Run as a plain Python program, the session is local (the ``master`` argument, else
``$MASTER``, else ``local[2]``; no web UI, 4 shuffle partitions, 2 GB driver memory, bound to
127.0.0.1 unless ``SPARK_LOCAL_IP`` says otherwise). Under ``spark-submit`` (or ``pyspark``) the
JVM is already running with the submitted ``--master`` and ``--conf`` values: those win, and a
default is only filled in where the submit left a setting unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
    "spark.sql.session.timeZone": "UTC",
    # The rounds of the exposure job build many small plans; quiet the per-stage console bar.
    "spark.ui.showConsoleProgress": "false",
}


def submitted() -> bool:
    """True when a JVM launched this process (``spark-submit``, ``pyspark``)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_session(
    app_name: str = "sanctrace",
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Get or create the session: ``master`` and ``conf`` override the defaults, and
    ``spark-submit``'s own settings override both."""
    from pyspark import SparkConf
    from pyspark.core.context import SparkContext
    from pyspark.sql import SparkSession

    wanted = {**DEFAULTS, **dict(conf or {})}
    if submitted():
        # The JVM exists: read what the submit set, fill in only what it left out.
        SparkContext._ensure_initialized()
        loaded = SparkConf()
        wanted = {k: v for k, v in wanted.items() if not loaded.contains(k)}
        wanted.pop("spark.driver.memory", None)  # fixed when the JVM started
        chosen = None if loaded.contains("spark.master") else (master or DEFAULT_MASTER)
    else:
        chosen = master or os.environ.get("MASTER") or DEFAULT_MASTER
    if chosen and chosen.startswith("local"):
        # Local runs must not depend on the host's network name resolving.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    if chosen:
        builder = builder.master(chosen)
    for key, value in wanted.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
