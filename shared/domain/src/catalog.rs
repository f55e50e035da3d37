//! Markets, wallets and providers as data. The wallet catalog is one table: a wallet in a
//! country, its currency, the per-payment limits, the customer action it needs and the
//! providers that can reach it. Rules read the table; no code branches on a wallet.

// Amounts below are written <major>_<minor digits> (IDR 20,000,000.00 is 20_000_000_00).
#![allow(clippy::inconsistent_digit_grouping)]

use crate::messages::Lang;
use crate::money::Currency;

string_enum!(
    /// ISO 3166-1 alpha-2 codes of the markets served.
    Country {
        ID = "ID",
        TH = "TH",
        MY = "MY",
        PH = "PH",
        VN = "VN",
        BR = "BR",
        SG = "SG",
    }
);

impl Country {
    pub fn currency(self) -> Currency {
        match self {
            Country::ID => Currency::IDR,
            Country::TH => Currency::THB,
            Country::MY => Currency::MYR,
            Country::PH => Currency::PHP,
            Country::VN => Currency::VND,
            Country::BR => Currency::BRL,
            Country::SG => Currency::SGD,
        }
    }
}

string_enum!(
    /// The wallet ids of the public API.
    WalletId {
        Dana = "dana",
        Ovo = "ovo",
        Gopay = "gopay",
        Shopeepay = "shopeepay",
        Linkaja = "linkaja",
        Promptpay = "promptpay",
        Truemoney = "truemoney",
        RabbitLinePay = "rabbit_line_pay",
        TouchNGo = "touch_n_go",
        Grabpay = "grabpay",
        Boost = "boost",
        Gcash = "gcash",
        Maya = "maya",
        Momo = "momo",
        Zalopay = "zalopay",
        Pix = "pix",
        Qris = "qris",
        Qrph = "qrph",
    }
);

string_enum!(
    /// Who we reach a wallet through: an aggregator or the wallet's own rails.
    Provider {
        Xendit = "xendit",
        Stripe = "stripe",
        Adyen = "adyen",
        Midtrans = "midtrans",
        Dana = "dana",
        Pix = "pix",
        Promptpay = "promptpay",
    }
);

string_enum!(
    /// What the customer does to approve a payment.
    ActionKind {
        Redirect = "redirect",
        Deeplink = "deeplink",
        Qr = "qr",
        Push = "push",
    }
);

/// One row of the wallet catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletSpec {
    pub country: Country,
    pub wallet: WalletId,
    pub display_name: &'static str,
    /// Smallest and largest amount of one payment, in minor units of the country's currency.
    pub min_minor: i64,
    pub max_minor: i64,
    pub action: ActionKind,
    /// Providers that can serve this wallet in this country, preferred first.
    pub providers: &'static [Provider],
    /// Names that differ from `display_name` in a language (brands mostly keep theirs).
    pub local_names: &'static [(Lang, &'static str)],
    /// The key of the wallet's logo in a checkout's asset set (`<country>/<wallet>`).
    pub logo: &'static str,
}

impl WalletSpec {
    /// The wallet's name as shoppers reading `lang` know it.
    pub fn name_in(&self, lang: Lang) -> &'static str {
        self.local_names
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, n)| *n)
            .unwrap_or(self.display_name)
    }
}

use ActionKind as A;
use Country as C;
use Provider as P;
use WalletId as W;

/// The catalog, each country's wallets in order of market share, the national QR codes
/// last. Limits are the lower of the wallet's own per-transaction limit and what its
/// providers accept (Xendit's channel limits: IDR 100 for DANA, OVO and LinkAja, at most
/// IDR 10,000,000 for LinkAja, THB 50,000 for TrueMoney and LINE Pay).
pub static CATALOG: &[WalletSpec] = &[
    WalletSpec {
        country: C::ID,
        wallet: W::Dana,
        display_name: "DANA",
        min_minor: 100_00,
        max_minor: 20_000_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "id/dana",
        providers: &[P::Xendit, P::Adyen, P::Dana],
    },
    WalletSpec {
        country: C::ID,
        wallet: W::Ovo,
        display_name: "OVO",
        min_minor: 100_00,
        max_minor: 20_000_000_00,
        action: A::Push,
        local_names: &[],
        logo: "id/ovo",
        providers: &[P::Xendit],
    },
    WalletSpec {
        country: C::ID,
        wallet: W::Gopay,
        display_name: "GoPay",
        min_minor: 100_00,
        max_minor: 20_000_000_00,
        action: A::Deeplink,
        local_names: &[],
        logo: "id/gopay",
        providers: &[P::Midtrans, P::Adyen],
    },
    WalletSpec {
        country: C::ID,
        wallet: W::Shopeepay,
        display_name: "ShopeePay",
        min_minor: 100_00,
        max_minor: 20_000_000_00,
        action: A::Deeplink,
        local_names: &[],
        logo: "id/shopeepay",
        providers: &[P::Xendit, P::Midtrans],
    },
    WalletSpec {
        country: C::ID,
        wallet: W::Linkaja,
        display_name: "LinkAja",
        min_minor: 100_00,
        max_minor: 10_000_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "id/linkaja",
        providers: &[P::Xendit],
    },
    // Bank Indonesia's national QR: one code every Indonesian wallet and banking app pays
    // (Xendit's QRIS channel, IDR 1 to 10,000,000; Midtrans's `qris`, the same limits).
    WalletSpec {
        country: C::ID,
        wallet: W::Qris,
        display_name: "QRIS",
        min_minor: 1_00,
        max_minor: 10_000_000_00,
        action: A::Qr,
        local_names: &[],
        logo: "id/qris",
        providers: &[P::Xendit, P::Midtrans],
    },
    WalletSpec {
        country: C::TH,
        wallet: W::Promptpay,
        display_name: "PromptPay",
        min_minor: 1_00,
        max_minor: 150_000_00,
        action: A::Qr,
        local_names: &[(Lang::Th, "พร้อมเพย์")],
        logo: "th/promptpay",
        providers: &[P::Stripe, P::Promptpay],
    },
    WalletSpec {
        country: C::TH,
        wallet: W::Truemoney,
        display_name: "TrueMoney",
        min_minor: 1_00,
        max_minor: 50_000_00,
        action: A::Redirect,
        local_names: &[(Lang::Th, "ทรูมันนี่ วอลเล็ท")],
        logo: "th/truemoney",
        providers: &[P::Xendit, P::Adyen],
    },
    WalletSpec {
        country: C::TH,
        wallet: W::RabbitLinePay,
        display_name: "Rabbit LINE Pay",
        min_minor: 1_00,
        max_minor: 50_000_00,
        action: A::Redirect,
        local_names: &[(Lang::Th, "แรบบิท ไลน์ เพย์")],
        logo: "th/rabbit_line_pay",
        providers: &[P::Xendit],
    },
    WalletSpec {
        country: C::TH,
        wallet: W::Shopeepay,
        display_name: "ShopeePay",
        min_minor: 1_00,
        max_minor: 100_000_00,
        action: A::Deeplink,
        local_names: &[],
        logo: "th/shopeepay",
        providers: &[P::Xendit],
    },
    WalletSpec {
        country: C::MY,
        wallet: W::TouchNGo,
        display_name: "Touch 'n Go eWallet",
        min_minor: 1_00,
        max_minor: 10_000_00,
        action: A::Redirect,
        local_names: &[(Lang::Ms, "Touch 'n Go eWallet")],
        logo: "my/touch_n_go",
        providers: &[P::Adyen],
    },
    WalletSpec {
        country: C::MY,
        wallet: W::Grabpay,
        display_name: "GrabPay",
        min_minor: 1_00,
        max_minor: 5_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "my/grabpay",
        providers: &[P::Adyen, P::Stripe],
    },
    WalletSpec {
        country: C::MY,
        wallet: W::Boost,
        display_name: "Boost",
        min_minor: 1_00,
        max_minor: 5_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "my/boost",
        providers: &[],
    },
    WalletSpec {
        country: C::PH,
        wallet: W::Gcash,
        display_name: "GCash",
        min_minor: 1_00,
        max_minor: 100_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "ph/gcash",
        providers: &[P::Xendit, P::Adyen],
    },
    WalletSpec {
        country: C::PH,
        wallet: W::Maya,
        display_name: "Maya",
        min_minor: 1_00,
        max_minor: 100_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "ph/maya",
        providers: &[P::Xendit],
    },
    WalletSpec {
        country: C::PH,
        wallet: W::Grabpay,
        display_name: "GrabPay",
        min_minor: 1_00,
        max_minor: 100_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "ph/grabpay",
        providers: &[P::Xendit],
    },
    // The Philippines' national QR (QR Ph, person-to-merchant): every Philippine wallet and
    // banking app pays it (Xendit's QRPH channel, PHP 1.00 to 50,000.00).
    WalletSpec {
        country: C::PH,
        wallet: W::Qrph,
        display_name: "QR Ph",
        min_minor: 1_00,
        max_minor: 50_000_00,
        action: A::Qr,
        local_names: &[],
        logo: "ph/qrph",
        providers: &[P::Xendit],
    },
    WalletSpec {
        country: C::VN,
        wallet: W::Momo,
        display_name: "MoMo",
        min_minor: 1_000,
        max_minor: 50_000_000,
        action: A::Redirect,
        local_names: &[(Lang::Vi, "Ví MoMo")],
        logo: "vn/momo",
        providers: &[P::Xendit, P::Adyen],
    },
    WalletSpec {
        country: C::VN,
        wallet: W::Zalopay,
        display_name: "ZaloPay",
        min_minor: 1_000,
        max_minor: 50_000_000,
        action: A::Redirect,
        local_names: &[(Lang::Vi, "Ví ZaloPay")],
        logo: "vn/zalopay",
        providers: &[P::Xendit],
    },
    WalletSpec {
        country: C::BR,
        wallet: W::Pix,
        display_name: "Pix",
        min_minor: 1,
        max_minor: 1_000_000_00,
        action: A::Qr,
        local_names: &[],
        logo: "br/pix",
        providers: &[P::Stripe, P::Adyen, P::Pix],
    },
    WalletSpec {
        country: C::SG,
        wallet: W::Grabpay,
        display_name: "GrabPay",
        min_minor: 1_00,
        max_minor: 5_000_00,
        action: A::Redirect,
        local_names: &[],
        logo: "sg/grabpay",
        providers: &[P::Stripe],
    },
];

/// The catalog row for a wallet in a country, if that country has the wallet.
pub fn wallet_spec(country: Country, wallet: WalletId) -> Option<&'static WalletSpec> {
    CATALOG
        .iter()
        .find(|s| s.country == country && s.wallet == wallet)
}

/// The wallets of a country in order of market share.
pub fn wallets_in(country: Country) -> impl Iterator<Item = &'static WalletSpec> {
    CATALOG.iter().filter(move |s| s.country == country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_consistent() {
        for s in CATALOG {
            assert!(
                s.min_minor > 0 && s.min_minor <= s.max_minor,
                "{:?}",
                s.wallet
            );
            assert_eq!(
                CATALOG
                    .iter()
                    .filter(|o| o.country == s.country && o.wallet == s.wallet)
                    .count(),
                1,
                "duplicate row {:?} {:?}",
                s.country,
                s.wallet
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for w in WalletId::ALL {
            assert_eq!(WalletId::parse(w.as_str()), Some(*w));
        }
        assert_eq!(WalletId::parse("DANA"), None);
        assert_eq!(
            wallet_spec(Country::ID, WalletId::Dana)
                .unwrap()
                .display_name,
            "DANA"
        );
        assert!(wallet_spec(Country::TH, WalletId::Dana).is_none());
        let momo = wallet_spec(Country::VN, WalletId::Momo).unwrap();
        assert_eq!(momo.name_in(Lang::Vi), "Ví MoMo");
        assert_eq!(momo.name_in(Lang::En), "MoMo");
        assert_eq!(
            wallets_in(Country::ID)
                .map(|s| s.wallet)
                .collect::<Vec<_>>(),
            [W::Dana, W::Ovo, W::Gopay, W::Shopeepay, W::Linkaja, W::Qris]
        );
    }
}
