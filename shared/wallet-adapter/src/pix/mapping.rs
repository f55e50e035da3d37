//! API Pix in our terms: our payment as a txid (and back), a refund as a `devolucao` id,
//! `cob` and `devolucao` statuses, and amounts (`"12.34"` reais).

use super::wire::{Cob, Devolucao};
use crate::adapter::{ProviderStatus, RefundOutcome};
use walletpay_domain::{Currency, Failure, FailureCode, Money, PaymentId};

/// Our txid for a payment: its id's body (26 lower-case letters and digits, within the
/// standard's `[a-zA-Z0-9]{26,35}`).
pub fn txid(id: &PaymentId) -> String {
    id.body().to_string()
}

pub(crate) fn payment_of(txid: &str) -> Option<PaymentId> {
    PaymentId::parse(&format!("{}{txid}", PaymentId::PREFIX))
}

pub(crate) fn brl(s: &str) -> Option<Money> {
    Money::parse_decimal(s, Currency::BRL).ok()
}

/// A refund's id at the PSP: our refund id's body (alphanumeric, at most 35).
pub(crate) fn devolucao_id(r: &walletpay_domain::RefundId) -> String {
    r.body().to_string()
}

pub(crate) fn cob_status(cob: &Cob) -> ProviderStatus {
    match cob.status.as_str() {
        "CONCLUIDA" => ProviderStatus::Succeeded,
        "REMOVIDA_PELO_USUARIO_RECEBEDOR" => ProviderStatus::Canceled,
        "REMOVIDA_PELO_PSP" => ProviderStatus::Expired,
        _ => ProviderStatus::Pending,
    }
}

pub(crate) fn devolucao_outcome(e2e: &str, d: &Devolucao) -> RefundOutcome {
    let reference = format!("{e2e}/{}", d.id);
    match d.status.as_str() {
        "DEVOLVIDO" => RefundOutcome::Succeeded {
            provider_reference: reference,
        },
        "NAO_REALIZADO" => RefundOutcome::Failed {
            provider_reference: Some(reference),
            failure: Failure::new(
                FailureCode::Unknown,
                Some(d.motivo.clone().unwrap_or_else(|| "NAO_REALIZADO".into())),
            ),
        },
        _ => RefundOutcome::Pending {
            provider_reference: reference,
        },
    }
}
