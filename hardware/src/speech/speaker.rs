//! The speech thread: takes what to say, finds or makes the audio, plays it. A newer request
//! stops the one playing (the screen has changed); a failure is logged once and the kiosk goes
//! on silently.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use super::{AudioOut, Pcm, SpeechCache, SpeechError, Synthesizer, Voice};

/// One sentence to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utterance {
    pub text: String,
    pub voice: Voice,
}

/// What the thread has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeakerStats {
    /// Utterances the engine synthesised.
    pub synthesized: u64,
    /// Utterances whose audio came from the cache.
    pub from_cache: u64,
    /// Utterances played to their end.
    pub played: u64,
    /// Utterances stopped by a newer request.
    pub interrupted: u64,
    /// Utterances that could not be synthesised or played.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    /// Bumped by every request: an utterance of an older generation stops.
    generation: AtomicU64,
    synthesized: AtomicU64,
    from_cache: AtomicU64,
    played: AtomicU64,
    interrupted: AtomicU64,
    failed: AtomicU64,
    /// Requests the thread has finished with (played, stopped or failed).
    done: AtomicU64,
}

struct Request {
    generation: u64,
    utterances: Vec<Utterance>,
    volume: u8,
}

/// The handle the UI holds. Dropping it ends the thread after the current utterance.
pub struct Speaker {
    requests: mpsc::Sender<Request>,
    counters: Arc<Counters>,
}

impl Speaker {
    pub fn start(
        engine: Box<dyn Synthesizer>,
        output: Box<dyn AudioOut>,
        cache: Option<SpeechCache>,
    ) -> Speaker {
        let (requests, inbox) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            engine,
            output,
            cache,
            counters: Arc::clone(&counters),
            last_failure: None,
        };
        let spawned = std::thread::Builder::new()
            .name("speech".into())
            .spawn(move || worker.run(inbox));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the speech thread cannot start; the kiosk stays silent");
        }
        Speaker { requests, counters }
    }

    /// Says `utterances` in order at `volume` percent, after stopping whatever is being said.
    pub fn say(&self, utterances: Vec<Utterance>, volume: u8) {
        let generation = self.counters.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.requests.send(Request {
            generation,
            utterances,
            volume,
        });
    }

    /// Stops what is being said.
    pub fn stop(&self) {
        self.say(Vec::new(), 0);
    }

    pub fn stats(&self) -> SpeakerStats {
        let c = &self.counters;
        SpeakerStats {
            synthesized: c.synthesized.load(Ordering::SeqCst),
            from_cache: c.from_cache.load(Ordering::SeqCst),
            played: c.played.load(Ordering::SeqCst),
            interrupted: c.interrupted.load(Ordering::SeqCst),
            failed: c.failed.load(Ordering::SeqCst),
        }
    }

    /// Whether every request made so far has been dealt with.
    pub fn is_idle(&self) -> bool {
        self.counters.done.load(Ordering::SeqCst) == self.counters.generation.load(Ordering::SeqCst)
    }
}

struct Worker {
    engine: Box<dyn Synthesizer>,
    output: Box<dyn AudioOut>,
    cache: Option<SpeechCache>,
    counters: Arc<Counters>,
    /// The last failure, logged once rather than at every prompt (a kiosk without a sound card
    /// would otherwise fill its journal).
    last_failure: Option<String>,
}

impl Worker {
    fn run(mut self, inbox: mpsc::Receiver<Request>) {
        while let Ok(mut request) = inbox.recv() {
            // Only the newest request matters; the ones before it are already stale.
            while let Ok(newer) = inbox.try_recv() {
                request = newer;
            }
            self.serve(&request);
            self.counters
                .done
                .fetch_max(request.generation, Ordering::SeqCst);
        }
    }

    fn stale(&self, generation: u64) -> bool {
        self.counters.generation.load(Ordering::SeqCst) != generation
    }

    fn serve(&mut self, request: &Request) {
        for utterance in &request.utterances {
            if self.stale(request.generation) {
                return;
            }
            let pcm = match self.audio(utterance) {
                Ok(pcm) => pcm.at_volume(request.volume),
                Err(e) => {
                    self.failed(e);
                    continue;
                }
            };
            let counters = Arc::clone(&self.counters);
            let generation = request.generation;
            let interrupted = move || counters.generation.load(Ordering::SeqCst) != generation;
            match self.output.play(&pcm, &interrupted) {
                Ok(()) if self.stale(generation) => {
                    self.counters.interrupted.fetch_add(1, Ordering::SeqCst);
                }
                Ok(()) => {
                    self.counters.played.fetch_add(1, Ordering::SeqCst);
                    self.last_failure = None;
                }
                Err(e) => self.failed(e),
            }
        }
    }

    fn audio(&mut self, utterance: &Utterance) -> Result<Pcm, SpeechError> {
        let engine = self.engine.identity().to_owned();
        if let Some(pcm) = self
            .cache
            .as_ref()
            .and_then(|c| c.get(&engine, utterance.voice, &utterance.text))
        {
            self.counters.from_cache.fetch_add(1, Ordering::SeqCst);
            return Ok(pcm);
        }
        let pcm = self.engine.synthesize(&utterance.text, utterance.voice)?;
        self.counters.synthesized.fetch_add(1, Ordering::SeqCst);
        if let Some(cache) = &self.cache
            && let Err(e) = cache.put(&engine, utterance.voice, &utterance.text, &pcm)
        {
            tracing::warn!(error = %e, "a prompt's audio could not be cached");
        }
        Ok(pcm)
    }

    fn failed(&mut self, e: SpeechError) {
        self.counters.failed.fetch_add(1, Ordering::SeqCst);
        let text = e.to_string();
        if self.last_failure.as_deref() != Some(text.as_str()) {
            tracing::warn!(error = %text, "a spoken prompt cannot be played; the kiosk goes on silently");
            self.last_failure = Some(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;

    /// An engine of silence: one second of zeros per text.
    struct Quiet;
    impl Synthesizer for Quiet {
        fn identity(&self) -> &str {
            "quiet"
        }
        fn synthesize(&self, _: &str, _: Voice) -> Result<Pcm, SpeechError> {
            Ok(Pcm {
                sample_rate: 8000,
                samples: vec![0; 8000],
            })
        }
    }

    /// An output that plays until it is interrupted (or 10 s), and notes what happened.
    struct Endless(Arc<Mutex<Vec<&'static str>>>);
    impl AudioOut for Endless {
        fn play(&mut self, _: &Pcm, interrupted: &dyn Fn() -> bool) -> Result<(), SpeechError> {
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if interrupted() {
                    self.0.lock().expect("log").push("stopped");
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            self.0.lock().expect("log").push("ran out");
            Ok(())
        }
    }

    fn wait(speaker: &Speaker, what: impl Fn(SpeakerStats) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !what(speaker.stats()) {
            assert!(Instant::now() < deadline, "{:?}", speaker.stats());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_new_request_stops_the_prompt_being_played_and_the_rest_of_its_queue() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let speaker = Speaker::start(Box::new(Quiet), Box::new(Endless(Arc::clone(&log))), None);
        let two = |t: &str| {
            vec![
                Utterance {
                    text: t.to_owned(),
                    voice: Voice::Mandarin,
                },
                Utterance {
                    text: format!("{t} again"),
                    voice: Voice::Mandarin,
                },
            ]
        };
        speaker.say(two("first"), 100);
        wait(&speaker, |s| s.synthesized == 1);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!speaker.is_idle());
        speaker.stop();
        wait(&speaker, |s| s.interrupted == 1);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !speaker.is_idle() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        // The second sentence of the stopped request was never started.
        let stats = speaker.stats();
        assert_eq!((stats.synthesized, stats.played), (1, 0), "{stats:?}");
        assert_eq!(*log.lock().expect("log"), ["stopped"]);
    }
}
