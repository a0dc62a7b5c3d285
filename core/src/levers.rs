//! The eight structuring levers (engine spec §2), their resolved value lists and the grid
//! they span. The grid is never materialised: a permutation is decoded from its index.

use serde::Serialize;

/// A structuring lever, in canonical grid order (the last varies fastest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lever {
    /// Senior tenor in whole years.
    SeniorTenor,
    /// Senior coupon, annual.
    SeniorCoupon,
    /// Target senior DSCR.
    SeniorDscr,
    /// Senior amortisation profile.
    SeniorAmort,
    /// Rent indexation mode.
    IndexationMode,
    /// Inflation-swap hedge tenor in years (0 = none).
    ZcisTenorYears,
    /// Mezzanine tranche on or off.
    MezzOn,
    /// Credit wrap on or off.
    Wrap,
}

impl Lever {
    /// All levers in canonical order.
    pub const ALL: [Lever; 8] = [
        Lever::SeniorTenor,
        Lever::SeniorCoupon,
        Lever::SeniorDscr,
        Lever::SeniorAmort,
        Lever::IndexationMode,
        Lever::ZcisTenorYears,
        Lever::MezzOn,
        Lever::Wrap,
    ];

    /// The lever's input and output name.
    pub fn name(self) -> &'static str {
        match self {
            Lever::SeniorTenor => "senior_tenor",
            Lever::SeniorCoupon => "senior_coupon",
            Lever::SeniorDscr => "senior_dscr",
            Lever::SeniorAmort => "senior_amort",
            Lever::IndexationMode => "indexation_mode",
            Lever::ZcisTenorYears => "zcis_tenor_years",
            Lever::MezzOn => "mezz_on",
            Lever::Wrap => "wrap",
        }
    }

    /// Parses a lever name (not an alias).
    pub fn parse(name: &str) -> Option<Lever> {
        Lever::ALL.iter().copied().find(|l| l.name() == name)
    }
}

/// Senior amortisation profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Amort {
    /// Debt service sculpted to CFADS / DSCR.
    Sculpted,
    /// Level debt service.
    Annuity,
}

impl Amort {
    /// The value as written in input and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Amort::Sculpted => "sculpted",
            Amort::Annuity => "annuity",
        }
    }
}

/// Rent indexation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Indexation {
    /// Flat rent (CPI upside sold through the sidecar when hedged).
    #[serde(rename = "flat")]
    Flat,
    /// Rent stepped up each lease year by capped and floored CPI.
    #[serde(rename = "CPI_capped")]
    CpiCapped,
}

impl Indexation {
    /// The value as written in input and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Indexation::Flat => "flat",
            Indexation::CpiCapped => "CPI_capped",
        }
    }
}

/// Where a lever's values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `{"manual": v}`
    Manual,
    /// `{"min", "max", "step"}`
    MinMax,
    /// `{"variations": [..]}`
    Variations,
    /// A plain list.
    List,
    /// A single value.
    Scalar,
    /// The lever was absent and has a default.
    Default,
}

/// One lever's resolved values and their source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved<T> {
    /// Distinct values in grid order.
    pub values: Vec<T>,
    /// How they were given.
    pub source: Source,
}

/// Every lever resolved to a non-empty list of valid values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranges {
    /// Integer years 1..=40.
    pub senior_tenor: Resolved<u32>,
    /// 0 < x ≤ 0.25.
    pub senior_coupon: Resolved<f64>,
    /// 1.0..=5.0.
    pub senior_dscr: Resolved<f64>,
    /// sculpted / annuity.
    pub senior_amort: Resolved<Amort>,
    /// flat / CPI_capped.
    pub indexation_mode: Resolved<Indexation>,
    /// Integer years 0..=40.
    pub zcis_tenor_years: Resolved<u32>,
    /// false / true.
    pub mezz_on: Resolved<bool>,
    /// false / true.
    pub wrap: Resolved<bool>,
}

/// One permutation's lever values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LeverSet {
    /// Senior tenor in years.
    pub senior_tenor: u32,
    /// Senior coupon.
    pub senior_coupon: f64,
    /// Target senior DSCR.
    pub senior_dscr: f64,
    /// Amortisation profile.
    pub senior_amort: Amort,
    /// Indexation mode.
    pub indexation_mode: Indexation,
    /// Hedge tenor in years.
    pub zcis_tenor_years: u32,
    /// Mezzanine on.
    pub mezz_on: bool,
    /// Wrap on.
    pub wrap: bool,
}

/// A permutation as positions into each lever's value list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digits(pub [u32; 8]);

impl Ranges {
    /// The number of values of each lever, in canonical order.
    pub fn counts(&self) -> [u64; 8] {
        [
            self.senior_tenor.values.len() as u64,
            self.senior_coupon.values.len() as u64,
            self.senior_dscr.values.len() as u64,
            self.senior_amort.values.len() as u64,
            self.indexation_mode.values.len() as u64,
            self.zcis_tenor_years.values.len() as u64,
            self.mezz_on.values.len() as u64,
            self.wrap.values.len() as u64,
        ]
    }

    /// Each lever's source, in canonical order.
    pub fn sources(&self) -> [Source; 8] {
        [
            self.senior_tenor.source,
            self.senior_coupon.source,
            self.senior_dscr.source,
            self.senior_amort.source,
            self.indexation_mode.source,
            self.zcis_tenor_years.source,
            self.mezz_on.source,
            self.wrap.source,
        ]
    }

    /// The product of the value counts (saturating; it cannot overflow for valid ranges).
    pub fn cardinality(&self) -> u64 {
        self.counts()
            .iter()
            .fold(1u64, |acc, &c| acc.saturating_mul(c))
    }

    /// Decodes a permutation index into per-lever positions (mixed radix, last lever fastest).
    /// `index` must be below [`Ranges::cardinality`].
    pub fn digits(&self, index: u64) -> Digits {
        let counts = self.counts();
        let mut rest = index;
        let mut d = [0u32; 8];
        for i in (0..8).rev() {
            d[i] = (rest % counts[i]) as u32;
            rest /= counts[i];
        }
        Digits(d)
    }

    /// The inverse of [`Ranges::digits`].
    pub fn index_of(&self, digits: Digits) -> u64 {
        let counts = self.counts();
        digits
            .0
            .iter()
            .zip(counts.iter())
            .fold(0u64, |acc, (&d, &c)| acc * c + d as u64)
    }

    /// The lever values at the given positions.
    pub fn lever_set(&self, d: Digits) -> LeverSet {
        let d = d.0;
        LeverSet {
            senior_tenor: self.senior_tenor.values[d[0] as usize],
            senior_coupon: self.senior_coupon.values[d[1] as usize],
            senior_dscr: self.senior_dscr.values[d[2] as usize],
            senior_amort: self.senior_amort.values[d[3] as usize],
            indexation_mode: self.indexation_mode.values[d[4] as usize],
            zcis_tenor_years: self.zcis_tenor_years.values[d[5] as usize],
            mezz_on: self.mezz_on.values[d[6] as usize],
            wrap: self.wrap.values[d[7] as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> Ranges {
        Ranges {
            senior_tenor: Resolved {
                values: vec![10, 12, 15],
                source: Source::List,
            },
            senior_coupon: Resolved {
                values: vec![0.04, 0.05],
                source: Source::MinMax,
            },
            senior_dscr: Resolved {
                values: vec![1.2, 1.3, 1.4, 1.5],
                source: Source::MinMax,
            },
            senior_amort: Resolved {
                values: vec![Amort::Sculpted],
                source: Source::Default,
            },
            indexation_mode: Resolved {
                values: vec![Indexation::Flat, Indexation::CpiCapped],
                source: Source::List,
            },
            zcis_tenor_years: Resolved {
                values: vec![0, 5],
                source: Source::List,
            },
            mezz_on: Resolved {
                values: vec![false],
                source: Source::Default,
            },
            wrap: Resolved {
                values: vec![false, true],
                source: Source::List,
            },
        }
    }

    #[test]
    fn index_zero_is_every_first_value_and_last_lever_varies_fastest() {
        let r = ranges();
        assert_eq!(r.cardinality(), 3 * 2 * 4 * 2 * 2 * 2);
        assert_eq!(r.digits(0).0, [0; 8]);
        assert_eq!(r.digits(1).0, [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(r.digits(2).0, [0, 0, 0, 0, 0, 1, 0, 0]);
        let last = r.digits(r.cardinality() - 1).0;
        assert_eq!(last, [2, 1, 3, 0, 1, 1, 0, 1]);
    }

    #[test]
    fn digits_round_trip() {
        let r = ranges();
        for i in 0..r.cardinality() {
            assert_eq!(r.index_of(r.digits(i)), i);
        }
        let set = r.lever_set(r.digits(r.cardinality() - 1));
        assert_eq!(set.senior_tenor, 15);
        assert_eq!(set.senior_dscr, 1.5);
        assert!(set.wrap);
    }
}
