//! What the process does to itself before it handles anyone's data.

use std::io;

/// Forbids core dumps of this process: the watchdog kills a frozen kiosk with SIGABRT, and a
/// dump would write the applicant's data and the store key to disk in the clear. The process is
/// made non-dumpable (which also closes `/proc/PID/mem` and ptrace to other processes of the
/// same user) and its core size limit is set to zero, in case a dump is forced anyway.
pub fn forbid_core_dumps() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_DUMPABLE takes one integer argument and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if core_limit() == Some(0) {
        // Already so (the unit's `LimitCORE=0`, whose seccomp filter refuses setrlimit).
        return Ok(());
    }
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `none` is a valid rlimit that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The hard limit on core dump size, if it can be read.
fn core_limit() -> Option<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) };
    (read == 0).then_some(limit.rlim_max.max(limit.rlim_cur))
}

/// Whether core dumps are forbidden now: not dumpable and a zero core limit.
pub fn core_dumps_forbidden() -> bool {
    // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    dumpable == 0 && core_limit() == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_forbidding_no_core_can_be_dumped() {
        forbid_core_dumps().expect("forbid");
        assert!(core_dumps_forbidden());
    }
}
