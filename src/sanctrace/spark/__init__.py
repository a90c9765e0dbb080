"""PySpark jobs that give the same answers as the local engines, for data past one machine.

Needs the ``spark`` extra (``pip install 'sanctrace[spark]'``). ``exposure``: bulk UTXO
exposure over the Parquet chain store (``bulk_exposure``, ``ExposureJob``,
``write_exposure``); ``submit_exposure``: its command line, a script ``spark-submit`` runs;
``session``: a session with sanctrace's defaults. See docs/spark.md.
"""

# Nothing is re-exported: importing the package must not need pyspark.
__all__: list[str] = []
