//! The OpenAPI 3.1 document, generated from the route table (so every route is in it) with
//! the request schemas below and the problem document for every error.

use super::auth::AuthLevel;
use super::{specs, RouteSpec};
use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, Ref, Required,
    ResponseBuilder,
};
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// A URI naming the problem type.
    #[schema(rename = "type")]
    kind: String,
    /// Short summary.
    title: String,
    /// HTTP status.
    status: u16,
    /// This occurrence.
    detail: String,
    /// Stable UPPER_SNAKE code (VALIDATION_FAILED, GRID_TOO_LARGE, …).
    code: String,
    /// The request's id (also in X-Request-ID).
    request_id: String,
    /// Every field problem.
    errors: Vec<FieldProblem>,
}

/// One field problem.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldProblem {
    /// `project.<field>`, `ranges.<lever>` or a top-level name.
    field: String,
    /// What is wrong.
    message: String,
}

/// `{project}`: a project object as in engine spec §1.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProjectBody {
    /// The project (engine spec §1).
    project: Object,
}

/// A run request: at most one of `project_id`, `project`, `fixture` (none: the caller's draft,
/// else their newest saved project); `ranges` or `preset`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RunBody {
    /// A saved project.
    project_id: Option<String>,
    /// A project object (engine spec §1).
    project: Option<Object>,
    /// A built-in fixture: london-dc-alpha, small, medium, large.
    fixture: Option<String>,
    /// Lever ranges (engine spec §2).
    ranges: Option<Object>,
    /// repo_first, balanced or value_max.
    preset: Option<String>,
    /// Default 424242.
    seed: Option<u64>,
    /// 1..=100, default 20.
    topn: Option<u32>,
    /// score or day_one_value.
    objective: Option<String>,
    /// Judge this many sampled permutations.
    sample: Option<u64>,
    /// Queue the run and answer 202.
    #[schema(rename = "async")]
    is_async: Option<bool>,
    /// A ruleset version the engine has ("v1.0").
    ruleset_version: Option<String>,
    /// The engine feature flags to run with (reverse_dscr_engine, gates_ab,
    /// repo_eligibility_rules, viability_tiering, input_hierarchy_processor): the run's
    /// options are exactly these, each of which must be on for the caller.
    features: Option<Vec<String>>,
}

/// `{project_id, preset}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApplyPresetBody {
    /// A saved project (default: the caller's draft, else their newest saved project).
    project_id: Option<String>,
    /// repo_first, balanced or value_max.
    preset: String,
}

/// A run request plus `runs` (2..=10) and `compare` (top_20, prune_stats, stress_dscr).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConsistencyBody {
    /// As for a run.
    #[schema(inline)]
    request: RunBody,
    /// How many runs, default 3.
    runs: Option<u32>,
    /// What to compare.
    compare: Option<Vec<String>>,
}

/// `{run_id?, structure_rank = 1, format = "pdf"}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TermSheetBody {
    /// The run (default: the caller's latest finished run).
    run_id: Option<String>,
    /// The structure's rank in the run's top-N, from 1 (default 1).
    #[schema(minimum = 1)]
    structure_rank: Option<u64>,
    /// pdf (default), xlsx or md.
    #[schema(pattern = "^(pdf|xlsx|md)$")]
    format: Option<String>,
}

/// `{ruleset: "v1.0", checks}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RulesValidateBody {
    /// The ruleset version.
    ruleset: Option<String>,
    /// dscr_floors, tenor_limits, wal_bounds, af_bands, rating_matrices, ratings_known.
    checks: Option<Vec<String>>,
}

/// A signed shard call.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ShardRequest {
    /// The fixture-shaped request.
    request: Object,
    /// Engine options.
    options: Object,
    /// First position.
    start: u64,
    /// End position (exclusive).
    end: u64,
}

/// `{email (or username), password}`, as JSON or form-encoded.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoginBody {
    /// The account's email (case does not matter).
    email: Option<String>,
    /// Another name for `email`.
    username: Option<String>,
    /// Its password.
    password: String,
}

/// `{mfa_token, code}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MfaBody {
    /// The token `POST /api/auth/login` returned (default: login's `phase1_mfa` cookie).
    mfa_token: Option<String>,
    /// The 6-digit TOTP code.
    code: String,
}

/// `{current_password, new_password}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasswordBody {
    /// The password now.
    current_password: String,
    /// At least 12 characters, at most 1024 bytes, 5 different characters.
    new_password: String,
}

/// `{email, role, password}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewUserBody {
    /// The user's email.
    email: String,
    /// admin or analyst.
    role: String,
    /// Their first password (policy as for a new password).
    password: String,
}

/// `{changes or updates: {flag: bool | {enabled, admin_only, rollout_percentage,
/// allowlist: {emails, ips}}}}`, or that map alone (`{"gates_ab": false}`); If-Match optional.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FlagsBody {
    /// The changes by flag name.
    changes: Option<Object>,
    /// The same, under its other name.
    updates: Option<Object>,
}

/// `{reason}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RollbackBody {
    /// Why (recorded in the audit row).
    reason: Option<String>,
    /// 0 (the only percentage a rollback goes to).
    target_percentage: Option<u8>,
}

/// `{allowlist: [emails], percentage, ips: [CIDRs], flags?}`, with If-Match.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AllowlistBody {
    /// Emails always let in.
    allowlist: Option<Vec<String>>,
    /// The rollout percentage, 0..=100.
    percentage: Option<u8>,
    /// Networks always let in (IPv4 or IPv6 CIDRs).
    ips: Option<Vec<String>>,
    /// The flags to set (default: every flag the canary controls).
    flags: Option<Vec<String>>,
}

/// `{phase or percentage, reason}`, with If-Match (the canary's version).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CanaryUpdateBody {
    /// ADMIN_ONLY, CANARY_1, CANARY_25, FULL or ROLLED_BACK.
    phase: Option<String>,
    /// 0, 1, 25 or 100: the phase with that percentage.
    percentage: Option<u8>,
    /// Why.
    reason: Option<String>,
}

/// `{target, admin_only}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RolloutBody {
    /// The phase to reach (ADMIN_ONLY, CANARY_1, CANARY_25, FULL).
    target: String,
    /// Start a fresh rollout at ADMIN_ONLY rather than CANARY_1.
    admin_only: Option<bool>,
    /// When the operator expects to reach the target (free text, echoed in the plan).
    eta: Option<String>,
}

/// `{interval, actions, alert_threshold: {error_rate, p95_ms}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SyntheticBody {
    /// Seconds (60..=86400) or a duration such as "5m".
    interval: Option<Value>,
    /// Any of validate, derived, cardinality, run (default all).
    actions: Option<Vec<String>>,
    /// Alert when a run's error rate or p95 (ms) is above these.
    alert_threshold: Option<Object>,
}

/// A document's bytes (PDF, XLSX, Markdown, CSV), sent as an attachment.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Document(#[allow(dead_code)] Vec<u8>);

/// Any JSON object.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct Object(#[allow(dead_code)] serde_json::Map<String, Value>);

fn method(m: &str) -> HttpMethod {
    match m {
        "POST" => HttpMethod::Post,
        "DELETE" => HttpMethod::Delete,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

fn errors_of(s: &RouteSpec) -> Vec<(u16, &'static str)> {
    let mut e = Vec::new();
    if s.body.is_some() {
        e.extend([
            (400, "Malformed JSON"),
            (413, "Body over 1 MiB, or grid above the guardrail"),
            (422, "Validation failed"),
        ]);
    }
    match s.auth {
        AuthLevel::Public => {}
        AuthLevel::Internal => e.push((401, "Missing, stale or wrong signature")),
        _ => e.extend([
            (401, "Authentication required"),
            (403, "Forbidden or feature disabled"),
        ]),
    }
    if s.path.starts_with("/api/") {
        e.push((429, "Rate limited (Retry-After)"));
        if s.auth == AuthLevel::Public {
            e.push((403, "Address blocked (IP_BLOCKED)"));
        }
    }
    if s.path.contains('{') || s.path.ends_with("top20") || s.path.ends_with("constraints") {
        e.push((404, "Not found"));
    }
    if s.path == "/api/phase1/run" {
        e.push((502, "A shard failed"));
    }
    if s.produces != ["application/json"] {
        if s.body.is_none() && s.path.contains("{document}") {
            e.push((422, "Unknown format or rank"));
        }
        if s.path.ends_with("term-sheet") {
            e.push((404, "No such run, or no such rank"));
        }
        e.push((409, "The run has not finished"));
        if s.produces.len() > 1 {
            e.push((501, "This function does not render documents"));
        }
    }
    e.push((503, "A store is unavailable"));
    e
}

fn operation(s: &RouteSpec) -> utoipa::openapi::path::Operation {
    let mut ok = ResponseBuilder::new().description(s.summary);
    for media in s.produces {
        let schema = if *media == "application/json" {
            Ref::from_schema_name("Object")
        } else {
            Ref::from_schema_name("Document")
        };
        ok = ok.content(*media, ContentBuilder::new().schema(Some(schema)).build());
    }
    let mut op = OperationBuilder::new()
        .summary(Some(s.summary))
        .operation_id(Some(format!("{} {}", s.method, s.path)))
        .tag(s.path.split('/').nth(3).unwrap_or("probes"))
        .response(s.ok.to_string(), ok);
    for (code, what) in errors_of(s) {
        op = op.response(
            code.to_string(),
            ResponseBuilder::new().description(what).content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            ),
        );
    }
    if let Some(body) = s.body {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(body)))
                        .build(),
                )
                .build(),
        ));
    }
    for part in s.path.split('/').filter(|p| p.starts_with('{')) {
        op = op.parameter(
            ParameterBuilder::new()
                .name(part.trim_matches(|c| c == '{' || c == '}'))
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .build(),
        );
    }
    op.build()
}

/// The OpenAPI document of every route.
pub fn document() -> Value {
    let mut paths = PathsBuilder::new().build();
    for s in specs() {
        paths.add_path_operation(s.path, vec![method(s.method)], operation(&s));
    }
    let components = ComponentsBuilder::new()
        .schema_from::<Problem>()
        .schema_from::<FieldProblem>()
        .schema_from::<ProjectBody>()
        .schema_from::<RunBody>()
        .schema_from::<ApplyPresetBody>()
        .schema_from::<ConsistencyBody>()
        .schema_from::<RulesValidateBody>()
        .schema_from::<TermSheetBody>()
        .schema_from::<ShardRequest>()
        .schema_from::<LoginBody>()
        .schema_from::<MfaBody>()
        .schema_from::<PasswordBody>()
        .schema_from::<NewUserBody>()
        .schema_from::<FlagsBody>()
        .schema_from::<RollbackBody>()
        .schema_from::<AllowlistBody>()
        .schema_from::<CanaryUpdateBody>()
        .schema_from::<RolloutBody>()
        .schema_from::<SyntheticBody>()
        .schema_from::<Object>()
        .schema_from::<Document>()
        .build();
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Phase-1")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Securitisation structuring engine for data-centre projects",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build();
    serde_json::to_value(doc).unwrap_or_default()
}
