//! Rent, CFADS and the sidecar (engine spec §3), by lease year.
//!
//! Rent changes only at the start of a lease year, so a profile holds one CFADS figure per
//! lease year; month t earns the figure of year ceil(t/12).

use crate::finance::{discount, Sum};
use crate::levers::Indexation;
use crate::project::Project;
use crate::ruleset::Ruleset;

/// A CFADS scenario: CPI for unhedged step-ups, rent factor and opex multiplier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    /// CPI rate for unhedged step-ups.
    pub cpi: f64,
    /// Factor on rent.
    pub rent_factor: f64,
    /// Multiplier on opex_pct.
    pub opex_multiplier: f64,
}

impl Scenario {
    /// The base case of a project.
    pub fn base(project: &Project) -> Scenario {
        Scenario {
            cpi: project.cpi_base,
            rent_factor: 1.0,
            opex_multiplier: 1.0,
        }
    }

    /// The ruleset's stress scenarios, in ruleset order.
    pub fn stresses(project: &Project, rules: &Ruleset) -> Vec<Scenario> {
        rules
            .scenarios()
            .iter()
            .map(|s| Scenario {
                cpi: s.cpi.unwrap_or(project.cpi_base),
                rent_factor: s.rent_factor,
                opex_multiplier: s.opex_multiplier,
            })
            .collect()
    }
}

/// Step-up growth of lease year `year` (2..=L): hedged at the swap rate for the first `z`
/// step-ups, else at `cpi`, clamped to the project's floor and cap.
fn growth(project: &Project, year: u32, z: u32, cpi: f64) -> f64 {
    let h = if year - 1 <= z {
        project.zcis_rate
    } else {
        cpi
    };
    h.clamp(project.cpi_floor, project.cpi_cap)
}

/// CFADS per lease year (index 0 = year 1) under a scenario.
pub fn cfads_by_year(project: &Project, mode: Indexation, z: u32, s: &Scenario) -> Vec<f64> {
    let r0 = project.month1_rent();
    let margin = 1.0 - (project.opex_pct * s.opex_multiplier).min(0.99);
    let mut index = 1.0;
    (1..=project.lease_years)
        .map(|year| {
            if mode == Indexation::CpiCapped && year >= 2 {
                index *= 1.0 + growth(project, year, z, s.cpi);
            }
            r0 * s.rent_factor * index * margin
        })
        .collect()
}

/// The base and stressed CFADS of one (indexation, hedge tenor) pair, by lease year.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Base CFADS by lease year.
    pub base: Vec<f64>,
    /// Stressed CFADS by lease year, one vector per ruleset scenario, in ruleset order.
    pub stress: Vec<Vec<f64>>,
}

impl Profile {
    /// Builds the profile for an indexation mode and hedge tenor.
    pub fn new(project: &Project, rules: &Ruleset, mode: Indexation, z: u32) -> Profile {
        Profile {
            base: cfads_by_year(project, mode, z, &Scenario::base(project)),
            stress: Scenario::stresses(project, rules)
                .iter()
                .map(|s| cfads_by_year(project, mode, z, s))
                .collect(),
        }
    }
}

/// The sidecar sale of a permutation: gross and net of haircut.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sidecar {
    /// PV of the CPI excess over the flat core.
    pub gross: f64,
    /// Gross less the haircut.
    pub net: f64,
}

/// The sidecar for a flat lease hedged for `z` years (zero unless flat and z > 0).
pub fn sidecar(project: &Project, mode: Indexation, z: u32) -> Sidecar {
    if mode != Indexation::Flat || z == 0 {
        return Sidecar::default();
    }
    let r0 = project.month1_rent();
    let g = project.zcis_rate.clamp(project.cpi_floor, project.cpi_cap);
    let years = (z + 1).min(project.lease_years);
    let d = project.sidecar_discount_rate / 12.0;
    let mut gross = Sum::default();
    let mut index = 1.0;
    for year in 1..=years {
        if year >= 2 {
            index *= 1.0 + g;
        }
        let excess = (r0 * index - r0) * (1.0 - project.opex_pct);
        let first = 12 * (year as usize - 1);
        for m in 1..=12 {
            gross.add(excess * discount(d, first + m));
        }
    }
    let gross = gross.value();
    Sidecar {
        gross,
        net: gross * (1.0 - project.sidecar_haircut_pct),
    }
}
