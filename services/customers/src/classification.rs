//! Customer classification: lifecycle stage and RFM value tier.
//!
//! Boundary rule used everywhere: a purchase exactly N days old is still
//! "within N days". Stage moves to AT_RISK/CHURNED only once the last purchase
//! is strictly older than the threshold, and an R band or the RFM window
//! includes its upper edge. Ages are exact durations (not calendar days), so
//! N days + 1 second is already past the boundary.
//!
//! Purchases dated after `now` have not happened yet from the classifier's
//! point of view: they are ignored for both stage and RFM.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Lifecycle stage. Stored as the SCREAMING_CASE name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    Prospect,
    New,
    Active,
    AtRisk,
    Churned,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Prospect,
        Stage::New,
        Stage::Active,
        Stage::AtRisk,
        Stage::Churned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Prospect => "PROSPECT",
            Stage::New => "NEW",
            Stage::Active => "ACTIVE",
            Stage::AtRisk => "AT_RISK",
            Stage::Churned => "CHURNED",
        }
    }

    /// Exact match on the stored name, so parse and serde agree.
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Value tier. A is best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tier {
    A,
    B,
    C,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::A, Tier::B, Tier::C];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One purchase as classification sees it.
#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    pub at: DateTime<Utc>,
    pub amount_minor: i64,
    pub refunded: bool,
}

/// Configuration (`[customers.classification]`), with defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassificationConfig {
    pub at_risk_after_days: i64,
    pub churned_after_days: i64,
    pub window_days: i64,
    pub recency_days: [i64; 4],
    pub frequency: [i64; 4],
    pub monetary_minor: [i64; 4],
    pub tier_a_min: u8,
    pub tier_b_min: u8,
}

impl Default for ClassificationConfig {
    fn default() -> Self {
        ClassificationConfig {
            at_risk_after_days: 90,
            churned_after_days: 180,
            window_days: 365,
            recency_days: [30, 60, 90, 180],
            frequency: [2, 4, 8, 12],
            monetary_minor: [10_000, 50_000, 200_000, 1_000_000],
            tier_a_min: 12,
            tier_b_min: 8,
        }
    }
}

/// Score bands only work as a ladder: positive and strictly increasing.
fn is_ladder(values: &[i64; 4]) -> bool {
    values[0] > 0 && values.windows(2).all(|w| w[0] < w[1])
}

impl ClassificationConfig {
    /// Checks ordering of thresholds (positive, strictly increasing arrays;
    /// 0 < at_risk < churned; window > 0; 3 ≤ b_min ≤ a_min ≤ 15).
    /// The error names the offending field with its config path.
    pub fn validate(&self) -> Result<(), String> {
        let c = self;
        if c.at_risk_after_days <= 0 {
            return invalid("at_risk_after_days", "must be > 0");
        }
        if c.churned_after_days <= c.at_risk_after_days {
            return invalid("churned_after_days", "must be > at_risk_after_days");
        }
        if c.window_days <= 0 {
            return invalid("window_days", "must be > 0");
        }
        let ladders = [
            ("recency_days", &c.recency_days),
            ("frequency", &c.frequency),
            ("monetary_minor", &c.monetary_minor),
        ];
        if let Some((field, _)) = ladders.iter().find(|(_, v)| !is_ladder(v)) {
            return invalid(field, "must be positive and strictly increasing");
        }
        // R, F and M each score 1..=5, so a total lies in 3..=15.
        if !(3..=15).contains(&c.tier_b_min) {
            return invalid("tier_b_min", "must be in 3..=15");
        }
        if !(c.tier_b_min..=15).contains(&c.tier_a_min) {
            return invalid("tier_a_min", "must be in tier_b_min..=15");
        }
        Ok(())
    }
}

fn invalid(field: &str, rule: &str) -> Result<(), String> {
    Err(format!("customers.classification.{field}: {rule}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfm {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

impl Rfm {
    /// The score of a customer with no purchase in the window.
    pub const LOWEST: Rfm = Rfm {
        recency: 1,
        frequency: 1,
        monetary: 1,
    };

    pub fn total(self) -> u8 {
        self.recency + self.frequency + self.monetary
    }
}

/// `try_days` instead of `days` so an absurd config value saturates rather
/// than panicking inside a request.
fn days(n: i64) -> TimeDelta {
    let saturated = if n < 0 {
        TimeDelta::MIN
    } else {
        TimeDelta::MAX
    };
    TimeDelta::try_days(n).unwrap_or(saturated)
}

/// Completed (non-refunded, not future-dated) purchases at most `max_age`
/// old, as (age of the most recent, count, saturating total amount).
fn summarize(
    purchases: &[Purchase],
    now: DateTime<Utc>,
    max_age: TimeDelta,
) -> Option<(TimeDelta, i64, i64)> {
    let completed = purchases.iter().filter(|p| !p.refunded && p.at <= now);
    let aged = completed.map(|p| (now.signed_duration_since(p.at), p.amount_minor));
    aged.filter(|(age, _)| *age <= max_age)
        .fold(None, |acc, (age, amount)| {
            let (youngest, count, total) = acc.unwrap_or((age, 0, 0));
            // Saturate: a corrupt amount must not panic or wrap a whale into tier C.
            Some((
                youngest.min(age),
                count + 1,
                i64::saturating_add(total, amount),
            ))
        })
}

/// The stage purchases imply. Ages are compared strictly (`>`): exactly
/// `at_risk_after_days` old is not yet AT_RISK, likewise for CHURNED.
pub fn derive_stage(
    purchases: &[Purchase],
    now: DateTime<Utc>,
    config: &ClassificationConfig,
) -> Stage {
    let Some((age, count, _)) = summarize(purchases, now, TimeDelta::MAX) else {
        return Stage::Prospect;
    };
    if age > days(config.churned_after_days) {
        Stage::Churned
    } else if age > days(config.at_risk_after_days) {
        Stage::AtRisk
    } else if count == 1 {
        Stage::New
    } else {
        Stage::Active
    }
}

/// The stage to store: a pinned (manually set) stage wins; otherwise derive_stage.
pub fn effective_stage(
    pinned: Option<Stage>,
    purchases: &[Purchase],
    now: DateTime<Utc>,
    config: &ClassificationConfig,
) -> Stage {
    pinned.unwrap_or_else(|| derive_stage(purchases, now, config))
}

/// RFM over completed purchases in the window `[now - window_days, now]`
/// (both ends inclusive). With no purchase in the window: R=1, F=1, M=1.
pub fn rfm(purchases: &[Purchase], now: DateTime<Utc>, config: &ClassificationConfig) -> Rfm {
    let Some((age, count, total)) = summarize(purchases, now, days(config.window_days)) else {
        return Rfm::LOWEST;
    };
    // Walk each ladder from the best band down so the first match wins,
    // which keeps behaviour predictable even for an unvalidated config.
    let recency = (0u8..4)
        .find(|&i| age <= days(config.recency_days[usize::from(i)]))
        .map_or(1, |i| 5 - i);
    let at_least = |value: i64, ladder: &[i64; 4]| -> u8 {
        (0u8..4)
            .rev()
            .find(|&i| value >= ladder[usize::from(i)])
            .map_or(1, |i| i + 2)
    };
    Rfm {
        recency,
        frequency: at_least(count, &config.frequency),
        monetary: at_least(total, &config.monetary_minor),
    }
}

pub fn tier(rfm: Rfm, config: &ClassificationConfig) -> Tier {
    let total = rfm.total();
    if total >= config.tier_a_min {
        Tier::A
    } else if total >= config.tier_b_min {
        Tier::B
    } else {
        Tier::C
    }
}

/// Stage and tier together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub stage: Stage,
    pub tier: Tier,
    pub rfm: Rfm,
}

impl Classification {
    /// Whether a "stage changed" event is due. No previous value (first
    /// classification) counts as a change so the initial stage is recorded.
    pub fn stage_changed(&self, previous: Option<Stage>) -> bool {
        previous != Some(self.stage)
    }

    /// Whether a "tier changed" event is due; same rule as `stage_changed`.
    pub fn tier_changed(&self, previous: Option<Tier>) -> bool {
        previous != Some(self.tier)
    }
}

pub fn classify(
    pinned: Option<Stage>,
    purchases: &[Purchase],
    now: DateTime<Utc>,
    config: &ClassificationConfig,
) -> Classification {
    let rfm = rfm(purchases, now, config);
    Classification {
        stage: effective_stage(pinned, purchases, now, config),
        tier: tier(rfm, config),
        rfm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    const SEC: TimeDelta = TimeDelta::seconds(1);
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }
    fn d(n: i64) -> TimeDelta {
        TimeDelta::days(n)
    }
    fn purchase(age: TimeDelta, amount_minor: i64, refunded: bool) -> Purchase {
        let at = now() - age;
        Purchase {
            at,
            amount_minor,
            refunded,
        }
    }
    fn buy(age: TimeDelta, amount_minor: i64) -> Purchase {
        purchase(age, amount_minor, false)
    }
    fn refund(age: TimeDelta, amount_minor: i64) -> Purchase {
        purchase(age, amount_minor, true)
    }
    fn cfg() -> ClassificationConfig {
        ClassificationConfig::default()
    }
    fn stage(ps: &[Purchase]) -> Stage {
        derive_stage(ps, now(), &cfg())
    }
    fn score(ps: &[Purchase]) -> Rfm {
        rfm(ps, now(), &cfg())
    }
    fn r3(recency: u8, frequency: u8, monetary: u8) -> Rfm {
        Rfm {
            recency,
            frequency,
            monetary,
        }
    }

    #[test]
    fn stage_transitions_and_boundaries() {
        assert_eq!(stage(&[]), Stage::Prospect);
        assert_eq!(stage(&[buy(d(1), 100)]), Stage::New);
        assert_eq!(stage(&[buy(d(1), 100), buy(d(50), 100)]), Stage::Active);
        // Exactly 90 days is still fine; one second more is AT_RISK.
        assert_eq!(stage(&[buy(d(90), 100)]), Stage::New);
        assert_eq!(stage(&[buy(d(90), 100), buy(d(100), 1)]), Stage::Active);
        assert_eq!(stage(&[buy(d(90) + SEC, 100)]), Stage::AtRisk);
        // Exactly 180 days is AT_RISK; one second more is CHURNED.
        assert_eq!(stage(&[buy(d(180), 100), buy(d(200), 1)]), Stage::AtRisk);
        assert_eq!(stage(&[buy(d(180) + SEC, 100)]), Stage::Churned);
        // The most recent purchase decides, regardless of slice order.
        let mixed = [buy(d(400), 1), buy(d(10), 1), buy(d(200), 1)];
        assert_eq!(stage(&mixed), Stage::Active);
        // Not-yet-happened purchases do not make a prospect a customer.
        assert_eq!(stage(&[buy(-d(3), 100)]), Stage::Prospect);
    }

    #[test]
    fn refunded_purchases_do_not_count_for_stage() {
        assert_eq!(stage(&[refund(d(1), 100)]), Stage::Prospect);
        assert_eq!(stage(&[buy(d(5), 100), refund(d(1), 100)]), Stage::New);
        assert_eq!(stage(&[buy(d(100), 100), refund(d(1), 100)]), Stage::AtRisk);
    }

    #[test]
    fn pinned_stage_wins() {
        let ps = [buy(d(1), 100), buy(d(2), 100)];
        let eff = |pinned, ps: &[Purchase]| effective_stage(pinned, ps, now(), &cfg());
        assert_eq!(eff(Some(Stage::Churned), &ps), Stage::Churned);
        assert_eq!(eff(Some(Stage::Active), &[]), Stage::Active);
        assert_eq!(eff(None, &ps), Stage::Active);
        let c = classify(Some(Stage::AtRisk), &ps, now(), &cfg());
        assert_eq!(c.stage, Stage::AtRisk);
    }

    #[test]
    fn recency_boundaries() {
        for (i, days) in (0u8..).zip([30, 60, 90, 180]) {
            let at_edge = score(&[buy(d(days), 1)]).recency;
            let past_edge = score(&[buy(d(days) + SEC, 1)]).recency;
            assert_eq!((at_edge, past_edge), (5 - i, 4 - i), "{days} days");
        }
        assert_eq!(score(&[buy(TimeDelta::zero(), 1)]).recency, 5);
    }

    #[test]
    fn frequency_boundaries() {
        let n_purchases = |n: i64| score(&(0..n).map(|i| buy(d(i), 1)).collect::<Vec<_>>());
        for (i, n) in (0u8..).zip([2, 4, 8, 12]) {
            assert_eq!(n_purchases(n).frequency, i + 2, "{n} purchases");
            assert_eq!(n_purchases(n - 1).frequency, i + 1, "{n} - 1 purchases");
        }
        assert_eq!(n_purchases(40).frequency, 5);
    }

    #[test]
    fn monetary_boundaries() {
        // Split over two purchases so summing is exercised too.
        let spend = |t: i64| score(&[buy(d(1), t / 2), buy(d(2), t - t / 2)]).monetary;
        for (i, t) in (0u8..).zip([10_000, 50_000, 200_000, 1_000_000]) {
            assert_eq!((spend(t), spend(t - 1)), (i + 2, i + 1), "total {t}");
        }
        // Overflowing sums saturate instead of panicking or wrapping.
        assert_eq!(score(&[buy(d(1), i64::MAX), buy(d(2), 9)]).monetary, 5);
    }

    #[test]
    fn rfm_window_refunds_and_future() {
        assert_eq!(score(&[]), Rfm::LOWEST);
        // Window edge is inclusive.
        assert_eq!(score(&[buy(d(365), 10_000)]), r3(1, 1, 2));
        assert_eq!(score(&[buy(d(365) + SEC, 10_000)]), Rfm::LOWEST);
        // Refunded purchases count for none of R, F or M.
        let ps = [
            buy(d(100), 10_000),
            refund(d(1), 1_000_000),
            refund(d(2), 1),
        ];
        assert_eq!(score(&ps), r3(2, 1, 2));
        assert_eq!(score(&[refund(d(1), 1_000_000)]), Rfm::LOWEST);
        // Future-dated purchases are ignored.
        assert_eq!(score(&[buy(-d(1), 1_000_000), buy(-SEC, 1)]), Rfm::LOWEST);
    }

    #[test]
    fn tier_boundaries() {
        let t = |r, f, m| tier(r3(r, f, m), &cfg());
        // Totals 15, 12 | 11 and 8 | 7, 3: each threshold from both sides.
        assert_eq!(
            [t(5, 5, 5), t(4, 4, 4), t(5, 5, 1)],
            [Tier::A, Tier::A, Tier::B]
        );
        assert_eq!(
            [t(3, 3, 2), t(3, 2, 2), t(1, 1, 1)],
            [Tier::B, Tier::C, Tier::C]
        );
        assert!(Tier::A < Tier::B && Tier::B < Tier::C);
    }

    #[test]
    fn whale_is_a_and_single_small_old_purchase_is_c() {
        let whale: Vec<_> = (0..20).map(|i| buy(d(i), 100_000)).collect();
        let c = classify(None, &whale, now(), &cfg());
        assert_eq!(c.rfm, r3(5, 5, 5));
        assert_eq!((c.stage, c.tier), (Stage::Active, Tier::A));

        let c = classify(None, &[buy(d(200), 500)], now(), &cfg());
        assert_eq!(c.rfm, Rfm::LOWEST);
        assert_eq!((c.stage, c.tier), (Stage::Churned, Tier::C));
    }

    #[test]
    fn change_detection() {
        let c = classify(None, &[buy(d(1), 100)], now(), &cfg());
        assert_eq!((c.stage, c.tier), (Stage::New, Tier::C));
        assert!(c.stage_changed(None) && c.stage_changed(Some(Stage::Prospect)));
        assert!(!c.stage_changed(Some(Stage::New)));
        assert!(c.tier_changed(None) && c.tier_changed(Some(Tier::B)));
        assert!(!c.tier_changed(Some(Tier::C)));
    }

    #[test]
    fn config_validation_names_the_field() {
        assert_eq!(cfg().validate(), Ok(()));
        type Edit = fn(&mut ClassificationConfig);
        let cases: [(&str, Edit); 11] = [
            ("at_risk_after_days", |c| c.at_risk_after_days = 0),
            ("churned_after_days", |c| c.churned_after_days = 90),
            ("window_days", |c| c.window_days = 0),
            ("recency_days", |c| c.recency_days = [30, 30, 90, 180]),
            ("recency_days", |c| c.recency_days = [0, 60, 90, 180]),
            ("frequency", |c| c.frequency = [2, 4, 3, 12]),
            ("monetary_minor", |c| c.monetary_minor[3] = 200_000),
            ("tier_b_min", |c| c.tier_b_min = 2),
            ("tier_a_min", |c| c.tier_a_min = 16),
            ("tier_a_min", |c| c.tier_a_min = 7),
            ("tier_b_min", |c| (c.tier_a_min, c.tier_b_min) = (16, 16)),
        ];
        for (field, edit) in cases {
            let mut c = cfg();
            edit(&mut c);
            let err = c.validate().expect_err(field);
            let prefix = format!("customers.classification.{field}:");
            assert!(err.starts_with(&prefix), "{err}");
        }
        // Tier bounds are inclusive on both ends.
        for (tier_a_min, tier_b_min) in [(3, 3), (15, 15), (15, 3)] {
            let c = ClassificationConfig {
                tier_a_min,
                tier_b_min,
                ..cfg()
            };
            assert_eq!(c.validate(), Ok(()), "a={tier_a_min} b={tier_b_min}");
        }
        // Huge day counts are valid and must not panic.
        let c = ClassificationConfig {
            churned_after_days: i64::MAX,
            ..cfg()
        };
        assert_eq!(c.validate(), Ok(()));
        let old = [buy(d(100_000), 1)];
        assert_eq!(derive_stage(&old, now(), &c), Stage::AtRisk);
    }

    #[test]
    fn stage_and_tier_round_trip() {
        let names = ["PROSPECT", "NEW", "ACTIVE", "AT_RISK", "CHURNED"];
        assert_eq!(Stage::ALL.map(Stage::as_str), names);
        assert_eq!(Tier::ALL.map(Tier::as_str), ["A", "B", "C"]);
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
            // The serde name must equal the stored name.
            let de: StrDeserializer<DeError> = s.as_str().into_deserializer();
            assert_eq!(Stage::deserialize(de), Ok(s));
        }
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Some(t));
            let de: StrDeserializer<DeError> = t.as_str().into_deserializer();
            assert_eq!(Tier::deserialize(de), Ok(t));
        }
        for bad in ["", "at_risk", "AtRisk", "D", "a", " A"] {
            assert_eq!(
                (Stage::parse(bad), Tier::parse(bad)),
                (None, None),
                "{bad:?}"
            );
        }
    }
}
