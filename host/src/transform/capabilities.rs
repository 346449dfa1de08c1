//! What a plugin may see of the world: [`Grants`], and the WASI context
//! built from them.
//!
//! Without grants a plugin's wall clock stands at the Unix epoch, its
//! random numbers (both `wasi:random/random` and `wasi:random/insecure`)
//! are one fixed sequence, the same in every instance, and it has no
//! folders. The monotonic clock is always the host's: it tells a plugin how
//! long something took, never what time it is.

use std::path::PathBuf;
use std::time::Duration;

use wasmtime_wasi::{FsPerms, HostWallClock, WasiCtx};

use super::TransformError;

/// Where a granted folder appears inside the plugin.
pub const GUEST_DIR: &str = "/data";

/// The seed of the fixed random sequence plugins see unless granted
/// randomness. Any constant would do; this one is written down so that a
/// plugin's output can be reproduced.
const FIXED_SEED: u64 = 0x5ab0_7000_0000_0001;

/// How many bytes the fixed random sequence holds before it repeats.
const FIXED_CYCLE: usize = 4096;

/// The capabilities granted to a plugin beyond logging.
///
/// The default grants nothing; see the module docs of
/// [`transform`](super) for what a plugin sees then.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// The host's wall clock; otherwise it reads 1970-01-01T00:00:00Z.
    pub wall_clock: bool,
    /// Fresh random numbers from the host; otherwise a fixed sequence.
    pub random: bool,
    /// A host folder the plugin may read (never write), mounted at
    /// [`GUEST_DIR`].
    pub read_dir: Option<PathBuf>,
}

/// A wall clock stopped at the Unix epoch.
struct Epoch;

impl HostWallClock for Epoch {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The fixed random sequence: splitmix64 from [`FIXED_SEED`].
pub(super) fn fixed_bytes() -> Vec<u8> {
    let mut state = FIXED_SEED;
    let mut bytes = Vec::with_capacity(FIXED_CYCLE);
    while bytes.len() < FIXED_CYCLE {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        bytes.extend_from_slice(&z.to_le_bytes());
    }
    bytes
}

/// The WASI context of one instance of plugin `plugin` under `grants`:
/// no arguments, environment, standard streams or sockets, ever.
///
/// # Errors
///
/// [`TransformError::Grant`] when the granted folder cannot be opened.
pub(super) fn wasi_ctx(plugin: &str, grants: &Grants) -> Result<WasiCtx, TransformError> {
    let mut builder = WasiCtx::builder();
    if !grants.wall_clock {
        builder.wall_clock(Epoch);
    }
    if !grants.random {
        builder.secure_random(wasmtime_wasi::Deterministic::new(fixed_bytes()));
        builder.insecure_random(wasmtime_wasi::Deterministic::new(fixed_bytes()));
        builder.insecure_random_seed(u128::from(FIXED_SEED));
    }
    if let Some(dir) = &grants.read_dir {
        builder
            .preopened_dir(dir, GUEST_DIR, FsPerms::ReadOnly)
            .map_err(|e| TransformError::Grant {
                plugin: plugin.to_owned(),
                path: dir.clone(),
                message: format!("{e:#}"),
            })?;
    }
    Ok(builder.build())
}
