//! The names of config values (`acks=all`, `truncation = "kip-101"`, a fault's `action`), one
//! per enum variant, as strum derives them: the parser, the writers and the banners all read
//! them from here.

pub use strum::VariantArray;

/// An enum whose every variant has one name, as a scenario file or Kafka's configs write it.
pub trait Named: Copy + Eq + Into<&'static str> + VariantArray + 'static {
    fn name(self) -> &'static str {
        self.into()
    }

    /// Every name, in declaration order.
    fn names() -> Vec<&'static str> {
        Self::VARIANTS.iter().map(|v| v.name()).collect()
    }

    /// The variant called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::VARIANTS.iter().copied().find(|v| v.name() == name)
    }
}

impl<T: Copy + Eq + Into<&'static str> + VariantArray + 'static> Named for T {}

/// `impl Serialize` as the variant's name, for enums that derive their names with strum.
#[macro_export]
macro_rules! serialize_by_name {
    ($($t:ty),* $(,)?) => {
        $(
            impl ::serde::Serialize for $t {
                fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_str($crate::Named::name(*self))
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Acks, Flaw, Truncation};

    #[test]
    fn names_round_trip() {
        assert_eq!(Acks::All.name(), "all");
        assert_eq!(Truncation::Kip101.name(), "kip-101");
        assert_eq!(Flaw::ConsumerSkipsARecord.name(), "consumer-skips-a-record");
        for t in Truncation::VARIANTS {
            assert_eq!(Truncation::from_name(t.name()), Some(*t));
        }
        assert_eq!(Truncation::from_name("kip-102"), None);
    }
}
