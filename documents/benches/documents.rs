//! Time to render each format for london-dc-alpha's rank-1 structure and for a 40-year
//! monthly schedule (a 40-year lease and senior tenor); the target is under
//! 300 ms per document, measured here rather than asserted in a test.

use criterion::{criterion_group, criterion_main, Criterion};
use phase1_core::ruleset::Ruleset;
use phase1_documents::testing;
use phase1_documents::{Format, Render, Renderer, TermSheet};

fn bench(c: &mut Criterion) {
    let rules = Ruleset::v1();
    let sheets = [
        ("london-rank1", testing::london_export(1)),
        ("forty-years", testing::forty_year_export()),
    ];
    let mut group = c.benchmark_group("term_sheet");
    group.sample_size(10);
    for (name, export) in &sheets {
        group.bench_function(format!("{name}/model"), |b| {
            b.iter(|| TermSheet::new(export, rules).unwrap())
        });
        let sheet = TermSheet::new(export, rules).unwrap();
        for format in Format::ALL {
            group.bench_function(format!("{name}/{}", format.extension()), |b| {
                b.iter(|| Renderer.render(&sheet, format).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
