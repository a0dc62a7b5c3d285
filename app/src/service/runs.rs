//! Runs: preparing a request, executing it (in-process shards on rayon, or signed shard calls
//! to other instances), the result cache, and the sync/async decision.

use super::fixtures;
use super::flags::Evaluated;
use super::shards::{self, ShardRequest};
use crate::http::auth::Session;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::store::model::{RunRecord, RunStatus};
use axum::http::StatusCode;
use phase1_core::document::RunDocument;
use phase1_core::error::FieldError;
use phase1_core::job::Job;
use phase1_core::request::{Options, Overrides, RunInput};
use phase1_core::run::{merge_partials, Partial};
use serde_json::{json, Map, Value};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// Fields a run request may hold.
pub const RUN_FIELDS: [&str; 12] = [
    "project_id",
    "project",
    "fixture",
    "ranges",
    "preset",
    "seed",
    "topn",
    "objective",
    "sample",
    "async",
    "ruleset_version",
    "features",
];

/// The feature flags that change what a run does, which `features` may name: the run route's
/// own flag, then those that select engine options (engine spec §11).
pub const ENGINE_FEATURES: [&str; 5] = [
    "reverse_dscr_engine",
    "gates_ab",
    "repo_eligibility_rules",
    "viability_tiering",
    "input_hierarchy_processor",
];

/// How long a validated project is kept as its author's draft.
pub const DRAFT_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Where a request's project came from (`provenance.project_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectSource {
    /// The body's `project`.
    Project,
    /// The body's `project_id`.
    ProjectId,
    /// The body's `fixture`.
    Fixture,
    /// None given: the caller's draft (their last valid `projects/validate`).
    Draft,
    /// None given and no draft: the caller's most recently saved project.
    LatestProject,
}

impl ProjectSource {
    const ALL: [ProjectSource; 5] = [
        ProjectSource::Project,
        ProjectSource::ProjectId,
        ProjectSource::Fixture,
        ProjectSource::Draft,
        ProjectSource::LatestProject,
    ];

    /// The source recorded as `name`.
    pub fn named(name: &str) -> Option<ProjectSource> {
        ProjectSource::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The name provenance records.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectSource::Project => "project",
            ProjectSource::ProjectId => "project_id",
            ProjectSource::Fixture => "fixture",
            ProjectSource::Draft => "draft",
            ProjectSource::LatestProject => "latest_project",
        }
    }
}

/// The project a request without one means: the caller's draft, else their most recently
/// saved project.
#[derive(Debug, Clone, PartialEq)]
pub enum CurrentProject {
    /// The draft's project document.
    Draft(Value),
    /// The newest saved project.
    Saved(crate::store::model::ProjectRecord),
}

impl CurrentProject {
    /// Where it came from.
    pub fn source(&self) -> ProjectSource {
        match self {
            CurrentProject::Draft(_) => ProjectSource::Draft,
            CurrentProject::Saved(_) => ProjectSource::LatestProject,
        }
    }
}

/// `owner`'s current project: the draft, else the newest saved project, else None.
pub async fn current_project(
    state: &AppState,
    owner: &str,
) -> Result<Option<CurrentProject>, crate::store::StoreError> {
    if let Some(draft) = state.stores.kv.get_draft(owner).await? {
        return Ok(Some(CurrentProject::Draft(draft)));
    }
    let newest = crate::store::model::Page {
        offset: 0,
        limit: 1,
    };
    let saved = state.stores.doc.list_projects(Some(owner), newest).await?;
    Ok(saved.into_iter().next().map(CurrentProject::Saved))
}

/// The field error of a request that names no project when there is none to fall back on.
pub fn no_current_project() -> FieldError {
    FieldError::new(
        "project",
        "no project given and none to fall back on: send project, project_id or fixture, or \
         validate one (POST /api/phase1/projects/validate keeps it as your draft for 24 hours) \
         or save one (POST /api/phase1/projects)",
    )
}

/// A run request, resolved and validated.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The fixture-shaped request document (what shards and workers parse again).
    pub request: Value,
    /// The parsed input.
    pub input: Arc<RunInput>,
    /// Engine options in force.
    pub options: Options,
    /// The engine feature flags in force (provenance `features`).
    pub features: Vec<String>,
    /// Where the project came from (provenance `project_source`).
    pub project_source: ProjectSource,
    /// The stored project it came from.
    pub project_id: Option<String>,
    /// Hash of everything that determines the result.
    pub cache_key: String,
    /// The caller asked for an async run.
    pub wants_async: bool,
}

/// The engine feature flags in force under `options`: the run route's own, and one per
/// option that is on.
pub fn features_of(options: Options) -> Vec<String> {
    let on = [
        true,
        options.enforce_gates,
        options.repo_rules,
        options.tiering,
        options.input_hierarchy,
    ];
    ENGINE_FEATURES
        .iter()
        .zip(on)
        .filter(|(_, on)| *on)
        .map(|(f, _)| f.to_string())
        .collect()
}

/// The engine options of a request: exactly its `features` when it names them (each must be
/// on for the caller: 403 FEATURE_DISABLED naming the first that is not), else those the
/// caller's flags select. Shape problems go to `errors`.
fn engine_options(
    given: Option<&Value>,
    flags: &Evaluated,
    errors: &mut Vec<FieldError>,
) -> Result<Options, ApiError> {
    let Some(given) = given.filter(|v| !v.is_null()) else {
        return Ok(flags.options());
    };
    let Value::Array(items) = given else {
        errors.push(FieldError::new(
            "features",
            format!(
                "must be a list of engine feature flags ({})",
                ENGINE_FEATURES.join(", ")
            ),
        ));
        return Ok(flags.options());
    };
    let mut named = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().filter(|f| ENGINE_FEATURES.contains(f)) {
            Some(f) => named.push(f),
            None => errors.push(FieldError::new(
                format!("features[{i}]"),
                format!(
                    "is not an engine feature flag (flags: {})",
                    ENGINE_FEATURES.join(", ")
                ),
            )),
        }
    }
    if let Some(off) = named.iter().find(|f| !flags.on(f)) {
        return Err(ApiError::feature_disabled(off));
    }
    Ok(Options {
        enforce_gates: named.contains(&"gates_ab"),
        repo_rules: named.contains(&"repo_eligibility_rules"),
        tiering: named.contains(&"viability_tiering"),
        input_hierarchy: named.contains(&"input_hierarchy_processor"),
    })
}

/// Checks `ruleset_version` (optional) against the rulesets the engine has.
fn check_ruleset_version(state: &AppState, given: Option<&Value>, errors: &mut Vec<FieldError>) {
    let have = [state.rules.version()];
    match given.filter(|v| !v.is_null()) {
        None => {}
        Some(Value::String(v)) if have.contains(&v.as_str()) => {}
        Some(_) => errors.push(FieldError::new(
            "ruleset_version",
            format!(
                "must be a ruleset version the engine has: {}",
                have.join(", ")
            ),
        )),
    }
}

/// Resolves the project source (project_id, project or fixture; none: the caller's current
/// project), the ranges and the engine options of a body into a fixture-shaped document,
/// and parses it. `allowed` lists the body's permitted keys.
pub async fn prepare(
    state: &AppState,
    session: &Session,
    body: &Map<String, Value>,
    flags: &Evaluated,
    allowed: &[&str],
) -> Result<Prepared, ApiError> {
    let mut errors = crate::http::body::unknown_keys(body, allowed);
    let given = |k: &str| body.get(k).filter(|v| !v.is_null());
    let options = engine_options(given("features"), flags, &mut errors)?;
    check_ruleset_version(state, given("ruleset_version"), &mut errors);
    let sources: Vec<&str> = ["project_id", "project", "fixture"]
        .into_iter()
        .filter(|k| given(k).is_some())
        .collect();
    let mut doc = Map::new();
    let mut project_id = None;
    let mut project_source = ProjectSource::Project;
    match sources.as_slice() {
        ["fixture"] => {
            project_source = ProjectSource::Fixture;
            match given("fixture")
                .and_then(Value::as_str)
                .and_then(fixtures::get)
            {
                Some(Value::Object(f)) => doc = f,
                _ => errors.push(FieldError::new(
                    "fixture",
                    format!("must be one of {}", fixtures::NAMES.join(", ")),
                )),
            }
        }
        ["project"] => {
            doc.insert("project".into(), body["project"].clone());
        }
        ["project_id"] => {
            project_source = ProjectSource::ProjectId;
            let id = given("project_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match state.stores.doc.get_project(id).await? {
                Some(p) if session.may_see(&p.owner) => {
                    doc.insert("project".into(), p.project);
                    project_id = Some(p.id);
                }
                _ => return Err(ApiError::not_found(format!("no project {id:?}"))),
            }
        }
        [] => match current_project(state, &session.email).await? {
            Some(current) => {
                project_source = current.source();
                let project = match current {
                    CurrentProject::Draft(project) => project,
                    CurrentProject::Saved(record) => {
                        project_id = Some(record.id);
                        record.project
                    }
                };
                doc.insert("project".into(), project);
            }
            None => errors.push(no_current_project()),
        },
        _ => errors.push(FieldError::new(
            "project",
            "give only one of project, project_id and fixture",
        )),
    }
    for (k, drop) in [("ranges", "preset"), ("preset", "ranges")] {
        if let Some(v) = given(k) {
            doc.remove(drop);
            doc.insert(k.into(), v.clone());
        }
    }
    for k in ["seed", "topn", "objective", "sample"] {
        if let Some(v) = given(k) {
            doc.insert(k.into(), v.clone());
        }
    }
    let wants_async = match given("async") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("async", "must be true or false"));
            false
        }
    };
    let request = Value::Object(doc);
    let parsed = RunInput::parse(&request, &Overrides::default(), options, state.rules);
    match parsed {
        Err(e) if errors.is_empty() => Err(e.into()),
        Err(e) => {
            errors.extend(e.errors);
            Err(ApiError::validation(errors))
        }
        Ok(_) if !errors.is_empty() => Err(ApiError::validation(errors)),
        Ok(input) => {
            let cache_key = cache_key(state, &input);
            Ok(Prepared {
                request,
                input: Arc::new(input),
                options,
                features: features_of(options),
                project_source,
                project_id,
                cache_key,
                wants_async,
            })
        }
    }
}

/// Hash of everything that determines a result: project, resolved ranges, seed, objective,
/// topn, sample, options, ruleset hash, engine version.
pub fn cache_key(state: &AppState, input: &RunInput) -> String {
    let key = json!({
        "project": input.project,
        "ranges": input.ranges,
        "seed": input.seed,
        "objective": input.objective,
        "topn": input.topn,
        "sample": input.sample,
        "options": input.options,
        "ruleset": state.rules.hash(),
        "engine": phase1_core::ENGINE_VERSION,
    });
    phase1_core::hash::sha256_hex(key.to_string().as_bytes())
}

/// Splits `positions` into shards of at most `size`.
pub fn shard_ranges(positions: u64, size: u64) -> Vec<Range<u64>> {
    let size = size.max(1);
    (0..positions.div_ceil(size).max(1))
        .map(|i| i * size..((i + 1) * size).min(positions))
        .collect()
}

/// Whether a run is expected to outlast the function's budget: positions per parallel unit
/// (a shard when fanned out to other instances, the whole run in-process) ÷ the assumed
/// throughput.
pub fn exceeds_budget(state: &AppState, positions: u64) -> bool {
    let e = &state.config.engine;
    let per_unit = if e.shard_url.is_some() {
        positions.min(e.shard_size)
    } else {
        positions
    };
    per_unit.saturating_mul(1000) / e.est_perms_per_sec.max(1) > e.run_budget_ms
}

/// Why an execution stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The run was cancelled (or its lease lost) between shards.
    Cancelled,
    /// A shard failed after every retry.
    ShardFailed(String),
    /// Something else broke.
    Internal(String),
}

impl From<Stop> for ApiError {
    fn from(s: Stop) -> ApiError {
        match s {
            Stop::Cancelled => ApiError::new(
                StatusCode::CONFLICT,
                "RUN_CANCELLED",
                "The run was cancelled",
                "the run was cancelled while it ran",
            ),
            Stop::ShardFailed(d) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "SHARD_FAILED", "A shard failed", d)
            }
            Stop::Internal(d) => ApiError::internal(d),
        }
    }
}

/// How to execute: shard size, worker threads for in-process shards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Positions per shard.
    pub shard_size: u64,
    /// rayon threads (None: all cores).
    pub threads: Option<usize>,
    /// Send shards to `PHASE1_SHARD_URL` when it is set.
    pub remote: bool,
}

async fn judge_local(
    input: Arc<RunInput>,
    range: Range<u64>,
    threads: Option<usize>,
) -> Result<Partial, Stop> {
    tokio::task::spawn_blocking(move || {
        let rules = phase1_core::ruleset::Ruleset::v1();
        let job = Job::new(&input, rules);
        match threads {
            None => Ok(job.judge(range, &|_| {})),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(|pool| pool.install(|| job.judge(range, &|_| {})))
                .map_err(|e| Stop::Internal(e.to_string())),
        }
    })
    .await
    .map_err(|e| Stop::Internal(e.to_string()))?
}

/// One engine job at a time per user on this instance: a user's runs and consistency
/// checks queue behind each other rather than taking every core at once, and the time spent
/// queueing is a wait on the caller ([`crate::waits`]), not the service's latency. (Each
/// instance keeps its own slots; on Lambda an instance serves one request at a time.)
#[derive(Debug, Default)]
pub struct EngineSlots {
    per_user: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

/// A held engine slot; released when dropped.
#[derive(Debug)]
pub struct EngineSlot {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl EngineSlots {
    /// Waits for `user`'s slot (the wait counted as the caller's own).
    pub async fn acquire(&self, user: &str) -> EngineSlot {
        let semaphore = {
            let mut map = self
                .per_user
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Forget users nobody holds or waits for (only the map refers to them).
            map.retain(|_, s| Arc::strong_count(s) > 1);
            map.entry(user.to_string())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(1)))
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail; if it ever did, the job
        // would simply run without a slot.
        EngineSlot {
            _permit: crate::waits::timed(semaphore.acquire_owned()).await.ok(),
        }
    }

    /// Users holding or waiting for a slot.
    pub fn users(&self) -> usize {
        self.per_user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .filter(|s| Arc::strong_count(s) > 1)
            .count()
    }
}

/// Executes a prepared run to its document. `progress(pct)` is awaited after every shard
/// and returns false to stop (cancelled, lease lost). A finished run is logged (one JSON
/// line with its provenance and counts) and counted in the metrics.
pub async fn execute<F, Fut>(
    state: &AppState,
    run_id: Option<&str>,
    p: &Prepared,
    plan: Plan,
    mut progress: F,
) -> Result<RunDocument, Stop>
where
    F: FnMut(f64) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started_at = state.clock.now_ms();
    let clock = Instant::now();
    let positions = Job::new(&p.input, state.rules).positions();
    let ranges = shard_ranges(positions, plan.shard_size);
    let shards = ranges.len() as u32;
    let remote = match (
        &state.config.engine.shard_url,
        &state.config.engine.internal_key,
    ) {
        (Some(url), Some(key)) if plan.remote && shards > 1 => Some((url.clone(), key.clone())),
        _ => None,
    };
    let mut parts = Vec::with_capacity(ranges.len());
    if let Some((url, key)) = remote {
        let calls = ranges.iter().map(|r| {
            let shard = ShardRequest {
                request: p.request.clone(),
                options: p.options,
                start: r.start,
                end: r.end,
            };
            let (url, key, client, clock) = (
                url.clone(),
                key.clone(),
                state.http.clone(),
                state.clock.clone(),
            );
            async move { shards::call(&client, &url, &key, || clock.now_ms(), &shard).await }
        });
        for (i, r) in futures_util::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            parts.push(r.map_err(|e| Stop::ShardFailed(format!("shard {i} of {shards}: {e}")))?);
        }
        if !progress(100.0).await {
            return Err(Stop::Cancelled);
        }
    } else {
        for (i, r) in ranges.iter().enumerate() {
            parts.push(judge_local(p.input.clone(), r.clone(), plan.threads).await?);
            if !progress(100.0 * (i + 1) as f64 / f64::from(shards)).await {
                return Err(Stop::Cancelled);
            }
        }
    }
    let merged = merge_partials(parts).ok_or_else(|| Stop::Internal("no shard ran".into()))?;
    let input = p.input.clone();
    let mut doc = tokio::task::spawn_blocking(move || {
        Job::new(&input, phase1_core::ruleset::Ruleset::v1()).finish(merged, shards)
    })
    .await
    .map_err(|e| Stop::Internal(e.to_string()))?;
    let elapsed = clock.elapsed().as_secs_f64();
    doc.provenance.started_at = Some(rfc3339(started_at));
    doc.provenance.finished_at = Some(rfc3339(state.clock.now_ms()));
    doc.stats.duration_ms = Some(elapsed * 1000.0);
    doc.stats.permutations_per_sec = Some(if elapsed > 0.0 {
        doc.stats.evaluated as f64 / elapsed
    } else {
        0.0
    });
    finished(state, run_id, &doc, p).await;
    Ok(doc)
}

/// The log line and the metrics of a finished run.
async fn finished(state: &AppState, run_id: Option<&str>, doc: &RunDocument, p: &Prepared) {
    let pv = &doc.provenance;
    tracing::info!(
        target: "phase1::run",
        request_id = %crate::http::problem::current_request_id(),
        run_id,
        seed = pv.seed,
        ruleset_version = %pv.ruleset.version,
        ruleset_hash = %pv.ruleset.hash,
        range_signature = %pv.range_signature,
        shards = pv.shards,
        commit_sha = %state.config.build.commit_sha,
        evaluated = doc.stats.evaluated,
        gate_a_pruned = doc.stats.gate_a_pruned,
        gate_b_pruned = doc.stats.gate_b_pruned,
        viable = doc.stats.viable,
        duration_ms = doc.stats.duration_ms,
        "run finished"
    );
    crate::service::metrics::add_or_log(
        state,
        &crate::service::metrics::run_samples(
            &doc.stats,
            &p.features,
            p.options.repo_rules,
            state.memory_baseline_mb,
        ),
    )
    .await;
}

/// A finished run's document as the API stores and returns it: the engine's document with
/// `provenance.commit` added (api.md: "Provenance on every run: engine.md §10, plus
/// `commit`").
pub fn stored_document(
    state: &AppState,
    p: &Prepared,
    doc: &RunDocument,
) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(doc)?;
    value["provenance"]["commit"] = json!(state.config.build.commit_sha);
    with_request_provenance(&mut value, p);
    Ok(value)
}

/// Adds what the request decided to a run document's provenance: the engine feature flags
/// in force and where the project came from (also on a cached document, which another
/// request may have made).
pub fn with_request_provenance(doc: &mut Value, p: &Prepared) {
    if let Some(Value::Object(prov)) = doc.get_mut("provenance") {
        prov.insert("features".into(), json!(p.features));
        prov.insert("project_source".into(), json!(p.project_source.as_str()));
    }
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

/// The run document as the API returns it: the document, plus run_id and status.
pub fn with_run_id(mut doc: Value, run_id: &str) -> Value {
    if let Value::Object(m) = &mut doc {
        m.insert("run_id".into(), json!(run_id));
        m.insert("status".into(), json!("done"));
    }
    doc
}

/// A new run record for a prepared request.
pub fn record(state: &AppState, session: &Session, p: &Prepared, status: RunStatus) -> RunRecord {
    let now = state.clock.now_ms();
    let running = status == RunStatus::Running;
    RunRecord {
        id: uuid::Uuid::new_v4().to_string(),
        owner: session.email.clone(),
        project_id: p.project_id.clone(),
        status,
        progress_pct: 0.0,
        cardinality: p.input.ranges.cardinality(),
        created_at: now,
        finished_at: None,
        request: json!({
            "request": p.request,
            "options": p.options,
            "project_source": p.project_source.as_str(),
        }),
        cache_key: Some(p.cache_key.clone()),
        attempts: u32::from(running),
        worker: running.then(|| state.worker_id.clone()),
        lease_until: running.then(|| now + lease_ms(state)),
        error: None,
    }
}

/// A worker's lease: twice the budget.
pub fn lease_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.engine.run_budget_ms.saturating_mul(2)).unwrap_or(i64::MAX)
}

/// The newest finished run of `owner` (among their 100 newest runs), if any: the run a
/// request without a run id means.
pub async fn latest_finished(
    state: &AppState,
    owner: &str,
) -> Result<Option<RunRecord>, crate::store::StoreError> {
    let page = crate::store::model::Page {
        offset: 0,
        limit: 100,
    };
    let runs = state.stores.doc.list_runs(Some(owner), page).await?;
    Ok(runs.into_iter().find(|r| r.status == RunStatus::Done))
}

/// Rebuilds a prepared run from its stored record (workers, exports).
pub fn from_record(state: &AppState, run: &RunRecord) -> Result<Prepared, ApiError> {
    let options: Options = serde_json::from_value(run.request["options"].clone())
        .map_err(|e| ApiError::internal(format!("stored run options: {e}")))?;
    let request = run.request["request"].clone();
    let input = RunInput::parse(&request, &Overrides::default(), options, state.rules)?;
    let project_source = run.request["project_source"]
        .as_str()
        .and_then(ProjectSource::named)
        .unwrap_or(ProjectSource::Project);
    Ok(Prepared {
        cache_key: cache_key(state, &input),
        input: Arc::new(input),
        request,
        options,
        features: features_of(options),
        project_source,
        project_id: run.project_id.clone(),
        wants_async: false,
    })
}

#[cfg(test)]
mod slot_tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_users_jobs_queue_and_the_queueing_is_their_own_wait() {
        let slots = Arc::new(EngineSlots::default());
        let first = slots.acquire("a").await;
        let other = tokio::time::timeout(Duration::from_secs(5), slots.acquire("b"))
            .await
            .expect("another user's slot is free");
        let waiting = {
            let slots = slots.clone();
            tokio::spawn(async move {
                crate::waits::measured(async move {
                    let _slot = slots.acquire("a").await;
                })
                .await
                .1
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the same user's second job waits");
        assert_eq!(slots.users(), 2);
        drop(first);
        let waited = waiting.await.expect("joined");
        assert!(waited >= 50.0, "{waited}");
        drop(other);
        let _ = slots.acquire("c").await;
        assert_eq!(slots.users(), 0, "users nobody holds are forgotten");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_position_once() {
        assert_eq!(shard_ranges(10, 4), vec![0..4, 4..8, 8..10]);
        assert_eq!(shard_ranges(8, 4), vec![0..4, 4..8]);
        assert_eq!(shard_ranges(3, 50_000), vec![0..3]);
        assert_eq!(
            shard_ranges(0, 10),
            vec![0..0],
            "an empty plan is one empty shard"
        );
        let r = shard_ranges(205_632, 500);
        assert_eq!(r.len(), 412);
        assert_eq!(r.iter().map(|r| r.end - r.start).sum::<u64>(), 205_632);
    }

    #[test]
    fn run_ids_are_added_to_documents() {
        let v = with_run_id(json!({"top": []}), "r1");
        assert_eq!(v, json!({"top": [], "run_id": "r1", "status": "done"}));
    }
}
