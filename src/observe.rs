//! What the long stages report as they go — packages judged, the resolution under way, the
//! network counters — to whoever watches: a progress bar at a terminal (`progress`), nobody in
//! tests. The audit and the fix stage only know this trait, not how it is shown.

/// Reads (requests made, bytes fetched) so far.
pub type Counters = Box<dyn Fn() -> (u64, u64) + Send + 'static>;

pub trait StageObserver: Send + Sync {
    /// Judging `total` packages begins.
    fn judging(&self, _total: usize) {}

    /// One more package (or, while resolving, one more release) judged.
    fn judged_one(&self) {}

    /// The fix stage is resolving a ready tree.
    fn resolving(&self) {}

    /// Show `counters` until the returned guard is dropped.
    fn watch(&self, _counters: Counters) -> Box<dyn Send> {
        Box::new(())
    }
}

/// Watches nothing.
pub struct Unobserved;

impl StageObserver for Unobserved {}
