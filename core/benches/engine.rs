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

criterion_group!(benches, bench);
criterion_main!(benches);
