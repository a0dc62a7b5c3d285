//! Running a grid: planning the evaluation order (whole grid or a seeded sample), judging
//! positions in parallel into mergeable [`Partial`] results, and merging them.
//!
//! Memory is O(topn + near_miss_limit) per worker: a partial keeps counters and two bounded
//! best-first lists of (ranking key, index), never the grid. Partials merge associatively
//! and commutatively over a total order, so any thread count and any split into shards
//! gives the same result.

use crate::assess::Tier;
use crate::engine::{Class, Judgement};
use crate::kernel::Context;
use crate::request::{Objective, RunInput};
use crate::tol::round_to;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::ops::Range;

/// Positions judged per parallel task.
const CHUNK: u64 = 2048;

/// The order in which permutation indices are judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Every index, 0..cardinality.
    All(u64),
    /// A seeded sample of distinct indices, ascending.
    Sample(Vec<u64>),
}

impl Plan {
    /// The plan of a request: the whole grid, or `sample` indices drawn with ChaCha20
    /// seeded from `seed` (rand's `index::sample`), sorted ascending.
    pub fn of(input: &RunInput) -> Plan {
        let card = input.ranges.cardinality();
        match input.sample {
            None => Plan::All(card),
            Some(k) => {
                let mut rng = ChaCha20Rng::seed_from_u64(input.seed);
                let amount = k.min(card) as usize;
                let mut picked: Vec<u64> = if let Ok(len) = u32::try_from(card) {
                    rand::seq::index::sample(&mut rng, len as usize, amount)
                        .into_iter()
                        .map(|i| i as u64)
                        .collect()
                } else {
                    sample_u64(&mut rng, card, amount)
                };
                picked.sort_unstable();
                Plan::Sample(picked)
            }
        }
    }

    /// How many positions the plan holds (the run's `evaluated`).
    pub fn len(&self) -> u64 {
        match self {
            Plan::All(n) => *n,
            Plan::Sample(v) => v.len() as u64,
        }
    }

    /// Whether the plan is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The permutation index judged at `position`.
    pub fn index_at(&self, position: u64) -> u64 {
        match self {
            Plan::All(_) => position,
            Plan::Sample(v) => v[position as usize],
        }
    }
}

/// Floyd's algorithm for distinct indices of a grid above u32::MAX permutations.
fn sample_u64(rng: &mut ChaCha20Rng, len: u64, amount: usize) -> Vec<u64> {
    use rand::Rng;
    let mut chosen = std::collections::HashSet::with_capacity(amount);
    let mut out = Vec::with_capacity(amount);
    for j in (len - amount as u64)..len {
        let t = rng.random_range(0..=j);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        out.push(pick);
    }
    out
}

/// A ranked entry: the rounded ranking keys in objective order, and the index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// Rounded keys, compared descending, in the objective's order.
    pub keys: [f64; 3],
    /// Permutation index, compared ascending.
    pub index: u64,
}

impl Ranked {
    /// The ranking entry of a sized judgement under `objective`.
    pub fn of(j: &Judgement, objective: Objective) -> Option<Ranked> {
        let s = j.sized.as_ref()?;
        let score = round_to(s.score.total, 6);
        let value = round_to(s.day_one_total, 2);
        let stress = round_to(s.min_stress, 6);
        let keys = match objective {
            Objective::Score => [score, value, stress],
            Objective::DayOneValue => [value, score, stress],
        };
        Some(Ranked {
            keys,
            index: j.index,
        })
    }

    /// Best first: keys descending, then index ascending.
    pub fn order(&self, other: &Ranked) -> Ordering {
        for (a, b) in self.keys.iter().zip(&other.keys) {
            match b.total_cmp(a) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        self.index.cmp(&other.index)
    }
}

/// A bounded best-first list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    limit: usize,
    items: Vec<Ranked>,
}

impl Best {
    /// An empty list keeping at most `limit` entries.
    pub fn new(limit: usize) -> Best {
        Best {
            limit,
            items: Vec::new(),
        }
    }

    /// Offers an entry; it is kept when it ranks among the best `limit`.
    pub fn offer(&mut self, r: Ranked) {
        if self.items.len() == self.limit {
            match self.items.last() {
                Some(worst) if r.order(worst) == Ordering::Less => {}
                _ => return,
            }
        }
        let at = self
            .items
            .partition_point(|x| x.order(&r) == Ordering::Less);
        self.items.insert(at, r);
        self.items.truncate(self.limit);
    }

    /// The entries, best first.
    pub fn items(&self) -> &[Ranked] {
        &self.items
    }

    fn absorb(&mut self, other: Best) {
        for r in other.items {
            self.offer(r);
        }
    }
}

/// The mergeable result of judging some positions: counters and the best entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// Positions judged.
    pub evaluated: u64,
    /// Failed a Gate A rule.
    pub gate_a_pruned: u64,
    /// Passed Gate A, failed a Gate B rule.
    pub gate_b_pruned: u64,
    /// Passed every rule, score too low.
    pub not_viable_score: u64,
    /// Viable.
    pub viable: u64,
    /// Viable structures by tier: Diamond, Platinum, Gold, Silver, Bronze.
    pub tier_counts: [u64; 5],
    /// Near-misses found (before the limit).
    pub near_misses: u64,
    /// Failures by rule key (spec order).
    pub rule_failures: [u64; 9],
    /// Binding limits (DSCR, ADVANCE, FUNDING) over permutations that passed Gate A.
    pub binding: [u64; 3],
    /// The best ranked structures.
    pub top: Best,
    /// The best near-misses.
    pub near: Best,
}

impl Partial {
    /// An empty partial keeping `topn` structures and `near_limit` near-misses.
    pub fn new(topn: usize, near_limit: usize) -> Partial {
        Partial {
            evaluated: 0,
            gate_a_pruned: 0,
            gate_b_pruned: 0,
            not_viable_score: 0,
            viable: 0,
            tier_counts: [0; 5],
            near_misses: 0,
            rule_failures: [0; 9],
            binding: [0; 3],
            top: Best::new(topn),
            near: Best::new(near_limit),
        }
    }

    /// Counts one judgement and offers it to the lists.
    pub fn record(&mut self, ctx: &Context, objective: Objective, j: &Judgement) {
        self.evaluated += 1;
        match j.class {
            Class::GateA => self.gate_a_pruned += 1,
            Class::GateB => self.gate_b_pruned += 1,
            Class::NotViableScore => self.not_viable_score += 1,
            Class::Viable => {
                self.viable += 1;
                if let (true, Some(s)) = (ctx.options.tiering, &j.sized) {
                    let tier = Tier::of(ctx.rules, s.score.total, false);
                    if let Some(i) = Tier::VIABLE.iter().position(|t| *t == tier) {
                        self.tier_counts[i] += 1;
                    }
                }
            }
        }
        for (i, r) in j.verdict.rules.iter().enumerate() {
            let counted = i < 4 || j.counts_gate_b;
            if counted && r.evaluated && !r.passed {
                self.rule_failures[i] += 1;
            }
        }
        if j.counts_gate_b {
            if let Some(s) = &j.sized {
                self.binding[s.binding as usize] += 1;
            }
        }
        if let Some(r) = Ranked::of(j, objective) {
            if j.ranked {
                self.top.offer(r);
            }
            if j.near_miss.is_some() {
                self.near_misses += 1;
                self.near.offer(r);
            }
        }
    }

    /// Merges another partial into this one.
    pub fn merge(&mut self, other: Partial) {
        self.evaluated += other.evaluated;
        self.gate_a_pruned += other.gate_a_pruned;
        self.gate_b_pruned += other.gate_b_pruned;
        self.not_viable_score += other.not_viable_score;
        self.viable += other.viable;
        self.near_misses += other.near_misses;
        for (a, b) in self.tier_counts.iter_mut().zip(other.tier_counts) {
            *a += b;
        }
        for (a, b) in self.rule_failures.iter_mut().zip(other.rule_failures) {
            *a += b;
        }
        for (a, b) in self.binding.iter_mut().zip(other.binding) {
            *a += b;
        }
        self.top.absorb(other.top);
        self.near.absorb(other.near);
    }
}

/// Merges shard partials into one (the order of `parts` does not matter).
pub fn merge_partials(parts: impl IntoIterator<Item = Partial>) -> Option<Partial> {
    parts.into_iter().reduce(|mut a, b| {
        a.merge(b);
        a
    })
}

/// Judges the plan's positions in `positions` on the current rayon pool. `progress` is
/// called with the number of positions finished by each task.
pub fn judge_positions(
    ctx: &Context,
    input: &RunInput,
    plan: &Plan,
    positions: Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
) -> Partial {
    let topn = input.topn as usize;
    let near_limit = ctx.rules.near_miss_limit() as usize;
    let chunks = (positions.end.saturating_sub(positions.start)).div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|c| {
            let start = positions.start + c * CHUNK;
            let end = (start + CHUNK).min(positions.end);
            let mut part = Partial::new(topn, near_limit);
            for pos in start..end {
                let j = ctx.judge(plan.index_at(pos), false);
                part.record(ctx, input.objective, &j);
            }
            progress(end - start);
            part
        })
        .reduce(
            || Partial::new(topn, near_limit),
            |mut a, b| {
                a.merge(b);
                a
            },
        )
}
