//! The allocator's part in the server's memory bound.
//!
//! Each argon2id hash takes a 19 MiB buffer (see [`crate::auth::HashingPool`]). glibc's malloc
//! raises its mmap threshold each time such a buffer is freed, after which the next buffers come
//! from the per-thread arenas and stay there when freed: the blocking pool's threads each keep
//! one, and the process holds gigabytes it no longer uses (measured in `benches/logins.rs`,
//! `docs/benchmarks.md`). A fixed threshold keeps large buffers mapped on their own, so freeing
//! one gives it back to the system at once.

/// Allocations of this size or more are mapped on their own and unmapped when freed.
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Makes buffers of [`MMAP_THRESHOLD`] or more return to the OS when freed. Call once at start,
/// before threads are spawned.
pub fn return_large_buffers_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's tuning; the value is within its documented range.
        let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if set != 1 {
            tracing::warn!("the allocator refused a fixed mmap threshold");
        }
    }
}
