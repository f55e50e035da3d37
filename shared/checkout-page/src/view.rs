//! What the page shows for a session as it stands: the templates' models, built from the
//! session, its latest attempt's payment and the wallets on offer. Pure: the routes read
//! the state, this decides what the buyer sees.

use crate::assets::logo_url;
use crate::text::{self, fill, Text};
use askama::Template;
use walletpay_domain::catalog::WalletSpec;
use walletpay_domain::checkout::{CheckoutSession, SessionStatus, MAX_ATTEMPTS};
use walletpay_domain::{
    failure_message, ActionKind, FailureCategory, Lang, NextAction, Payment, PaymentStatus,
    Recovery, Timestamp, WalletId,
};

#[derive(Template)]
#[template(path = "page.html")]
pub struct PageT<'a> {
    pub t: &'static Text,
    pub shop: &'a str,
    pub pay_to: String,
    pub total: Option<String>,
    pub poll: bool,
    pub panel_html: String,
    pub back_url: Option<&'a str>,
    /// Where the page sends the buyer on by itself (paid: the shop's return URL).
    pub onward: Option<String>,
}

#[derive(Template)]
#[template(path = "panel.html")]
pub struct PanelT {
    pub t: &'static Text,
    pub poll: bool,
    pub status_url: String,
    pub page_url: String,
    pub pay_url: String,
    pub notice: Option<String>,
    pub message: Option<String>,
    pub continue_url: Option<String>,
    pub action: Option<ActionV>,
    pub failure: Option<FailureV>,
    pub wallets: Vec<WalletV>,
    /// The wallets shown with an incentive, comma-separated (the form says so back: an
    /// incentive gone meanwhile is then refused instead of charged at full price).
    pub offered: String,
}

pub struct ActionV {
    pub heading: String,
    pub incentive: Option<String>,
    pub link: Option<LinkV>,
    pub push: Option<String>,
    pub qr: Option<String>,
    pub qr_caption: String,
    pub amount: String,
    pub seconds_left: i64,
    pub countdown: String,
    pub qr_expired: bool,
}

pub struct LinkV {
    pub url: String,
    pub label: String,
    pub new_tab: bool,
}

pub struct FailureV {
    pub reason: &'static str,
    pub recovery: Vec<RecoveryV>,
}

pub struct RecoveryV {
    /// `retry`, `switch` or `card`.
    pub kind: &'static str,
    pub wallet: &'static str,
    pub label: String,
    pub url: String,
}

pub struct WalletV {
    pub wallet: &'static str,
    pub logo_url: String,
    pub button: String,
    pub tagline: &'static str,
    pub incentive: Option<String>,
}

/// A wallet the buyer can choose, with the incentive line the shop offers with it.
pub struct Offer {
    pub spec: &'static WalletSpec,
    pub incentive: Option<String>,
}

/// What the page is for a session at one moment.
pub enum Shown {
    /// Paid: the buyer goes on to the shop's return URL.
    Paid {
        return_url: String,
    },
    Panel(Box<PanelT>),
}

/// Whether the page lists wallets for `s` now (no attempt yet, or the latest one ended):
/// only then are the wallets and their incentives read.
pub fn lists_wallets(s: &CheckoutSession, now: Timestamp) -> bool {
    s.status_at(now) == SessionStatus::Open
        && s.attempts.last().is_none_or(|a| a.status.is_terminal())
}

pub struct Input<'a> {
    pub session: &'a CheckoutSession,
    /// The latest attempt's payment, if it exists yet.
    pub latest: Option<&'a Payment>,
    pub offers: Vec<Offer>,
    pub lang: Lang,
    /// `?lang=..` to keep on the page's own links, or empty.
    pub lang_query: String,
    pub now: Timestamp,
    /// A message for the buyer about their last request (a wallet that refused the order).
    pub notice: Option<&'static str>,
}

fn name(spec: &WalletSpec, lang: Lang) -> &'static str {
    spec.name_in(lang)
}

/// The shop's return URL with the session's id (`checkout_session=cs_...`).
pub fn return_url(s: &CheckoutSession) -> String {
    match url::Url::parse(&s.return_url) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("checkout_session", s.id.as_str());
            u.to_string()
        }
        Err(_) => s.return_url.clone(),
    }
}

pub fn build(i: Input<'_>) -> Shown {
    let s = i.session;
    let t = text::text(i.lang);
    let base = format!("/checkout/{}", s.id);
    let mut panel = PanelT {
        t,
        poll: false,
        status_url: format!("{base}/status{}", i.lang_query),
        page_url: format!("{base}{}", i.lang_query),
        pay_url: format!("{base}/pay{}", i.lang_query),
        notice: i.notice.map(str::to_string),
        message: None,
        continue_url: None,
        action: None,
        failure: None,
        wallets: Vec::new(),
        offered: i
            .offers
            .iter()
            .filter(|o| o.incentive.is_some())
            .map(|o| o.spec.wallet.as_str())
            .collect::<Vec<_>>()
            .join(","),
    };
    let wallet_views = |except: Option<WalletId>| -> Vec<WalletV> {
        i.offers
            .iter()
            .filter(|o| Some(o.spec.wallet) != except)
            .map(|o| WalletV {
                wallet: o.spec.wallet.as_str(),
                logo_url: logo_url(o.spec.logo),
                button: name(o.spec, i.lang).to_string(),
                tagline: t.tagline,
                incentive: o.incentive.clone(),
            })
            .collect()
    };
    match s.status_at(i.now) {
        SessionStatus::Complete => {
            return Shown::Paid {
                return_url: return_url(s),
            }
        }
        SessionStatus::Expired => {
            panel.message = Some(t.expired.to_string());
            return Shown::Panel(Box::new(panel));
        }
        SessionStatus::Open => {}
    }
    let Some(last) = s.attempts.last() else {
        if i.offers.is_empty() {
            panel.message = Some(t.none_payable.to_string());
        }
        panel.wallets = wallet_views(None);
        return Shown::Panel(Box::new(panel));
    };
    let spec = walletpay_domain::catalog::wallet_spec(s.country, last.wallet);
    let wallet_name = spec
        .map(|w| name(w, i.lang))
        .unwrap_or(last.wallet.as_str());
    let payment = i.latest.filter(|p| Some(&p.id) == last.payment_id.as_ref());

    if !last.status.is_terminal() {
        panel.poll = true;
        match payment {
            Some(p) if p.status == PaymentStatus::RequiresAction => {
                panel.action = Some(action(p, wallet_name, t, i.now));
            }
            // A push wallet's request is pending at the provider while the buyer's phone
            // asks them (OVO): that is the action.
            Some(p)
                if p.status == PaymentStatus::Processing
                    && (matches!(p.next_action, Some(NextAction::Push { .. }))
                        || spec.is_some_and(|w| w.action == ActionKind::Push)) =>
            {
                panel.action = Some(action(p, wallet_name, t, i.now));
            }
            Some(p) if p.status == PaymentStatus::RequiresReview => {
                panel.message = Some(t.review.to_string());
            }
            // Being made, or sent with its outcome not known yet: nothing to do but wait,
            // and no second attempt is offered meanwhile.
            _ => panel.message = Some(fill(t.confirming, &[("name", wallet_name)])),
        }
        return Shown::Panel(Box::new(panel));
    }

    // The latest attempt ended unpaid: its reason, and the ways on.
    let category = payment
        .and_then(|p| p.failure.as_ref().map(|f| f.category))
        .unwrap_or(match last.status {
            PaymentStatus::Expired => FailureCategory::Expired,
            PaymentStatus::Canceled => FailureCategory::UserCancelled,
            _ => FailureCategory::Unknown,
        });
    if s.attempts.len() >= MAX_ATTEMPTS {
        panel.message = Some(t.too_many.to_string());
        return Shown::Panel(Box::new(panel));
    }
    let still_offered = i.offers.iter().any(|o| o.spec.wallet == last.wallet);
    let mut recovery = Vec::new();
    for r in category.recovery() {
        match r {
            Recovery::RetrySameWallet if still_offered => recovery.push(RecoveryV {
                kind: "retry",
                wallet: last.wallet.as_str(),
                label: fill(t.try_again, &[("name", wallet_name)]),
                url: String::new(),
            }),
            Recovery::SwitchWallet => recovery.push(RecoveryV {
                kind: "switch",
                wallet: "",
                label: t.other_wallets.to_string(),
                url: String::new(),
            }),
            Recovery::UseCard => {
                if let Some(card) = &s.card_fallback_url {
                    recovery.push(RecoveryV {
                        kind: "card",
                        wallet: "",
                        label: t.pay_by_card.to_string(),
                        url: card.clone(),
                    })
                }
            }
            Recovery::RetrySameWallet => {}
        }
    }
    if recovery.iter().any(|r| r.kind == "switch") {
        panel.wallets = wallet_views(Some(last.wallet));
    }
    panel.failure = Some(FailureV {
        reason: failure_message(category, i.lang),
        recovery,
    });
    Shown::Panel(Box::new(panel))
}

fn action(p: &Payment, wallet_name: &str, t: &'static Text, now: Timestamp) -> ActionV {
    let seconds_left = ((p.expires_at.0 - now.0) / 1000).max(0);
    let mut a = ActionV {
        heading: fill(t.pay_with, &[("name", wallet_name)]),
        incentive: p.incentive.as_ref().map(|i| {
            let off = walletpay_domain::Money {
                minor: i.discount,
                currency: p.amount.currency,
            };
            fill(
                t.incentive_applied,
                &[
                    ("amount", &text::amount(off)),
                    ("total", &text::amount(p.amount)),
                ],
            )
        }),
        link: None,
        push: None,
        qr: None,
        qr_caption: String::new(),
        amount: text::amount(p.amount),
        seconds_left,
        countdown: format!("{}:{:02}", seconds_left / 60, seconds_left % 60),
        qr_expired: false,
    };
    let code = |data: &str, caption: String, a: &mut ActionV| {
        if seconds_left == 0 {
            a.qr_expired = true;
        } else {
            a.qr = crate::qr::svg(data, &caption);
            a.qr_caption = caption;
        }
    };
    match &p.next_action {
        Some(NextAction::Qr { data }) => {
            code(data, fill(t.scan, &[("name", wallet_name)]), &mut a);
        }
        // A web page opens beside the checkout, which keeps watching the payment; the code
        // takes a buyer at a computer to the same page on their phone.
        Some(NextAction::Redirect { url }) => {
            a.link = Some(LinkV {
                url: url.clone(),
                label: fill(t.continue_to, &[("name", wallet_name)]),
                new_tab: true,
            });
            code(url, fill(t.scan_link, &[("name", wallet_name)]), &mut a);
        }
        Some(NextAction::Deeplink { url }) => {
            a.link = Some(LinkV {
                url: url.clone(),
                label: fill(t.open_app, &[("name", wallet_name)]),
                new_tab: false,
            });
            code(url, fill(t.scan_link, &[("name", wallet_name)]), &mut a);
        }
        Some(NextAction::Push { .. }) | None => {
            a.push = Some(fill(t.push, &[("name", wallet_name)]));
        }
    }
    a
}
