-- database-load's quick check: with each run, the files of its data set as the loader found them
-- (per file: name, size, modification and change time in ns, inode). A later run whose files stat
-- exactly the same in the same directory and mode takes the content hash recorded with them and
-- skips without reading the files; any difference and it hashes the bytes as before.

ALTER TABLE data_load_history ADD COLUMN file_manifest text;
CREATE INDEX data_load_history_manifest_idx ON data_load_history (file_manifest, data_dir, mode)
  WHERE file_manifest IS NOT NULL;
