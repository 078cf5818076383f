-- Schema 2: a project page's files are kept per release, so an audit reads only the releases it
-- judges (pages of busy projects list thousands of files). Pages cached under schema 1 are
-- dropped and refetched.
CREATE TABLE release_files (
    index_url  TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL, -- normalised PEP 440 version, '' for file names without one
    files_json TEXT NOT NULL,
    PRIMARY KEY (index_url, name, version)
);

DELETE FROM project_pages;
ALTER TABLE project_pages DROP COLUMN files_json;
