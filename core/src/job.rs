//! A prepared run: the context, the evaluation plan and the identity hashes of one request,
//! with the entry points the front doors call — judge a shard, finish a merged result,
//! evaluate one permutation.

use crate::document::{
    self, BindingCounts, EvaluateDocument, NearMissDoc, Provenance, RuleCounts, RuleDoc,
    RulesetRef, ScheduleRow, Stats, TierCounts,
};
use crate::error::{FieldError, InputError};
use crate::finance::schedule;
use crate::hash::{sha256_hex, IdHasher};
use crate::kernel::Context;
use crate::request::RunInput;
use crate::rules::RuleKey;
use crate::ruleset::Ruleset;
use crate::run::{judge_positions, Partial, Plan};
use crate::ENGINE_VERSION;
use std::ops::Range;

/// One request, prepared to run.
pub struct Job<'a> {
    input: &'a RunInput,
    ctx: Context<'a>,
    plan: Plan,
    ids: IdHasher,
    range_signature: String,
    project_hash: String,
}

fn json_bytes<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

impl<'a> Job<'a> {
    /// Prepares `input` under `rules`: precomputes the tables, draws the sample if any.
    pub fn new(input: &'a RunInput, rules: &'a Ruleset) -> Job<'a> {
        let project = json_bytes(&input.project);
        let ranges = json_bytes(&input.ranges);
        let range_signature = sha256_hex(&ranges);
        let project_hash = sha256_hex(&project);
        let ids = IdHasher::new(&[
            rules.version().as_bytes(),
            &project,
            &ranges,
            &input.seed.to_le_bytes(),
        ]);
        Job {
            input,
            ctx: Context::new(&input.project, &input.ranges, input.options, rules),
            plan: Plan::of(input),
            ids,
            range_signature,
            project_hash,
        }
    }

    /// How many positions the run judges (cardinality, or the sample size).
    pub fn positions(&self) -> u64 {
        self.plan.len()
    }

    /// The per-request context.
    pub fn context(&self) -> &Context<'a> {
        &self.ctx
    }

    /// Judges positions `range` (of 0..[`Job::positions`]) on the current rayon pool.
    pub fn judge(&self, range: Range<u64>, progress: &(dyn Fn(u64) + Sync)) -> Partial {
        let end = range.end.min(self.positions());
        judge_positions(
            &self.ctx,
            self.input,
            &self.plan,
            range.start.min(end)..end,
            progress,
        )
    }

    /// Judges every position.
    pub fn judge_all(&self, progress: &(dyn Fn(u64) + Sync)) -> Partial {
        self.judge(0..self.positions(), progress)
    }

    /// Turns the merged partial of all shards into the run document. Timestamps, duration
    /// and throughput are left null for the caller.
    pub fn finish(&self, partial: Partial, shards: u32) -> document::RunDocument {
        let ctx = &self.ctx;
        let rules = ctx.rules;
        let stats = Stats {
            cardinality: self.input.ranges.cardinality(),
            evaluated: partial.evaluated,
            gate_a_pruned: partial.gate_a_pruned,
            gate_b_pruned: partial.gate_b_pruned,
            not_viable_score: partial.not_viable_score,
            viable: partial.viable,
            tier_counts: TierCounts(ctx.options.tiering.then_some(partial.tier_counts)),
            near_misses: partial.near_misses,
            rule_failures_by_key: RuleCounts(partial.rule_failures),
            binding_by_limit: BindingCounts(partial.binding),
            duration_ms: None,
            permutations_per_sec: None,
        };
        let top = partial
            .top
            .items()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let j = ctx.judge(r.index, false);
                let mut s = document::structure(ctx, &self.ids, &j);
                s.rank = Some(i as u32 + 1);
                s
            })
            .collect();
        let near_misses = partial
            .near
            .items()
            .iter()
            .filter_map(|r| {
                let j = ctx.judge(r.index, false);
                Some(NearMissDoc {
                    core: document::near_miss(ctx, &self.ids, &j)?,
                    structure: document::structure(ctx, &self.ids, &j),
                })
            })
            .collect();
        let constraints = document::constraints(&stats);
        document::RunDocument {
            provenance: Provenance {
                engine_version: ENGINE_VERSION.to_string(),
                ruleset: RulesetRef {
                    version: rules.version().to_string(),
                    hash: rules.hash().to_string(),
                },
                seed: self.input.seed,
                objective: self.input.objective,
                topn: self.input.topn,
                range_signature: self.range_signature.clone(),
                project_hash: self.project_hash.clone(),
                options: ctx.options,
                shards,
                cached: false,
                started_at: None,
                finished_at: None,
            },
            derived: ctx.derived.clone(),
            levers: self.input.ranges.clone(),
            stats,
            top,
            near_misses,
            constraints,
        }
    }

    /// One permutation in full: sized even when Gate A fails it, with every applicable
    /// rule and its monthly schedule. Fails when `index` is outside the grid.
    pub fn evaluate(&self, index: u64) -> Result<EvaluateDocument, InputError> {
        let card = self.input.ranges.cardinality();
        if index >= card {
            return Err(InputError::validation(vec![FieldError::new(
                "index",
                format!("must be below the cardinality {card}, got {index}"),
            )]));
        }
        let ctx = &self.ctx;
        let j = ctx.judge(index, true);
        let rules = RuleKey::ALL
            .iter()
            .filter_map(|&k| {
                let r = j.verdict.rules[k as usize];
                r.evaluated.then(|| RuleDoc {
                    rule: k,
                    gate: k.gate(),
                    passed: r.passed,
                    shortfall: r.shortfall,
                    repo_failure: (k == RuleKey::RepoEligibility)
                        .then(|| j.verdict.repo_failures.first())
                        .flatten(),
                })
            })
            .collect();
        Ok(EvaluateDocument {
            structure: document::structure(ctx, &self.ids, &j),
            rules,
            near_miss: document::near_miss(ctx, &self.ids, &j),
            schedule: self.schedule(&j),
        })
    }

    fn schedule(&self, j: &crate::engine::Judgement) -> Vec<ScheduleRow> {
        let ctx = &self.ctx;
        let Some(sized) = j.sized else {
            return Vec::new();
        };
        let lv = &j.levers;
        let (_, service) = ctx.size_with_service(lv, j.digits);
        let months = |by_year: &[f64]| -> Vec<f64> {
            by_year
                .iter()
                .flat_map(|&x| std::iter::repeat_n(x, 12))
                .collect()
        };
        let cfads = months(&ctx.profile(j.digits).base[..lv.senior_tenor as usize]);
        let wrap_fee = if lv.wrap {
            ctx.project.wrap_premium_bps / 10_000.0 / 12.0
        } else {
            0.0
        };
        let senior = schedule(
            sized.senior,
            &months(&service.senior),
            lv.senior_coupon / 12.0,
            wrap_fee,
        );
        let mezz = match (&service.mezz, sized.mezz) {
            (Some(ds), Some(m)) => Some(schedule(
                m.amount,
                &months(ds),
                ctx.project.mezz_coupon / 12.0,
                0.0,
            )),
            _ => None,
        };
        senior
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let m = mezz.as_ref().map(|m| m[i]);
                ScheduleRow {
                    t: i as u32 + 1,
                    cfads: cfads[i],
                    senior_ds: s.service,
                    senior_interest: s.interest,
                    senior_wrap_fee: s.fee,
                    senior_principal: s.principal,
                    senior_balance: s.balance,
                    mezz_ds: m.map(|m| m.service),
                    mezz_interest: m.map(|m| m.interest),
                    mezz_principal: m.map(|m| m.principal),
                    mezz_balance: m.map(|m| m.balance),
                }
            })
            .collect()
    }
}

/// Runs a whole request on the current rayon pool, as one shard.
pub fn run(
    input: &RunInput,
    rules: &Ruleset,
    progress: &(dyn Fn(u64) + Sync),
) -> document::RunDocument {
    let job = Job::new(input, rules);
    let partial = job.judge_all(progress);
    job.finish(partial, 1)
}
