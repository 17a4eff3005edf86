//! Files at rest that hold secrets or personal data: readable by the server's user only.
//!
//! A mode given at creation is narrowed by the process umask, never widened, and the usual
//! umask (022) leaves new files readable by every user; so each file is created with 0600 and
//! then set to exactly that, whatever the umask.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Read and write for the owner only.
pub const PRIVATE: u32 = 0o600;

/// Creates `path` empty with mode 0600 unless it exists already; an existing file is left as
/// it is. Returns whether it was created.
pub fn create_private(path: &Path) -> io::Result<bool> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(path)
    {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(PRIVATE))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Opens `path` for appending, creating it with mode 0600 if it is missing.
pub fn append_private(path: &Path) -> io::Result<File> {
    create_private(path)?;
    OpenOptions::new().append(true).open(path)
}

/// Creates the new file `path` (failing if it exists) for writing, with exactly `mode`.
pub fn create_new_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(mode))?;
    Ok(file)
}

/// SQLite creates a database file with the umask's mode and gives its -wal and -shm files the
/// main file's mode: creating the main file 0600 first keeps all three private. `:memory:`
/// and `file:` URIs are left to SQLite.
pub fn create_private_database(path: &Path) -> io::Result<()> {
    if path == Path::new(":memory:") || path.to_str().is_some_and(|p| p.starts_with("file:")) {
        return Ok(());
    }
    create_private(path).map(|_| ())
}
