//! Engine throughput on the spec fixtures: `cargo bench -p phase1-core --bench engine`.
//! Criterion reports permutations per second as "elem/s" (one element per permutation).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use phase1_core::job;
use phase1_core::request::{Options, Overrides, RunInput};
use phase1_core::ruleset::Ruleset;
use std::hint::black_box;

fn fixture(text: &str) -> RunInput {
    let value = serde_json::from_str(text).expect("fixture is JSON");
    RunInput::parse(
        &value,
        &Overrides::default(),
        Options::default(),
        Ruleset::v1(),
    )
    .expect("fixture is valid")
}

fn bench(c: &mut Criterion) {
    let fixtures = [
        (
            "london-dc-alpha",
            include_str!("../../fixtures/london-dc-alpha.json"),
        ),
        ("medium", include_str!("../../fixtures/medium.json")),
        ("large", include_str!("../../fixtures/large.json")),
    ];
    let mut group = c.benchmark_group("run");
    group.sample_size(20);
    for (name, text) in fixtures {
        let input = fixture(text);
        group.throughput(Throughput::Elements(input.ranges.cardinality()));
        group.bench_function(name, |b| {
            b.iter(|| black_box(job::run(black_box(&input), Ruleset::v1(), &|_| {})))
        });
    }
    group.finish();
}

/// Parsing a request whose `senior_coupon` list is 10,000 distinct values followed by
/// 240,000 repeats (L7 of the 2026-12-03 audit), against the same number of equal values:
/// with linear de-duplication the two cost about the same per item.
fn parse(c: &mut Criterion) {
    let base: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/london-dc-alpha.json"))
            .expect("fixture is JSON");
    let with_coupons = |items: Vec<serde_json::Value>| {
        let mut v = base.clone();
        v["ranges"]["senior_coupon"] = serde_json::Value::Array(items);
        v
    };
    let mut distinct: Vec<serde_json::Value> = (0..10_000)
        .map(|i| serde_json::json!(0.2 - f64::from(i) * 1e-5))
        .collect();
    let last = distinct[9_999].clone();
    distinct.extend(std::iter::repeat_n(last, 240_000));
    let equal = vec![serde_json::json!(0.05); 250_000];
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(250_000));
    for (name, request) in [
        ("distinct_then_repeats", with_coupons(distinct)),
        ("all_equal", with_coupons(equal)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(RunInput::parse(
                    black_box(&request),
                    &Overrides::default(),
                    Options::default(),
                    Ruleset::v1(),
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, parse);
criterion_main!(benches);
