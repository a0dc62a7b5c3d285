//! The project (engine spec §1): parsed once from JSON into a [`Project`] that cannot be
//! invalid, and its derived preview.

use crate::error::FieldError;
use crate::rating::Rating;
use crate::ruleset::Ruleset;
use serde::Serialize;

/// Jurisdiction of the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Country {
    /// United Kingdom (pairs with GBP).
    UK,
    /// Euro area (pairs with EUR).
    EU,
    /// United States (pairs with USD).
    US,
}

impl Country {
    /// All countries, in the order the ruleset tables list them.
    pub const ALL: [Country; 3] = [Country::UK, Country::EU, Country::US];

    /// The code as written in input and in the ruleset.
    pub fn as_str(self) -> &'static str {
        match self {
            Country::UK => "UK",
            Country::EU => "EU",
            Country::US => "US",
        }
    }

    /// The currency a project in this country must use.
    pub fn currency(self) -> Currency {
        match self {
            Country::UK => Currency::GBP,
            Country::EU => Currency::EUR,
            Country::US => Currency::USD,
        }
    }
}

/// Project currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Currency {
    /// Pound sterling.
    GBP,
    /// Euro.
    EUR,
    /// US dollar.
    USD,
}

/// How the month-1 rent is given: exactly one of the two rent fields.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rent {
    /// `gross_monthly_rent`: currency per month.
    GrossMonthlyRent(f64),
    /// `rent_per_kwh_month`: currency per kWh of net IT load, per month.
    RentPerKwhMonth(f64),
}

/// A validated project with every default applied. Built only by [`Project::parse`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Display title, 1..=200 characters.
    pub title: String,
    /// Jurisdiction.
    pub country: Country,
    /// Currency, paired with the country.
    pub currency: Currency,
    /// Gross IT load in MW, in (0, 2000].
    pub gross_it_load_mw: f64,
    /// Power usage effectiveness, 1.0..=3.0.
    pub pue: f64,
    /// Lease length in years, 5..=40.
    pub lease_years: u32,
    /// Tenant credit rating (never CCC).
    pub tenant_rating: Rating,
    /// The rent, in one of its two forms.
    pub rent: Rent,
    /// Opex as a fraction of rent, 0 ≤ x < 0.9.
    pub opex_pct: f64,
    /// Construction cost per MW.
    pub capex_cost_per_mw: f64,
    /// Market value per MW (defaults to the cost).
    pub capex_market_per_mw: f64,
    /// Land and other fees, added to capex and market value.
    pub land_fees_total: f64,
    /// Arranger fee, fraction of capex.
    pub arranger_fee_pct: f64,
    /// Legal fee, fraction of capex.
    pub legal_fee_pct: f64,
    /// Rating-agency fee, fraction of capex.
    pub rating_fee_pct: f64,
    /// Base-case CPI.
    pub cpi_base: f64,
    /// Floor on each annual step-up.
    pub cpi_floor: f64,
    /// Cap on each annual step-up.
    pub cpi_cap: f64,
    /// Zero-coupon inflation swap rate locked for hedged step-ups.
    pub zcis_rate: f64,
    /// Haircut on the sidecar sale.
    pub sidecar_haircut_pct: f64,
    /// Annual rate at which the sidecar is discounted.
    pub sidecar_discount_rate: f64,
    /// Credit-wrap premium in basis points a year.
    pub wrap_premium_bps: f64,
    /// DSCR the mezzanine is sculpted to.
    pub mezz_dscr: f64,
    /// Mezzanine coupon.
    pub mezz_coupon: f64,
    /// Minimum debt / funding need.
    pub min_coverage: f64,
    /// Whether repo eligibility is a rule for this project.
    pub repo_target: bool,
}

/// The derived preview of a project (engine spec §1), with its JSON names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    /// gross_it_load_mw / pue
    pub net_it_load_mw: f64,
    /// R0, the month-1 rent.
    pub month1_rent: f64,
    /// capex_cost_per_mw · gross_it_load_mw + land_fees_total
    pub project_capex: f64,
    /// capex_market_per_mw · gross_it_load_mw + land_fees_total
    pub market_value: f64,
    /// (arranger + legal + rating fee pct) · project_capex
    pub upfront_fees: f64,
    /// project_capex + upfront_fees
    pub funding_need: f64,
    /// `min(lease_years − 2, max_tenor[tenant bucket])`
    pub tenor_cap: u32,
    /// `dscr_floor[tenant bucket] + jurisdiction_adjust[country]`
    pub dscr_floor: f64,
    /// `max_advance[tenant bucket]`
    pub max_advance: f64,
    /// The project currency, echoed for display.
    pub currency: Currency,
}

impl Project {
    /// Parses a project object, applying defaults. Every violation is reported, each with
    /// its `project.<field>` path.
    pub fn parse(value: &serde_json::Value) -> Result<Project, Vec<FieldError>> {
        crate::project_parse::parse_project(value)
    }

    /// R0: the month-1 rent.
    pub fn month1_rent(&self) -> f64 {
        match self.rent {
            Rent::GrossMonthlyRent(r) => r,
            Rent::RentPerKwhMonth(r) => self.net_it_load_mw() * 1000.0 * 730.0 * r,
        }
    }

    /// Net IT load in MW.
    pub fn net_it_load_mw(&self) -> f64 {
        self.gross_it_load_mw / self.pue
    }

    /// The derived preview under `rules`.
    pub fn derive(&self, rules: &Ruleset) -> Derived {
        let bucket = self.tenant_rating.bucket();
        let project_capex = self.capex_cost_per_mw * self.gross_it_load_mw + self.land_fees_total;
        let market_value = self.capex_market_per_mw * self.gross_it_load_mw + self.land_fees_total;
        let upfront_fees =
            (self.arranger_fee_pct + self.legal_fee_pct + self.rating_fee_pct) * project_capex;
        let tenor_cap = (self.lease_years - 2).min(rules.max_tenor(bucket));
        Derived {
            net_it_load_mw: self.net_it_load_mw(),
            month1_rent: self.month1_rent(),
            project_capex,
            market_value,
            upfront_fees,
            funding_need: project_capex + upfront_fees,
            tenor_cap,
            dscr_floor: rules.dscr_floor(bucket) + rules.jurisdiction_adjust(self.country),
            max_advance: rules.max_advance(bucket),
            currency: self.currency,
        }
    }
}
