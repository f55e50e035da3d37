//! EMV merchant-presented QR payloads (EMVCo MPM): the BR Code of Pix, Thai QR /
//! PromptPay, Indonesia's QRIS and the Philippines' QR Ph. A payload is a run of fields `<id: 2 digits><length: 2 digits><value>`; some
//! values are themselves such runs (templates 26-51, 62); the last field is `63`, a
//! CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF) over everything before it
//! including `6304`, as 4 upper-case hex digits.

use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmvError {
    #[error("field at {0} is cut short")]
    Truncated(usize),
    #[error("field id or length at {0} is not two digits")]
    NotDigits(usize),
    #[error("the payload does not end with a CRC field (6304XXXX)")]
    NoCrc,
    #[error("CRC is {found}, the payload's is {computed}")]
    BadCrc { found: String, computed: String },
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {field} is wrong: {why}")]
    Invalid { field: &'static str, why: String },
}

/// CRC-16/CCITT-FALSE.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A value that can go into a field: ASCII (lengths count characters, which are bytes
/// then) and at most 99 long.
fn check(field: &'static str, v: &str) -> Result<(), EmvError> {
    if !v.is_ascii() {
        return Err(EmvError::Invalid {
            field,
            why: "ASCII characters only (no accents)".into(),
        });
    }
    if v.len() > 99 {
        return Err(EmvError::Invalid {
            field,
            why: format!("{} characters, at most 99", v.len()),
        });
    }
    Ok(())
}

/// Fields as `id, value`, in order. Only ASCII payloads are read (lengths count bytes).
pub fn fields(s: &str) -> Result<Vec<(&str, &str)>, EmvError> {
    if !s.is_ascii() {
        return Err(EmvError::Invalid {
            field: "payload",
            why: "ASCII characters only".into(),
        });
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let head = s.get(i..i + 4).ok_or(EmvError::Truncated(i))?;
        if !head.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EmvError::NotDigits(i));
        }
        let len: usize = head[2..].parse().map_err(|_| EmvError::NotDigits(i))?;
        let value = s.get(i + 4..i + 4 + len).ok_or(EmvError::Truncated(i))?;
        out.push((&head[..2], value));
        i += 4 + len;
    }
    Ok(out)
}

fn tlv(id: &str, value: &str) -> String {
    debug_assert!(value.len() <= 99, "EMV values are at most 99 bytes");
    format!("{id}{:02}{value}", value.len())
}

/// Field 54, the transaction amount: a decimal of the currency, more than zero (a code
/// for nothing, or less, is not a payment request; the encoders refuse one too).
fn amount_of(field: &str, currency: Currency) -> Result<Money, EmvError> {
    match Money::parse_decimal(field, currency) {
        Ok(m) if m.minor > 0 => Ok(m),
        Ok(_) => Err(EmvError::Invalid {
            field: "54",
            why: format!("a positive {} amount", currency.code()),
        }),
        Err(e) => Err(EmvError::Invalid {
            field: "54",
            why: e.to_string(),
        }),
    }
}

/// A payload from its top-level fields, with its CRC.
pub fn encode(fields: &[(&str, String)]) -> String {
    let mut s: String = fields.iter().map(|(id, v)| tlv(id, v)).collect();
    s.push_str("6304");
    let crc = crc16(s.as_bytes());
    format!("{s}{crc:04X}")
}

/// Checks the structure and the CRC; returns the fields without the CRC.
pub fn validate(payload: &str) -> Result<Vec<(&str, &str)>, EmvError> {
    let body = payload.get(..payload.len().saturating_sub(4)).unwrap_or("");
    if payload.len() < 8 || !body.ends_with("6304") {
        return Err(EmvError::NoCrc);
    }
    let found = &payload[payload.len() - 4..];
    let computed = format!("{:04X}", crc16(body.as_bytes()));
    // Upper-case hex, as EMVCo writes it (readers such as Maya's refuse lower case).
    if found != computed {
        return Err(EmvError::BadCrc {
            found: found.to_string(),
            computed,
        });
    }
    let mut all = fields(payload)?;
    match all.pop() {
        Some(("63", _)) => Ok(all),
        _ => Err(EmvError::NoCrc),
    }
}

/// Whether a top-level field is a template (its value a run of fields itself): merchant
/// account information 26-51, additional data 62, language template 64, and the
/// unreserved templates 80-99.
fn is_template(id: &str) -> bool {
    matches!(id.parse::<u8>(), Ok(26..=51 | 62 | 64 | 80..=99))
}

/// Reads a payload strictly: the CRC; `00` = `01` first and `63` last; no field twice; the
/// fields every merchant-presented code has (`53`, `58`); at least one merchant
/// account (`02`-`51`); and every template, down to its last sub-field, a well-formed run
/// of fields with a `00` globally unique identifier where EMVCo requires one (26-51) and no
/// sub-field twice. Returns the top-level fields without the CRC. (The merchant category
/// code, `52`, is left to each scheme: Thai QR codes go without it.)
pub fn parse_strict(payload: &str) -> Result<Vec<(&str, &str)>, EmvError> {
    let f = validate(payload)?;
    if f.first() != Some(&("00", "01")) {
        return Err(EmvError::Invalid {
            field: "00",
            why: "the payload must begin with 000201".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (id, value) in &f {
        if !seen.insert(*id) {
            return Err(EmvError::Invalid {
                field: "payload",
                why: format!("field {id} appears twice"),
            });
        }
        if *id == "63" {
            return Err(EmvError::Invalid {
                field: "63",
                why: "the CRC must be the last field".into(),
            });
        }
        if is_template(id) {
            let sub = fields(value).map_err(|e| EmvError::Invalid {
                field: "template",
                why: format!("template {id}: {e}"),
            })?;
            let mut sub_seen = std::collections::HashSet::new();
            for (sid, _) in &sub {
                if !sub_seen.insert(*sid) {
                    return Err(EmvError::Invalid {
                        field: "template",
                        why: format!("template {id} has sub-field {sid} twice"),
                    });
                }
            }
            let account = matches!(id.parse::<u8>(), Ok(26..=51));
            if account && get(&sub, "00").is_none_or(str::is_empty) {
                return Err(EmvError::Invalid {
                    field: "template",
                    why: format!("merchant account template {id} has no 00 identifier"),
                });
            }
        }
    }
    for required in ["53", "58"] {
        if get(&f, required).is_none() {
            return Err(EmvError::Missing(if required == "53" {
                "53"
            } else {
                "58"
            }));
        }
    }
    if !f
        .iter()
        .any(|(id, _)| matches!(id.parse::<u8>(), Ok(2..=51)))
    {
        return Err(EmvError::Missing("26"));
    }
    Ok(f)
}

fn get<'a>(f: &[(&str, &'a str)], id: &str) -> Option<&'a str> {
    f.iter().find(|(i, _)| *i == id).map(|(_, v)| *v)
}

fn amount_field(m: Money) -> String {
    m.decimal_string(m.currency.exponent().max(2))
}

/// A Pix BR Code: static (a key) or dynamic (the location URL of a charge, `cob`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrCode {
    /// The receiver's Pix key (static codes).
    pub key: Option<String>,
    /// The charge's location, without `https://` (dynamic codes).
    pub url: Option<String>,
    /// At most 25 characters.
    pub merchant_name: String,
    /// At most 15 characters.
    pub merchant_city: String,
    pub amount: Option<Money>,
    /// The transaction id (`***` when the payer's app should not send one).
    pub txid: String,
}

const PIX_GUI: &str = "br.gov.bcb.pix";

impl BrCode {
    /// The payload (`pixCopiaECola`) after the BCB's "Manual de Padrões para Iniciação do
    /// Pix": `00` = 01, `01` = 12 for a dynamic (single-use) code, `26` = {GUI, key or URL},
    /// `52` = 0000, `53` = 986, `54` amount, `58` = BR, `59` name, `60` city, `62` = {`05`
    /// txid}, `63` CRC.
    pub fn payload(&self) -> Result<String, EmvError> {
        let invalid = |field, why: &str| EmvError::Invalid {
            field,
            why: why.to_string(),
        };
        if self.merchant_name.is_empty() || self.merchant_name.len() > 25 {
            return Err(invalid("59", "merchant name is 1 to 25 characters"));
        }
        if self.merchant_city.is_empty() || self.merchant_city.len() > 15 {
            return Err(invalid("60", "merchant city is 1 to 15 characters"));
        }
        if self.txid.is_empty() || self.txid.len() > 25 {
            return Err(invalid("62.05", "txid is 1 to 25 characters"));
        }
        check("59", &self.merchant_name)?;
        check("60", &self.merchant_city)?;
        check("62.05", &self.txid)?;
        let account = match (&self.key, &self.url) {
            (Some(k), None) => {
                check("26.01", k)?;
                tlv("00", PIX_GUI) + &tlv("01", k)
            }
            (None, Some(u)) => {
                check("26.25", u)?;
                tlv("00", PIX_GUI) + &tlv("25", u)
            }
            _ => return Err(invalid("26", "exactly one of a key or a location URL")),
        };
        check("26", &account)?;
        let mut f: Vec<(&str, String)> = vec![("00", "01".into())];
        if self.url.is_some() {
            f.push(("01", "12".into()));
        }
        f.push(("26", account));
        f.push(("52", "0000".into()));
        f.push(("53", "986".into()));
        if let Some(a) = self.amount {
            if a.currency != Currency::BRL || a.minor <= 0 {
                return Err(invalid("54", "a positive BRL amount"));
            }
            f.push(("54", amount_field(a)));
        }
        f.push(("58", "BR".into()));
        f.push(("59", self.merchant_name.clone()));
        f.push(("60", self.merchant_city.clone()));
        f.push(("62", tlv("05", &self.txid)));
        Ok(encode(&f))
    }

    /// Reads and validates a BR Code.
    pub fn parse(payload: &str) -> Result<BrCode, EmvError> {
        let f = parse_strict(payload)?;
        if get(&f, "00") != Some("01") {
            return Err(EmvError::Missing("00"));
        }
        let account = fields(get(&f, "26").ok_or(EmvError::Missing("26"))?)?;
        if !get(&account, "00").is_some_and(|g| g.eq_ignore_ascii_case(PIX_GUI)) {
            return Err(EmvError::Invalid {
                field: "26.00",
                why: "not a Pix account".into(),
            });
        }
        if get(&f, "53") != Some("986") {
            return Err(EmvError::Invalid {
                field: "53",
                why: "not BRL".into(),
            });
        }
        let amount = get(&f, "54")
            .map(|a| amount_of(a, Currency::BRL))
            .transpose()?;
        let extra = fields(get(&f, "62").ok_or(EmvError::Missing("62"))?)?;
        Ok(BrCode {
            key: get(&account, "01").map(str::to_string),
            url: get(&account, "25").map(str::to_string),
            merchant_name: get(&f, "59").ok_or(EmvError::Missing("59"))?.to_string(),
            merchant_city: get(&f, "60").ok_or(EmvError::Missing("60"))?.to_string(),
            amount,
            txid: get(&extra, "05")
                .ok_or(EmvError::Missing("62.05"))?
                .to_string(),
        })
    }
}

/// A dynamic Thai QR bill payment (PromptPay tag 30): the biller id identifies the
/// merchant's account at its bank, `ref1` (and `ref2`) our payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptPayBill {
    /// The biller id (tax id + suffix), 15 digits.
    pub biller_id: String,
    /// At most 20 upper-case letters and digits.
    pub ref1: String,
    pub ref2: Option<String>,
    pub amount: Money,
}

const PROMPTPAY_BILL_AID: &str = "A000000677010112";

impl PromptPayBill {
    /// `00` = 01, `01` = 12 (dynamic), `30` = {AID, `01` biller id, `02` ref1, `03` ref2},
    /// `53` = 764, `54` amount with 2 decimals, `58` = TH, `63` CRC.
    pub fn payload(&self) -> Result<String, EmvError> {
        let invalid = |field, why: &str| EmvError::Invalid {
            field,
            why: why.to_string(),
        };
        if self.biller_id.len() != 15 || !self.biller_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("30.01", "biller id is 15 digits"));
        }
        let good_ref = |r: &str| {
            !r.is_empty()
                && r.len() <= 20
                && r.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        if !good_ref(&self.ref1) || !self.ref2.as_deref().is_none_or(good_ref) {
            return Err(invalid(
                "30.02",
                "references are 1 to 20 upper-case letters and digits",
            ));
        }
        if self.amount.currency != Currency::THB || self.amount.minor <= 0 {
            return Err(invalid("54", "a positive THB amount"));
        }
        let mut bill =
            tlv("00", PROMPTPAY_BILL_AID) + &tlv("01", &self.biller_id) + &tlv("02", &self.ref1);
        if let Some(r2) = &self.ref2 {
            bill.push_str(&tlv("03", r2));
        }
        check("30", &bill)?;
        Ok(encode(&[
            ("00", "01".into()),
            ("01", "12".into()),
            ("30", bill),
            ("53", "764".into()),
            ("54", amount_field(self.amount)),
            ("58", "TH".into()),
        ]))
    }

    /// Reads and validates a PromptPay bill-payment QR.
    pub fn parse(payload: &str) -> Result<PromptPayBill, EmvError> {
        let f = parse_strict(payload)?;
        let bill = fields(get(&f, "30").ok_or(EmvError::Missing("30"))?)?;
        if get(&bill, "00") != Some(PROMPTPAY_BILL_AID) {
            return Err(EmvError::Invalid {
                field: "30.00",
                why: "not a PromptPay bill payment".into(),
            });
        }
        if get(&f, "53") != Some("764") {
            return Err(EmvError::Invalid {
                field: "53",
                why: "not THB".into(),
            });
        }
        let amount = get(&f, "54").ok_or(EmvError::Missing("54"))?;
        Ok(PromptPayBill {
            biller_id: get(&bill, "01")
                .ok_or(EmvError::Missing("30.01"))?
                .to_string(),
            ref1: get(&bill, "02")
                .ok_or(EmvError::Missing("30.02"))?
                .to_string(),
            ref2: get(&bill, "03").map(str::to_string),
            amount: amount_of(amount, Currency::THB)?,
        })
    }
}

/// A QRIS code (Bank Indonesia's national standard on EMVCo's merchant-presented format):
/// the issuer's merchant account template in `26` (its reverse-domain identifier, the
/// merchant PAN, the merchant id and criteria), the national template `51`
/// (`ID.CO.QRIS.WWW` with the merchant's NMID and criteria), MCC, IDR, the amount for a
/// dynamic code, `ID`, name, city, postal code, and our reference in `62.05`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qris {
    /// The issuer's globally unique identifier (`ID.CO.SHOPEE.WWW`, `ID.DANA.WWW`, ...).
    pub issuer: String,
    /// The merchant PAN at the issuer: 19 digits or fewer, beginning `936`.
    pub merchant_pan: String,
    pub merchant_id: String,
    /// `UMI`, `UKE`, `UME`, `UBE` or `URE`.
    pub criteria: String,
    /// The merchant's national id: 15 letters and digits (`ID1020000000001`).
    pub nmid: String,
    /// ISO 18245 merchant category code, 4 digits.
    pub mcc: String,
    /// IDR in whole rupiah (a dynamic code); `None` for a static one.
    pub amount: Option<Money>,
    pub merchant_name: String,
    pub merchant_city: String,
    pub postal_code: String,
    /// Our reference for the payment (`62.05`), at most 25 characters.
    pub reference: Option<String>,
}

const QRIS_GUI: &str = "ID.CO.QRIS.WWW";

impl Qris {
    pub fn payload(&self) -> Result<String, EmvError> {
        let invalid = |field, why: &str| EmvError::Invalid {
            field,
            why: why.to_string(),
        };
        if !self.merchant_pan.starts_with("936")
            || self.merchant_pan.len() > 19
            || !self.merchant_pan.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid(
                "26.01",
                "the merchant PAN is up to 19 digits beginning 936",
            ));
        }
        if !["UMI", "UKE", "UME", "UBE", "URE"].contains(&self.criteria.as_str()) {
            return Err(invalid("26.03", "criteria is UMI, UKE, UME, UBE or URE"));
        }
        // Bank Indonesia's NMIDs read `ID` and 13 digits; Midtrans's own examples carry
        // `AID` and 12: 15 letters and digits is what both agree on.
        if self.nmid.len() != 15 || !self.nmid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("51.02", "the NMID is 15 letters and digits"));
        }
        if self.mcc.len() != 4 || !self.mcc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("52", "the MCC is 4 digits"));
        }
        if self.merchant_name.is_empty() || self.merchant_name.len() > 25 {
            return Err(invalid("59", "merchant name is 1 to 25 characters"));
        }
        if self.merchant_city.is_empty() || self.merchant_city.len() > 15 {
            return Err(invalid("60", "merchant city is 1 to 15 characters"));
        }
        if self.postal_code.is_empty() || self.postal_code.len() > 10 {
            return Err(invalid("61", "postal code is 1 to 10 characters"));
        }
        for (f, v) in [
            ("26.00", self.issuer.as_str()),
            ("26.02", self.merchant_id.as_str()),
            ("59", self.merchant_name.as_str()),
            ("60", self.merchant_city.as_str()),
        ] {
            check(f, v)?;
        }
        let issuer = tlv("00", &self.issuer)
            + &tlv("01", &self.merchant_pan)
            + &tlv("02", &self.merchant_id)
            + &tlv("03", &self.criteria);
        check("26", &issuer)?;
        let national = tlv("00", QRIS_GUI) + &tlv("02", &self.nmid) + &tlv("03", &self.criteria);
        let mut f: Vec<(&str, String)> = vec![
            ("00", "01".into()),
            ("01", if self.amount.is_some() { "12" } else { "11" }.into()),
            ("26", issuer),
            ("51", national),
            ("52", self.mcc.clone()),
            ("53", "360".into()),
        ];
        if let Some(a) = self.amount {
            if a.currency != Currency::IDR || a.minor <= 0 {
                return Err(invalid("54", "a positive IDR amount"));
            }
            let whole = a
                .whole_major()
                .map_err(|_| invalid("54", "QRIS amounts are whole rupiah"))?;
            f.push(("54", whole.to_string()));
        }
        f.push(("58", "ID".into()));
        f.push(("59", self.merchant_name.clone()));
        f.push(("60", self.merchant_city.clone()));
        f.push(("61", self.postal_code.clone()));
        if let Some(r) = &self.reference {
            if r.is_empty() || r.len() > 25 {
                return Err(invalid("62.05", "the reference is 1 to 25 characters"));
            }
            check("62.05", r)?;
            f.push(("62", tlv("05", r)));
        }
        Ok(encode(&f))
    }

    pub fn parse(payload: &str) -> Result<Qris, EmvError> {
        let f = parse_strict(payload)?;
        if get(&f, "53") != Some("360") || get(&f, "58") != Some("ID") {
            return Err(EmvError::Invalid {
                field: "53",
                why: "not an Indonesian (IDR) code".into(),
            });
        }
        let national = fields(get(&f, "51").ok_or(EmvError::Missing("51"))?)?;
        if get(&national, "00") != Some(QRIS_GUI) {
            return Err(EmvError::Invalid {
                field: "51.00",
                why: "not a QRIS national template".into(),
            });
        }
        let issuer = fields(get(&f, "26").ok_or(EmvError::Missing("26"))?)?;
        let amount = get(&f, "54")
            .map(|a| amount_of(a, Currency::IDR))
            .transpose()?;
        let reference = match get(&f, "62") {
            Some(extra) => get(&fields(extra)?, "05").map(str::to_string),
            None => None,
        };
        let req = |fs: &[(&str, &str)], id, name| {
            get(fs, id)
                .map(str::to_string)
                .ok_or(EmvError::Missing(name))
        };
        let code = Qris {
            issuer: req(&issuer, "00", "26.00")?,
            merchant_pan: req(&issuer, "01", "26.01")?,
            merchant_id: req(&issuer, "02", "26.02")?,
            criteria: req(&issuer, "03", "26.03")?,
            nmid: req(&national, "02", "51.02")?,
            mcc: req(&f, "52", "52")?,
            amount,
            merchant_name: req(&f, "59", "59")?,
            merchant_city: req(&f, "60", "60")?,
            postal_code: req(&f, "61", "61")?,
            reference,
        };
        // What was read must be what the builder would write (lengths, digits, criteria).
        code.payload()?;
        Ok(code)
    }
}

/// A QR Ph person-to-merchant code (the Philippines' national QR, on EMVCo's
/// merchant-presented format): the merchant account template in `28` (`ph.ppmi.p2m`, the
/// acquirer's BIC, the merchant's id, a three-character flag), MCC, PHP (`608`), the amount
/// for a dynamic code (`54`, two decimals), `PH`, name, city, an optional postal code, and
/// our reference in `62.05` under the `ph.ppmi.qrph` identifier.
///
/// The PPMI specification itself is not public. These rules are EMVCo's plus what every
/// published code and a participating wallet's reader agree on: `28` only (a P2P code's
/// `27` is refused), `28.01` 11 characters, `28.03` 1 to 25, `28.05` three characters of
/// `[0-5Z][0-1][0-2]`, `62.00` present when `62` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPh {
    /// The acquirer's BIC, 11 characters (`SRCPPHM2XXX`).
    pub acquirer: String,
    /// The merchant's id at the acquirer, 1 to 25 characters.
    pub merchant_id: String,
    /// `28.05`, three characters (`000`, `010`, `300`, ...).
    pub flag: String,
    /// ISO 18245 merchant category code, 4 digits.
    pub mcc: String,
    /// The amount of a dynamic code, in PHP; `None` for a static one.
    pub amount: Option<Money>,
    pub merchant_name: String,
    pub merchant_city: String,
    pub postal_code: Option<String>,
    /// Our reference for the payment (`62.05`), at most 25 characters.
    pub reference: Option<String>,
}

/// The merchant account identifiers a P2M code may carry in `28.00`.
const QRPH_P2M_GUIS: [&str; 3] = ["ph.ppmi.p2m", "ph.ppmi.p2micro", "ph.ppmi.p2b"];
const QRPH_ADDITIONAL_GUI: &str = "ph.ppmi.qrph";

impl QrPh {
    fn check_fields(&self) -> Result<(), EmvError> {
        let invalid = |field, why: &str| EmvError::Invalid {
            field,
            why: why.to_string(),
        };
        if self.acquirer.len() != 11 || !self.acquirer.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("28.01", "the acquirer is an 11-character BIC"));
        }
        if self.merchant_id.is_empty() || self.merchant_id.len() > 25 {
            return Err(invalid("28.03", "the merchant id is 1 to 25 characters"));
        }
        let f = self.flag.as_bytes();
        let flag_ok = f.len() == 3
            && (matches!(f[0], b'0'..=b'5') || f[0] == b'Z')
            && matches!(f[1], b'0'..=b'1')
            && matches!(f[2], b'0'..=b'2');
        if !flag_ok {
            return Err(invalid(
                "28.05",
                "the flag is three characters of [0-5Z][0-1][0-2]",
            ));
        }
        if self.mcc.len() != 4 || !self.mcc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("52", "the MCC is 4 digits"));
        }
        if let Some(a) = self.amount {
            if a.currency != Currency::PHP || a.minor <= 0 {
                return Err(invalid("54", "a positive PHP amount"));
            }
        }
        if self.merchant_name.is_empty() || self.merchant_name.len() > 25 {
            return Err(invalid("59", "merchant name is 1 to 25 characters"));
        }
        if self.merchant_city.is_empty() || self.merchant_city.len() > 15 {
            return Err(invalid("60", "merchant city is 1 to 15 characters"));
        }
        if let Some(pc) = &self.postal_code {
            if !(4..=10).contains(&pc.len()) {
                return Err(invalid("61", "postal code is 4 to 10 characters"));
            }
        }
        if let Some(r) = &self.reference {
            if r.is_empty() || r.len() > 25 {
                return Err(invalid("62.05", "the reference is 1 to 25 characters"));
            }
        }
        for (f, v) in [
            ("28.01", self.acquirer.as_str()),
            ("28.03", self.merchant_id.as_str()),
            ("59", self.merchant_name.as_str()),
            ("60", self.merchant_city.as_str()),
            ("61", self.postal_code.as_deref().unwrap_or("")),
        ] {
            check(f, v)?;
        }
        Ok(())
    }

    pub fn payload(&self) -> Result<String, EmvError> {
        self.check_fields()?;
        let account = tlv("00", QRPH_P2M_GUIS[0])
            + &tlv("01", &self.acquirer)
            + &tlv("03", &self.merchant_id)
            + &tlv("05", &self.flag);
        let mut f: Vec<(&str, String)> = vec![
            ("00", "01".into()),
            ("01", if self.amount.is_some() { "12" } else { "11" }.into()),
            ("28", account),
            ("52", self.mcc.clone()),
            ("53", "608".into()),
        ];
        if let Some(a) = self.amount {
            f.push(("54", a.decimal_string(2)));
        }
        f.push(("58", "PH".into()));
        f.push(("59", self.merchant_name.clone()));
        f.push(("60", self.merchant_city.clone()));
        if let Some(pc) = &self.postal_code {
            f.push(("61", pc.clone()));
        }
        if let Some(r) = &self.reference {
            check("62.05", r)?;
            f.push(("62", tlv("00", QRPH_ADDITIONAL_GUI) + &tlv("05", r)));
        }
        Ok(encode(&f))
    }

    /// Reads a P2M code strictly (see the type's rules).
    pub fn parse(payload: &str) -> Result<QrPh, EmvError> {
        let f = parse_strict(payload)?;
        let invalid = |field, why: &str| EmvError::Invalid {
            field,
            why: why.to_string(),
        };
        if get(&f, "53") != Some("608") || get(&f, "58") != Some("PH") {
            return Err(invalid("53", "not a Philippine (PHP) code"));
        }
        if get(&f, "27").is_some() {
            return Err(invalid("27", "a person-to-person code, not a merchant's"));
        }
        let account = fields(get(&f, "28").ok_or(EmvError::Missing("28"))?)?;
        if !get(&account, "00").is_some_and(|g| QRPH_P2M_GUIS.contains(&g)) {
            return Err(invalid("28.00", "not a QR Ph merchant account"));
        }
        let dynamic = match get(&f, "01") {
            Some("11") => false,
            Some("12") => true,
            _ => return Err(invalid("01", "the point of initiation is 11 or 12")),
        };
        let amount = match get(&f, "54") {
            Some(a) => {
                let (whole, cents) = a.split_once('.').unwrap_or((a, ""));
                if whole.is_empty()
                    || whole.len() > 10
                    || cents.len() != 2
                    || !whole
                        .bytes()
                        .chain(cents.bytes())
                        .all(|b| b.is_ascii_digit())
                {
                    return Err(invalid("54", "the amount has two decimals"));
                }
                Some(amount_of(a, Currency::PHP)?)
            }
            None => None,
        };
        if dynamic && amount.is_none() {
            return Err(EmvError::Missing("54"));
        }
        let reference = match get(&f, "62") {
            Some(extra) => {
                let extra = fields(extra)?;
                if get(&extra, "00").is_none_or(|g| g.is_empty() || g.len() > 14) {
                    return Err(invalid("62.00", "additional data carries its identifier"));
                }
                get(&extra, "05").map(str::to_string)
            }
            None => None,
        };
        let req = |fs: &[(&str, &str)], id, name| {
            get(fs, id)
                .map(str::to_string)
                .ok_or(EmvError::Missing(name))
        };
        let code = QrPh {
            acquirer: req(&account, "01", "28.01")?,
            merchant_id: req(&account, "03", "28.03")?,
            flag: req(&account, "05", "28.05")?,
            mcc: req(&f, "52", "52")?,
            amount,
            merchant_name: req(&f, "59", "59")?,
            merchant_city: req(&f, "60", "60")?,
            postal_code: get(&f, "61").map(str::to_string),
            reference,
        };
        code.check_fields()?;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the BCB's "Manual de Padrões para Iniciação do Pix" (v2.2.1, p. 25):
    /// a static code for key 123e4567-e12b-12d1-a456-426655440000, Fulano de Tal, BRASILIA.
    const BCB_EXAMPLE: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";

    #[test]
    fn crc_check_value() {
        // The CRC catalogue's check value for CRC-16/CCITT-FALSE.
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn the_bcb_example_is_built_and_read_back() {
        let code = BrCode {
            key: Some("123e4567-e12b-12d1-a456-426655440000".into()),
            url: None,
            merchant_name: "Fulano de Tal".into(),
            merchant_city: "BRASILIA".into(),
            amount: None,
            txid: "***".into(),
        };
        assert_eq!(code.payload().unwrap(), BCB_EXAMPLE);
        assert_eq!(BrCode::parse(BCB_EXAMPLE).unwrap(), code);
    }

    #[test]
    fn a_changed_character_fails_the_crc() {
        let tampered = BCB_EXAMPLE.replace("Fulano", "Fulana");
        assert!(matches!(
            BrCode::parse(&tampered),
            Err(EmvError::BadCrc { .. })
        ));
        assert!(matches!(validate("000201"), Err(EmvError::NoCrc)));
        assert!(BrCode::parse(&BCB_EXAMPLE[..BCB_EXAMPLE.len() - 1]).is_err());
    }

    #[test]
    fn accents_and_overlong_values_are_refused() {
        let code = |name: &str, url: String| BrCode {
            key: None,
            url: Some(url),
            merchant_name: name.into(),
            merchant_city: "SAO PAULO".into(),
            amount: None,
            txid: "***".into(),
        };
        assert!(code("Padaria São João", "pix.example.com/x".into())
            .payload()
            .is_err());
        // Template 26 would pass 99 characters with this location.
        assert!(
            code("PADARIA", format!("pix.example.com/{}", "x".repeat(80)))
                .payload()
                .is_err()
        );
        assert!(code("PADARIA", "pix.example.com/x".into())
            .payload()
            .is_ok());
    }

    #[test]
    fn dynamic_codes_carry_the_location_and_amount() {
        let code = BrCode {
            key: None,
            url: Some("pix.example.com/qr/v2/cobv/9d36b84fc70b478fb95c12729b90ca25".into()),
            merchant_name: "WALLETPAY".into(),
            merchant_city: "SAO PAULO".into(),
            amount: Some(Money {
                minor: 12_345,
                currency: Currency::BRL,
            }),
            txid: "***".into(),
        };
        let p = code.payload().unwrap();
        assert!(p.starts_with("000201010212"), "{p}");
        assert!(p.contains("5406123.45"), "{p}");
        assert_eq!(BrCode::parse(&p).unwrap(), code);
    }

    /// A Krungthai shop QR as printed (a published real-world bill-payment payload).
    #[test]
    fn a_published_thai_bill_payment_qr_validates() {
        let shop = "00020101021130730016A0000006770101120115010753700088205021916151060181105030020307PIRASIT53037645802TH620807040000630443A3";
        let f = parse_strict(shop).unwrap();
        let bill = fields(get(&f, "30").unwrap()).unwrap();
        assert_eq!(get(&bill, "00"), Some("A000000677010112"));
        assert_eq!(get(&bill, "01"), Some("010753700088205"));
    }

    /// The QRIS-shaped example of the research notes (its CRC checks): every nested field
    /// reads back, and the builder writes the same bytes.
    #[test]
    fn qris_codes_round_trip_to_the_byte() {
        let example = "00020101021226690017ID.CO.EXAMPLE.WWW011893600000000000000102150000000000000010303UMI51440014ID.CO.QRIS.WWW0215ID10000000000010303UMI5204581253033605405250005802ID5911TOKO CONTOH6007JAKARTA61051011062120508ORDER1236304D304";
        let code = Qris::parse(example).unwrap();
        assert_eq!(code.issuer, "ID.CO.EXAMPLE.WWW");
        assert_eq!(code.nmid, "ID1000000000001");
        assert_eq!(code.amount.unwrap().minor, 2_500_000);
        assert_eq!(code.reference.as_deref(), Some("ORDER123"));
        assert_eq!(code.payload().unwrap(), example);
    }

    #[test]
    fn strict_reading_checks_every_nested_field() {
        // The outer CRC right, a sub-field inside template 26 declaring more than it holds.
        let bad_inner = encode(&[
            ("00", "01".into()),
            ("26", "0014br.gov.bcb.pix2536sandbox.example/pix/abc".into()),
            ("52", "0000".into()),
            ("53", "986".into()),
            ("58", "BR".into()),
        ]);
        assert!(
            validate(&bad_inner).is_ok(),
            "the outer layer alone looks fine"
        );
        assert!(parse_strict(&bad_inner).is_err());
        // A merchant account template without its identifier.
        let no_gui = encode(&[
            ("00", "01".into()),
            ("26", "0105abcde".into()),
            ("53", "986".into()),
            ("58", "BR".into()),
        ]);
        assert!(parse_strict(&no_gui).is_err());
        // A field twice, a payload not beginning 000201, no merchant account.
        for f in [
            vec![
                ("00", "01".into()),
                ("26", "0003abc".into()),
                ("53", "986".into()),
                ("53", "986".into()),
                ("58", "BR".into()),
            ],
            vec![
                ("01", "12".into()),
                ("00", "01".into()),
                ("26", "0003abc".into()),
                ("53", "986".into()),
                ("58", "BR".into()),
            ],
            vec![
                ("00", "01".into()),
                ("53", "986".into()),
                ("58", "BR".into()),
            ],
        ] {
            assert!(parse_strict(&encode(&f)).is_err(), "{f:?}");
        }
    }

    #[test]
    fn promptpay_bills_round_trip() {
        let bill = PromptPayBill {
            biller_id: "010753600031508".into(),
            ref1: "PAY01M8AB8MAKQQG641".into(),
            ref2: None,
            amount: Money {
                minor: 30_000,
                currency: Currency::THB,
            },
        };
        let p = bill.payload().unwrap();
        assert!(p.contains("5406300.00"), "{p}");
        assert_eq!(PromptPayBill::parse(&p).unwrap(), bill);
        let lower = PromptPayBill {
            ref1: "pay_1".into(),
            ..bill
        };
        assert!(lower.payload().is_err());
    }

    /// Codes in the field, as published (their CRCs check): a GCash merchant's static code
    /// and dynamic codes of two acquirers.
    const QRPH_GCASH_STATIC: &str = "00020101021128620011ph.ppmi.p2m0111GXCHPHM2XXX032121702000000060243306005030005204581253036085802PH5908Gong Cha60037626104122462660012ph.ppmi.qrph0309GCRD0000105212170500000670039620680708GEN0000863049B84";
    const QRPH_PAYMONGO_DYNAMIC: &str = "00020101021228790011ph.ppmi.p2m0111PAEYPHM2XXX0324VkHUE2Fz8Ee2YxnTVPX34TZs0410030300288605030105204739953036085406100.005802PH5916NEXA ONLINE SHOP6013General Trias62430012ph.ppmi.qrph0306wWMBdH05062110000803***88440012ph.ppmi.qrph0124VkHUE2Fz8Ee2YxnTVPX34TZs63041C3C";
    const QRPH_RCBC_DYNAMIC: &str = "00020101021228560011ph.ppmi.p2m0111RCBCPHMMXXX0315000600788000696050331052045311530360854071458.315802PH5918LANDMARK Makati DS6006Makati62610012ph.ppmi.qrph03150006007880006960510000043863807082000651988710012ph.ppmi.qrph0151000600788000696~000600788000696~20006519~000043863863049616";
    /// A person-to-person code (tag 27): not a merchant's.
    const QRPH_P2P: &str = "00020101021127830012com.p2pqrpay0111GXCHPHM2XXX02089996440303152170200000006560417DWQM4TK3JDNWF7Y0M5204601653036085802PH5910DCDELIGHTS6011HOLY SPIRIT6104123463045D31";

    #[test]
    fn qr_ph_codes_in_the_field_are_read() {
        let s = QrPh::parse(QRPH_GCASH_STATIC).unwrap();
        assert_eq!(
            (s.acquirer.as_str(), s.flag.as_str()),
            ("GXCHPHM2XXX", "000")
        );
        assert_eq!(s.amount, None);
        assert_eq!(s.postal_code.as_deref(), Some("1224"));
        let d = QrPh::parse(QRPH_PAYMONGO_DYNAMIC).unwrap();
        assert_eq!(d.amount.unwrap().minor, 10_000);
        assert_eq!(d.reference.as_deref(), Some("211000"));
        let r = QrPh::parse(QRPH_RCBC_DYNAMIC).unwrap();
        assert_eq!(r.amount.unwrap().minor, 145_831);
        assert!(matches!(
            QrPh::parse(QRPH_P2P),
            Err(EmvError::Invalid { field: "27", .. })
        ));
        let tampered = QRPH_GCASH_STATIC.replace("Gong Cha", "Gong Chb");
        assert!(matches!(
            QrPh::parse(&tampered),
            Err(EmvError::BadCrc { .. })
        ));
    }

    #[test]
    fn qr_ph_codes_are_built_and_read_back() {
        let code = QrPh {
            acquirer: "SRCPPHM2XXX".into(),
            merchant_id: "WALLETPAYSANDBOX".into(),
            flag: "010".into(),
            mcc: "5999".into(),
            amount: Some(Money {
                minor: 250_050,
                currency: Currency::PHP,
            }),
            merchant_name: "WALLETPAY SANDBOX".into(),
            merchant_city: "MAKATI".into(),
            postal_code: Some("1226".into()),
            reference: Some("pr0123456789abcdef".into()),
        };
        let payload = code.payload().unwrap();
        assert!(payload.contains("54072500.50"), "{payload}");
        assert_eq!(QrPh::parse(&payload).unwrap(), code);
        parse_strict(&payload).unwrap();
        let static_code = QrPh {
            amount: None,
            reference: None,
            postal_code: None,
            ..code.clone()
        };
        assert!(static_code.payload().unwrap().starts_with("000201010211"));
        for bad in [
            QrPh {
                acquirer: "SRCP".into(),
                ..code.clone()
            },
            QrPh {
                flag: "900".into(),
                ..code.clone()
            },
            QrPh {
                amount: Some(Money {
                    minor: 100,
                    currency: Currency::IDR,
                }),
                ..code.clone()
            },
            QrPh {
                merchant_name: "".into(),
                ..code.clone()
            },
        ] {
            assert!(bad.payload().is_err(), "{bad:?}");
        }
        // A dynamic code without its amount, and an amount without two decimals.
        let no_amount = payload.replace("010212", "010211");
        assert!(
            QrPh::parse(&no_amount).is_err(),
            "the CRC no longer matches either"
        );
        let one_decimal = encode(&[
            ("00", "01".into()),
            ("01", "12".into()),
            ("28", "0011ph.ppmi.p2m0111SRCPPHM2XXX0304M0010503010".into()),
            ("52", "5999".into()),
            ("53", "608".into()),
            ("54", "100.5".into()),
            ("58", "PH".into()),
            ("59", "SHOP".into()),
            ("60", "MAKATI".into()),
        ]);
        assert!(matches!(
            QrPh::parse(&one_decimal),
            Err(EmvError::Invalid { field: "54", .. })
        ));
        let missing_amount = encode(&[
            ("00", "01".into()),
            ("01", "12".into()),
            ("28", "0011ph.ppmi.p2m0111SRCPPHM2XXX0304M0010503010".into()),
            ("52", "5999".into()),
            ("53", "608".into()),
            ("58", "PH".into()),
            ("59", "SHOP".into()),
            ("60", "MAKATI".into()),
        ]);
        assert!(matches!(
            QrPh::parse(&missing_amount),
            Err(EmvError::Missing("54"))
        ));
    }

    /// Midtrans's own examples of the QRIS codes its `qris` charges answer (GoPay as the
    /// acquirer: `COM.GO-JEK.WWW`; Midtrans's NMIDs begin `AID`).
    #[test]
    fn midtrans_qris_examples_are_read() {
        for (code, amount) in [
            ("00020101021226620014COM.GO-JEK.WWW011993600914349052630340210G4905263030303UKE51440014ID.CO.QRIS.WWW0215AID0607336128660303UKE5204341453033605802ID5904Test6007BANDUNG6105402845409789000.0062475036c032f87c-f773-4619-aefa-675e1f06f9210703A016304A623", 78_900_000),
            ("00020101021226620014COM.GO-JEK.WWW011993600914337918182570210G3791818250303UKE51440014ID.CO.QRIS.WWW0215AID7720513752290303UKE5204359353033605802ID5910PAPI LIVE26005KUKAR6105755535409100000.0062475036b1855b6c-70ab-4449-9778-61b8ffe43fd20703A016304C385", 10_000_000),
        ] {
            let q = Qris::parse(code).unwrap_or_else(|e| panic!("{e}: {code}"));
            assert_eq!(q.issuer, "COM.GO-JEK.WWW");
            assert_eq!(q.amount.unwrap().minor, amount);
        }
    }

    /// Each code with its amount (field 54) set to `amount`, its CRC made right again.
    fn with_amount(code: &str, amount: &str) -> String {
        let f = validate(code).unwrap();
        let f: Vec<(&str, String)> = f
            .into_iter()
            .map(|(id, v)| {
                (
                    id,
                    if id == "54" {
                        amount.to_string()
                    } else {
                        v.to_string()
                    },
                )
            })
            .collect();
        encode(&f)
    }

    /// A code for nothing (or less) is not a payment request: every reader refuses it, as
    /// every builder does.
    #[test]
    fn a_code_for_no_money_is_refused() {
        let brcode = BrCode {
            key: Some("pix@walletpay.example".into()),
            url: None,
            merchant_name: "LOJA".into(),
            merchant_city: "SAO PAULO".into(),
            amount: Some(Money {
                minor: 1050,
                currency: Currency::BRL,
            }),
            txid: "TX1".into(),
        }
        .payload()
        .unwrap();
        let midtrans = "00020101021226620014COM.GO-JEK.WWW011993600914349052630340210G4905263030303UKE51440014ID.CO.QRIS.WWW0215AID0607336128660303UKE5204341453033605802ID5904Test6007BANDUNG6105402845409789000.0062475036c032f87c-f773-4619-aefa-675e1f06f9210703A016304A623";
        let thai = PromptPayBill::parse(&with_amount(
            &PromptPayBill {
                biller_id: "010753700088205".into(),
                ref1: "INV1".into(),
                ref2: None,
                amount: Money {
                    minor: 10_000,
                    currency: Currency::THB,
                },
            }
            .payload()
            .unwrap(),
            "100.00",
        ))
        .unwrap()
        .payload()
        .unwrap();
        for amount in ["0.00", "0", "-1.00"] {
            let e = BrCode::parse(&with_amount(&brcode, amount)).unwrap_err();
            assert!(matches!(e, EmvError::Invalid { field: "54", .. }), "{e}");
            let e = Qris::parse(&with_amount(midtrans, amount)).unwrap_err();
            assert!(matches!(e, EmvError::Invalid { field: "54", .. }), "{e}");
            let e = QrPh::parse(&with_amount(QRPH_PAYMONGO_DYNAMIC, amount)).unwrap_err();
            assert!(matches!(e, EmvError::Invalid { field: "54", .. }), "{e}");
            let e = PromptPayBill::parse(&with_amount(&thai, amount)).unwrap_err();
            assert!(matches!(e, EmvError::Invalid { field: "54", .. }), "{e}");
        }
        // The same codes with an amount read.
        assert!(BrCode::parse(&brcode).is_ok());
        assert!(Qris::parse(&with_amount(midtrans, "1.00")).is_ok());
        assert!(QrPh::parse(&with_amount(QRPH_PAYMONGO_DYNAMIC, "1.00")).is_ok());
        assert!(PromptPayBill::parse(&with_amount(&thai, "1.00")).is_ok());
    }
}
