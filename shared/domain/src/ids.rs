//! Identifiers. A payment id is `pay_` followed by 26 characters of Crockford base32:
//! 10 for the creation time in milliseconds, 16 random, so ids sort by creation time and
//! the part after the prefix is plain alphanumerics (Pix txids derive from it).

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

pub(crate) fn build(prefix: &str, created_ms: i64, random: u128) -> String {
    let mut s = String::with_capacity(prefix.len() + 26);
    s.push_str(prefix);
    encode_base32(created_ms.max(0) as u128, 10, &mut s);
    encode_base32(random & ((1u128 << 80) - 1), 16, &mut s);
    s
}

fn encode_base32(mut value: u128, len: usize, out: &mut String) {
    let mut buf = vec![0u8; len];
    for slot in buf.iter_mut().rev() {
        *slot = CROCKFORD[(value & 31) as usize];
        value >>= 5;
    }
    out.push_str(std::str::from_utf8(&buf).expect("ascii"));
}

/// Each byte's Crockford digit, or 32 for a byte that is none.
const DECODE: [u8; 256] = {
    let mut t = [32u8; 256];
    let mut i = 0;
    while i < 32 {
        t[CROCKFORD[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The 128 bits a body stands for (its 26 characters carry 130; the top two, of a creation
/// time past the year 10889, are zero in every id we made); `None` for a body that does
/// not fit.
pub(crate) fn bits(body: &str) -> Option<u128> {
    let bytes = body.as_bytes();
    if bytes.len() != 26 {
        return None;
    }
    let mut value: u128 = 0;
    for (i, b) in bytes.iter().enumerate() {
        let digit = DECODE[*b as usize];
        if digit == 32 || (i == 0 && digit > 7) {
            return None;
        }
        value = (value << 5) | digit as u128;
    }
    Some(value)
}

/// The id with `prefix` whose body stands for `bits`.
pub(crate) fn from_bits(prefix: &str, bits: u128) -> String {
    let mut s = String::with_capacity(prefix.len() + 26);
    s.push_str(prefix);
    // 26 characters of 5 bits: the first holds the top 3 bits of 128.
    for i in (0..26).rev() {
        let digit = if i == 25 {
            bits >> 125
        } else {
            (bits >> (5 * i)) & 31
        };
        s.push(CROCKFORD[digit as usize] as char);
    }
    s
}

pub(crate) fn is_body(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| DECODE[b as usize] != 32)
}

prefixed_id!(
    /// A payment: `pay_...`.
    PaymentId,
    "pay_"
);

prefixed_id!(
    /// A merchant (a shop): `mer_...`.
    MerchantId,
    "mer_"
);

prefixed_id!(
    /// A hosted checkout session (one order): `cs_...`.
    SessionId,
    "cs_"
);

prefixed_id!(
    /// A first-purchase incentive a merchant offers with a wallet: `inc_...`.
    IncentiveId,
    "inc_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time_and_parse_back() {
        let a = PaymentId::new(1_700_000_000_000, u128::MAX);
        let b = PaymentId::new(1_700_000_000_001, 0);
        assert!(a < b);
        assert_eq!(a.as_str().len(), 30);
        assert_eq!(PaymentId::parse(a.as_str()), Some(a.clone()));
        assert!(a.body().bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn ids_are_their_bits() {
        let a = PaymentId::new(1_764_106_687_123, 0x1234_5678_9abc_def0_1234);
        let bits = a.to_bits().unwrap();
        assert_eq!(PaymentId::from_bits(bits), a);
        assert_eq!(bits >> 80, 1_764_106_687_123);
        let max = PaymentId::parse("pay_7zzzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
        assert_eq!(max.to_bits(), Some(u128::MAX));
        assert_eq!(PaymentId::from_bits(u128::MAX), max);
        // A body whose first character carries more than three bits is not one we made.
        assert_eq!(
            PaymentId::parse("pay_8zzzzzzzzzzzzzzzzzzzzzzzzz")
                .unwrap()
                .to_bits(),
            None
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        for s in [
            "",
            "pay_",
            "pay_123",
            "pay_0000000000000000000000000u",
            "mer_01234567890123456789012345",
            "pay_0123456789012345678901234I",
        ] {
            assert!(PaymentId::parse(s).is_none(), "{s}");
        }
    }
}
