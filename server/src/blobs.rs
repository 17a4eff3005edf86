//! Staged uploads of material files, each named by the SHA-256 of its bytes.
//!
//! A kiosk uploads every file of a submission as a blob before it sends the record, and resumes
//! an upload from the last byte the server holds after a cut. A blob is complete only once its
//! bytes hash to its name and have been fsynced; the record's transaction then copies the bytes
//! into the database (their one durable home), and the staged file is deleted. Staged files
//! that no record took up are deleted once they are older than the server's blob lifetime.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use kiosk_domain::RulesEdition;
use thiserror::Error;

use crate::files;
use crate::util::{is_sha256_hex, sha256_hex};

/// The largest file any known rules edition accepts: no blob may be declared longer.
pub fn max_blob_bytes() -> u64 {
    RulesEdition::ALL
        .iter()
        .map(|edition| {
            let limits = edition.limits();
            limits.photo_max_bytes.max(limits.other_max_bytes)
        })
        .max()
        .unwrap_or(0)
}

/// What the server holds of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub bytes: u64,
    /// The bytes hash to the blob's name and are on disk for good.
    pub complete: bool,
}

#[derive(Debug, Error)]
pub enum BlobError {
    #[error("the blob name is not a SHA-256 in lower-case hex")]
    BadName,
    #[error("the upload starts at byte {offset}, but {held} bytes are held")]
    WrongOffset { offset: u64, held: u64 },
    #[error("the bytes do not hash to the blob's name")]
    HashMismatch,
    #[error("blob storage failed: {0}")]
    Io(#[from] io::Error),
}

/// Where staged blobs live. Implementations must make a blob durable before
/// [`BlobStore::complete`] returns.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    fn held(&self, sha256: &str) -> Result<Held, BlobError>;
    /// Appends `data` at `offset`, which must be the number of bytes held; returns the new count.
    fn append(&self, sha256: &str, offset: u64, data: &[u8]) -> Result<u64, BlobError>;
    /// Checks that the held bytes hash to `sha256` and makes the blob complete and durable. On a
    /// mismatch the held bytes are dropped, so the next upload starts from the first byte.
    fn complete(&self, sha256: &str) -> Result<(), BlobError>;
    /// The bytes of a complete blob.
    fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError>;
    /// Forgets a blob, complete or not; a blob that is not there is no error.
    fn remove(&self, sha256: &str) -> Result<(), BlobError>;
    /// Deletes every staged blob last written before `cutoff`; returns how many.
    fn remove_older_than(&self, cutoff: SystemTime) -> Result<usize, BlobError>;
    /// How many blobs are staged, complete or not.
    fn count(&self) -> Result<usize, BlobError>;
}

/// Blobs as files: `partial/<sha256>` while they arrive, `complete/<sha256>` once checked.
/// Files are 0600, like every file of the server that holds personal data.
#[derive(Debug)]
pub struct DiskBlobs {
    partial: PathBuf,
    complete: PathBuf,
}

impl DiskBlobs {
    pub fn open(dir: &Path) -> io::Result<DiskBlobs> {
        let blobs = DiskBlobs {
            partial: dir.join("partial"),
            complete: dir.join("complete"),
        };
        for sub in [dir, &blobs.partial, &blobs.complete] {
            fs::create_dir_all(sub)?;
            fs::set_permissions(sub, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        }
        Ok(blobs)
    }

    fn paths(&self, sha256: &str) -> Result<(PathBuf, PathBuf), BlobError> {
        if !is_sha256_hex(sha256) {
            return Err(BlobError::BadName);
        }
        Ok((self.partial.join(sha256), self.complete.join(sha256)))
    }
}

fn file_len(path: &Path) -> io::Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl BlobStore for DiskBlobs {
    fn held(&self, sha256: &str) -> Result<Held, BlobError> {
        let (partial, complete) = self.paths(sha256)?;
        if let Some(bytes) = file_len(&complete)? {
            return Ok(Held {
                bytes,
                complete: true,
            });
        }
        Ok(Held {
            bytes: file_len(&partial)?.unwrap_or(0),
            complete: false,
        })
    }

    fn append(&self, sha256: &str, offset: u64, data: &[u8]) -> Result<u64, BlobError> {
        let (partial, _) = self.paths(sha256)?;
        files::create_private(&partial)?;
        let mut file = OpenOptions::new().append(true).open(&partial)?;
        let held = file.metadata()?.len();
        if held != offset {
            return Err(BlobError::WrongOffset { offset, held });
        }
        file.write_all(data)?;
        Ok(held + data.len() as u64)
    }

    fn complete(&self, sha256: &str) -> Result<(), BlobError> {
        let (partial, complete) = self.paths(sha256)?;
        let mut bytes = Vec::new();
        File::open(&partial)?.read_to_end(&mut bytes)?;
        if sha256_hex(&bytes) != sha256 {
            remove_if_there(&partial)?;
            return Err(BlobError::HashMismatch);
        }
        File::open(&partial)?.sync_all()?;
        fs::rename(&partial, &complete)?;
        // The rename is durable only once the directory is.
        File::open(&self.complete)?.sync_all()?;
        Ok(())
    }

    fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let (_, complete) = self.paths(sha256)?;
        match fs::read(&complete) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn remove(&self, sha256: &str) -> Result<(), BlobError> {
        let (partial, complete) = self.paths(sha256)?;
        remove_if_there(&partial)?;
        remove_if_there(&complete)?;
        Ok(())
    }

    fn remove_older_than(&self, cutoff: SystemTime) -> Result<usize, BlobError> {
        let mut removed = 0;
        for dir in [&self.partial, &self.complete] {
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                let written = entry.metadata()?.modified()?;
                if written < cutoff {
                    remove_if_there(&entry.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    fn count(&self) -> Result<usize, BlobError> {
        let mut n = 0;
        for dir in [&self.partial, &self.complete] {
            n += fs::read_dir(dir)?.count();
        }
        Ok(n)
    }
}

/// Distinct files one applicant session may stage per [`QUOTA_WINDOW`]: two submissions of
/// [`crate::api::MAX_MATERIALS`] files each. Staging disk cannot be filled through one session.
pub const FILES_PER_SESSION: usize = 64;
pub const QUOTA_WINDOW: Duration = Duration::from_secs(3600);
/// Sessions remembered at once before those of past windows are forgotten.
const QUOTA_SESSIONS: usize = 10_000;

/// The blobs being uploaded right now: one upload per blob at a time, so two connections of a
/// retrying kiosk never interleave their bytes; and what each session staged lately.
#[derive(Debug, Default, Clone)]
pub struct Uploading {
    names: Arc<Mutex<HashSet<String>>>,
    staged_by_session: Arc<Mutex<HashMap<String, StagedInWindow>>>,
}

/// When a session's current window began, and the files it staged since.
type StagedInWindow = (Instant, HashSet<String>);

/// An upload's claim on its blob; dropping it lets the next upload in.
#[derive(Debug)]
pub struct UploadClaim {
    names: Arc<Mutex<HashSet<String>>>,
    name: String,
}

impl Uploading {
    /// Whether `session` may upload `sha256`: a file it has staged in this window, or a new one
    /// within its quota (then counted).
    pub fn admit(&self, session: &str, sha256: &str) -> bool {
        let now = Instant::now();
        let mut staged = self
            .staged_by_session
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if staged.len() >= QUOTA_SESSIONS {
            staged.retain(|_, (since, _)| now.duration_since(*since) < QUOTA_WINDOW);
        }
        let (since, files) = staged
            .entry(session.to_owned())
            .or_insert_with(|| (now, HashSet::new()));
        if now.duration_since(*since) >= QUOTA_WINDOW {
            *since = now;
            files.clear();
        }
        if files.contains(sha256) {
            return true;
        }
        if files.len() >= FILES_PER_SESSION {
            return false;
        }
        files.insert(sha256.to_owned());
        true
    }

    /// The claim on `sha256`, or `None` while another upload holds it.
    pub fn claim(&self, sha256: &str) -> Option<UploadClaim> {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        names.insert(sha256.to_owned()).then(|| UploadClaim {
            names: self.names.clone(),
            name: sha256.to_owned(),
        })
    }
}

impl Drop for UploadClaim {
    fn drop(&mut self) {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        names.remove(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_complete_only_when_its_bytes_match_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).unwrap();
        let data = b"a material file".as_slice();
        let name = sha256_hex(data);
        assert_eq!(blobs.append(&name, 0, &data[..5]).unwrap(), 5);
        assert!(matches!(
            blobs.append(&name, 3, &data[5..]),
            Err(BlobError::WrongOffset { offset: 3, held: 5 })
        ));
        assert_eq!(
            blobs.held(&name).unwrap(),
            Held {
                bytes: 5,
                complete: false
            }
        );
        assert_eq!(blobs.read(&name).unwrap(), None, "not complete yet");
        blobs.append(&name, 5, &data[5..]).unwrap();
        blobs.complete(&name).unwrap();
        assert_eq!(blobs.read(&name).unwrap().as_deref(), Some(data));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.path().join("complete").join(&name))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);

        let other = sha256_hex(b"something else");
        blobs.append(&other, 0, data).unwrap();
        assert!(matches!(
            blobs.complete(&other),
            Err(BlobError::HashMismatch)
        ));
        assert_eq!(
            blobs.held(&other).unwrap().bytes,
            0,
            "a mismatch starts over"
        );
        assert!(matches!(
            blobs.append("../../etc/passwd", 0, data),
            Err(BlobError::BadName)
        ));
    }

    #[test]
    fn a_session_stages_a_bounded_number_of_files() {
        let uploading = Uploading::default();
        for n in 0..FILES_PER_SESSION {
            assert!(uploading.admit("ses_a", &n.to_string()));
        }
        assert!(uploading.admit("ses_a", "0"), "a file it has already");
        assert!(!uploading.admit("ses_a", "one more"));
        assert!(uploading.admit("ses_b", "one more"), "per session");
    }

    #[test]
    fn one_upload_per_blob_at_a_time() {
        let uploading = Uploading::default();
        let first = uploading.claim("a").unwrap();
        assert!(uploading.claim("a").is_none());
        assert!(uploading.claim("b").is_some());
        drop(first);
        assert!(uploading.claim("a").is_some());
    }
}
