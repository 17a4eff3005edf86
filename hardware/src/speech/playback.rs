//! ALSA playback through `aplay`: the WAV on its standard input, to the device the site names
//! (`default`, a `hw:` card, or in tests ALSA's file plugin).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{AudioOut, Pcm, SpeechError};

/// How often a playing prompt looks whether it should stop for a newer one.
const POLL: Duration = Duration::from_millis(20);

pub struct Aplay {
    program: PathBuf,
    device: String,
}

impl Aplay {
    pub fn new(program: impl Into<PathBuf>, device: impl Into<String>) -> Aplay {
        Aplay {
            program: program.into(),
            device: device.into(),
        }
    }

    fn spawn(&self) -> Result<Child, SpeechError> {
        Command::new(&self.program)
            .args(["-q", "-t", "wav", "-D", &self.device, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                SpeechError::NoOutput(format!("{} cannot be started: {e}", self.program.display()))
            })
    }
}

impl AudioOut for Aplay {
    fn play(&mut self, pcm: &Pcm, interrupted: &dyn Fn() -> bool) -> Result<(), SpeechError> {
        let mut child = self.spawn()?;
        let wav = pcm.to_wav();
        // aplay reads as fast as it plays: the writer blocks on the pipe, so it gets a thread and
        // this one stays free to stop the prompt.
        let writer = child.stdin.take().map(|mut stdin| {
            std::thread::spawn(move || {
                // A broken pipe means aplay stopped (interrupted, or no device): its status says why.
                let _ = stdin.write_all(&wav);
            })
        });
        let status = loop {
            if interrupted() {
                let _ = child.kill();
                let _ = child.wait();
                if let Some(w) = writer {
                    let _ = w.join();
                }
                return Ok(());
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(POLL),
                Err(e) => return Err(SpeechError::NoOutput(format!("waiting for aplay: {e}"))),
            }
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        if status.success() {
            return Ok(());
        }
        let mut stderr = String::new();
        if let Some(err) = child.stderr.take() {
            let _ = err.take(4096).read_to_string(&mut stderr);
        }
        let reason = stderr.lines().next().unwrap_or("").trim();
        Err(SpeechError::NoOutput(format!(
            "aplay on {} exited with {status}: {reason}",
            self.device
        )))
    }
}
