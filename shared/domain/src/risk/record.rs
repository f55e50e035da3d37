//! What risk control keeps on a payment: its verdict, the snapshot it was decided on (so a
//! backtest can replay the payment through another configuration) and the shop's review.

use super::{Figures, ListHits, ListKind, Reason, RiskDecision, Verdict};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What the decision was taken on: the figures read, which lists matched (their kinds: the
/// values are the customer's own, already on the payment) and the model's score.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub figures: Figures,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block_hits: Vec<ListKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hits: Vec<ListKind>,
    /// Hits in the platform's block list (which blocks whatever the rules say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platform_block_hits: Vec<ListKind>,
    pub model_score: u8,
}

impl Snapshot {
    /// The list hits as the decision takes them.
    pub fn lists(&self) -> ListHits {
        ListHits {
            block: self
                .block_hits
                .iter()
                .map(|k| (*k, String::new()))
                .collect(),
            allow: self
                .allow_hits
                .iter()
                .map(|k| (*k, String::new()))
                .collect(),
            platform_block: self
                .platform_block_hits
                .iter()
                .map(|k| (*k, String::new()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewChoice {
    Approve,
    Decline,
}

/// The shop's decision on a payment held for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub decision: ReviewChoice,
    /// The key that decided (its public id).
    pub by: String,
    pub at: Timestamp,
}

/// Risk control's verdict on a payment, as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub decision: RiskDecision,
    pub score: u8,
    pub reasons: Vec<Reason>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadow: Vec<Reason>,
    pub snapshot: Snapshot,
    /// For a payment held for review: until when the shop may decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

impl Assessment {
    pub fn new(verdict: Verdict, snapshot: Snapshot, review_until: Option<Timestamp>) -> Self {
        Assessment {
            decision: verdict.decision,
            score: verdict.score,
            reasons: verdict.reasons,
            shadow: verdict.shadow,
            snapshot,
            review_until: (verdict.decision == RiskDecision::Review)
                .then_some(review_until)
                .flatten(),
            review: None,
        }
    }

    /// One line for a payment's history: `review score 74: velocity.phone.1m.count`.
    pub fn summary(&self) -> String {
        let decision = match self.decision {
            RiskDecision::Allow => "allow",
            RiskDecision::Review => "review",
            RiskDecision::Block => "block",
        };
        let codes: Vec<&str> = self.reasons.iter().map(|r| r.code.as_str()).collect();
        if codes.is_empty() {
            format!("risk {decision} score {}", self.score)
        } else {
            format!("risk {decision} score {}: {}", self.score, codes.join(", "))
        }
    }
}
