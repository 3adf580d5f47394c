-- The history of database-load runs: which data set (by content hash) was loaded in which mode,
-- what each run did to each table, and how it ended. A run that finds its data set already loaded
-- in the same mode records 'skipped' and touches no data table.

CREATE TABLE data_load_history (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_hash     text NOT NULL,
  data_dir         text NOT NULL DEFAULT '',
  mode             text NOT NULL,
  outcome          text NOT NULL,
  -- Totals over all tables, and per table: {"products": {"inserted": 0, "skipped": 0, "updated": 0}, …}
  rows_inserted    bigint NOT NULL DEFAULT 0,
  rows_skipped     bigint NOT NULL DEFAULT 0,
  rows_updated     bigint NOT NULL DEFAULT 0,
  table_counts     jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz NOT NULL DEFAULT now(),
  duration_ms      integer NOT NULL DEFAULT 0,
  applied_by       text NOT NULL DEFAULT '',
  service_version  text NOT NULL DEFAULT '',
  trace_id         text,
  error            text,
  CONSTRAINT data_load_history_hash_format CHECK (dataset_hash ~ '^[0-9a-f]{64}$'),
  CONSTRAINT data_load_history_mode_valid CHECK (mode IN ('insert', 'upsert')),
  CONSTRAINT data_load_history_outcome_valid CHECK (outcome IN ('loaded', 'skipped', 'failed')),
  CONSTRAINT data_load_history_error_when_failed CHECK ((outcome = 'failed') = (error IS NOT NULL))
);
-- "Is this data set already loaded in this mode?" is asked on every pod start.
CREATE INDEX data_load_history_hash_idx ON data_load_history (dataset_hash, mode, outcome);
CREATE INDEX data_load_history_started_idx ON data_load_history (started_at DESC, id DESC);
