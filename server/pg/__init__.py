"""The central store on PostgreSQL (psycopg 3): schema, connection pool, ingest and pull."""
