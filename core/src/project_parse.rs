//! Parsing a project object (engine spec §1).
use crate::error::FieldError;
use crate::project::Project;

pub(crate) fn parse_project(_value: &serde_json::Value) -> Result<Project, Vec<FieldError>> {
    Err(vec![FieldError::new("project", "not yet parsed")])
}
