//! The store's 256-bit key, kept in a 0600 file created at first start.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::{Zeroize, Zeroizing};

use super::StoreError;

/// A raw SQLCipher key: 32 bytes, handed to SQLite as `x'…'` so no key derivation runs at open.
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// The key as SQLCipher's pragma takes it; the text is zeroised when dropped, as the key is.
    pub(super) fn pragma_value(&self) -> Zeroizing<String> {
        let hex = Zeroizing::new(hex(&self.0));
        Zeroizing::new(format!("\"x'{}'\"", hex.as_str()))
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        // Do not leave the key in freed memory.
        self.0.zeroize();
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// Reads the key file, or creates it (0600, exclusively, synced) if it does not exist.
pub fn load_or_create(path: &Path) -> Result<StoreKey, StoreError> {
    match fs::read_to_string(path).map(Zeroizing::new) {
        Ok(text) => {
            let mode = fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
            if let Ok(mode) = mode
                && mode & 0o077 != 0
            {
                tracing::warn!(
                    mode = format!("{mode:o}"),
                    "key file is readable by others; tightening to 0600"
                );
                fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                    .map_err(|e| StoreError::KeyFile(path.to_owned(), e))?;
            }
            unhex(&text)
                .map(StoreKey)
                .ok_or_else(|| StoreError::KeyFileCorrupt(path.to_owned()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(path),
        Err(e) => Err(StoreError::KeyFile(path.to_owned(), e)),
    }
}

fn create(path: &Path) -> Result<StoreKey, StoreError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| StoreError::KeyFile(path.to_owned(), io::Error::other(e.to_string())))?;
    let key = StoreKey(key);
    let write = || -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(Zeroizing::new(hex(&key.0)).as_bytes())?;
        file.sync_all()?;
        if let Some(dir) = path.parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| StoreError::KeyFile(path.to_owned(), e))?;
    tracing::info!("created a new store key file");
    Ok(key)
}
