//! Each prompt's audio, synthesised once: a WAV file per engine, voice and text, named by their
//! hash. The prompts hold no personal data (the domain's `guidance` makes sure of that); the
//! files are 0600 in a 0700 folder all the same, like everything else the kiosk writes.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Pcm, SpeechError, Voice};

pub struct SpeechCache {
    dir: PathBuf,
}

impl SpeechCache {
    /// Opens (and if need be creates, 0700) the cache folder.
    pub fn open(dir: impl Into<PathBuf>) -> Result<SpeechCache, SpeechError> {
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(SpeechError::Cache)?;
        Ok(SpeechCache { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, engine: &str, voice: Voice, text: &str) -> PathBuf {
        let mut hash = Sha256::new();
        for part in [engine, &format!("{voice:?}"), text] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        let name: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.wav"))
    }

    /// The audio made earlier for this text, if it is there and reads. A damaged file is
    /// removed, to be made again.
    pub fn get(&self, engine: &str, voice: Voice, text: &str) -> Option<Pcm> {
        let path = self.path(engine, voice, text);
        let bytes = fs::read(&path).ok()?;
        match Pcm::from_wav(&bytes) {
            Ok(pcm) => Some(pcm),
            Err(e) => {
                tracing::warn!(error = %e, "a cached prompt is damaged; it is made again");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Keeps the audio, written whole under a temporary name and then renamed, so that a power
    /// cut leaves either the whole file or none.
    pub fn put(
        &self,
        engine: &str,
        voice: Voice,
        text: &str,
        pcm: &Pcm,
    ) -> Result<(), SpeechError> {
        let path = self.path(engine, voice, text);
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let written = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut f| f.write_all(&pcm.to_wav()).and_then(|()| f.sync_all()))
            .and_then(|()| fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map_err(SpeechError::Cache)
    }
}
