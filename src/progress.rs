//! Progress on standard error for people at a terminal: packages judged, then the search for
//! fixes (for several lockfiles: lockfiles audited), with requests and bytes fetched. Hidden
//! when standard error is not a terminal, with `-q`, and with `-v` (the log lines are the
//! detail then).

use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::observe::{Counters, StageObserver};

#[derive(Clone, Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(visible: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(
            None,
            if visible {
                ProgressDrawTarget::stderr_with_hz(8)
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        Progress { bar }
    }

    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    /// Judging `total` packages.
    pub fn judging(&self, total: usize) {
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} judging {pos}/{len} packages · {msg}")
                .expect("valid template"),
        );
        self.bar.set_length(total as u64);
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    pub fn judged_one(&self) {
        self.bar.inc(1);
    }

    /// Resolving a ready tree: releases judged so far (counted with [`Self::judged_one`]).
    pub fn resolving(&self) {
        self.bar.set_style(
            ProgressStyle::with_template(
                "{spinner} resolving a ready tree: {pos} releases judged · {msg}",
            )
            .expect("valid template"),
        );
        self.bar.set_length(0);
        self.bar.set_position(0);
    }

    /// Another stage, without a count.
    pub fn stage(&self, what: &'static str) {
        self.bar.set_style(
            ProgressStyle::with_template(&format!("{{spinner}} {what} · {{msg}}"))
                .expect("valid template"),
        );
    }

    /// Auditing `total` lockfiles, several at once: one count for them all (their own bars
    /// stay hidden, as interleaved package counts would mean nothing).
    pub fn lockfiles(&self, total: usize) {
        self.counting(total, "lockfiles");
    }

    pub fn environments(&self, total: usize) {
        self.counting(total, "environments");
    }

    /// A bar over `total` audits of `what`.
    fn counting(&self, total: usize, what: &str) {
        self.bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} auditing {{pos}}/{{len}} {what} · {{msg}}"
            ))
            .expect("valid template"),
        );
        self.bar.set_length(total as u64);
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    pub fn audited_one(&self) {
        self.bar.inc(1);
    }

    /// Keep the network counters in the message until the returned guard is dropped.
    pub fn watch_counters(&self, stats: impl Fn() -> (u64, u64) + Send + 'static) -> Watch {
        let bar = self.bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(150));
            loop {
                tick.tick().await;
                let (requests, bytes) = stats();
                bar.set_message(format!(
                    "{requests} requests, {} fetched",
                    HumanBytes(bytes)
                ));
            }
        });
        Watch {
            task,
            bar: self.bar.clone(),
        }
    }
}

/// Stops the counters and clears the line.
pub struct Watch {
    task: tokio::task::JoinHandle<()>,
    bar: ProgressBar,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

impl StageObserver for Progress {
    fn judging(&self, total: usize) {
        Progress::judging(self, total);
    }

    fn judged_one(&self) {
        Progress::judged_one(self);
    }

    fn resolving(&self) {
        Progress::resolving(self);
    }

    fn watch(&self, counters: Counters) -> Box<dyn Send> {
        Box::new(self.watch_counters(counters))
    }
}
