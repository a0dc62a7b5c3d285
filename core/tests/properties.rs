//! Property tests over generated projects and grids: schedule closure, LLCR = DSCR for
//! sculpted DSCR-bound debt, WAL independence from the DSCR, statistics that add up,
//! thread-count and shard-split independence, and no panic on any accepted input.

use phase1_core::job::{self, Job};
use phase1_core::request::{Options, Overrides, RunInput};
use phase1_core::ruleset::Ruleset;
use phase1_core::run::merge_partials;
use proptest::prelude::*;
use serde_json::{json, Value};

fn project() -> impl Strategy<Value = Value> {
    (
        (0usize..3, 1.0f64..400.0, 1.0f64..2.0, 8u32..30, 0usize..7),
        (
            0.0f64..0.6,
            3e6f64..9e6,
            0.8f64..1.5,
            0.5f64..3.0,
            any::<bool>(),
        ),
        (-0.01f64..0.05, 0.0f64..0.02, 0.02f64..0.06, 0.0f64..0.04),
        (1.0f64..1.4, 0.0f64..0.8, any::<bool>()),
    )
        .prop_map(|(a, b, c, d)| {
            let (country, mw, pue, lease, tenant) = a;
            let (opex, capex, market, rent_scale, by_kwh) = b;
            let (cpi, floor, cap, zcis) = c;
            let (mezz_dscr, min_cov, repo) = d;
            let (country, currency) = [("UK", "GBP"), ("EU", "EUR"), ("US", "USD")][country];
            let tenant = ["AAA", "AA-", "A", "BBB+", "BB", "B-", "NR"][tenant];
            let mut p = json!({
                "title": "generated",
                "country": country,
                "currency": currency,
                "gross_it_load_mw": mw,
                "pue": pue,
                "lease_years": lease,
                "tenant_rating": tenant,
                "opex_pct": opex,
                "capex_cost_per_mw": capex,
                "capex_market_per_mw": capex * market,
                "land_fees_total": capex * 0.3,
                "cpi_base": cpi,
                "cpi_floor": floor,
                "cpi_cap": cap,
                "zcis_rate": zcis,
                "mezz_dscr": mezz_dscr,
                "min_coverage": min_cov,
                "repo_target": repo
            });
            // Rent that pays for roughly `rent_scale` × a 10 % yield on capex.
            let monthly = capex * mw * 0.10 / 12.0 * rent_scale;
            if by_kwh {
                p["rent_per_kwh_month"] = json!(monthly / (mw / pue * 1000.0 * 730.0));
            } else {
                p["gross_monthly_rent"] = json!(monthly);
            }
            p
        })
}

fn ranges() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(1u32..34, 1..4),
        prop::collection::vec(0.01f64..0.12, 1..3),
        prop::collection::vec(1.0f64..2.2, 1..4),
        (
            0usize..3,
            0usize..3,
            prop::collection::vec(0u32..30, 1..3),
            0usize..3,
            0usize..3,
        ),
    )
        .prop_map(
            |(tenors, coupons, dscrs, (amort, index, zcis, mezz, wrap))| {
                let pick = |i: usize, a: Value, b: Value| match i {
                    0 => json!([a]),
                    1 => json!([b]),
                    _ => json!([a, b]),
                };
                json!({
                    "senior_tenor": tenors,
                    "senior_coupon": coupons,
                    "senior_dscr": dscrs,
                    "senior_amort": pick(amort, json!("sculpted"), json!("annuity")),
                    "indexation_mode": pick(index, json!("flat"), json!("CPI_capped")),
                    "zcis_tenor_years": zcis,
                    "mezz_on": pick(mezz, json!(false), json!(true)),
                    "wrap": pick(wrap, json!(false), json!(true)),
                })
            },
        )
}

fn options() -> impl Strategy<Value = Options> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(g, r, t)| Options {
        enforce_gates: g,
        repo_rules: r,
        tiering: t,
        input_hierarchy: true,
    })
}

fn request() -> impl Strategy<Value = (RunInput, Value)> {
    (project(), ranges(), options(), 0u64..1000).prop_filter_map(
        "the parser refuses it",
        |(p, r, o, seed)| {
            let doc = json!({"project": p, "ranges": r, "seed": seed, "topn": 5});
            RunInput::parse(&doc, &Overrides::default(), o, Ruleset::v1())
                .ok()
                .map(|i| (i, doc))
        },
    )
}

fn run_json(input: &RunInput, threads: usize) -> Value {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let doc = pool.install(|| job::run(input, Ruleset::v1(), &|_| {}));
    serde_json::to_value(doc).expect("json")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn schedules_close_and_metrics_hold((input, _) in request()) {
        let job = Job::new(&input, Ruleset::v1());
        for index in 0..input.ranges.cardinality() {
            let doc = serde_json::to_value(job.evaluate(index).expect("in grid")).expect("json");
            let Some(senior) = doc["senior"].as_object() else { continue };
            let amount = num(&senior["amount"]);
            let last = doc["schedule"].as_array().and_then(|s| s.last()).expect("rows");
            prop_assert!(num(&last["senior_balance"]).abs() <= 1e-7 * amount,
                "closing balance {} of {}", last["senior_balance"], amount);
            if let Some(m) = doc["mezz"].as_object() {
                let ma = num(&m["amount"]);
                prop_assert!(num(&last["mezz_balance"]).abs() <= 1e-7 * ma.max(1.0));
            }
            let l = &doc["levers"];
            if l["senior_amort"] == "sculpted" && senior["binding"] == "DSCR" {
                let d = num(&l["senior_dscr"]);
                prop_assert!((num(&senior["llcr"]) - d).abs() <= 1e-9 * d,
                    "llcr {} vs dscr {}", senior["llcr"], d);
            }
            let c = &doc["coverage"];
            prop_assert!(num(c) >= 0.0);
        }
    }

    #[test]
    fn sculpted_wal_does_not_depend_on_the_dscr(
        (input, doc) in request(), d1 in 1.05f64..1.5, d2 in 1.5f64..3.0
    ) {
        let mut doc = doc;
        doc["ranges"]["senior_dscr"] = json!([d1, d2]);
        doc["ranges"]["senior_amort"] = json!(["sculpted"]);
        let input = RunInput::parse(&doc, &Overrides::default(), input.options, Ruleset::v1())
            .expect("still valid");
        let job = Job::new(&input, Ruleset::v1());
        let per_dscr = input.ranges.cardinality() / input.ranges.counts()[0] / input.ranges.counts()[1] / 2;
        for index in 0..input.ranges.cardinality() {
            let d = input.ranges.digits(index);
            if d.0[2] != 0 { continue; }
            let a = serde_json::to_value(job.evaluate(index).expect("a")).expect("json");
            let b = serde_json::to_value(job.evaluate(index + per_dscr).expect("b")).expect("json");
            prop_assert_eq!(num(&b["levers"]["senior_dscr"]), d2);
            if let (Some(wa), Some(wb)) = (a["senior"]["wal"].as_f64(), b["senior"]["wal"].as_f64()) {
                prop_assert!((wa - wb).abs() <= 1e-9 * wa, "wal {} vs {}", wa, wb);
            }
        }
    }

    #[test]
    fn statistics_add_up_and_threads_do_not_matter((input, _) in request()) {
        let one = run_json(&input, 1);
        let s = &one["stats"];
        let n = |k: &str| s[k].as_u64().expect(k);
        prop_assert_eq!(n("evaluated"), n("gate_a_pruned") + n("gate_b_pruned") + n("not_viable_score") + n("viable"));
        prop_assert_eq!(n("evaluated"), input.ranges.cardinality());
        if input.options.tiering {
            let tiers: u64 = s["tier_counts"].as_object().expect("map").values().map(|v| v.as_u64().unwrap_or(0)).sum();
            prop_assert_eq!(tiers, n("viable"));
        }
        let bound: u64 = s["binding_by_limit"].as_object().expect("map").values().map(|v| v.as_u64().unwrap_or(0)).sum();
        prop_assert_eq!(bound, n("evaluated") - n("gate_a_pruned"));
        prop_assert!(one["top"].as_array().map_or(0, Vec::len) <= 5);
        for threads in [2, 3] {
            prop_assert_eq!(&run_json(&input, threads), &one);
        }
    }

    #[test]
    fn any_shard_split_merges_to_the_same_document(
        (input, _) in request(), cuts in prop::collection::vec(0.0f64..1.0, 0..5), reverse in any::<bool>()
    ) {
        let rules = Ruleset::v1();
        let job = Job::new(&input, rules);
        let whole = job.finish(job.judge_all(&|_| {}), 1);
        let n = job.positions();
        let mut bounds: Vec<u64> = cuts.iter().map(|c| (c * n as f64) as u64).collect();
        bounds.extend([0, n]);
        bounds.sort_unstable();
        let mut parts: Vec<_> = bounds.windows(2).map(|w| job.judge(w[0]..w[1], &|_| {})).collect();
        if reverse { parts.reverse(); }
        let merged = job.finish(merge_partials(parts).expect("one part at least"), 1);
        prop_assert_eq!(serde_json::to_value(merged).expect("json"), serde_json::to_value(whole).expect("json"));
    }

    #[test]
    fn sampling_is_seeded_and_distinct((input, _) in request(), k in 1u64..50) {
        let mut input = input;
        input.sample = Some(k.min(input.ranges.cardinality()));
        let a = run_json(&input, 2);
        prop_assert_eq!(a["stats"]["evaluated"].as_u64(), input.sample);
        prop_assert_eq!(&run_json(&input, 1), &a);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the parser accepts, the engine runs without panicking.
    #[test]
    fn no_panic_on_accepted_input(
        p in project(), r in ranges(), o in options(),
        wild in (0.0f64..0.3, 0.0f64..1.0, 0.0f64..500.0, 1.0f64..5.0, 0.0f64..0.3, 0.0f64..1.0)
    ) {
        let mut p = p;
        let (disc, haircut, bps, mezz_dscr, mezz_coupon, min_cov) = wild;
        p["sidecar_discount_rate"] = json!(disc);
        p["sidecar_haircut_pct"] = json!(haircut);
        p["wrap_premium_bps"] = json!(bps);
        p["mezz_dscr"] = json!(mezz_dscr);
        p["mezz_coupon"] = json!(mezz_coupon);
        p["min_coverage"] = json!(min_cov);
        let doc = json!({"project": p, "ranges": r, "topn": 3});
        if let Ok(input) = RunInput::parse(&doc, &Overrides::default(), o, Ruleset::v1()) {
            let out = job::run(&input, Ruleset::v1(), &|_| {});
            // serde_json writes a non-finite number as null: every sized figure must be a number.
            let v = serde_json::to_value(&out).expect("json");
            for s in v["top"].as_array().expect("top") {
                for f in ["amount", "min_dscr", "avg_dscr", "wal", "llcr", "ltv"] {
                    prop_assert!(s["senior"][f].is_number(), "senior.{} is {}", f, s["senior"][f]);
                }
                prop_assert!(s["score"]["total"].is_number());
                prop_assert!(s["stress"]["min"].is_number());
            }
            let job = Job::new(&input, Ruleset::v1());
            for i in 0..input.ranges.cardinality().min(16) {
                prop_assert!(job.evaluate(i).is_ok());
            }
        }
    }
}
