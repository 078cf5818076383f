//! The integration tests: one binary, so the library and `support` (the fixture index, wheel
//! builder, snapshot helpers) are compiled and linked once, not once per test file.

mod support;

mod cache;
mod cli;
mod faults;
mod fixes;
mod fixture_index;
mod graph_commands;
mod hostile_artifacts;
mod installed_env;
mod lock_files;
mod lockfiles_e2e;
mod matrix;
mod module_graph;
mod multi_lock;
mod policy;
mod report_formats;
mod resolution;
mod sarif_schema;
mod security;
mod streaming_reads;
