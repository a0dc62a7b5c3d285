//! Threshold comparisons with the spec's absolute tolerance of 1e-9, and the spec's
//! rounding rules. Every rule, matrix row, repo criterion, haircut band, tier threshold and
//! near-miss band goes through these.

/// The absolute tolerance of every threshold comparison.
pub const EPS: f64 = 1e-9;

/// x ≥ a, with tolerance.
#[inline]
pub fn ge(x: f64, a: f64) -> bool {
    x >= a - EPS
}

/// x ≤ a, with tolerance.
#[inline]
pub fn le(x: f64, a: f64) -> bool {
    x <= a + EPS
}

/// x < a, with tolerance (fails at equality).
#[inline]
pub fn lt(x: f64, a: f64) -> bool {
    x < a - EPS
}

/// Rounds half away from zero to `decimals` places.
pub fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// "Rounded up to 0.01": ceil(round(x·100, 7)) / 100.
pub fn ceil_cent(x: f64) -> f64 {
    round_to(x * 100.0, 7).ceil() / 100.0
}

/// "Rounded down to 0.01": floor(round(x·100, 7)) / 100.
pub fn floor_cent(x: f64) -> f64 {
    round_to(x * 100.0, 7).floor() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_allow_the_tolerance() {
        assert!(ge(1.3 - 5e-10, 1.3));
        assert!(!ge(1.3 - 2e-9, 1.3));
        assert!(le(0.65 + 5e-10, 0.65));
        assert!(!lt(1.1, 1.1));
        assert!(!lt(1.1 - 5e-10, 1.1));
        assert!(lt(1.09, 1.1));
    }

    #[test]
    fn cent_rounding_ignores_float_noise() {
        assert_eq!(ceil_cent(1.2300000000001), 1.23);
        assert_eq!(ceil_cent(1.231), 1.24);
        assert_eq!(ceil_cent(1.15 * 1.0), 1.15);
        assert_eq!(floor_cent(1.2399999999999), 1.24);
        assert_eq!(floor_cent(1.239), 1.23);
        assert_eq!(round_to(2.5, 0), 3.0);
        assert_eq!(round_to(-2.5, 0), -3.0);
    }
}
