"""The central store on PostgreSQL (psycopg 3): the same central code, another engine.

The centre's code (server/ingest.py, pull.py, schools.py, quotas.py...) is
written once against the DB-API shape of `sqlite_utils.Database` (`execute`,
`conn.execute`, `conn.executemany`, `atomic`, `domain.database.write_transaction`).
`database.PgDatabase` gives PostgreSQL that shape, `dialect` turns the few
SQLite spellings the centre uses into PostgreSQL's, and `schema` builds the
same tables (from the one schema.sql) with PostgreSQL's own capture triggers.
"""
