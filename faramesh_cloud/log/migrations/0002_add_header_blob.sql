-- Headers as one blob per record (faramesh_cloud.log.pg_copy), so appends can stream a
-- single binary COPY buffer. Rows written before this migration keep their two arrays;
-- readers use the blob when present, else the arrays.
ALTER TABLE log_records ADD COLUMN headers bytea;
