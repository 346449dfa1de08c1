//! What a request to the embedded registry asks for, and how a refusal
//! is answered: Confluent's status, error code and wording, so that
//! clients written for Confluent's registry read them as they are.

use super::{SchemaReference, SchemaType};

/// A request the registry refuses, as Confluent answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// Confluent's error code: the status, or a five-digit refinement
    /// (40401 subject not found, 42201 invalid schema, …).
    pub error_code: u32,
    /// What went wrong, for the user.
    pub message: String,
}

impl Rejection {
    /// A rejection with `status`, `error_code` and `message`.
    pub fn new(status: u16, error_code: u32, message: impl Into<String>) -> Rejection {
        Rejection {
            status,
            error_code,
            message: message.into(),
        }
    }

    /// 404 / 40401.
    pub fn subject_not_found(subject: &str) -> Rejection {
        Rejection::new(404, 40401, format!("Subject '{subject}' not found."))
    }

    /// 404 / 40402.
    pub fn version_not_found(version: u32) -> Rejection {
        Rejection::new(404, 40402, format!("Version {version} not found."))
    }

    /// 404 / 40403 for an id.
    pub fn schema_id_not_found(id: &str) -> Rejection {
        Rejection::new(404, 40403, format!("Schema {id} not found"))
    }

    /// 404 / 40403 for a schema looked up by its text.
    pub fn schema_not_found() -> Rejection {
        Rejection::new(404, 40403, "Schema not found")
    }

    /// 404 / 40408.
    pub fn no_subject_compatibility(subject: &str) -> Rejection {
        Rejection::new(
            404,
            40408,
            format!("Subject '{subject}' does not have subject-level compatibility configured"),
        )
    }

    /// 422 / 42201.
    pub fn invalid_schema(schema_type: SchemaType, why: &str) -> Rejection {
        Rejection::new(422, 42201, format!("Invalid {schema_type} schema: {why}"))
    }

    /// 422 / 42202.
    pub fn invalid_version(text: &str) -> Rejection {
        Rejection::new(
            422,
            42202,
            format!(
                "The specified version '{text}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    /// 422 / 42203.
    pub fn invalid_compatibility() -> Rejection {
        Rejection::new(
            422,
            42203,
            "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
        )
    }

    /// 409 / 409: the schema does not follow the earlier versions.
    pub fn incompatible(subject: &str, problems: &[String]) -> Rejection {
        Rejection::new(
            409,
            409,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                problems.join("; ")
            ),
        )
    }

    /// 500 / 50001: the state file cannot be written.
    pub(super) fn store_failed(detail: String) -> Rejection {
        tracing::error!(error = %detail, "the schema registry cannot write its state");
        Rejection::new(
            500,
            50001,
            format!("Error in the backend data store: {detail}"),
        )
    }
}

/// A version in a path: a number, or `latest` (also `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// The newest version (not soft-deleted, unless deleted ones are
    /// asked for).
    Latest,
    /// That version.
    Number(u32),
}

impl VersionSpec {
    /// Parse a path's version.
    ///
    /// # Errors
    ///
    /// 42202 for anything but `latest`, `-1` or 1 to 2³¹−1.
    pub fn parse(text: &str) -> Result<VersionSpec, Rejection> {
        if text.eq_ignore_ascii_case("latest") || text == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match text.parse::<u32>() {
            Ok(n) if (1..=i32::MAX as u32).contains(&n) => Ok(VersionSpec::Number(n)),
            _ => Err(Rejection::invalid_version(text)),
        }
    }
}

/// A schema sent to be registered, looked up or checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRequest {
    /// Its kind.
    pub schema_type: SchemaType,
    /// Its text.
    pub schema: String,
    /// The schemas it references.
    pub references: Vec<SchemaReference>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_confluent_spells_them() {
        assert_eq!(VersionSpec::parse("latest"), Ok(VersionSpec::Latest));
        assert_eq!(VersionSpec::parse("-1"), Ok(VersionSpec::Latest));
        assert_eq!(VersionSpec::parse("7"), Ok(VersionSpec::Number(7)));
        assert_eq!(
            VersionSpec::parse("0"),
            Err(Rejection::invalid_version("0"))
        );
        assert_eq!(
            VersionSpec::parse("2147483648"),
            Err(Rejection::invalid_version("2147483648"))
        );
    }
}
