//! The search for the oldest newer release that passes a test (ready for the target, and
//! allowed by whoever asks), checking as few releases as it can.
//!
//! Readiness is usually monotone in the version: once a project ships NumPy 2 wheels it keeps
//! doing so. The search leans on that, but never trusts it blindly: every answer is a pair of
//! neighbours it has checked (one failing, the next passing), and a newest release that fails
//! (a regression) is found and reported as an upper bound instead of being hidden.

use std::future::Future;

use pep440_rs::Version;

/// How many releases one search may check before it gives up. Monotone searches over a few
/// hundred releases need about ten; the rest is room for walking down past regressions.
pub const SEARCH_BUDGET: usize = 14;

/// One release checked by a search, and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub version: Version,
    pub passed: bool,
    /// Why it failed or passed, in a few words (the verdict, or the requirement in the way).
    pub note: String,
}

/// What a search found among the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOutcome {
    /// The oldest passing release of the newest run of passing releases.
    pub found: Option<Version>,
    /// The first failing release above `found`, when the newest releases fail again (a
    /// regression): an upgrade must stay below it.
    pub below: Option<Version>,
    /// Every release checked, oldest first.
    pub checked: Vec<Checked>,
    /// The budget ran out before every candidate that could pass was ruled out.
    pub exhausted: bool,
}

/// Find the oldest release in `candidates` (ascending) that passes `test`, and the release an
/// upgrade must stay below when newer ones fail.
///
/// The newest and the oldest candidate are checked first, together: the next release is often
/// the fix, and the newest tells whether the line regressed. `likely_boundary`, when given, is
/// the candidate most likely to be the first that passes (the first uploaded after NumPy 2.0's
/// first release candidate): it and the one before it are checked in the same first round, so a
/// line that turned ready there needs no further round. It is only a guess to check: the answer
/// is always a pair of checked neighbours. When the newest passes, a binary search between the
/// nearest checked failing and passing releases finds the boundary. When it fails, the search
/// walks down from it to the newest passing release, then searches below that one.
pub async fn oldest_passing<F, Fut>(
    candidates: &[Version],
    likely_boundary: Option<usize>,
    test: F,
) -> SearchOutcome
where
    F: Fn(Version) -> Fut,
    Fut: Future<Output = (bool, String)>,
{
    let mut results: Vec<Option<(bool, String)>> = vec![None; candidates.len()];
    let mut outcome = SearchOutcome {
        found: None,
        below: None,
        checked: Vec::new(),
        exhausted: false,
    };
    let Some(newest) = candidates.len().checked_sub(1) else {
        return outcome;
    };

    // Round one: the oldest, the newest and the likely boundary's pair, at once.
    let mut first_round = vec![0, newest];
    if let Some(boundary) = likely_boundary.filter(|&b| b > 0 && b <= newest) {
        first_round.extend([boundary - 1, boundary]);
    }
    first_round.sort_unstable();
    first_round.dedup();
    let answers =
        futures::future::join_all(first_round.iter().map(|&i| test(candidates[i].clone()))).await;
    for (&index, answer) in first_round.iter().zip(answers) {
        results[index] = Some(answer);
    }
    let mut spent = first_round.len();
    let passed = |results: &[Option<(bool, String)>], index: usize| {
        results[index].as_ref().is_some_and(|(passed, _)| *passed)
    };

    // The top of the newest passing run: the newest release, or below a regression.
    let mut top = None;
    if passed(&results, newest) {
        top = Some(newest);
    } else {
        for index in (0..newest).rev() {
            if results[index].is_none() {
                if spent == SEARCH_BUDGET {
                    outcome.exhausted = true;
                    break;
                }
                results[index] = Some(test(candidates[index].clone()).await);
                spent += 1;
            }
            if passed(&results, index) {
                top = Some(index);
                break;
            }
        }
    }

    if let Some(top) = top {
        // Binary search for the start of the run that ends at `top`, trusting monotonicity
        // inside it, between the newest checked failure below `top` and the oldest checked
        // pass above that. `high` always passes; `low` is the lowest index that might.
        let failed_below = (0..top)
            .rev()
            .find(|&index| results[index].as_ref().is_some_and(|(passed, _)| !passed));
        let mut low = failed_below.map_or(0, |index| index + 1);
        let mut high = (low..=top)
            .find(|&index| passed(&results, index))
            .unwrap_or(top);
        while low < high {
            let middle = low + (high - low) / 2;
            if results[middle].is_none() {
                if spent == SEARCH_BUDGET {
                    outcome.exhausted = true;
                    break;
                }
                results[middle] = Some(test(candidates[middle].clone()).await);
                spent += 1;
            }
            if passed(&results, middle) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        outcome.found = Some(candidates[high].clone());
        outcome.below = (top < newest).then(|| candidates[top + 1].clone());
    }

    outcome.checked = results
        .into_iter()
        .zip(candidates)
        .filter_map(|(result, version)| {
            result.map(|(passed, note)| Checked {
                version: version.clone(),
                passed,
                note,
            })
        })
        .collect();
    outcome
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::str::FromStr;

    use super::*;

    fn versions(count: usize) -> Vec<Version> {
        (0..count)
            .map(|minor| Version::from_str(&format!("1.{minor}")).unwrap())
            .collect()
    }

    /// Run the search over releases 1.0.. whose readiness is `ready[i]`; returns what it found,
    /// the bound, and how many releases it checked.
    fn search(ready: &[bool]) -> (Option<String>, Option<String>, usize) {
        search_guessing(ready, None)
    }

    /// [`search`], with a guess at the first ready release.
    fn search_guessing(
        ready: &[bool],
        likely: Option<usize>,
    ) -> (Option<String>, Option<String>, usize) {
        let candidates = versions(ready.len());
        let calls = RefCell::new(0);
        let outcome = futures::executor::block_on(oldest_passing(&candidates, likely, |version| {
            *calls.borrow_mut() += 1;
            let index = candidates.iter().position(|v| *v == version).unwrap();
            let passed = ready[index];
            async move { (passed, String::new()) }
        }));
        assert_eq!(*calls.borrow(), outcome.checked.len(), "each release once");
        (
            outcome.found.map(|v| v.to_string()),
            outcome.below.map(|v| v.to_string()),
            outcome.checked.len(),
        )
    }

    #[test]
    fn the_next_release_is_found_in_the_first_round() {
        assert_eq!(
            search(&[true, true, true, true, true]),
            (Some("1.0".into()), None, 2)
        );
    }

    #[test]
    fn a_monotone_line_is_binary_searched() {
        let mut ready = vec![false; 40];
        ready[23..].fill(true);
        let (found, below, checked) = search(&ready);
        assert_eq!(found.as_deref(), Some("1.23"));
        assert_eq!(below, None);
        assert!(checked <= 8, "checked {checked} of 40");
    }

    #[test]
    fn nothing_ready_is_said_after_a_bounded_walk() {
        let (found, below, checked) = search(&[false; 60]);
        assert_eq!((found, below), (None, None));
        assert_eq!(checked, SEARCH_BUDGET);
        // Few candidates: every one is checked and none passes.
        assert_eq!(search(&[false; 3]), (None, None, 3));
    }

    #[test]
    fn a_newest_release_that_regresses_becomes_an_upper_bound() {
        // 1.0 blocked, 1.1 and 1.2 ready, 1.3 regresses.
        assert_eq!(
            search(&[false, true, true, false]),
            (Some("1.1".into()), Some("1.3".into()), 4)
        );
        // Ready only in the middle of a long line.
        let mut ready = vec![false; 20];
        ready[10..17].fill(true);
        let (found, below, _) = search(&ready);
        assert_eq!(
            (found.as_deref(), below.as_deref()),
            (Some("1.10"), Some("1.17"))
        );
    }

    #[test]
    fn a_dip_in_the_middle_gives_the_start_of_the_newest_ready_run() {
        // 1.1 ready, 1.2 regressed, 1.3 on ready again: every release from the answer up is
        // ready, which is what an upgrade to the newest needs.
        let (found, below, _) = search(&[false, true, false, true, true]);
        assert_eq!((found.as_deref(), below), (Some("1.3"), None));
    }

    #[test]
    fn a_right_guess_ends_the_search_in_the_first_round() {
        let mut ready = vec![false; 40];
        ready[20..].fill(true);
        // The oldest, the newest, and the guess with the release before it: nothing else.
        assert_eq!(
            search_guessing(&ready, Some(20)),
            (Some("1.20".into()), None, 4)
        );
    }

    #[test]
    fn a_wrong_guess_costs_checks_never_the_answer() {
        let mut ready = vec![false; 40];
        ready[23..].fill(true);
        for likely in [
            Some(1),
            Some(5),
            Some(22),
            Some(24),
            Some(39),
            Some(0),
            Some(40),
        ] {
            let (found, below, checked) = search_guessing(&ready, likely);
            assert_eq!(
                (found.as_deref(), below),
                (Some("1.23"), None),
                "{likely:?}"
            );
            assert!(checked <= 10, "checked {checked} with {likely:?}");
        }
        // A regression above the guess is still found and bounded.
        let mut ready = vec![false; 20];
        ready[10..17].fill(true);
        let (found, below, _) = search_guessing(&ready, Some(10));
        assert_eq!(
            (found.as_deref(), below.as_deref()),
            (Some("1.10"), Some("1.17"))
        );
    }

    #[test]
    fn a_single_candidate_is_checked_once() {
        assert_eq!(search(&[true]), (Some("1.0".into()), None, 1));
        assert_eq!(search(&[false]), (None, None, 1));
        assert_eq!(search(&[]), (None, None, 0));
    }
}
