//! The on-disk cache of compiled components.
//!
//! Compiling a plugin with Cranelift takes about a second for a 3 MB Rust
//! guest; loading its compiled form takes milliseconds. Entries live in the
//! engine's cache folder, one file per component, named by the SHA-256 of
//! the component's bytes and a hash of the engine's compiler settings and
//! version, so an upgrade or a changed setting simply misses.
//!
//! An entry is written to a temporary file and renamed into place, so a
//! reader never sees half an entry. Each entry starts with a SHA-256 of its
//! payload, checked before the payload is handed to wasmtime; an entry that
//! fails the check or that wasmtime refuses is compiled afresh and
//! rewritten. Failing to read or write the cache is logged and never fails
//! a load.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::Engine;

/// The first bytes of every entry; bump it when the layout changes.
const MAGIC: &[u8; 8] = b"SABOTCC1";

/// Length of the header: magic and payload digest.
const HEADER_LEN: usize = MAGIC.len() + 32;

/// Where a compiled component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// It was compiled now (and stored, if there is a cache).
    Compiled,
    /// It was loaded from the cache.
    Cache,
}

/// The cache entry path for `bytes` compiled for `wasm`, if the engine has
/// a cache.
fn entry_path(engine: &Engine, wasm: &wasmtime::Engine, bytes: &[u8]) -> Option<PathBuf> {
    let dir = engine.cache_dir()?;
    let digest = Sha256::digest(bytes);
    // `DefaultHasher::new` uses fixed keys, so the value is stable between
    // runs of the same build, which is all a cache key needs.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    wasm.precompile_compatibility_hash().hash(&mut hasher);
    Some(dir.join(format!("{}-{:016x}.bin", hex(&digest), hasher.finish())))
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The form of `bytes` compiled for `wasm` (one of `engine`'s wasmtime
/// engines), from `engine`'s cache or compiled now. The compiler settings,
/// fuel metering among them, are part of the entry's name, so code compiled
/// with and without metering is cached side by side.
///
/// # Errors
///
/// Only compilation errors; cache problems are logged.
pub fn load_or_compile(
    engine: &Engine,
    wasm: &wasmtime::Engine,
    path: &Path,
    bytes: &[u8],
) -> Result<(Component, Source), wasmtime::Error> {
    let entry = entry_path(engine, wasm, bytes);
    if let Some(entry) = &entry {
        match read_entry(wasm, entry) {
            Ok(Some(component)) => {
                tracing::debug!(plugin = %path.display(), entry = %entry.display(), "loaded compiled plugin from the cache");
                return Ok((component, Source::Cache));
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(plugin = %path.display(), entry = %entry.display(), %reason, "ignoring a bad compile cache entry; compiling the plugin again");
            }
        }
    }

    let component = Component::new(wasm, bytes)?;
    if let Some(entry) = &entry
        && let Err(reason) = write_entry(&component, entry)
    {
        tracing::warn!(plugin = %path.display(), entry = %entry.display(), %reason, "cannot store the compiled plugin in the cache");
    }
    Ok((component, Source::Compiled))
}

/// Read and check one entry: `Ok(None)` when there is none.
fn read_entry(wasm: &wasmtime::Engine, entry: &Path) -> Result<Option<Component>, String> {
    let data = match std::fs::read(entry) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let (header, payload) = data
        .split_at_checked(HEADER_LEN)
        .ok_or_else(|| "it is shorter than its header".to_owned())?;
    if &header[..MAGIC.len()] != MAGIC {
        return Err("it does not start with the cache's magic bytes".to_owned());
    }
    if header[MAGIC.len()..] != Sha256::digest(payload)[..] {
        return Err("its checksum does not match its contents".to_owned());
    }
    // SAFETY: `Component::deserialize` runs the machine code in `payload`
    // without checking it, so the bytes must be what `Component::serialize`
    // wrote for an engine of this configuration. They are: the entry is
    // named by a hash of the engine's compiler settings and version, it is
    // only ever written whole by `write_entry` (temporary file, then
    // rename), and the SHA-256 just checked rules out a truncated or
    // damaged file. wasmtime itself checks the header for a matching
    // version and target and refuses other bytes. What remains is someone
    // writing a malicious entry into the cache folder on purpose, which
    // needs the same access as replacing the Sabot binary or the plugin
    // itself; the folder is the user's own cache and is trusted like them.
    let component = unsafe { Component::deserialize(wasm, payload) }
        .map_err(|e| format!("wasmtime refused it: {e:#}"))?;
    Ok(Some(component))
}

/// Write one entry via a temporary file and a rename.
fn write_entry(component: &Component, entry: &Path) -> Result<(), String> {
    let payload = component
        .serialize()
        .map_err(|e| format!("cannot serialize it: {e:#}"))?;
    let dir = entry
        .parent()
        .ok_or_else(|| "the cache entry has no folder".to_owned())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let temp = dir.join(format!(
        ".{}.{}.{}.tmp",
        entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("entry"),
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut data = Vec::with_capacity(HEADER_LEN + payload.len());
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&Sha256::digest(&payload));
    data.extend_from_slice(&payload);
    let written = std::fs::write(&temp, &data).and_then(|()| std::fs::rename(&temp, entry));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("cannot write `{}`: {e}", entry.display()));
    }
    Ok(())
}
