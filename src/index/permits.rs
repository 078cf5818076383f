//! The run's request slots, handed out by priority.
//!
//! A cold audit is bound by how many requests are in flight at once, and most requests are
//! links in chains: a wheel's tail leads to its members, a project page to the releases it
//! lists. A `.metadata` file leads nowhere: nothing else is fetched because of it. When every
//! slot is taken, waiting requests that lead on go first, so that chains keep moving while the
//! leaves fill the remaining slots; within one priority, requests go in the order they came.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// How soon a waiting request gets a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Requests whose answer leads to further requests (pages, wheel tails and members).
    Leads,
    /// Requests nothing else waits on (`.metadata` files).
    Leaf,
}

/// Request slots shared by clones.
#[derive(Clone)]
pub struct RequestPermits {
    state: Arc<Mutex<State>>,
}

struct State {
    free: usize,
    /// Waiters by priority ([`Priority::Leads`] first); each gets a message when given a slot.
    waiting: [VecDeque<oneshot::Sender<()>>; 2],
}

/// One slot, given back (to the next waiter, or to the pool) when dropped.
pub struct RequestPermit {
    state: Arc<Mutex<State>>,
}

impl RequestPermits {
    pub fn new(slots: usize) -> RequestPermits {
        RequestPermits {
            state: Arc::new(Mutex::new(State {
                free: slots.max(1),
                waiting: [VecDeque::new(), VecDeque::new()],
            })),
        }
    }

    /// A slot, once one is free and no waiter of a higher priority (or of the same, that came
    /// first) is left.
    pub async fn acquire(&self, priority: Priority) -> RequestPermit {
        let receiver = {
            let mut state = self.state.lock().expect("permits not poisoned");
            // Waiters exist only while no slot is free, so a free slot is for whoever asks.
            if state.free > 0 {
                state.free -= 1;
                return self.permit();
            }
            let (sender, receiver) = oneshot::channel();
            state.waiting[priority as usize].push_back(sender);
            receiver
        };
        let mut waiting = Waiting {
            receiver,
            state: &self.state,
        };
        // A sender leaves the queue only by sending, so this is the slot handed over. Once
        // received, dropping `waiting` gives nothing back.
        let _ = (&mut waiting.receiver).await;
        self.permit()
    }

    fn permit(&self) -> RequestPermit {
        RequestPermit {
            state: Arc::clone(&self.state),
        }
    }
}

/// A waiter whose future may be dropped (a cancelled read): a slot already sent to it is passed
/// on rather than lost.
struct Waiting<'a> {
    receiver: oneshot::Receiver<()>,
    state: &'a Arc<Mutex<State>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.receiver.close();
        if self.receiver.try_recv().is_ok() {
            release(self.state);
        }
    }
}

impl Drop for RequestPermit {
    fn drop(&mut self) {
        release(&self.state);
    }
}

/// Give a slot to the first waiter still waiting, by priority, or back to the pool.
fn release(state: &Mutex<State>) {
    let mut state = state.lock().expect("permits not poisoned");
    for queue in 0..state.waiting.len() {
        while let Some(waiter) = state.waiting[queue].pop_front() {
            // A waiter that went away (closed its receiver) refuses; try the next.
            if waiter.send(()).is_ok() {
                return;
            }
        }
    }
    state.free += 1;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn free(permits: &RequestPermits) -> usize {
        permits.state.lock().unwrap().free
    }

    // On the paused clock a sleep ends only once every task is waiting: each request queues
    // before the next is made, however loaded the machine.
    #[tokio::test(start_paused = true)]
    async fn waiting_requests_that_lead_on_go_before_leaves() {
        let permits = RequestPermits::new(1);
        let held = permits.acquire(Priority::Leaf).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("leaf 1", Priority::Leaf),
            ("leaf 2", Priority::Leaf),
            ("leads 1", Priority::Leads),
            ("leads 2", Priority::Leads),
        ] {
            let (permits, order) = (permits.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire(priority).await;
                order.lock().unwrap().push(name);
            }));
            // Let each one queue before the next, so the order they came in is known.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["leads 1", "leads 2", "leaf 1", "leaf 2"]
        );
        assert_eq!(free(&permits), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_goes_away_loses_no_slot() {
        let permits = RequestPermits::new(2);
        let first = permits.acquire(Priority::Leads).await;
        let second = permits.acquire(Priority::Leads).await;
        // One waiter is dropped before any slot frees, another right as one is handed to it.
        let gone =
            tokio::time::timeout(Duration::from_millis(10), permits.acquire(Priority::Leads)).await;
        assert!(gone.is_err(), "no slot was free");
        let mut handed = Box::pin(permits.acquire(Priority::Leaf));
        assert!(futures::poll!(handed.as_mut()).is_pending());
        drop(first);
        drop(handed);
        drop(second);
        assert_eq!(free(&permits), 2, "both slots are back");
        let _a = permits.acquire(Priority::Leaf).await;
        let _b = permits.acquire(Priority::Leaf).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_requests_never_exceed_the_slots() {
        let permits = RequestPermits::new(3);
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let (permits, in_flight, most) = (permits.clone(), in_flight.clone(), most.clone());
                tokio::spawn(async move {
                    let priority = if n % 3 == 0 {
                        Priority::Leaf
                    } else {
                        Priority::Leads
                    };
                    let _permit = permits.acquire(priority).await;
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = in_flight.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    tokio::task::yield_now().await;
                    in_flight.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 3);
        assert_eq!(free(&permits), 3);
    }
}
