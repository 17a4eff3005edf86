//! One kiosk process per store: a second one would end the first one's live visit (its wipe
//! and its sync worker act on the same drafts and outbox).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{StoreError, prepare_dir};

const LOCK_FILE: &str = "kiosk.lock";

/// The exclusive right of this process to run a kiosk on a store; held until dropped (or the
/// process ends, whatever way: the kernel releases the lock with the file).
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the store in `data_dir` for this process, or refuses at once if another process
    /// holds it.
    pub fn acquire(data_dir: &Path) -> Result<StoreLock, StoreError> {
        prepare_dir(data_dir)?;
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::DataDir(path.clone(), e))?;
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if taken != 0 {
            let error = std::io::Error::last_os_error();
            return Err(if error.kind() == std::io::ErrorKind::WouldBlock {
                StoreError::InUse(data_dir.to_owned())
            } else {
                StoreError::DataDir(path, error)
            });
        }
        Ok(StoreLock { _file: file })
    }
}
