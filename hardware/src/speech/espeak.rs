//! espeak-ng as a process: the text on its standard input (never in its arguments, which any
//! user of the machine can read), the WAV on its standard output.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{Pcm, SpeechError, Synthesizer, Voice};

/// Words a minute. espeak-ng's Mandarin voice reads one character as a word, so 170 is about 2.5
/// characters a second, slow and clear; English is slowed from the default 175 for the same ear.
const MANDARIN_RATE: u32 = 170;
const ENGLISH_RATE: u32 = 140;
/// A prompt is a sentence or two; more than this much audio (a minute at 22 kHz) is a fault.
const MAX_WAV_BYTES: u64 = 4 << 20;

pub struct EspeakNg {
    program: PathBuf,
    identity: String,
}

impl EspeakNg {
    /// Finds the engine and its version (which goes into the cache key).
    pub fn new(program: impl Into<PathBuf>) -> Result<EspeakNg, SpeechError> {
        let program = program.into();
        let output = Command::new(&program)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|source| SpeechError::EngineMissing {
                program: program.display().to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(SpeechError::Engine(format!(
                "{} --version exited with {}",
                program.display(),
                output.status
            )));
        }
        let version = String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .unwrap_or("unknown")
            .to_owned();
        Ok(EspeakNg {
            identity: format!(
                "espeak-ng {version}; cmn at {MANDARIN_RATE} wpm; en at {ENGLISH_RATE} wpm"
            ),
            program,
        })
    }
}

impl Synthesizer for EspeakNg {
    fn identity(&self) -> &str {
        &self.identity
    }

    fn synthesize(&self, text: &str, voice: Voice) -> Result<Pcm, SpeechError> {
        let (name, rate) = match voice {
            Voice::Mandarin => ("cmn", MANDARIN_RATE),
            Voice::English => ("en", ENGLISH_RATE),
        };
        let mut child = Command::new(&self.program)
            .args(["-v", name, "-s", &rate.to_string(), "--stdout", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SpeechError::EngineMissing {
                program: self.program.display().to_string(),
                source,
            })?;
        // The text is short: it fits the pipe, so writing it before reading cannot deadlock.
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .and_then(|()| stdin.write_all(b"\n"))
                .map_err(|e| SpeechError::Engine(format!("writing the text: {e}")))?;
        }
        let mut wav = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            stdout
                .take(MAX_WAV_BYTES + 1)
                .read_to_end(&mut wav)
                .map_err(|e| SpeechError::Engine(format!("reading the audio: {e}")))?;
        }
        let mut stderr = String::new();
        if let Some(err) = child.stderr.take() {
            let _ = err.take(4096).read_to_string(&mut stderr);
        }
        if wav.len() as u64 > MAX_WAV_BYTES {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SpeechError::Engine(
                "the audio is longer than a prompt can be".into(),
            ));
        }
        let status = child
            .wait()
            .map_err(|e| SpeechError::Engine(format!("waiting for the engine: {e}")))?;
        if !status.success() {
            let reason = stderr.lines().next().unwrap_or("").trim().to_owned();
            return Err(SpeechError::Engine(format!(
                "exited with {status}: {reason}"
            )));
        }
        let pcm = Pcm::from_wav(&wav)?;
        if pcm.samples.is_empty() {
            return Err(SpeechError::Engine("no audio for the text".into()));
        }
        Ok(pcm)
    }
}
