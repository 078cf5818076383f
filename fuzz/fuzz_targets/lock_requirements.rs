#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    np2audit_fuzz::check_lockfile(np2audit::lockfile::LockFormat::Requirements, data);
});
