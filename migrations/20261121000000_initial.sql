-- np2audit cache, schema 1.
-- Project pages change with every release: kept with the time they were fetched and their
-- validators, and revalidated when older than the time-to-live.
CREATE TABLE project_pages (
    index_url     TEXT    NOT NULL, -- without credentials
    name          TEXT    NOT NULL, -- PEP 503 normalised
    fetched_at    INTEGER NOT NULL, -- unix seconds
    etag          TEXT,
    last_modified TEXT,
    files_json    TEXT    NOT NULL, -- the parsed file list
    PRIMARY KEY (index_url, name)
);

-- A file never changes once uploaded, so what is learned from it is kept forever, keyed by
-- `sha256:<hex>` (or `url:<url>` for indexes that give no hash).
CREATE TABLE core_metadata (
    file_key  TEXT    PRIMARY KEY,
    filename  TEXT    NOT NULL,
    metadata  TEXT    NOT NULL,
    stored_at INTEGER NOT NULL
);

-- Scan results also depend on the scanner: a new scanner version rescans.
CREATE TABLE wheel_scans (
    file_key        TEXT    NOT NULL,
    scanner_version INTEGER NOT NULL,
    filename        TEXT    NOT NULL,
    result_json     TEXT    NOT NULL,
    stored_at       INTEGER NOT NULL,
    PRIMARY KEY (file_key, scanner_version)
);

-- Hosts that answered a range request with the whole file: go straight to whole downloads.
CREATE TABLE hosts_without_ranges (
    host       TEXT    PRIMARY KEY,
    checked_at INTEGER NOT NULL
);
