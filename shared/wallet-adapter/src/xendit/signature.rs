//! Xendit authenticates callbacks with a shared token in `x-callback-token`, not a payload
//! signature. The comparison runs in constant time.

/// Whether `presented` equals one of the accepted tokens (the current one, and during a
/// rotation the previous one).
pub fn callback_token_matches(presented: &[u8], accepted: &[&str]) -> bool {
    crate::credentials::equals_any(presented, accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_token_matches() {
        let accepted = ["tok_current", "tok_previous"];
        assert!(callback_token_matches(b"tok_current", &accepted));
        assert!(callback_token_matches(b"tok_previous", &accepted));
        assert!(!callback_token_matches(b"tok_curren", &accepted));
        assert!(!callback_token_matches(b"tok_current ", &accepted));
        assert!(!callback_token_matches(b"", &accepted));
        assert!(!callback_token_matches(b"", &["", ""]));
    }
}
