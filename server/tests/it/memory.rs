//! Memory the server's password hashing leaves behind: once the hashes are done, their 19 MiB
//! buffers must be back with the system, not kept in the allocator's per-thread arenas.

use crate::common;

use std::sync::Barrier;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(u64::MAX)
}

const THREADS: usize = 8;

/// Runs alone in a child process (see the test below), so that its memory is its own: the
/// other tests of this binary hash passwords and decode images at the same time.
#[test]
#[ignore = "run by finished_hashes_give_their_memory_back in a child process"]
fn hashing_rss_child() {
    if std::env::var_os("KIOSK_TEST_DEFAULT_MALLOC").is_none() {
        kiosk_server::memory::return_large_buffers_to_the_os();
    }
    let start = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                start.wait();
                for _ in 0..2 {
                    assert!(kiosk_server::auth::hash_password("secret123").is_ok());
                }
            });
        }
    });
    println!("VmRSS_KIB={}", rss_kib());
}

fn child_rss_kib(default_malloc: bool) -> u64 {
    let env: &[(&str, &std::ffi::OsStr)] = if default_malloc {
        &[("KIOSK_TEST_DEFAULT_MALLOC", "1".as_ref())]
    } else {
        &[]
    };
    common::run_alone("memory::hashing_rss_child", env)
        .lines()
        .find_map(|l| l.split("VmRSS_KIB=").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .expect("the child prints its RSS")
}

#[test]
fn finished_hashes_give_their_memory_back() {
    let after = child_rss_kib(false);
    // For the record: glibc's default keeps about one 19 MiB buffer per thread that hashed.
    let untuned = child_rss_kib(true);
    eprintln!(
        "RSS after {THREADS} threads hashed: {after} KiB; with malloc's defaults {untuned} KiB"
    );
    // Eight threads' buffers kept would be 152 MiB.
    assert!(
        after < 48 * 1024,
        "RSS {after} KiB after the hashes finished"
    );
}
