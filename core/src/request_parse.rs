//! Parsing a fixture-shaped run request.
use crate::error::{FieldError, InputError};
use crate::request::{Options, Overrides, RunInput};
use crate::ruleset::Ruleset;

pub(crate) fn parse_request(
    _value: &serde_json::Value,
    _overrides: &Overrides,
    _options: Options,
    _rules: &Ruleset,
) -> Result<RunInput, InputError> {
    Err(InputError::validation(vec![FieldError::new("project", "not yet parsed")]))
}
