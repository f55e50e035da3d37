//! The failure taxonomy. Every provider's error codes map onto a small set of categories,
//! and each category says whether the customer may try again and how to recover.

use serde::{Deserialize, Serialize};

string_enum!(
    /// The small taxonomy every provider error lands in.
    FailureCategory {
        InsufficientBalance = "insufficient_balance",
        UserCancelled = "user_cancelled",
        Expired = "expired",
        RiskRejected = "risk_rejected",
        LimitExceeded = "limit_exceeded",
        WalletUnavailable = "wallet_unavailable",
        NetworkError = "network_error",
        InvalidAccount = "invalid_account",
        AuthenticationFailed = "authentication_failed",
        Duplicate = "duplicate",
        Unknown = "unknown",
    }
);

string_enum!(
    /// What the customer can do next.
    Recovery {
        RetrySameWallet = "retry_same_wallet",
        SwitchWallet = "switch_wallet",
        UseCard = "use_card",
    }
);

string_enum!(
    /// Our stable, provider-neutral failure codes; each belongs to one category.
    FailureCode {
        InsufficientBalance = "insufficient_balance",
        UserDeclined = "user_declined",
        AuthorizationTimeout = "authorization_timeout",
        AccountBlocked = "account_blocked",
        RiskRejected = "risk_rejected",
        LimitReached = "limit_reached",
        WalletUnavailable = "wallet_unavailable",
        WalletUnreachable = "wallet_unreachable",
        ProviderTimeout = "provider_timeout",
        InvalidAccount = "invalid_account",
        AccountNotActivated = "account_not_activated",
        MerchantAuthenticationFailed = "merchant_authentication_failed",
        DuplicateRequest = "duplicate_request",
        Unknown = "unknown",
    }
);

impl FailureCode {
    pub fn category(self) -> FailureCategory {
        use FailureCategory as C;
        match self {
            FailureCode::InsufficientBalance => C::InsufficientBalance,
            FailureCode::UserDeclined => C::UserCancelled,
            FailureCode::AuthorizationTimeout => C::Expired,
            FailureCode::AccountBlocked | FailureCode::RiskRejected => C::RiskRejected,
            FailureCode::LimitReached => C::LimitExceeded,
            FailureCode::WalletUnavailable | FailureCode::WalletUnreachable => C::WalletUnavailable,
            FailureCode::ProviderTimeout => C::NetworkError,
            FailureCode::InvalidAccount | FailureCode::AccountNotActivated => C::InvalidAccount,
            FailureCode::MerchantAuthenticationFailed => C::AuthenticationFailed,
            FailureCode::DuplicateRequest => C::Duplicate,
            FailureCode::Unknown => C::Unknown,
        }
    }
}

impl FailureCategory {
    /// Whether paying again with the same wallet can work.
    pub fn retryable(self) -> bool {
        use FailureCategory as C;
        matches!(
            self,
            C::InsufficientBalance
                | C::UserCancelled
                | C::Expired
                | C::WalletUnavailable
                | C::NetworkError
                | C::Unknown
        )
    }

    /// The ways forward, most natural first.
    pub fn recovery(self) -> &'static [Recovery] {
        use FailureCategory as C;
        use Recovery as R;
        match self {
            C::InsufficientBalance => &[R::RetrySameWallet, R::SwitchWallet, R::UseCard],
            C::UserCancelled | C::Expired => &[R::RetrySameWallet, R::SwitchWallet, R::UseCard],
            C::WalletUnavailable => &[R::SwitchWallet, R::RetrySameWallet, R::UseCard],
            C::NetworkError | C::Unknown => &[R::RetrySameWallet, R::SwitchWallet, R::UseCard],
            C::RiskRejected | C::LimitExceeded | C::InvalidAccount => {
                &[R::SwitchWallet, R::UseCard]
            }
            C::AuthenticationFailed => &[R::SwitchWallet, R::UseCard],
            C::Duplicate => &[],
        }
    }

    /// The customer-facing explanation, in English.
    pub fn message_en(self) -> &'static str {
        use FailureCategory as C;
        match self {
            C::InsufficientBalance => "Your wallet balance is not enough for this payment. Top up and try again, or pay another way.",
            C::UserCancelled => "The payment was cancelled in the wallet app. You can try again.",
            C::Expired => "The payment was not approved in time. Please try again.",
            C::RiskRejected => "Your wallet declined this payment. Please pay with another wallet or a card.",
            C::LimitExceeded => "This payment is over your wallet's limit. Please pay with another wallet or a card.",
            C::WalletUnavailable => "The wallet is not available right now. Try another wallet, or try again in a few minutes.",
            C::NetworkError => "We could not reach the wallet in time. Please try again.",
            C::InvalidAccount => "This wallet account cannot take the payment. Please check the account or pay another way.",
            C::AuthenticationFailed => "This wallet cannot be used at this shop right now. Please pay another way.",
            C::Duplicate => "This payment was already made.",
            C::Unknown => "The payment did not go through. Please try again or pay another way.",
        }
    }
}

/// Why a payment failed, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: FailureCode,
    pub category: FailureCategory,
    pub message: String,
    pub retryable: bool,
    pub recovery: Vec<Recovery>,
    /// The provider's own code, for support; never shown to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
}

impl Failure {
    pub fn new(code: FailureCode, provider_code: Option<String>) -> Self {
        let category = code.category();
        Failure {
            code,
            category,
            message: category.message_en().to_string(),
            retryable: category.retryable(),
            recovery: category.recovery().to_vec(),
            provider_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_category_and_a_message() {
        for c in FailureCode::ALL {
            let f = Failure::new(*c, None);
            assert!(!f.message.is_empty());
            assert_eq!(FailureCode::parse(c.as_str()), Some(*c));
            if f.retryable {
                assert!(f.recovery.contains(&Recovery::RetrySameWallet), "{c:?}");
            } else {
                assert!(!f.recovery.contains(&Recovery::RetrySameWallet), "{c:?}");
            }
        }
        for cat in FailureCategory::ALL {
            assert_eq!(FailureCategory::parse(cat.as_str()), Some(*cat));
            assert!(
                FailureCode::ALL.iter().any(|c| c.category() == *cat),
                "{cat:?} has no code"
            );
        }
    }
}
