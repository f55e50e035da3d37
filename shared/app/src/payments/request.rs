//! The `POST /v1/payments` body: read into a typed wire struct (each field's path in an
//! error from `serde_path_to_error`), then into a [`NewPayment`] of domain values that
//! cannot hold an invalid one, checked against the wallet catalog. Nothing is written for
//! a body refused here.

use crate::error::ApiError;
use crate::request::{bad, decode, unprocessable, Amount, Object, Text};
use serde::Deserialize;
use serde_json::Value;
use walletpay_domain::catalog::wallet_spec;
use walletpay_domain::fields::{Description, Email, MerchantReference, Phone, ReturnUrl};
use walletpay_domain::{ActionKind, Country, Currency, Customer, Money, WalletId};

/// The body as it travels: every field optional here, so a missing one is told apart from
/// a wrong one (and refused with `missing_field` naming it).
#[derive(Debug, Deserialize)]
pub struct PaymentBody {
    merchant_reference: Option<Text<128>>,
    amount: Option<Amount>,
    currency: Option<Text<3>>,
    country: Option<Text<2>>,
    wallet: Option<Text<32>>,
    customer: Option<Object<CustomerBody>>,
    return_url: Option<Text<2048>>,
    description: Option<Text<255>>,
}

#[derive(Debug, Default, Deserialize)]
struct CustomerBody {
    id: Option<Text<128>>,
    phone: Option<Text<20>>,
    email: Option<Text<254>>,
    ip: Option<Text<45>>,
    device_id: Option<Text<128>>,
}

/// A validated `POST /v1/payments` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub merchant_reference: MerchantReference,
    pub amount: Money,
    pub country: Country,
    pub wallet: WalletId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub customer_id: Option<String>,
    pub ip: Option<String>,
    pub device_id: Option<String>,
    pub return_url: Option<ReturnUrl>,
    pub description: Option<Description>,
}

impl NewPayment {
    /// The customer as the payment keeps it.
    pub fn customer(&self) -> Customer {
        Customer {
            id: self.customer_id.clone(),
            phone: self.phone.as_ref().map(|p| p.as_str().to_string()),
            email: self.email.as_ref().map(|e| e.as_str().to_string()),
            ip: self.ip.clone(),
            device_id: self.device_id.clone(),
        }
    }
}

fn require<T>(v: Option<T>, path: &str) -> Result<T, ApiError> {
    v.ok_or_else(|| bad("missing_field", path, format!("`{path}` is required.")))
}

impl TryFrom<PaymentBody> for NewPayment {
    type Error = ApiError;

    /// The checks of meaning, in a fixed order (required fields, then the amount, currency,
    /// country, wallet and its limits, the customer, the return URL), so one body with
    /// several faults is always refused for the same one. Faults of type or form (a string
    /// where a number belongs, an e-mail that is not one) were found while reading, before
    /// any of these.
    fn try_from(b: PaymentBody) -> Result<Self, ApiError> {
        let merchant_reference = require(b.merchant_reference, "merchant_reference")?;
        let amount_minor = require(b.amount, "amount")?.0;
        if amount_minor <= 0 {
            return Err(bad(
                "amount_invalid",
                "amount",
                "`amount` must be greater than zero.",
            ));
        }
        let currency_s = require(b.currency, "currency")?;
        let currency: Currency = currency_s.as_str().parse().map_err(|_| {
            unprocessable(
                "currency_unsupported",
                "currency",
                format!("Currency {:?} is not supported.", currency_s.as_str()),
            )
        })?;
        let country_s = require(b.country, "country")?;
        let country = Country::parse(country_s.as_str()).ok_or_else(|| {
            unprocessable(
                "country_unsupported",
                "country",
                format!("Country {:?} is not served.", country_s.as_str()),
            )
        })?;
        if country.currency() != currency {
            return Err(unprocessable(
                "currency_mismatch",
                "currency",
                format!(
                    "Payments in {country} are in {}, not {currency}.",
                    country.currency()
                ),
            ));
        }
        let wallet_s = require(b.wallet, "wallet")?;
        let wallet = WalletId::parse(wallet_s.as_str()).ok_or_else(|| {
            unprocessable(
                "wallet_unknown",
                "wallet",
                format!("There is no wallet {:?}.", wallet_s.as_str()),
            )
        })?;
        let spec = wallet_spec(country, wallet).ok_or_else(|| {
            unprocessable(
                "wallet_not_offered",
                "wallet",
                format!("{wallet} is not offered in {country}."),
            )
        })?;
        let amount = Money {
            minor: amount_minor,
            currency,
        };
        // No wallet in these markets takes fractions of a rupiah.
        if amount.minor % currency.payable_step() != 0 {
            return Err(unprocessable(
                "amount_not_payable",
                "amount",
                "IDR amounts must be whole rupiah: the last two digits of `amount` must be 00.",
            ));
        }
        let limit = |code, words: &str, minor| {
            unprocessable(
                code,
                "amount",
                format!(
                    "{} takes {words} {}.",
                    spec.display_name,
                    Money { minor, currency }
                ),
            )
        };
        if amount_minor < spec.min_minor {
            return Err(limit("amount_below_minimum", "at least", spec.min_minor));
        }
        if amount_minor > spec.max_minor {
            return Err(limit("amount_above_maximum", "at most", spec.max_minor));
        }

        let c = b.customer.map(|c| c.0).unwrap_or_default();
        let phone = c
            .phone
            .map(|p| {
                Phone::parse(p.as_str()).map_err(|why| {
                    bad(
                        "invalid_field",
                        "customer.phone",
                        format!("`customer.phone` {why}."),
                    )
                })
            })
            .transpose()?;
        if spec.action == ActionKind::Push && phone.is_none() {
            return Err(unprocessable(
                "missing_field",
                "customer.phone",
                format!(
                    "{} sends the payment to the customer's app: `customer.phone` is required.",
                    spec.display_name
                ),
            ));
        }
        let email = c
            .email
            .map(|e| {
                Email::parse(e.as_str()).map_err(|why| {
                    bad(
                        "invalid_field",
                        "customer.email",
                        format!("`customer.email` {why}."),
                    )
                })
            })
            .transpose()?;
        let return_url = b
            .return_url
            .map(|u| {
                ReturnUrl::parse(u.as_str()).map_err(|why| {
                    bad(
                        "invalid_field",
                        "return_url",
                        format!("`return_url` {why}."),
                    )
                })
            })
            .transpose()?;
        if matches!(spec.action, ActionKind::Redirect | ActionKind::Deeplink)
            && return_url.is_none()
        {
            return Err(unprocessable(
                "missing_field",
                "return_url",
                format!(
                    "{} sends the customer away to approve: `return_url` is required to bring them back.",
                    spec.display_name
                ),
            ));
        }
        let text = |t: Text<128>| t.into_string();
        Ok(NewPayment {
            merchant_reference: MerchantReference::parse(merchant_reference.into_string())
                .map_err(|why| {
                    bad(
                        "invalid_field",
                        "merchant_reference",
                        format!("`merchant_reference` {why}."),
                    )
                })?,
            amount,
            country,
            wallet,
            phone,
            email,
            customer_id: c.id.map(text),
            // Kept in its canonical form, so one address is one counter and one list entry.
            ip: c
                .ip
                .map(|t| {
                    // An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is that address.
                    t.as_str()
                        .parse::<std::net::IpAddr>()
                        .map(|ip| ip.to_canonical().to_string())
                        .map_err(|_| {
                            bad(
                                "invalid_field",
                                "customer.ip",
                                "`customer.ip` is an IPv4 or IPv6 address.",
                            )
                        })
                })
                .transpose()?,
            device_id: c.device_id.map(text),
            return_url,
            description: b
                .description
                .map(|d| Description::parse(d.into_string()))
                .transpose()
                .map_err(|why| {
                    bad(
                        "invalid_field",
                        "description",
                        format!("`description` {why}."),
                    )
                })?,
        })
    }
}

/// Parses and checks a `POST /v1/payments` body; also answers the body as JSON (what the
/// idempotency key's request hash is taken of).
pub fn parse_new_payment(body: &[u8]) -> Result<(NewPayment, Value), ApiError> {
    let (wire, value): (PaymentBody, Value) = decode(body)?;
    Ok((NewPayment::try_from(wire)?, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> Value {
        json!({
            "merchant_reference": "order-1", "amount": 15000000, "currency": "IDR", "country": "ID",
            "wallet": "dana", "customer": {"phone": "+6281234567890", "email": "sari@example.com"},
            "return_url": "https://shop.example/thanks"
        })
    }

    fn refused(v: Value) -> (u16, &'static str, Option<String>) {
        let e = parse_new_payment(v.to_string().as_bytes()).unwrap_err();
        (e.status, e.code, e.field)
    }

    #[test]
    fn a_good_order_becomes_domain_values() {
        let (p, _) = parse_new_payment(order().to_string().as_bytes()).unwrap();
        assert_eq!(p.amount.minor, 15_000_000);
        assert_eq!(p.merchant_reference.as_str(), "order-1");
        assert_eq!(
            p.return_url.unwrap().as_str(),
            "https://shop.example/thanks"
        );
        assert_eq!(p.phone.unwrap().as_str(), "+6281234567890");
    }

    #[test]
    fn each_fault_is_named_with_its_path() {
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = order();
            f(&mut v);
            v
        };
        type Refusal<'a> = (u16, &'a str, Option<&'a str>);
        let cases: Vec<(Value, Refusal)> = vec![
            (
                with(&|v| v["amount"] = json!("15000000")),
                (400, "amount_invalid", Some("amount")),
            ),
            (
                with(&|v| v["amount"] = json!(1.5)),
                (400, "amount_invalid", Some("amount")),
            ),
            (
                with(&|v| v["merchant_reference"] = json!("")),
                (400, "invalid_field", Some("merchant_reference")),
            ),
            (
                with(&|v| v["merchant_reference"] = json!(7)),
                (400, "invalid_field", Some("merchant_reference")),
            ),
            (
                with(&|v| v["customer"]["phone"] = json!(628)),
                (400, "invalid_field", Some("customer.phone")),
            ),
            (
                with(&|v| v["customer"]["email"] = json!("sari")),
                (400, "invalid_field", Some("customer.email")),
            ),
            (
                with(&|v| v["customer"] = json!([1])),
                (400, "invalid_field", Some("customer")),
            ),
            (
                with(&|v| v["customer"] = json!(["c-1", "+6281234567890"])),
                (400, "invalid_field", Some("customer")),
            ),
            (
                with(&|v| v["return_url"] = json!("https://@")),
                (400, "invalid_field", Some("return_url")),
            ),
            (
                with(&|v| v["description"] = json!("a\u{0007}b")),
                (400, "invalid_field", Some("description")),
            ),
            (json!([1, 2]), (400, "invalid_json", None)),
        ];
        for (body, (status, code, field)) in cases {
            assert_eq!(
                refused(body.clone()),
                (status, code, field.map(str::to_string)),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_json_is_invalid_json() {
        let e = parse_new_payment(b"{\"amount\": 15").unwrap_err();
        assert_eq!((e.status, e.code, e.field), (400, "invalid_json", None));
    }
}
