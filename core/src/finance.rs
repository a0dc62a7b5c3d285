//! Period-generic debt arithmetic: sculpted and level sizing, amortisation schedules and
//! weighted average life, over any sequence of periods at a per-period rate.
//!
//! The engine's fast path groups months into lease years (see [`crate::discount`]); these
//! functions are the plain, period-by-period statement of the same formulas. They produce
//! the monthly schedules of `phase1 evaluate` and serve as the reference the fast path is
//! tested against.

/// Discount factor (1 + r)^(−t), with `powi` as the spec asks (no running product).
#[inline]
pub fn discount(r: f64, t: usize) -> f64 {
    (1.0 + r).powi(-(t as i32))
}

/// A compensated (Neumaier) running sum.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    /// Adds one term.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated total.
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Σ terms with compensated summation.
pub fn sum(terms: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Sum::default();
    for x in terms {
        s.add(x);
    }
    s.value()
}

/// Present value at rate `r` per period of `flows` paid at the end of periods 1, 2, ….
pub fn present_value(flows: &[f64], r: f64) -> f64 {
    sum(flows
        .iter()
        .enumerate()
        .map(|(i, f)| f * discount(r, i + 1)))
}

/// Debt service sculpted to `cfads / dscr`, period by period.
pub fn sculpted_service(cfads: &[f64], dscr: f64) -> Vec<f64> {
    cfads.iter().map(|c| c / dscr).collect()
}

/// Level debt service: the smallest `cfads / dscr` over the periods, paid every period.
pub fn level_service(cfads: &[f64], dscr: f64) -> Vec<f64> {
    let p = cfads.iter().fold(f64::INFINITY, |m, &c| m.min(c)) / dscr;
    vec![p; cfads.len()]
}

/// Level-payment loan capacity P · (1 − (1 + r)^(−n)) / r (P · n at r = 0).
pub fn annuity_capacity(payment: f64, r: f64, n: usize) -> f64 {
    if r == 0.0 {
        payment * n as f64
    } else {
        payment * (1.0 - discount(r, n)) / r
    }
}

/// One period of an amortisation schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    /// Total debt service paid.
    pub service: f64,
    /// Interest at the coupon.
    pub interest: f64,
    /// Wrap fee (or any other fee charged on the opening balance).
    pub fee: f64,
    /// Service less interest and fee (may be negative).
    pub principal: f64,
    /// Closing balance.
    pub balance: f64,
}

/// The schedule of a loan of `amount` repaid by `service`, charging `coupon` and `fee` per
/// period on the opening balance.
pub fn schedule(amount: f64, service: &[f64], coupon: f64, fee: f64) -> Vec<Period> {
    let mut balance = amount;
    service
        .iter()
        .map(|&ds| {
            let interest = balance * coupon;
            let fee = balance * fee;
            let principal = ds - interest - fee;
            balance -= principal;
            Period {
                service: ds,
                interest,
                fee,
                principal,
                balance,
            }
        })
        .collect()
}

/// Weighted average life in periods: Σ t · principal_t / amount.
pub fn wal_periods(amount: f64, schedule: &[Period]) -> f64 {
    sum(schedule
        .iter()
        .enumerate()
        .map(|(i, p)| (i + 1) as f64 * p.principal))
        / amount
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFADS: [f64; 5] = [100.0, 110.0, 120.0, 130.0, 140.0];

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn sculpted_debt_at_dscr_1_30() {
        let ds = sculpted_service(&CFADS, 1.30);
        let debt = present_value(&ds, 0.06);
        assert!(close(debt, 385.062973, 5e-7), "{debt}");
        let s = schedule(debt, &ds, 0.06, 0.0);
        assert!(s[4].balance.abs() < 1e-9);
        let wal = wal_periods(debt, &s);
        assert!(close(wal, 3.310086, 5e-7), "{wal}");
    }

    #[test]
    fn sculpted_debt_at_dscr_1_10_has_the_same_wal() {
        let ds = sculpted_service(&CFADS, 1.10);
        let debt = present_value(&ds, 0.06);
        assert!(close(debt, 455.074423, 5e-7), "{debt}");
        let wal = wal_periods(debt, &schedule(debt, &ds, 0.06, 0.0));
        assert!(close(wal, 3.310086, 5e-7), "{wal}");
    }

    #[test]
    fn level_loan_on_one_million_noi() {
        let monthly = vec![1_000_000.0 / 12.0; 360];
        let p = level_service(&monthly, 1.10)[0];
        let k = annuity_capacity(p, 0.07 / 12.0, 360);
        assert!(close(k, 11_386_936.97, 0.005), "{k}");
        assert!(close(k, present_value(&vec![p; 360], 0.07 / 12.0), 1e-6));
        assert_eq!(annuity_capacity(10.0, 0.0, 12), 120.0);
    }

    #[test]
    fn compensated_sum_keeps_small_terms() {
        let mut terms = vec![1e16, 1.0, -1e16];
        terms.extend([1.0; 10]);
        assert_eq!(sum(terms), 11.0);
    }

    #[test]
    fn negative_principal_is_shown_not_clamped() {
        let s = schedule(1000.0, &[10.0, 2000.0], 0.05, 0.0);
        assert!(s[0].principal < 0.0);
        assert!(s[0].balance > 1000.0);
    }
}
