//! Which quantities to push: for one SKU, each enabled channel's allocation against what the
//! channel has, or is about to get. **Pure**: plain values in, decisions out — no store, no clock.
//!
//! The rules, each in one place ([`decide`]):
//!
//! 1. **What the channel has** (its *reference*): the desired quantity of its newest open job
//!    (pending or running: that is what it is about to get), else what its listing shows — the
//!    last quantity pushed, or the last quantity it reported when that report is as new or newer
//!    (the same reading the intake uses). None of these: the channel has nothing from us yet.
//! 2. **Echo suppression**: a change that came from channel X (the *origin*) is not written back
//!    to X with its own number. X is skipped when what it has equals its allocation, and also when
//!    nothing is known of it (it has never had a push from us nor reported a number: pushing would
//!    only echo). X gets a job only when it shows a different number than its allocation — a
//!    buffer, cap, zero threshold or partition makes its share differ from what its own sale left.
//! 3. **First push**: a channel with no reference gets its allocation.
//! 4. **Unchanged**: equal to the reference → nothing.
//! 5. **Minimum change** (per channel, 0 = off): a change smaller than `min_change` units is held
//!    back, except a drop to 0 or to the channel's low-stock level or below (those are what
//!    prevent overselling), and a change from 0 or below (back in stock). A first push is never
//!    held back (rule 3 comes first).
//! 6. Otherwise the allocation is enqueued. Never a negative quantity: allocations are clamped at 0.
//!
//! The outbox has no room for the allocation's one-line explanation (a job is channel, SKU,
//! desired quantity), so planned jobs do not carry it; the Stock page recomputes it with
//! [`crate::inventory::allocation`].

use crate::ledger::{Listing, NewJob};

/// What the planner knows about one channel for one SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The channel key.
    pub channel: &'a str,
    /// The channel's allocation (clamped at 0 if negative).
    pub allocation: i64,
    /// The channel's minimum change (0 = off).
    pub min_change: i64,
    /// The channel's low-stock level: drops to it or below are never held back.
    pub low_stock_level: i64,
    /// The channel's listing of the SKU, if any.
    pub listing: Option<&'a Listing>,
    /// The desired quantity of the pair's newest pending or running job, if any.
    pub queued: Option<i64>,
}

/// Why a channel does or does not get a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing known of the channel: its first push.
    FirstPush,
    /// The allocation differs from what the channel has or is about to get.
    Changed,
    /// The allocation equals what the channel has or is about to get.
    Unchanged,
    /// The change came from this channel and it shows its allocation (or nothing is known of
    /// it): not written back.
    Echo,
    /// The change is smaller than the channel's minimum change.
    HeldBack,
}

impl Verdict {
    /// Whether the channel gets a job.
    pub fn enqueues(self) -> bool {
        matches!(self, Verdict::FirstPush | Verdict::Changed)
    }
}

/// The decision for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The channel key.
    pub channel: String,
    /// The quantity the channel should show (≥ 0).
    pub desired: i64,
    /// What the channel has or is about to get, when known.
    pub reference: Option<i64>,
    /// Why.
    pub verdict: Verdict,
}

/// What a listing shows: the last push, or the channel's last report when as new or newer.
pub fn shown(listing: &Listing) -> Option<i64> {
    match (listing.last_pushed_at, listing.last_seen_at) {
        (Some(pushed), Some(seen)) if seen >= pushed => listing.last_seen_quantity,
        (Some(_), _) => listing.last_pushed_quantity,
        (None, Some(_)) => listing.last_seen_quantity,
        (None, None) => None,
    }
}

/// The decision for one channel (see the module documentation for the rules, in order).
pub fn decide(target: &Target<'_>, origin: Option<&str>) -> Decision {
    let desired = target.allocation.max(0);
    let reference = target.queued.or_else(|| target.listing.and_then(shown));
    let verdict = verdict(target, desired, reference, origin == Some(target.channel));
    Decision {
        channel: target.channel.to_owned(),
        desired,
        reference,
        verdict,
    }
}

fn verdict(target: &Target<'_>, desired: i64, reference: Option<i64>, is_origin: bool) -> Verdict {
    let Some(reference) = reference else {
        return if is_origin { Verdict::Echo } else { Verdict::FirstPush };
    };
    if reference == desired {
        return if is_origin { Verdict::Echo } else { Verdict::Unchanged };
    }
    let small = desired.abs_diff(reference) < target.min_change.unsigned_abs();
    let drop_that_matters = desired < reference && (desired == 0 || desired <= target.low_stock_level);
    let back_in_stock = reference <= 0;
    if small && !drop_that_matters && !back_in_stock {
        return Verdict::HeldBack;
    }
    Verdict::Changed
}

/// The decisions for one SKU, one per target, in the order of `targets`.
pub fn plan(targets: &[Target<'_>], origin: Option<&str>) -> Vec<Decision> {
    targets.iter().map(|target| decide(target, origin)).collect()
}

/// The jobs to enqueue for `sku` from its decisions.
pub fn jobs(sku: &str, decisions: &[Decision]) -> Vec<NewJob> {
    decisions
        .iter()
        .filter(|d| d.verdict.enqueues())
        .map(|d| NewJob::new(d.channel.clone(), sku, d.desired))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000;

    fn listing(pushed: Option<(i64, i64)>, seen: Option<(i64, i64)>) -> Listing {
        Listing {
            channel: "ch".into(),
            sku: "A".into(),
            remote_id: None,
            last_pushed_quantity: pushed.map(|p| p.0),
            last_pushed_at: pushed.map(|p| p.1),
            last_seen_quantity: seen.map(|s| s.0),
            last_seen_at: seen.map(|s| s.1),
            created_at: T,
            updated_at: T,
        }
    }

    fn target<'a>(allocation: i64, listing: Option<&'a Listing>, queued: Option<i64>) -> Target<'a> {
        Target {
            channel: "ch",
            allocation,
            min_change: 0,
            low_stock_level: 0,
            listing,
            queued,
        }
    }

    /// One decision: (target, origin) → (desired, reference, verdict).
    fn check(name: &str, t: Target<'_>, origin: Option<&str>, expected: (i64, Option<i64>, Verdict)) {
        let d = decide(&t, origin);
        assert_eq!((d.desired, d.reference, d.verdict), expected, "{name}: {t:?}");
        assert_eq!(d.channel, "ch");
    }

    #[test]
    fn what_the_channel_has_is_the_queued_value_then_the_newest_of_pushed_and_seen() {
        let pushed_newer = listing(Some((10, T + 5)), Some((7, T)));
        let seen_newer = listing(Some((10, T)), Some((7, T + 5)));
        let same_time = listing(Some((10, T)), Some((7, T)));
        let only_seen = listing(None, Some((-2, T)));
        let empty = listing(None, None);
        use Verdict::*;
        check(
            "pushed newer",
            target(10, Some(&pushed_newer), None),
            None,
            (10, Some(10), Unchanged),
        );
        check(
            "seen newer",
            target(10, Some(&seen_newer), None),
            None,
            (10, Some(7), Changed),
        );
        check(
            "same time: the report wins",
            target(7, Some(&same_time), None),
            None,
            (7, Some(7), Unchanged),
        );
        check(
            "only seen",
            target(0, Some(&only_seen), None),
            None,
            (0, Some(-2), Changed),
        );
        check(
            "empty listing",
            target(3, Some(&empty), None),
            None,
            (3, None, FirstPush),
        );
        check("no listing", target(3, None, None), None, (3, None, FirstPush));
        check("first push of 0", target(0, None, None), None, (0, None, FirstPush));
        // A job on its way decides: an allocation back at the pushed value must still replace it.
        check(
            "queued differs",
            target(10, Some(&pushed_newer), Some(8)),
            None,
            (10, Some(8), Changed),
        );
        check(
            "queued equal",
            target(8, Some(&pushed_newer), Some(8)),
            None,
            (8, Some(8), Unchanged),
        );
        check(
            "queued, no listing",
            target(8, None, Some(8)),
            None,
            (8, Some(8), Unchanged),
        );
        check(
            "never negative",
            target(-4, Some(&pushed_newer), None),
            None,
            (0, Some(10), Changed),
        );
    }

    #[test]
    fn the_origin_is_not_written_back_with_its_own_number() {
        let shows_9 = listing(Some((10, T)), Some((9, T + 1)));
        let pushed_10 = listing(Some((10, T)), None);
        use Verdict::*;
        check(
            "origin shows its allocation",
            target(9, Some(&shows_9), None),
            Some("ch"),
            (9, Some(9), Echo),
        );
        check(
            "origin shows another number",
            target(7, Some(&shows_9), None),
            Some("ch"),
            (7, Some(9), Changed),
        );
        check(
            "origin never had anything",
            target(9, None, None),
            Some("ch"),
            (9, None, Echo),
        );
        check(
            "origin's queued job differs",
            target(9, Some(&pushed_10), Some(12)),
            Some("ch"),
            (9, Some(12), Changed),
        );
        check(
            "origin's queued job is its number",
            target(9, Some(&pushed_10), Some(9)),
            Some("ch"),
            (9, Some(9), Echo),
        );
        // Another channel's change: the same listing is an ordinary change / first push.
        check(
            "not the origin",
            target(9, Some(&pushed_10), None),
            Some("other"),
            (9, Some(10), Changed),
        );
        check(
            "not the origin, new",
            target(9, None, None),
            Some("other"),
            (9, None, FirstPush),
        );
    }

    /// A target with minimum change 5 and low-stock level 4.
    fn with_min(allocation: i64, listing: Option<&Listing>) -> Target<'_> {
        Target {
            min_change: 5,
            low_stock_level: 4,
            ..target(allocation, listing, None)
        }
    }

    #[test]
    fn a_minimum_change_holds_back_small_changes_but_never_drops_that_matter_nor_first_pushes() {
        let at = |q: i64| listing(Some((q, T)), None);
        let (l20, l6, l3, l0) = (at(20), at(6), at(3), at(0));
        use Verdict::*;
        check("small rise", with_min(24, Some(&l20)), None, (24, Some(20), HeldBack));
        check(
            "small drop above low stock",
            with_min(16, Some(&l20)),
            None,
            (16, Some(20), HeldBack),
        );
        check(
            "exactly the minimum",
            with_min(25, Some(&l20)),
            None,
            (25, Some(20), Changed),
        );
        check("big drop", with_min(10, Some(&l20)), None, (10, Some(20), Changed));
        check("drop to 0", with_min(0, Some(&l3)), None, (0, Some(3), Changed));
        check(
            "drop to the low-stock level",
            with_min(4, Some(&l6)),
            None,
            (4, Some(6), Changed),
        );
        check("drop below it", with_min(2, Some(&l3)), None, (2, Some(3), Changed));
        check(
            "small rise at low stock",
            with_min(4, Some(&l3)),
            None,
            (4, Some(3), HeldBack),
        );
        check("back in stock", with_min(1, Some(&l0)), None, (1, Some(0), Changed));
        check("first push", with_min(1, None), None, (1, None, FirstPush));
        check("unchanged", with_min(20, Some(&l20)), None, (20, Some(20), Unchanged));
        check(
            "off when 0",
            target(21, Some(&l20), None),
            None,
            (21, Some(20), Changed),
        );
    }

    #[test]
    fn a_plan_makes_jobs_only_for_channels_that_need_one() {
        let a = listing(Some((5, T)), None);
        let targets = [
            Target {
                channel: "a",
                ..target(5, Some(&a), None)
            },
            Target {
                channel: "b",
                ..target(4, Some(&a), None)
            },
            Target {
                channel: "c",
                ..target(4, None, None)
            },
            Target {
                channel: "origin",
                ..target(4, Some(&a), None)
            },
        ];
        let decisions = plan(&targets, Some("origin"));
        let verdicts: Vec<Verdict> = decisions.iter().map(|d| d.verdict).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Unchanged,
                Verdict::Changed,
                Verdict::FirstPush,
                Verdict::Changed
            ]
        );
        assert_eq!(
            jobs("A", &decisions),
            [
                NewJob::new("b", "A", 4),
                NewJob::new("c", "A", 4),
                NewJob::new("origin", "A", 4)
            ]
        );
    }
}
