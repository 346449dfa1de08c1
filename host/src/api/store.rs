//! Connectors kept across restarts of `sabot serve`: one JSON file per
//! connector in the state folder, holding its config as submitted, its
//! target state and, for a generated source, how far it got.
//!
//! Files are written to a temporary name, synced and renamed, so a crash
//! leaves either the old file or the new one, never half of one. The
//! config is kept as the user sent it (secrets included, as Kafka Connect
//! keeps them in its config topic), so the files are readable by their
//! owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One stored connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredConnector {
    /// The connector's name.
    pub name: String,
    /// Its config as submitted: a Kafka Connect flat map or the structured
    /// pipeline.
    pub config: Map<String, Value>,
    /// `RUNNING`, `PAUSED` or `STOPPED`.
    pub target: String,
    /// The folder relative paths in the config are resolved against.
    pub base_dir: PathBuf,
    /// How many records a generated source had acknowledged; absent for a
    /// Kafka source, whose offsets its consumer group keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
}

/// The state folder.
#[derive(Debug, Clone)]
pub struct Store {
    /// Where the files are.
    dir: PathBuf,
}

impl Store {
    /// Open (creating it if needed) the state folder `dir`.
    ///
    /// # Errors
    ///
    /// The folder cannot be created.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the state folder `{}`: {e}", dir.display()))?;
        Ok(Store {
            dir: dir.to_owned(),
        })
    }

    /// The file of connector `name`. Names are checked by the pipeline
    /// rules (letters, digits, `.`, `_`, `-`), so they cannot leave the
    /// folder; anything else is refused here too.
    fn file(&self, name: &str) -> Result<PathBuf, String> {
        if name.is_empty() || name.contains(['/', '\\', '\0']) {
            return Err(format!("`{name}` cannot name a state file"));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Write `connector`'s file atomically.
    ///
    /// # Errors
    ///
    /// The file cannot be written.
    pub fn save(&self, connector: &StoredConnector) -> Result<(), String> {
        let file = self.file(&connector.name)?;
        let temp = self.dir.join(format!(".{}.json.tmp", connector.name));
        let text = serde_json::to_vec_pretty(connector)
            .map_err(|e| format!("cannot encode connector `{}`: {e}", connector.name))?;
        let write = || -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&temp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&temp, &file)?;
            // The rename itself is durable once the folder is synced.
            if let Ok(d) = std::fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| format!("cannot write `{}`: {e}", file.display()))
    }

    /// Remove connector `name`'s file; a missing file is fine.
    ///
    /// # Errors
    ///
    /// The file exists and cannot be removed.
    pub fn remove(&self, name: &str) -> Result<(), String> {
        let file = self.file(name)?;
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove `{}`: {e}", file.display())),
        }
    }

    /// Every stored connector, sorted by name; files that cannot be read
    /// come back as errors naming the file.
    pub fn load_all(&self) -> Vec<Result<StoredConnector, String>> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            // Temporary files end in `.tmp`, so only finished files match.
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let text = std::fs::read(&path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                serde_json::from_slice(&text)
                    .map_err(|e| format!("`{}` is not a stored connector: {e}", path.display()))
            })
            .collect()
    }
}
