//! Discount tables grouped by lease year, so that every monthly sum of the sizing formulas
//! becomes a sum over at most 40 years.
//!
//! Debt service is constant within a lease year (CFADS is), so for a monthly rate r:
//!
//! ```text
//! Σ_t DS_t (1+r)^(−t)    = Σ_y DS_y · pv(y),   pv(y)  = Σ_{t in y} (1+r)^(−t)
//! Σ_{t<n} B_t (for WAL)  = Σ_y DS_y · ann(y),  ann(y) = Σ_{t in y} a_t,
//!   a_t = Σ_{j≤t} (1+r)^(−j),  because B_t = Σ_{k>t} DS_k (1+r)^(t−k)
//!   and WAL = Σ_t (t/12) principal_t / B_0 = (1/12) Σ_{t=0}^{n−1} B_t / B_0 when B_n = 0.
//! ```

use crate::finance::{discount, Sum};

/// Per-lease-year sums of discount factors and annuity factors at one monthly rate.
#[derive(Debug, Clone, PartialEq)]
pub struct YearTable {
    /// `pv[y]` = Σ over the months of lease year y+1 of (1+r)^(−t).
    pub pv: Vec<f64>,
    /// `ann[y]` = Σ over the months of lease year y+1 of a_t.
    pub ann: Vec<f64>,
}

impl YearTable {
    /// Builds the table for monthly rate `r` over `years` lease years.
    pub fn new(r: f64, years: u32) -> YearTable {
        let mut pv = Vec::with_capacity(years as usize);
        let mut ann = Vec::with_capacity(years as usize);
        let mut a = Sum::default();
        for y in 0..years as usize {
            let mut pv_y = Sum::default();
            let mut ann_y = Sum::default();
            for m in 1..=12 {
                let v = discount(r, 12 * y + m);
                a.add(v);
                pv_y.add(v);
                ann_y.add(a.value());
            }
            pv.push(pv_y.value());
            ann.push(ann_y.value());
        }
        YearTable { pv, ann }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finance::{present_value, schedule, wal_periods};

    #[test]
    fn year_sums_match_monthly_sums() {
        let r = 0.05 / 12.0;
        let t = YearTable::new(r, 3);
        let by_year = [100.0, 105.0, 110.25];
        let monthly: Vec<f64> = (0..36).map(|m| by_year[m / 12]).collect();
        let pv: f64 = by_year.iter().zip(&t.pv).map(|(d, p)| d * p).sum();
        let direct = present_value(&monthly, r);
        assert!((pv - direct).abs() <= 1e-12 * direct);
        let wal_years: f64 =
            by_year.iter().zip(&t.ann).map(|(d, a)| d * a).sum::<f64>() / pv / 12.0;
        let wal_direct = wal_periods(direct, &schedule(direct, &monthly, r, 0.0)) / 12.0;
        assert!((wal_years - wal_direct).abs() <= 1e-12 * wal_direct);
    }

    #[test]
    fn zero_rate_is_plain_counting() {
        let t = YearTable::new(0.0, 2);
        assert_eq!(t.pv, vec![12.0, 12.0]);
        assert_eq!(t.ann[0], (1..=12).sum::<i32>() as f64);
    }
}
