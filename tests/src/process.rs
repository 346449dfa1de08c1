//! Child processes that never outlive the test process.
//!
//! A broker left running after `cargo test` would hold its ports and its
//! memory until someone noticed, so every child the harness starts is bound
//! to the test process twice over:
//!
//! - The kernel kills it (`PR_SET_PDEATHSIG`) when its parent goes away, even
//!   when the test process is killed with `SIGKILL`. That signal fires when
//!   the *thread* that forked the child exits, and each test runs on a thread
//!   of its own, so every child is forked by one spawner thread that lives as
//!   long as the process.
//! - An `atexit` hook kills and reaps every child on a normal exit (libtest
//!   exits through `exit`, passing or failing) and removes the folders
//!   registered with it.

use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// A request to the spawner thread: the command and where to send the child.
type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// What the exit hook cleans up.
#[derive(Default)]
struct Cleanup {
    /// Process ids of running children, killed at exit.
    pids: Vec<libc::pid_t>,
    /// Folders removed at exit, after the children are gone.
    dirs: Vec<PathBuf>,
}

/// Everything registered for the exit hook.
static CLEANUP: Mutex<Cleanup> = Mutex::new(Cleanup {
    pids: Vec::new(),
    dirs: Vec::new(),
});

/// The channel to the spawner thread, created on first use.
static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

/// Starts `command` as a child that dies with the test process.
///
/// The child is killed by the kernel if the test process dies, and by an exit
/// hook when it exits normally.
///
/// # Errors
///
/// The error of `fork`/`exec`, or of `prctl` in the child.
pub(crate) fn spawn_guarded(mut command: Command) -> io::Result<Child> {
    let parent = libc::pid_t::try_from(std::process::id())
        .map_err(|_| io::Error::other("the test process id does not fit a `pid_t`"))?;
    // SAFETY: the closure runs in the forked child before `exec`, and calls
    // only `prctl` and `getppid`, which are async-signal-safe; it allocates
    // nothing and touches no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between `fork` and `prctl`, in which
            // case the signal will never come.
            if libc::getppid() != parent {
                return Err(io::Error::other(
                    "the test process exited while starting a child",
                ));
            }
            Ok(())
        });
    }

    let spawner = SPAWNER.get_or_init(start_spawner);
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .map_err(|_| io::Error::other("the child spawner lock is poisoned"))?
        .send((command, reply))
        .map_err(|_| io::Error::other("the child spawner thread is gone"))?;
    let child = answer
        .recv()
        .map_err(|_| io::Error::other("the child spawner thread dropped the request"))??;

    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        lock_cleanup().pids.push(pid);
    }
    Ok(child)
}

/// Kills and reaps `child`, and takes it off the exit hook's list.
pub(crate) fn kill_now(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        lock_cleanup().pids.retain(|&registered| registered != pid);
    }
}

/// Registers `dir` to be removed when the test process exits.
pub(crate) fn remove_at_exit(dir: PathBuf) {
    lock_cleanup().dirs.push(dir);
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// # Errors
///
/// The error of binding a listener to port 0.
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Starts the spawner thread and installs the exit hook.
fn start_spawner() -> Mutex<mpsc::Sender<SpawnRequest>> {
    // SAFETY: `kill_children` is an `extern "C"` function without arguments
    // that never unwinds, as `atexit` requires.
    unsafe {
        libc::atexit(kill_children);
    }
    let (requests, incoming) = mpsc::channel::<SpawnRequest>();
    // The thread must outlive every child (see the module docs); it ends only
    // with the process, because the sender lives in a static.
    let spawned = std::thread::Builder::new()
        .name("sabot-tests-spawner".to_owned())
        .spawn(move || {
            for (mut command, reply) in incoming {
                // The requester may have given up; the child is registered by
                // it, so a lost reply only loses the handle.
                let _ = reply.send(command.spawn());
            }
        });
    if let Err(error) = spawned {
        // Without the thread every request fails with "thread is gone".
        eprintln!("sabot-tests: cannot start the child spawner thread: {error}");
    }
    Mutex::new(requests)
}

/// Locks the cleanup list, recovering it from a panicked holder.
fn lock_cleanup() -> std::sync::MutexGuard<'static, Cleanup> {
    CLEANUP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The exit hook: kills and reaps the children, then removes the folders.
extern "C" fn kill_children() {
    // A panic must not unwind into libc.
    let _ = std::panic::catch_unwind(|| {
        let mut cleanup = lock_cleanup();
        for pid in cleanup.pids.drain(..) {
            // SAFETY: plain system calls on a pid this process spawned; a pid
            // already reaped makes them fail harmlessly.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        for dir in cleanup.dirs.drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}
