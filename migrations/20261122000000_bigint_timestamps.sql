-- Schema 3: the same migrations serve SQLite and PostgreSQL (`--cache-url postgres://…`).
-- PostgreSQL's INTEGER is 32 bits, which unix seconds outgrow in 2038: timestamps and the
-- scanner version become BIGINT. Tables are rebuilt because SQLite cannot change a column's
-- type; the statements are the ones both databases accept.
CREATE TABLE project_pages_v3 (
    index_url     TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    fetched_at    BIGINT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    PRIMARY KEY (index_url, name)
);
INSERT INTO project_pages_v3 (index_url, name, fetched_at, etag, last_modified)
    SELECT index_url, name, fetched_at, etag, last_modified FROM project_pages;
DROP TABLE project_pages;
ALTER TABLE project_pages_v3 RENAME TO project_pages;

CREATE TABLE core_metadata_v3 (
    file_key  TEXT   PRIMARY KEY,
    filename  TEXT   NOT NULL,
    metadata  TEXT   NOT NULL,
    stored_at BIGINT NOT NULL
);
INSERT INTO core_metadata_v3 (file_key, filename, metadata, stored_at)
    SELECT file_key, filename, metadata, stored_at FROM core_metadata;
DROP TABLE core_metadata;
ALTER TABLE core_metadata_v3 RENAME TO core_metadata;

CREATE TABLE wheel_scans_v3 (
    file_key        TEXT   NOT NULL,
    scanner_version BIGINT NOT NULL,
    filename        TEXT   NOT NULL,
    result_json     TEXT   NOT NULL,
    stored_at       BIGINT NOT NULL,
    PRIMARY KEY (file_key, scanner_version)
);
INSERT INTO wheel_scans_v3 (file_key, scanner_version, filename, result_json, stored_at)
    SELECT file_key, scanner_version, filename, result_json, stored_at FROM wheel_scans;
DROP TABLE wheel_scans;
ALTER TABLE wheel_scans_v3 RENAME TO wheel_scans;

CREATE TABLE hosts_without_ranges_v3 (
    host       TEXT   PRIMARY KEY,
    checked_at BIGINT NOT NULL
);
INSERT INTO hosts_without_ranges_v3 (host, checked_at)
    SELECT host, checked_at FROM hosts_without_ranges;
DROP TABLE hosts_without_ranges;
ALTER TABLE hosts_without_ranges_v3 RENAME TO hosts_without_ranges;
