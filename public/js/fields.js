// The project fields of engine.md §1 and the levers of §2, as the forms show them: the API's
// field name, a label, the unit, a help text and the default.

/** @typedef {{name: string, label: string, unit?: string, help: string, kind: "text"|"number"|"integer"|"select"|"bool", options?: string[], default?: any, required?: boolean, step?: string, group: string}} Field */

export const RATINGS = ["AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B", "B-", "NR"];

/** @type {Field[]} */
export const PROJECT_FIELDS = [
  { group: "Project", name: "title", label: "Title", kind: "text", help: "1 to 200 characters.", required: true },
  { group: "Project", name: "country", label: "Country", kind: "select", options: ["UK", "EU", "US"], help: "Sets the DSCR floor adjustment and the repo matrix.", required: true },
  { group: "Project", name: "currency", label: "Currency", kind: "select", options: ["GBP", "EUR", "USD"], help: "UK pairs with GBP, EU with EUR, US with USD.", required: true },
  { group: "Asset", name: "gross_it_load_mw", label: "Gross IT load", unit: "MW", kind: "number", help: "More than 0, at most 2,000.", required: true },
  { group: "Asset", name: "pue", label: "PUE", unit: "ratio", kind: "number", step: "0.01", help: "Power usage effectiveness, 1.0 to 3.0.", required: true },
  { group: "Asset", name: "capex_cost_per_mw", label: "Capex cost per MW", unit: "currency / MW", kind: "number", help: "More than 0.", required: true },
  { group: "Asset", name: "capex_market_per_mw", label: "Market value per MW", unit: "currency / MW", kind: "number", help: "More than 0; blank means the capex cost per MW.", default: "= capex cost per MW" },
  { group: "Asset", name: "land_fees_total", label: "Land and fees", unit: "currency", kind: "number", help: "0 or more.", default: 0 },
  { group: "Lease", name: "lease_years", label: "Lease length", unit: "years", kind: "integer", help: "Whole years, 5 to 40.", required: true },
  { group: "Lease", name: "tenant_rating", label: "Tenant rating", kind: "select", options: RATINGS, help: "AAA to B-, or NR.", required: true },
  { group: "Lease", name: "gross_monthly_rent", label: "Gross monthly rent", unit: "currency / month", kind: "number", help: "Give this or the rent per kWh, not both." },
  { group: "Lease", name: "rent_per_kwh_month", label: "Rent per kWh", unit: "currency / kWh of net IT load / month", kind: "number", step: "0.001", help: "Give this or the gross monthly rent, not both." },
  { group: "Lease", name: "opex_pct", label: "Opex", unit: "fraction of rent", kind: "number", step: "0.01", help: "0 up to (not including) 0.9.", required: true },
  { group: "Fees", name: "arranger_fee_pct", label: "Arranger fee", unit: "fraction of capex", kind: "number", step: "0.0005", help: "0 to 0.1.", default: 0.0125 },
  { group: "Fees", name: "legal_fee_pct", label: "Legal fee", unit: "fraction of capex", kind: "number", step: "0.0005", help: "0 to 0.1.", default: 0.0025 },
  { group: "Fees", name: "rating_fee_pct", label: "Rating fee", unit: "fraction of capex", kind: "number", step: "0.0005", help: "0 to 0.1.", default: 0.0015 },
  { group: "Inflation", name: "cpi_base", label: "CPI base case", unit: "fraction a year", kind: "number", step: "0.001", help: "−0.05 to 0.20.", default: 0.025 },
  { group: "Inflation", name: "cpi_floor", label: "CPI floor", unit: "fraction a year", kind: "number", step: "0.001", help: "0 to the cap.", default: 0.0 },
  { group: "Inflation", name: "cpi_cap", label: "CPI cap", unit: "fraction a year", kind: "number", step: "0.001", help: "The floor to 0.20.", default: 0.04 },
  { group: "Inflation", name: "zcis_rate", label: "Zero-coupon inflation swap rate", unit: "fraction a year", kind: "number", step: "0.001", help: "−0.05 to 0.20.", default: 0.024 },
  { group: "Capital structure", name: "sidecar_haircut_pct", label: "Sidecar haircut", unit: "fraction", kind: "number", step: "0.01", help: "0 to 1.", default: 0.15 },
  { group: "Capital structure", name: "sidecar_discount_rate", label: "Sidecar discount rate", unit: "fraction a year", kind: "number", step: "0.005", help: "0 to 0.30.", default: 0.05 },
  { group: "Capital structure", name: "wrap_premium_bps", label: "Wrap premium", unit: "bps a year", kind: "number", step: "1", help: "0 to 500.", default: 25 },
  { group: "Capital structure", name: "mezz_dscr", label: "Mezzanine DSCR", unit: "ratio", kind: "number", step: "0.01", help: "1.0 to 5.0.", default: 1.1 },
  { group: "Capital structure", name: "mezz_coupon", label: "Mezzanine coupon", unit: "fraction a year", kind: "number", step: "0.0025", help: "0 to 0.30.", default: 0.09 },
  { group: "Capital structure", name: "min_coverage", label: "Minimum coverage", unit: "fraction of funding need", kind: "number", step: "0.01", help: "0 to 1.", default: 0.5 },
  { group: "Capital structure", name: "repo_target", label: "Target central-bank repo eligibility", kind: "bool", help: "Adds the repo rule for the project's country.", default: false },
];

/** The derived preview's fields, in order, with how each is shown. */
export const DERIVED = [
  ["net_it_load_mw", "Net IT load", "mw"],
  ["month1_rent", "Month-1 rent", "money"],
  ["project_capex", "Project capex", "money"],
  ["market_value", "Market value", "money"],
  ["upfront_fees", "Upfront fees", "money"],
  ["funding_need", "Funding need", "money"],
  ["tenor_cap", "Tenor cap", "years"],
  ["dscr_floor", "DSCR floor", "ratio"],
  ["max_advance", "Maximum advance", "pct"],
];

/** @typedef {{name: string, label: string, kind: "number"|"integer"|"choice", values?: any[], default?: any[], help: string, step?: string}} Lever */

/** @type {Lever[]} */
export const LEVERS = [
  { name: "senior_tenor", label: "Senior tenor (years)", kind: "integer", help: "Whole years 1 to 40; tenors above the tenor cap fail Gate A." },
  { name: "senior_coupon", label: "Senior coupon", kind: "number", step: "0.0025", help: "A fraction a year, more than 0, at most 0.25." },
  { name: "senior_dscr", label: "Target senior DSCR", kind: "number", step: "0.05", help: "1.0 to 5.0." },
  { name: "senior_amort", label: "Amortisation", kind: "choice", values: ["sculpted", "annuity"], default: ["sculpted"], help: "Sculpted to the cash flows, or level (annuity)." },
  { name: "indexation_mode", label: "Rent indexation", kind: "choice", values: ["flat", "CPI_capped"], default: ["flat"], help: "Flat rent, or CPI-indexed between the floor and the cap." },
  { name: "zcis_tenor_years", label: "Inflation-swap hedge tenor (years)", kind: "integer", help: "Whole years 0 to 40; 0 means no hedge.", default: [0] },
  { name: "mezz_on", label: "Mezzanine", kind: "choice", values: [false, true], default: [false], help: "Size a mezzanine tranche behind the senior notes." },
  { name: "wrap", label: "Credit wrap", kind: "choice", values: [false, true], default: [false], help: "Wrap the senior notes (lowers the DSCR floor, costs the premium)." },
];
