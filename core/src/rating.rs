//! Credit ratings on the agency scale, their order, buckets and notch distances.
//!
//! The scale runs AAA > AA+ > … > B- > CCC > NR (engine spec, conventions). A rating's
//! *bucket* drops the +/- modifier (AA- → AA); NR is its own bucket and CCC has none of
//! the ruleset's bucket tables (a tenant may not be CCC).

use serde::{Serialize, Serializer};
use std::fmt;

/// One rating on the scale. Ordering is by credit quality: `Rating::Aaa > Rating::Bbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rating {
    /// AAA
    Aaa,
    /// AA+
    AaPlus,
    /// AA
    Aa,
    /// AA-
    AaMinus,
    /// A+
    APlus,
    /// A
    A,
    /// A-
    AMinus,
    /// BBB+
    BbbPlus,
    /// BBB
    Bbb,
    /// BBB-
    BbbMinus,
    /// BB+
    BbPlus,
    /// BB
    Bb,
    /// BB-
    BbMinus,
    /// B+
    BPlus,
    /// B
    B,
    /// B-
    BMinus,
    /// CCC
    Ccc,
    /// Not rated.
    Nr,
}

/// Every rating, best first.
pub const ALL_RATINGS: [Rating; 18] = [
    Rating::Aaa,
    Rating::AaPlus,
    Rating::Aa,
    Rating::AaMinus,
    Rating::APlus,
    Rating::A,
    Rating::AMinus,
    Rating::BbbPlus,
    Rating::Bbb,
    Rating::BbbMinus,
    Rating::BbPlus,
    Rating::Bb,
    Rating::BbMinus,
    Rating::BPlus,
    Rating::B,
    Rating::BMinus,
    Rating::Ccc,
    Rating::Nr,
];

/// The bucket of a rating: the rating without its +/- modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// AAA
    Aaa,
    /// AA+, AA, AA-
    Aa,
    /// A+, A, A-
    A,
    /// BBB+, BBB, BBB-
    Bbb,
    /// BB+, BB, BB-
    Bb,
    /// B+, B, B-
    B,
    /// CCC
    Ccc,
    /// Not rated
    Nr,
}

impl Bucket {
    /// The bucket's name as written in the ruleset tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Aaa => "AAA",
            Bucket::Aa => "AA",
            Bucket::A => "A",
            Bucket::Bbb => "BBB",
            Bucket::Bb => "BB",
            Bucket::B => "B",
            Bucket::Ccc => "CCC",
            Bucket::Nr => "NR",
        }
    }
}

impl Rating {
    /// Position on the scale, 0 for AAA, 17 for NR.
    pub fn position(self) -> usize {
        self as usize
    }

    /// Parses a rating exactly as written (case-sensitive).
    pub fn parse(s: &str) -> Option<Rating> {
        ALL_RATINGS.iter().copied().find(|r| r.as_str() == s)
    }

    /// The rating as written on the scale.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Aaa => "AAA",
            Rating::AaPlus => "AA+",
            Rating::Aa => "AA",
            Rating::AaMinus => "AA-",
            Rating::APlus => "A+",
            Rating::A => "A",
            Rating::AMinus => "A-",
            Rating::BbbPlus => "BBB+",
            Rating::Bbb => "BBB",
            Rating::BbbMinus => "BBB-",
            Rating::BbPlus => "BB+",
            Rating::Bb => "BB",
            Rating::BbMinus => "BB-",
            Rating::BPlus => "B+",
            Rating::B => "B",
            Rating::BMinus => "B-",
            Rating::Ccc => "CCC",
            Rating::Nr => "NR",
        }
    }

    /// The rating's bucket (AA- → AA).
    pub fn bucket(self) -> Bucket {
        use Rating::*;
        match self {
            Aaa => Bucket::Aaa,
            AaPlus | Aa | AaMinus => Bucket::Aa,
            APlus | A | AMinus => Bucket::A,
            BbbPlus | Bbb | BbbMinus => Bucket::Bbb,
            BbPlus | Bb | BbMinus => Bucket::Bb,
            BPlus | B | BMinus => Bucket::B,
            Ccc => Bucket::Ccc,
            Nr => Bucket::Nr,
        }
    }

    /// True when `self` is at least as good as `other`.
    pub fn at_least(self, other: Rating) -> bool {
        self.position() <= other.position()
    }

    /// How many notches `self` is below `target` (0 when it is at or above it).
    pub fn notches_below(self, target: Rating) -> u32 {
        self.position().saturating_sub(target.position()) as u32
    }

    /// The better of two ratings.
    pub fn best(self, other: Rating) -> Rating {
        if self.at_least(other) {
            self
        } else {
            other
        }
    }
}

impl PartialOrd for Rating {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rating {
    /// Better ratings compare greater.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.position().cmp(&self.position())
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rating {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_the_scale() {
        assert!(Rating::Aaa > Rating::AaPlus);
        assert!(Rating::BMinus > Rating::Ccc);
        assert!(Rating::Ccc > Rating::Nr);
        assert!(Rating::BbbMinus.at_least(Rating::BbbMinus));
        assert!(!Rating::BbPlus.at_least(Rating::BbbMinus));
    }

    #[test]
    fn parse_round_trips_and_is_case_sensitive() {
        for r in ALL_RATINGS {
            assert_eq!(Rating::parse(r.as_str()), Some(r));
        }
        assert_eq!(Rating::parse("aa"), None);
        assert_eq!(Rating::parse("AA+ "), None);
    }

    #[test]
    fn buckets_drop_modifiers() {
        assert_eq!(Rating::AaMinus.bucket(), Bucket::Aa);
        assert_eq!(Rating::BbbPlus.bucket(), Bucket::Bbb);
        assert_eq!(Rating::Nr.bucket(), Bucket::Nr);
    }

    #[test]
    fn notches_count_positions() {
        assert_eq!(Rating::BbPlus.notches_below(Rating::BbbMinus), 1);
        assert_eq!(Rating::B.notches_below(Rating::BbbMinus), 5);
        assert_eq!(Rating::A.notches_below(Rating::BbbMinus), 0);
        assert_eq!(Rating::Aa.best(Rating::Bbb), Rating::Aa);
        assert_eq!(Rating::Bbb.best(Rating::Aa), Rating::Aa);
    }
}
