//! Opening a wallet through a provider for one merchant: the KYB review and contract that
//! take weeks. Per merchant and provider, the state (`not_started`, `submitted`,
//! `under_review`, `live`, `rejected`), since when, a note, the contracted terms, and
//! every change with who made it. Routing sends a merchant's payments only to providers
//! that are live for it; a provider with no record is live (how the merchants that took
//! payments before onboarding was recorded carry on with what they use).

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

string_enum!(
    /// Where a merchant's application with a provider stands.
    OnboardingState {
        NotStarted = "not_started",
        Submitted = "submitted",
        UnderReview = "under_review",
        Live = "live",
        Rejected = "rejected",
    }
);

impl OnboardingState {
    /// The moves an application makes: submitted, reviewed, then live or rejected; a
    /// rejected one submitted again; a live one back under review (the provider reviews
    /// it again, and payments stop going there meanwhile).
    pub fn may_become(self, to: OnboardingState) -> bool {
        use OnboardingState as S;
        matches!(
            (self, to),
            (S::NotStarted, S::Submitted)
                | (S::Submitted, S::UnderReview)
                | (S::Submitted, S::Rejected)
                | (S::UnderReview, S::Live)
                | (S::UnderReview, S::Rejected)
                | (S::Rejected, S::Submitted)
                | (S::Live, S::UnderReview)
        )
    }
}

/// What the merchant's contract with the provider says it pays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The fee, in basis points of each payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_bps: Option<u32>,
    /// A fixed fee per payment, in minor units of `currency` (a payment in another currency
    /// pays the account's fixed fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_fixed: Option<i64>,
    /// The currency of `fee_fixed`; required with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<crate::Currency>,
    /// Business days from a payment to its payout (T+N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub from: Option<OnboardingState>,
    pub to: OnboardingState,
    pub at: Timestamp,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One merchant's application with one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderOnboarding {
    pub state: OnboardingState,
    /// When it entered its state.
    pub since: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub terms: Terms,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<Change>,
}

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a move an application makes from where it stands.
    Transition {
        from: OnboardingState,
        to: OnboardingState,
    },
    /// A fee in basis points above 100%, or a negative fixed fee.
    Terms(&'static str),
}

impl ProviderOnboarding {
    /// A record's next state (a first record may start anywhere: it says where an
    /// application already stands), the terms and note replaced when given.
    pub fn change(
        current: Option<&ProviderOnboarding>,
        to: OnboardingState,
        note: Option<String>,
        terms: Option<Terms>,
        by: &str,
        at: Timestamp,
    ) -> Result<ProviderOnboarding, Refused> {
        if let Some(t) = &terms {
            if t.fee_bps.is_some_and(|f| f > 10_000) {
                return Err(Refused::Terms("fee_bps"));
            }
            if t.fee_fixed.is_some_and(|f| f < 0) {
                return Err(Refused::Terms("fee_fixed"));
            }
            if t.fee_fixed.is_some() && t.currency.is_none() {
                return Err(Refused::Terms("currency"));
            }
        }
        let from = current.map(|c| c.state);
        if let Some(from) = from {
            if from != to && !from.may_become(to) {
                return Err(Refused::Transition { from, to });
            }
        }
        let mut next = current.cloned().unwrap_or(ProviderOnboarding {
            state: to,
            since: at,
            note: None,
            terms: Terms::default(),
            history: Vec::new(),
        });
        if from != Some(to) {
            next.since = at;
        }
        next.state = to;
        if note.is_some() {
            next.note = note.clone();
        }
        if let Some(t) = terms {
            next.terms = t;
        }
        next.history.push(Change {
            from,
            to,
            at,
            by: by.to_string(),
            note,
        });
        Ok(next)
    }

    pub fn is_live(&self) -> bool {
        self.state == OnboardingState::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OnboardingState as S;

    #[test]
    fn applications_move_as_reviews_do_and_keep_their_history() {
        let first = ProviderOnboarding::change(
            None,
            S::Submitted,
            Some("KYB sent".into()),
            None,
            "ops@a",
            Timestamp(1),
        )
        .unwrap();
        assert_eq!(
            (first.state, first.since, first.history.len()),
            (S::Submitted, Timestamp(1), 1)
        );
        assert_eq!(
            ProviderOnboarding::change(Some(&first), S::Live, None, None, "ops@a", Timestamp(2)),
            Err(Refused::Transition {
                from: S::Submitted,
                to: S::Live
            })
        );
        let review = ProviderOnboarding::change(
            Some(&first),
            S::UnderReview,
            None,
            None,
            "ops@a",
            Timestamp(3),
        )
        .unwrap();
        let terms = Terms {
            fee_bps: Some(150),
            fee_fixed: None,
            currency: None,
            settlement_days: Some(2),
        };
        let live = ProviderOnboarding::change(
            Some(&review),
            S::Live,
            None,
            Some(terms.clone()),
            "ops@b",
            Timestamp(4),
        )
        .unwrap();
        assert!(live.is_live());
        assert_eq!(
            (live.since, live.terms.clone(), live.note.as_deref()),
            (Timestamp(4), terms, Some("KYB sent"))
        );
        assert_eq!(
            live.history.iter().map(|c| c.to).collect::<Vec<_>>(),
            [S::Submitted, S::UnderReview, S::Live]
        );
        // The same state again keeps its date (a note or terms change).
        let noted = ProviderOnboarding::change(
            Some(&live),
            S::Live,
            Some("renewed".into()),
            None,
            "ops@b",
            Timestamp(9),
        )
        .unwrap();
        assert_eq!(noted.since, Timestamp(4));
        assert!(ProviderOnboarding::change(
            Some(&live),
            S::NotStarted,
            None,
            None,
            "x",
            Timestamp(5)
        )
        .is_err());
        assert_eq!(
            ProviderOnboarding::change(
                None,
                S::Live,
                None,
                Some(Terms {
                    fee_bps: Some(10_001),
                    ..Terms::default()
                }),
                "x",
                Timestamp(5)
            ),
            Err(Refused::Terms("fee_bps"))
        );
        // A fixed fee names its currency.
        let fixed = |currency| Terms {
            fee_fixed: Some(200_000),
            currency,
            ..Terms::default()
        };
        assert_eq!(
            ProviderOnboarding::change(None, S::Live, None, Some(fixed(None)), "x", Timestamp(6)),
            Err(Refused::Terms("currency"))
        );
        assert!(ProviderOnboarding::change(
            None,
            S::Live,
            None,
            Some(fixed(Some(crate::Currency::IDR))),
            "x",
            Timestamp(7)
        )
        .is_ok());
    }
}
