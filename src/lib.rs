//! np2audit: find what in a Python dependency tree blocks the move to NumPy 2.
//!
//! Data flows one way: `lockfile` → `graph` → `index` (client + cache) / `inspect` (reading
//! wheels through `archive`) → `audit` (judging; `verdict` is what it concludes) → `fix` → `report`.
//! `run` glues the stages together for the command line. No stage imports a later one.

pub mod archive;
pub mod audit;
pub mod cache_command;
pub mod check;
pub mod cli;
pub mod config;
pub mod discover;
pub mod dist;
pub mod environment;
pub mod exit;
pub mod export;
pub mod fix;
pub mod graph;
pub mod index;
pub mod inspect;
pub mod installed;
pub mod lockfile;
pub mod matrix;
pub mod multi;
pub mod observe;
pub mod policy;
pub mod progress;
pub mod report;
pub mod requirement;
pub mod run;
pub mod settings;
pub mod verdict;
pub mod zipfile;
