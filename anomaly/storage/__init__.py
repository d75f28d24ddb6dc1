"""Storage: the SQL database the pipeline writes and the dashboard and SQL users read.

- ``schema``: the tables of PRODUCT.md as SQLAlchemy models; ``types``: column types that behave the
  same on SQLite and PostgreSQL; ``migrations/``: their Alembic history.
- ``database``: connecting (one-line errors, password hidden) and upgrading the schema.
- ``repository``: what a run reads before it works on a stream (watermark, active model, verdicts).
- ``writer``: one stream's results (``anomaly.results.StreamAnalysis``) in one transaction;
  ``score_rows``: the bulk insert of its score rows.

It imports no analysis code: it writes plain records, whatever computed them.
"""

__all__ = ["database", "repository", "schema", "score_rows", "types", "writer"]
