//! Small macros shared by the domain's types.

/// An enum whose variants have fixed wire names: `as_str`, `parse`, `ALL`, `Display`, and
/// serde under the same names.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A prefixed identifier (`pay_`, `mer_`, ...): the prefix, then 26 characters of Crockford
/// base32, 10 for the creation time in milliseconds and 16 random.
macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Builds an id from the creation time and 80 bits of caller-supplied randomness.
            pub fn new(created_ms: i64, random: u128) -> Self {
                $name(crate::ids::build($prefix, created_ms, random))
            }

            /// Accepts only well-formed ids, so a malformed path segment never reaches a store.
            pub fn parse(s: &str) -> Option<Self> {
                let body = s.strip_prefix($prefix)?;
                crate::ids::is_body(body).then(|| $name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The 26 alphanumerics after the prefix.
            pub fn body(&self) -> &str {
                &self.0[$prefix.len()..]
            }

            /// The id as 128 bits (its creation time and randomness), for compact keys;
            /// `None` for a well-formed id too large to be one we made.
            pub fn to_bits(&self) -> Option<u128> {
                crate::ids::bits(self.body())
            }

            /// The bits of the id `s` (as [`to_bits`](Self::to_bits)) without making one:
            /// `None` unless `s` is a well-formed id we could have made.
            pub fn bits_of(s: &str) -> Option<u128> {
                crate::ids::bits(s.strip_prefix($prefix)?)
            }

            /// The id whose bits these are.
            pub fn from_bits(bits: u128) -> Self {
                $name(crate::ids::from_bits($prefix, bits))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
