//! Work in progress, by key: the first caller does it, callers that arrive meanwhile wait for its
//! answer instead of doing it again. Once done the key is forgotten, because every user stores
//! the answer in the SQLite cache first — later callers find it there — and keeping each answer
//! for the whole run would hold every METADATA file of a large monorepo in memory.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

pub struct InFlight<V> {
    cells: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for InFlight<V> {
    fn default() -> Self {
        InFlight {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> InFlight<V> {
    /// `work`'s answer for `key`, shared with every caller that asks while it runs.
    pub async fn run<F, Fut>(&self, key: &str, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self
            .cells
            .lock()
            .expect("lock not poisoned")
            .entry(key.to_string())
            .or_default()
            .clone();
        // If the caller doing the work is cancelled, tokio's OnceCell lets a waiting caller
        // take it over, so nobody waits forever.
        let value = cell.get_or_init(work).await.clone();
        let mut cells = self.cells.lock().expect("lock not poisoned");
        if cells
            .get(key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            cells.remove(key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::InFlight;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_run_and_later_ones_run_again() {
        let in_flight = InFlight::<usize>::default();
        let runs = AtomicUsize::new(0);
        let work = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            runs.fetch_add(1, Ordering::SeqCst) + 1
        };
        let (a, b, c) = tokio::join!(
            in_flight.run("k", work),
            in_flight.run("k", work),
            in_flight.run("k", work)
        );
        assert_eq!((a, b, c), (1, 1, 1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Done keys are forgotten: the cache behind them answers later callers.
        assert_eq!(in_flight.run("k", work).await, 2);
        assert!(in_flight.cells.lock().unwrap().is_empty());
    }
}
