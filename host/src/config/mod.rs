//! Loading pipeline files: YAML text to a checked [`PipelineFile`].
//!
//! Loading happens in steps, and each step lists every problem it finds
//! with the YAML path of the key at fault, so that `sabot validate` can
//! print them all at once:
//!
//! 1. the text is parsed as YAML (a syntax error stops here, with its line);
//! 2. `${env:NAME}` (or `${env:NAME:-FALLBACK}`) and `${file:PATH}`
//!    references in string values are replaced; a missing variable or unreadable file is a problem, never an
//!    empty string. A value that is one reference alone takes the type of
//!    what it expands to, so `max_records: ${env:N}` stays a number;
//! 3. the tree is read into the serde model in [`model`]. Unknown keys are
//!    collected one by one (each removed and the read retried), each with
//!    the nearest valid key as a hint; a wrong type stops the read;
//! 4. [`validate`] checks what serde cannot: one-of blocks, names, ranges,
//!    durations, and fields that only make sense together.
//!
//! Paths are written `source.kafka.topics[0]`.

pub mod model;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::*;
pub use validate::{parse_duration, parse_size};

/// One thing wrong with a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, as a YAML path such as `source.kafka.topics[0]`; empty for the
    /// file as a whole.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A pipeline file that could not be loaded, with every problem found.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub file: PathBuf,
    /// What is wrong, in file order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "`{}` has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A loaded pipeline file and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    /// The file it was read from (as given).
    pub file: PathBuf,
    /// The directory relative plugin paths are resolved against.
    pub base_dir: PathBuf,
    /// The checked model.
    pub config: PipelineFile,
    /// Paths of the values that came from `${env:}` or `${file:}`, so
    /// they can be redacted wherever configs are shown.
    pub secret_paths: Vec<String>,
}

/// Read, interpolate, parse and check the pipeline file at `path`.
///
/// # Errors
///
/// Every problem found, each with its YAML path.
pub fn load_file(path: &Path) -> Result<LoadedPipeline, ConfigError> {
    let fail = |problems| ConfigError {
        file: path.to_owned(),
        problems,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(vec![Problem::new("", format!("cannot read the file: {e}"))]))?;
    let base_dir = base_dir_of(path);
    let (config, secret_paths) = load_str(&text, &base_dir).map_err(fail)?;
    Ok(LoadedPipeline {
        file: path.to_owned(),
        base_dir,
        config,
        secret_paths,
    })
}

/// Parse and check pipeline text; `base_dir` resolves `${file:}` paths.
///
/// # Errors
///
/// Every problem found, each with its YAML path.
pub fn load_str(text: &str, base_dir: &Path) -> Result<(PipelineFile, Vec<String>), Vec<Problem>> {
    match check_str(text, base_dir) {
        (Some(loaded), problems) if problems.is_empty() => Ok(loaded),
        (_, problems) => Err(problems),
    }
}

/// [`load_file`], keeping the model read (with its unknown keys left out)
/// beside the problems found, so that planning can look for more: what
/// `sabot validate` uses to list every problem at once.
pub fn check_file(path: &Path) -> (Option<LoadedPipeline>, ConfigError) {
    let fail = |problems| ConfigError {
        file: path.to_owned(),
        problems,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return (
                None,
                fail(vec![Problem::new("", format!("cannot read the file: {e}"))]),
            );
        }
    };
    let base_dir = base_dir_of(path);
    let (model, problems) = check_str(&text, &base_dir);
    let loaded = model.map(|(config, secret_paths)| LoadedPipeline {
        file: path.to_owned(),
        base_dir,
        config,
        secret_paths,
    });
    (loaded, fail(problems))
}

/// The folder relative references of the pipeline file at `path` are
/// resolved against.
fn base_dir_of(path: &Path) -> PathBuf {
    path.parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_owned()
}

/// [`load_str`], keeping the model read (if the file could be read into
/// one) beside the problems found.
fn check_str(text: &str, base_dir: &Path) -> (Option<(PipelineFile, Vec<String>)>, Vec<Problem>) {
    match check_str_inner(text, base_dir) {
        Ok(found) => found,
        Err(problems) => (None, problems),
    }
}

#[allow(
    clippy::type_complexity,
    reason = "the model with its secret paths, and the problems: said once, here"
)]
fn check_str_inner(
    text: &str,
    base_dir: &Path,
) -> Result<(Option<(PipelineFile, Vec<String>)>, Vec<Problem>), Vec<Problem>> {
    let mut tree: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
            .unwrap_or_default();
        vec![Problem::new(
            "",
            format!("invalid YAML{at}: {}", strip_location(&e.to_string())),
        )]
    })?;
    if tree.is_null() {
        return Err(vec![Problem::new(
            "",
            "the file is empty; a pipeline needs `apiVersion`, `name`, `source` and `sink`",
        )]);
    }

    let mut problems = Vec::new();
    let mut secret_paths = Vec::new();
    interpolate(
        &mut tree,
        &mut String::new(),
        base_dir,
        &mut problems,
        &mut secret_paths,
    );

    let config = match read_model(tree, &mut problems) {
        Some(config) => config,
        None => return Err(problems),
    };
    // Values of the wrong kind were left out and read as their defaults;
    // what the checks then say about those defaults is no news.
    let left_out: Vec<(String, String)> = problems
        .iter()
        .filter(|p| !p.message.starts_with("unknown key"))
        .filter_map(|p| match p.path.rsplit_once('.') {
            Some((parent, key)) => Some((parent.to_owned(), format!("`{key}`"))),
            None if !p.path.is_empty() => Some((String::new(), format!("`{}`", p.path))),
            None => None,
        })
        .collect();
    let mut checked = Vec::new();
    validate::validate(&config, &mut checked);
    problems.extend(checked.into_iter().filter(|p| {
        !left_out
            .iter()
            .any(|(parent, key)| p.path.starts_with(parent.as_str()) && p.message.contains(key))
    }));
    Ok((Some((config, secret_paths)), problems))
}

/// serde_yaml appends "at line X column Y" to its messages; the path or
/// the location prefix already says where.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Read the tree into the model, removing unknown keys one at a time so
/// that all of them are reported.
fn read_model(mut tree: serde_yaml::Value, problems: &mut Vec<Problem>) -> Option<PipelineFile> {
    // Each round removes one unknown key; a file cannot have more keys than
    // this bound without being something other than a pipeline file.
    for _ in 0..200 {
        match serde_path_to_error::deserialize::<_, PipelineFile>(tree.clone()) {
            // Read, with any unknown keys left out (and reported).
            Ok(config) => return Some(config),
            Err(err) => {
                let path = yaml_path(err.path());
                let message = err.inner().to_string();
                if let Some((key, expected)) = parse_unknown_field(&message) {
                    // The path ends with the unknown key itself.
                    problems.push(Problem::new(&path, unknown_key_message(&key, &expected)));
                    if !remove_key(&mut tree, err.path(), &key) {
                        return None;
                    }
                    continue;
                }
                // A value of the wrong kind is reported, then left out, so
                // the rest of the file is read too; if the key was required,
                // its absence says nothing new and the reading stops.
                if message.starts_with("missing field `") && !problems.is_empty() {
                    let key = message
                        .trim_start_matches("missing field `")
                        .split('`')
                        .next()
                        .unwrap_or_default();
                    let at = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    if problems.iter().any(|p| p.path == at) {
                        return None;
                    }
                }
                // A value whose `${…}` could not be filled in is reported
                // already, at the same path.
                if !problems.iter().any(|p| p.path == path) {
                    problems.push(Problem::new(
                        path.clone(),
                        type_error_message(&path, &message),
                    ));
                }
                let last_key = err.path().iter().last().and_then(|segment| match segment {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    _ => None,
                });
                match last_key {
                    Some(key) if remove_key(&mut tree, err.path(), &key) => continue,
                    _ => return None,
                }
            }
        }
    }
    None
}

/// Render serde_path_to_error's path the way the docs write YAML paths.
fn yaml_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Pull the key and the expected keys out of serde's unknown-field message:
/// "unknown field `topcs`, expected one of `brokers`, `topics`".
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    let key = rest[..end].to_owned();
    let expected = rest[end + 1..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((key, expected))
}

/// "unknown key; did you mean `topics`? valid keys: …".
fn unknown_key_message(key: &str, expected: &[String]) -> String {
    let mut message = String::from("unknown key");
    if let Some(best) = nearest(key, expected.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    if !expected.is_empty() {
        let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
        message.push_str(&format!(" (valid keys here: {})", list.join(", ")));
    }
    message
}

/// The candidate closest to `word`, if any is close enough to be a likely
/// typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Make serde's type errors read as advice.
fn type_error_message(path: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some(end) = rest.find('`') {
            let got = &rest[..end];
            let expected: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
            let mut out = format!("`{got}` is not allowed here");
            if let Some(best) = nearest(got, expected.iter().copied()) {
                out.push_str(&format!("; did you mean `{best}`?"));
            }
            let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
            out.push_str(&format!(" (one of {})", list.join(", ")));
            return out;
        }
    }
    if message.starts_with("data did not match any variant") {
        if path.ends_with("format") {
            return "expected `json`, `raw`, or a map with one of them, \
                    e.g. `{ json: { schema: infer } }`"
                .to_owned();
        }
        if path.contains("properties") {
            return "expected a string, number or boolean".to_owned();
        }
    }
    if message.contains(", expected struct ") {
        return match path {
            "source" => {
                "expected a map with one of `kafka` or `datagen`, e.g. `datagen: {}`".to_owned()
            }
            "sink" => "expected a map with one of `kafka`, `file`, `parquet` or `stdout`, \
                       e.g. `stdout: {}`"
                .to_owned(),
            _ => "expected a map of keys here".to_owned(),
        };
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some(got) = rest.strip_suffix(", expected a string")
    {
        return format!(
            "expected text here, not {got}; a size or a duration takes its unit, \
             e.g. `128MiB` or `50ms`"
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some(end) = rest.find('`') {
            return format!("missing required key `{}`", &rest[..end]);
        }
    }
    message.to_owned()
}

/// Remove `key` from the map found at `path` in `tree`.
fn remove_key(tree: &mut serde_yaml::Value, path: &serde_path_to_error::Path, key: &str) -> bool {
    use serde_path_to_error::Segment;
    let mut node = tree;
    let segments: Vec<&Segment> = path.iter().collect();
    // The last segment is the unknown key; walk to its map.
    let parents = match segments.split_last() {
        Some((Segment::Map { key: last }, parents)) if last == key => parents,
        _ => &segments[..],
    };
    for segment in parents.iter().copied() {
        node = match segment {
            Segment::Seq { index } => match node.get_mut(*index) {
                Some(n) => n,
                None => return false,
            },
            Segment::Map { key } | Segment::Enum { variant: key } => {
                match node.get_mut(key.as_str()) {
                    Some(n) => n,
                    None => return false,
                }
            }
            Segment::Unknown => return false,
        };
    }
    match node.as_mapping_mut() {
        Some(map) => map.remove(key).is_some(),
        None => false,
    }
}

/// Replace `${env:NAME}` and `${file:PATH}` in every string of the tree.
fn interpolate(
    node: &mut serde_yaml::Value,
    path: &mut String,
    base_dir: &Path,
    problems: &mut Vec<Problem>,
    secret_paths: &mut Vec<String>,
) {
    match node {
        serde_yaml::Value::String(s) => {
            if !s.contains("${") {
                return;
            }
            match expand(s, base_dir) {
                Ok(expanded) => {
                    secret_paths.push(path.clone());
                    let whole = s.trim().starts_with("${")
                        && s.trim().ends_with('}')
                        && s.trim().matches("${").count() == 1;
                    *node = if whole {
                        // A lone reference takes the type of its text, so
                        // numbers and booleans stay what they look like.
                        match serde_yaml::from_str::<serde_yaml::Value>(&expanded) {
                            Ok(v) if v.is_number() || v.is_bool() => v,
                            _ => serde_yaml::Value::String(expanded),
                        }
                    } else {
                        serde_yaml::Value::String(expanded)
                    };
                }
                Err(message) => problems.push(Problem::new(path.clone(), message)),
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                interpolate(item, path, base_dir, problems, secret_paths);
                path.truncate(len);
            }
        }
        serde_yaml::Value::Mapping(map) => {
            for (key, value) in map.iter_mut() {
                let len = path.len();
                let name = match key {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name);
                interpolate(value, path, base_dir, problems, secret_paths);
                path.truncate(len);
            }
        }
        serde_yaml::Value::Tagged(tagged) => {
            interpolate(&mut tagged.value, path, base_dir, problems, secret_paths)
        }
        _ => {}
    }
}

/// Expand the references in one string. `$${` writes a literal `${`.
fn expand(s: &str, base_dir: &Path) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` without a closing `}}` in `{s}`"))?;
        let reference = &after[..end];
        out.push_str(&resolve(reference, base_dir)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(reference: &str, base_dir: &Path) -> Result<String, String> {
    if let Some(name) = reference.strip_prefix("env:") {
        // `${env:NAME:-fallback}` gives a fallback explicitly.
        let (name, fallback) = match name.split_once(":-") {
            Some((name, fallback)) => (name, Some(fallback)),
            None => (name, None),
        };
        return match (std::env::var(name), fallback) {
            (Ok(value), _) => Ok(value),
            (Err(_), Some(fallback)) => Ok(fallback.to_owned()),
            (Err(_), None) => Err(format!(
                "environment variable `{name}` is not set; set it, write the value here, \
                 or give a fallback as `${{env:{name}:-VALUE}}`"
            )),
        };
    }
    if let Some(file) = reference.strip_prefix("file:") {
        let path = base_dir.join(file);
        return read_small_file(&path)
            .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|e| {
                format!(
                    "cannot read `{}` for `${{file:{file}}}`: {e}",
                    path.display()
                )
            });
    }
    Err(format!(
        "`${{{reference}}}` is not a reference Sabot knows; use `${{env:NAME}}` or `${{file:PATH}}` \
         (write `$${{` for a literal `${{`)"
    ))
}

/// The most a `${file:}` reference may read: secrets and addresses, not data.
const MAX_FILE_REFERENCE: u64 = 1 << 20;

/// Read a regular file of at most [`MAX_FILE_REFERENCE`] bytes as UTF-8.
fn read_small_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".to_owned());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_REFERENCE + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_REFERENCE {
        return Err("it is larger than 1 MiB; `${file:}` is for secrets and addresses".to_owned());
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests;
