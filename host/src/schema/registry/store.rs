//! The embedded registry's data and the rules that change it, kept in one
//! JSON file so they survive a restart.
//!
//! Schemas are stored once, by id; a subject is a list of versions, each
//! naming a schema id. The same schema (same type, same text once
//! normalised, same references) registered under several subjects gets
//! one id, as Confluent's registry gives it. Ids and version numbers only
//! grow: a deleted schema's id is never given again.
//!
//! Deletes are Confluent's two-step: a soft delete hides a version (or a
//! whole subject) from listings but keeps it readable by id and with
//! `?deleted=true`; only a soft-deleted version can then be deleted for
//! good with `?permanent=true`, which forgets it and any schema no version
//! names any more.
//!
//! With a state folder, every change is written to `registry.json` in it
//! before it is answered: to a temporary file, synced, then renamed over
//! the old one, so a crash leaves the old state or the new, never half of
//! one. A change that cannot be written is not made. Without a folder the
//! data lives in memory.
//!
//! Failures are [`Rejection`]s carrying Confluent's status, error code and
//! wording, so the server answers them as they are.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::compat::{self, Checked, Level, Parsed};
use super::request::{Rejection, SchemaRequest, VersionSpec};
use super::{RegisteredSchema, SchemaReference, SchemaType};

/// The file in the state folder.
pub const STATE_FILE: &str = "registry.json";

/// The version of the file's layout.
const FORMAT: u32 = 1;

/// A version of a subject, as answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The subject.
    pub subject: String,
    /// The version number.
    pub version: u32,
    /// The schema it names.
    pub schema: RegisteredSchema,
}

/// A stored schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSchema {
    /// Its kind.
    #[serde(rename = "schemaType")]
    schema_type: SchemaType,
    /// Its text, normalised (see [`compat::Checked::text`]).
    schema: String,
    /// What it references.
    #[serde(default)]
    references: Vec<SchemaReference>,
}

/// A version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredVersion {
    /// The version number.
    version: u32,
    /// The schema's id.
    id: u32,
    /// Soft-deleted.
    #[serde(default)]
    deleted: bool,
}

/// Everything the registry keeps: the content of the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    /// The layout version, [`FORMAT`].
    format: u32,
    /// The id the next new schema gets.
    next_id: u32,
    /// The global compatibility level.
    compatibility: Level,
    /// Levels set for single subjects.
    #[serde(default)]
    subject_compatibility: BTreeMap<String, Level>,
    /// Schemas by id.
    #[serde(default)]
    schemas: BTreeMap<u32, StoredSchema>,
    /// Each subject's versions, oldest first.
    #[serde(default)]
    subjects: BTreeMap<String, Vec<StoredVersion>>,
}

impl Default for Data {
    fn default() -> Data {
        Data {
            format: FORMAT,
            next_id: 1,
            compatibility: Level::default(),
            subject_compatibility: BTreeMap::new(),
            schemas: BTreeMap::new(),
            subjects: BTreeMap::new(),
        }
    }
}

/// What makes two registrations the same schema.
type Identity = (SchemaType, String, Vec<SchemaReference>);

/// The registry's data, with the indexes answering needs.
#[derive(Debug)]
pub struct Store {
    /// What is kept.
    data: Data,
    /// Schema ids by identity.
    ids: HashMap<Identity, u32>,
    /// Schemas parsed for comparing, by id.
    parsed: HashMap<u32, Arc<Parsed>>,
    /// The state folder, if any.
    dir: Option<PathBuf>,
}

impl Store {
    /// An empty registry in memory.
    pub fn in_memory() -> Store {
        Store {
            data: Data::default(),
            ids: HashMap::new(),
            parsed: HashMap::new(),
            dir: None,
        }
    }

    /// The registry kept in `dir` (created if needed), loaded from its
    /// state file if there is one.
    ///
    /// # Errors
    ///
    /// The folder cannot be created, or the file cannot be read or is not
    /// a registry's state (it is left as it is).
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create the schema registry's state folder `{}`: {e}",
                dir.display()
            )
        })?;
        let file = dir.join(STATE_FILE);
        let data = match std::fs::read(&file) {
            Ok(bytes) => {
                let data: Data = serde_json::from_slice(&bytes).map_err(|e| {
                    format!(
                        "`{}` is not a schema registry's state: {e}; move it away to start empty",
                        file.display()
                    )
                })?;
                if data.format != FORMAT {
                    return Err(format!(
                        "`{}` has layout {}, this version of Sabot reads layout {FORMAT}",
                        file.display(),
                        data.format
                    ));
                }
                data
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data::default(),
            Err(e) => return Err(format!("cannot read `{}`: {e}", file.display())),
        };
        let mut store = Store {
            data,
            ids: HashMap::new(),
            parsed: HashMap::new(),
            dir: Some(dir.to_owned()),
        };
        store.reindex();
        Ok(store)
    }

    /// Rebuild the identity index and drop parsed schemas that are gone.
    fn reindex(&mut self) {
        self.ids = self
            .data
            .schemas
            .iter()
            .map(|(id, s)| ((s.schema_type, s.schema.clone(), s.references.clone()), *id))
            .collect();
        let schemas = &self.data.schemas;
        self.parsed.retain(|id, _| schemas.contains_key(id));
    }

    /// Write `next` to the state file, then make it the data.
    fn commit(&mut self, next: Data) -> Result<(), Rejection> {
        if let Some(dir) = &self.dir {
            write_atomically(dir, &next).map_err(Rejection::store_failed)?;
        }
        self.data = next;
        self.reindex();
        Ok(())
    }

    // --- Schemas by id ---------------------------------------------------

    /// The schema with `id`.
    ///
    /// # Errors
    ///
    /// 40403 when no version names it.
    pub fn schema(&self, id: u32) -> Result<RegisteredSchema, Rejection> {
        self.data
            .schemas
            .get(&id)
            .map(|s| registered(id, s))
            .ok_or_else(|| Rejection::schema_id_not_found(&id.to_string()))
    }

    /// The (subject, version) pairs naming schema `id`, soft-deleted ones
    /// too when `deleted`.
    ///
    /// # Errors
    ///
    /// 40403 when the id is unknown.
    pub fn schema_versions(&self, id: u32, deleted: bool) -> Result<Vec<(String, u32)>, Rejection> {
        self.schema(id)?;
        Ok(self
            .data
            .subjects
            .iter()
            .flat_map(|(subject, versions)| {
                versions
                    .iter()
                    .filter(move |v| v.id == id && (deleted || !v.deleted))
                    .map(move |v| (subject.clone(), v.version))
            })
            .collect())
    }

    // --- Subjects and versions ------------------------------------------

    /// The subjects with a version (a soft-deleted one too when
    /// `deleted`), sorted, those starting with `prefix` only.
    pub fn subjects(&self, deleted: bool, prefix: &str) -> Vec<String> {
        self.data
            .subjects
            .iter()
            .filter(|(s, versions)| {
                s.starts_with(prefix) && versions.iter().any(|v| deleted || !v.deleted)
            })
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// The visible versions of `subject`, oldest first.
    fn visible(&self, subject: &str, deleted: bool) -> Result<Vec<StoredVersion>, Rejection> {
        let versions: Vec<StoredVersion> = self
            .data
            .subjects
            .get(subject)
            .map(|vs| {
                vs.iter()
                    .filter(|v| deleted || !v.deleted)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        if versions.is_empty() {
            return Err(Rejection::subject_not_found(subject));
        }
        Ok(versions)
    }

    /// The version numbers of `subject`.
    ///
    /// # Errors
    ///
    /// 40401 when it has none.
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<u32>, Rejection> {
        Ok(self
            .visible(subject, deleted)?
            .iter()
            .map(|v| v.version)
            .collect())
    }

    /// One version of `subject`.
    ///
    /// # Errors
    ///
    /// 40401 when the subject has no versions, 40402 when it lacks this
    /// one.
    pub fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<VersionInfo, Rejection> {
        let found = self.find(subject, spec, deleted)?;
        self.info(subject, found)
    }

    /// The stored version `spec` of `subject`.
    fn find(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<StoredVersion, Rejection> {
        let visible = self.visible(subject, deleted)?;
        let found = match spec {
            VersionSpec::Latest => visible.last().copied(),
            VersionSpec::Number(n) => visible.iter().find(|v| v.version == n).copied(),
        };
        match (found, spec) {
            (Some(v), _) => Ok(v),
            (None, VersionSpec::Number(n)) => Err(Rejection::version_not_found(n)),
            (None, VersionSpec::Latest) => Err(Rejection::subject_not_found(subject)),
        }
    }

    fn info(&self, subject: &str, version: StoredVersion) -> Result<VersionInfo, Rejection> {
        Ok(VersionInfo {
            subject: subject.to_owned(),
            version: version.version,
            schema: self.schema(version.id)?,
        })
    }

    /// The ids of schemas that reference version `spec` of `subject`.
    ///
    /// # Errors
    ///
    /// 40401 or 40402 when there is no such version.
    pub fn referenced_by(&self, subject: &str, spec: VersionSpec) -> Result<Vec<u32>, Rejection> {
        let found = self.find(subject, spec, true)?;
        Ok(self.referrers(subject, found.version).into_iter().collect())
    }

    /// Ids of schemas named by a live version that reference `subject`
    /// `version`, sorted.
    fn referrers(&self, subject: &str, version: u32) -> std::collections::BTreeSet<u32> {
        let live: HashSet<u32> = self
            .data
            .subjects
            .values()
            .flatten()
            .filter(|v| !v.deleted)
            .map(|v| v.id)
            .collect();
        self.data
            .schemas
            .iter()
            .filter(|(id, s)| {
                live.contains(id)
                    && s.references
                        .iter()
                        .any(|r| r.subject == subject && r.version == version)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    // --- Registering and looking up -------------------------------------

    /// Check `request`: resolve its references and parse it.
    ///
    /// # Errors
    ///
    /// 42201 when a reference is not registered or the schema does not
    /// parse.
    pub fn check(&self, request: &SchemaRequest) -> Result<Checked, Rejection> {
        let texts = self.reference_texts(request.schema_type, &request.references)?;
        compat::check(request.schema_type, &request.schema, &texts)
            .map_err(|why| Rejection::invalid_schema(request.schema_type, &why))
    }

    /// The (name, text) of every schema `references` lead to, nested ones
    /// first, each once.
    fn reference_texts(
        &self,
        schema_type: SchemaType,
        references: &[SchemaReference],
    ) -> Result<Vec<(String, String)>, Rejection> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen: HashSet<(String, u32)> = HashSet::new();
        let mut names: HashSet<String> = HashSet::new();
        // Depth first without recursion: a chain of references may be as
        // long as the registry has schemas.
        let mut stack: Vec<(SchemaReference, bool)> = references
            .iter()
            .rev()
            .map(|r| (r.clone(), false))
            .collect();
        while let Some((reference, expanded)) = stack.pop() {
            let stored = self
                .data
                .subjects
                .get(&reference.subject)
                .and_then(|vs| vs.iter().find(|v| v.version == reference.version))
                .and_then(|v| self.data.schemas.get(&v.id))
                .ok_or_else(|| {
                    Rejection::invalid_schema(
                        schema_type,
                        &format!(
                            "the reference `{}` names version {} of subject `{}`, which is not registered",
                            reference.name, reference.version, reference.subject
                        ),
                    )
                })?;
            if expanded {
                if names.insert(reference.name.clone()) {
                    out.push((reference.name, stored.schema.clone()));
                }
                continue;
            }
            if !seen.insert((reference.subject.clone(), reference.version)) {
                continue;
            }
            stack.push((reference, true));
            for nested in stored.references.iter().rev() {
                stack.push((nested.clone(), false));
            }
        }
        Ok(out)
    }

    /// The parsed form of schema `id`, parsed once.
    fn parsed(&mut self, id: u32) -> Result<Arc<Parsed>, String> {
        if let Some(p) = self.parsed.get(&id) {
            return Ok(p.clone());
        }
        let stored = self
            .data
            .schemas
            .get(&id)
            .ok_or_else(|| format!("schema {id} is gone"))?
            .clone();
        let request = SchemaRequest {
            schema_type: stored.schema_type,
            schema: stored.schema,
            references: stored.references,
        };
        let checked = self.check(&request).map_err(|r| r.message)?;
        let parsed = Arc::new(checked.parsed);
        self.parsed.insert(id, parsed.clone());
        Ok(parsed)
    }

    /// The compatibility level that applies to `subject`.
    pub fn level_of(&self, subject: &str) -> Level {
        self.data
            .subject_compatibility
            .get(subject)
            .copied()
            .unwrap_or(self.data.compatibility)
    }

    /// Why `checked` cannot follow the given live versions under `level`.
    fn problems(
        &mut self,
        level: Level,
        checked: &Checked,
        against: &[StoredVersion],
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for old in against.iter().rev() {
            match self.parsed(old.id) {
                Ok(parsed) => problems.extend(compat::incompatibilities(
                    level,
                    &checked.parsed,
                    &parsed,
                    old.version,
                )),
                Err(why) => problems.push(format!(
                    "version {} cannot be parsed any more: {why}",
                    old.version
                )),
            }
        }
        problems
    }

    /// The live versions a new schema for `subject` is compared with under
    /// its level.
    fn compared_with(&self, subject: &str, level: Level) -> Vec<StoredVersion> {
        let live: Vec<StoredVersion> = self
            .data
            .subjects
            .get(subject)
            .map(|vs| vs.iter().filter(|v| !v.deleted).copied().collect())
            .unwrap_or_default();
        if level == Level::None {
            Vec::new()
        } else if level.is_transitive() {
            live
        } else {
            live.last().copied().into_iter().collect()
        }
    }

    /// Register `request` under `subject` and give its id: the id of the
    /// live version already holding it, or a new version.
    ///
    /// # Errors
    ///
    /// 42201 for an invalid schema, 409 when it does not follow the
    /// subject's earlier versions, 50001 when the change cannot be kept.
    pub fn register(&mut self, subject: &str, request: &SchemaRequest) -> Result<u32, Rejection> {
        let checked = self.check(request)?;
        let identity: Identity = (
            request.schema_type,
            checked.text.clone(),
            request.references.clone(),
        );
        let existing = self.ids.get(&identity).copied();
        let versions = self.data.subjects.get(subject).cloned().unwrap_or_default();
        if let Some(id) = existing
            && versions.iter().any(|v| v.id == id && !v.deleted)
        {
            return Ok(id);
        }
        let level = self.level_of(subject);
        let against = self.compared_with(subject, level);
        let problems = self.problems(level, &checked, &against);
        if !problems.is_empty() {
            return Err(Rejection::incompatible(subject, &problems));
        }

        let mut next = self.data.clone();
        let id = match existing {
            Some(id) => id,
            None => {
                let id = next.next_id;
                next.next_id = id.checked_add(1).ok_or_else(|| {
                    Rejection::new(
                        500,
                        50001,
                        "Error in the backend data store: no schema ids are left",
                    )
                })?;
                next.schemas.insert(
                    id,
                    StoredSchema {
                        schema_type: request.schema_type,
                        schema: checked.text,
                        references: request.references.clone(),
                    },
                );
                id
            }
        };
        let version = versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        next.subjects
            .entry(subject.to_owned())
            .or_default()
            .push(StoredVersion {
                version,
                id,
                deleted: false,
            });
        self.commit(next)?;
        self.parsed.insert(id, Arc::new(checked.parsed));
        tracing::info!(subject, version, id, "schema registered");
        Ok(id)
    }

    /// The version of `subject` holding `request` (the newest, if
    /// several).
    ///
    /// # Errors
    ///
    /// 40401 when the subject has no versions, 42201 for an invalid
    /// schema, 40403 when no version holds it.
    pub fn lookup(
        &self,
        subject: &str,
        request: &SchemaRequest,
        deleted: bool,
    ) -> Result<VersionInfo, Rejection> {
        let visible = self.visible(subject, deleted)?;
        let checked = self.check(request)?;
        let identity: Identity = (
            request.schema_type,
            checked.text,
            request.references.clone(),
        );
        let id = self
            .ids
            .get(&identity)
            .copied()
            .ok_or_else(Rejection::schema_not_found)?;
        let found = visible
            .iter()
            .rev()
            .find(|v| v.id == id)
            .copied()
            .ok_or_else(Rejection::schema_not_found)?;
        self.info(subject, found)
    }

    /// Why `request` cannot follow version `spec` of `subject` (or, with
    /// no version, the versions its level compares with); empty when it
    /// can. A subject without versions accepts anything.
    ///
    /// # Errors
    ///
    /// 40401 and 40402 for a version that does not exist, 42201 for an
    /// invalid schema.
    pub fn compatibility(
        &mut self,
        subject: &str,
        spec: Option<VersionSpec>,
        request: &SchemaRequest,
    ) -> Result<Vec<String>, Rejection> {
        let level = self.level_of(subject);
        let against = match spec {
            Some(spec) => vec![self.find(subject, spec, false)?],
            None => self.compared_with(subject, level),
        };
        let checked = self.check(request)?;
        Ok(self.problems(level, &checked, &against))
    }

    // --- Deleting -------------------------------------------------------

    /// Delete `subject`: softly, or for good when `permanent` (after a
    /// soft delete). Gives the versions deleted.
    ///
    /// # Errors
    ///
    /// 40401 unknown subject, 40404 already soft-deleted, 40405 permanent
    /// before soft, 42206 a version is referenced.
    pub fn delete_subject(
        &mut self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<u32>, Rejection> {
        let versions = self.visible(subject, true)?;
        let live: Vec<u32> = versions
            .iter()
            .filter(|v| !v.deleted)
            .map(|v| v.version)
            .collect();
        let mut next = self.data.clone();
        let deleted = if permanent {
            if !live.is_empty() {
                return Err(Rejection::new(
                    404,
                    40405,
                    format!(
                        "Subject '{subject}' was not deleted first before being permanently deleted"
                    ),
                ));
            }
            next.subjects.remove(subject);
            next.subject_compatibility.remove(subject);
            collect_garbage(&mut next);
            versions.iter().map(|v| v.version).collect()
        } else {
            if live.is_empty() {
                return Err(Rejection::new(
                    404,
                    40404,
                    format!(
                        "Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"
                    ),
                ));
            }
            for &version in &live {
                self.refuse_if_referenced(subject, version)?;
            }
            if let Some(vs) = next.subjects.get_mut(subject) {
                vs.iter_mut().for_each(|v| v.deleted = true);
            }
            live
        };
        self.commit(next)?;
        tracing::info!(subject, permanent, "subject deleted");
        Ok(deleted)
    }

    /// Delete version `spec` of `subject`: softly, or for good when
    /// `permanent` (after a soft delete). Gives its number.
    ///
    /// # Errors
    ///
    /// 40401, 40402 no such version, 40406 already soft-deleted, 40407
    /// permanent before soft, 42206 it is referenced.
    pub fn delete_version(
        &mut self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<u32, Rejection> {
        // `latest` is the newest live version for a soft delete, the
        // newest of all for a permanent one; a number names any version,
        // so deleting a soft-deleted one again says so.
        let live_only = spec == VersionSpec::Latest && !permanent;
        let found = self.find(subject, spec, !live_only)?;
        let version = found.version;
        let mut next = self.data.clone();
        if permanent {
            if !found.deleted {
                return Err(Rejection::new(
                    404,
                    40407,
                    format!(
                        "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
                    ),
                ));
            }
            if let Some(vs) = next.subjects.get_mut(subject) {
                vs.retain(|v| v.version != version);
                if vs.is_empty() {
                    next.subjects.remove(subject);
                }
            }
            collect_garbage(&mut next);
        } else {
            if found.deleted {
                return Err(Rejection::new(
                    404,
                    40406,
                    format!(
                        "Subject '{subject}' Version {version} was soft deleted. Set permanent=true to delete permanently"
                    ),
                ));
            }
            self.refuse_if_referenced(subject, version)?;
            if let Some(v) = next
                .subjects
                .get_mut(subject)
                .and_then(|vs| vs.iter_mut().find(|v| v.version == version))
            {
                v.deleted = true;
            }
        }
        self.commit(next)?;
        tracing::info!(subject, version, permanent, "schema version deleted");
        Ok(version)
    }

    /// 42206 when a live schema references `subject` `version`.
    fn refuse_if_referenced(&self, subject: &str, version: u32) -> Result<(), Rejection> {
        if self.referrers(subject, version).is_empty() {
            Ok(())
        } else {
            Err(Rejection::new(
                422,
                42206,
                format!(
                    "One or more references exist to the schema {{subject={subject},version={version}}}."
                ),
            ))
        }
    }

    // --- Compatibility config -------------------------------------------

    /// The global level.
    pub fn global_level(&self) -> Level {
        self.data.compatibility
    }

    /// Set the global level.
    ///
    /// # Errors
    ///
    /// 50001 when the change cannot be kept.
    pub fn set_global_level(&mut self, level: Level) -> Result<(), Rejection> {
        let mut next = self.data.clone();
        next.compatibility = level;
        self.commit(next)
    }

    /// The level set for `subject`, if one is.
    pub fn subject_level(&self, subject: &str) -> Option<Level> {
        self.data.subject_compatibility.get(subject).copied()
    }

    /// Set `subject`'s level, or clear it with `None`; gives the level it
    /// had.
    ///
    /// # Errors
    ///
    /// 50001 when the change cannot be kept.
    pub fn set_subject_level(
        &mut self,
        subject: &str,
        level: Option<Level>,
    ) -> Result<Option<Level>, Rejection> {
        let mut next = self.data.clone();
        let old = match level {
            Some(level) => next.subject_compatibility.insert(subject.to_owned(), level),
            None => next.subject_compatibility.remove(subject),
        };
        if old != level {
            self.commit(next)?;
        }
        Ok(old)
    }
}

/// A stored schema as answered.
fn registered(id: u32, stored: &StoredSchema) -> RegisteredSchema {
    RegisteredSchema {
        id,
        schema_type: stored.schema_type,
        schema: stored.schema.clone(),
        references: stored.references.clone(),
    }
}

/// Forget the schemas no version names.
fn collect_garbage(data: &mut Data) {
    let named: HashSet<u32> = data.subjects.values().flatten().map(|v| v.id).collect();
    data.schemas.retain(|id, _| named.contains(id));
}

/// Write `data` to the state file in `dir`: temporary file, sync, rename,
/// sync the folder.
fn write_atomically(dir: &Path, data: &Data) -> Result<(), String> {
    let file = dir.join(STATE_FILE);
    let temp = dir.join(format!(".{STATE_FILE}.tmp"));
    let text = serde_json::to_vec_pretty(data)
        .map_err(|e| format!("cannot encode the registry's state: {e}"))?;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&temp, &file)?;
        // The rename itself is durable once the folder is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| format!("cannot write `{}`: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> SchemaRequest {
        SchemaRequest {
            schema_type: SchemaType::Avro,
            schema: text.to_owned(),
            references: Vec::new(),
        }
    }

    const V1: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}"#;
    const V2: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}"#;

    #[test]
    fn the_same_schema_gets_the_same_id_across_subjects() {
        let mut store = Store::in_memory();
        assert_eq!(store.register("a", &avro(V1)), Ok(1));
        assert_eq!(store.register("b", &avro(&format!(" {V1} "))), Ok(1));
        assert_eq!(store.register("a", &avro(V2)), Ok(2));
        assert_eq!(store.register("a", &avro(V2)), Ok(2));
        assert_eq!(store.versions("a", false), Ok(vec![1, 2]));
        assert_eq!(store.versions("b", false), Ok(vec![1]));
        assert_eq!(
            store.schema_versions(1, false),
            Ok(vec![("a".to_owned(), 1), ("b".to_owned(), 1)])
        );
    }

    #[test]
    fn ids_are_not_given_again_after_a_permanent_delete() {
        let mut store = Store::in_memory();
        assert_eq!(store.register("a", &avro(V1)), Ok(1));
        assert_eq!(store.delete_subject("a", false), Ok(vec![1]));
        assert_eq!(store.delete_subject("a", true), Ok(vec![1]));
        assert_eq!(store.schema(1), Err(Rejection::schema_id_not_found("1")));
        assert_eq!(store.register("a", &avro(V1)), Ok(2));
        assert_eq!(store.versions("a", false), Ok(vec![1]));
    }

    #[test]
    fn state_survives_a_reopen_and_a_bad_file_is_left_alone() {
        let dir = tempfile::tempdir().expect("a folder");
        {
            let mut store = Store::open(dir.path()).expect("opens");
            store.register("a", &avro(V1)).expect("registers");
            store
                .set_subject_level("a", Some(Level::Full))
                .expect("sets");
        }
        let store = Store::open(dir.path()).expect("reopens");
        assert_eq!(store.versions("a", false), Ok(vec![1]));
        assert_eq!(store.subject_level("a"), Some(Level::Full));
        assert_eq!(store.schema(1).map(|s| s.schema), Ok(V1.to_owned()));

        std::fs::write(dir.path().join(STATE_FILE), "{").expect("writes");
        let error = Store::open(dir.path()).expect_err("a broken file");
        assert!(
            error.contains("is not a schema registry's state"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(STATE_FILE)).expect("reads"),
            "{"
        );
    }
}
