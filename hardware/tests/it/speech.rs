//! Speech on real parts: espeak-ng synthesises, `aplay` plays through ALSA into ALSA's own file
//! plugin (the test sink: a WAV file where a sound card would be), the cache is real files.

use std::path::Path;
use std::time::{Duration, Instant};

use kiosk_hardware::speech::{
    Aplay, AudioOut, EspeakNg, Pcm, Speaker, SpeechCache, SpeechError, Synthesizer, Utterance,
    Voice,
};

const MANDARIN: &str = "请把身份证放在下方的读卡区";
const ENGLISH: &str = "Please place your ID card on the reader below.";

fn engine() -> EspeakNg {
    EspeakNg::new("espeak-ng").expect("espeak-ng is installed by the test command")
}

/// ALSA's file plugin: what is played lands in `path` as a WAV file.
fn sink(path: &Path) -> Aplay {
    Aplay::new("aplay", format!("file:FILE={},FORMAT=wav", path.display()))
}

fn wait_idle(speaker: &Speaker) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !speaker.is_idle() {
        assert!(
            Instant::now() < deadline,
            "speech never finished: {:?}",
            speaker.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn espeak_ng_makes_audible_speech_of_plausible_length_in_both_voices() {
    let engine = engine();
    assert!(
        engine.identity().starts_with("espeak-ng 1."),
        "{}",
        engine.identity()
    );
    for (text, voice, syllables) in [
        (MANDARIN, Voice::Mandarin, 13.0),
        (ENGLISH, Voice::English, 13.0),
    ] {
        let pcm = engine.synthesize(text, voice).expect("synthesised");
        let secs = pcm.duration().as_secs_f64();
        // Between 1.5 and 5 syllables a second: slow, as for an elder, but not a drone.
        assert!(
            (syllables / 5.0..syllables / 1.5).contains(&secs),
            "{voice:?}: {secs:.2} s for {syllables} syllables"
        );
        assert!(
            pcm.rms() > 500.0,
            "{voice:?} is too quiet: rms {:.0}",
            pcm.rms()
        );
    }
}

#[test]
fn the_text_reaches_the_engine_on_its_input_not_its_arguments() {
    // A program that prints its arguments where the audio should be: the text must not be there.
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("fake-espeak");
    std::fs::write(
        &script,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'eSpeak NG text-to-speech: 1.51'; exit 0; fi\necho \"$@\" >&2\nexit 3\n",
    )
    .expect("write");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("chmod");
    let engine = EspeakNg::new(&script).expect("version read");
    match engine.synthesize("王小明", Voice::Mandarin) {
        Err(SpeechError::Engine(reason)) => {
            assert!(reason.contains("--stdin"), "{reason}");
            assert!(!reason.contains("王小明"), "{reason}");
        }
        other => panic!("expected the engine's failure, got {other:?}"),
    }
}

#[test]
fn a_missing_engine_is_a_clear_error() {
    assert!(matches!(
        EspeakNg::new("/nonexistent/espeak-ng"),
        Err(SpeechError::EngineMissing { .. })
    ));
}

#[test]
fn playback_reaches_the_alsa_sink_whole_and_at_the_volume_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("sink.wav");
    let pcm = engine()
        .synthesize(MANDARIN, Voice::Mandarin)
        .expect("synthesised");
    let mut aplay = sink(&out);
    aplay.play(&pcm, &|| false).expect("played");
    let heard = Pcm::from_wav(&std::fs::read(&out).expect("sink written")).expect("a WAV");
    assert_eq!(heard.sample_rate, pcm.sample_rate);
    assert!(
        heard.samples.len() >= pcm.samples.len()
            && heard.samples.len() <= pcm.samples.len() + pcm.sample_rate as usize,
        "{} samples heard of {}",
        heard.samples.len(),
        pcm.samples.len()
    );
    assert_eq!(&heard.samples[..pcm.samples.len()], &pcm.samples[..]);

    let half = pcm.at_volume(50);
    aplay.play(&half, &|| false).expect("played");
    let quieter = Pcm::from_wav(&std::fs::read(&out).expect("sink written")).expect("a WAV");
    let ratio = quieter.rms() / heard.rms();
    assert!((0.45..0.55).contains(&ratio), "level ratio {ratio:.2}");
}

#[test]
fn a_missing_sound_card_is_an_error_not_a_hang() {
    let pcm = engine()
        .synthesize("好", Voice::Mandarin)
        .expect("synthesised");
    let started = Instant::now();
    let err = Aplay::new("aplay", "hw:CARD=NoSuchCard")
        .play(&pcm, &|| false)
        .expect_err("no such card");
    assert!(matches!(err, SpeechError::NoOutput(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = Aplay::new("/nonexistent/aplay", "default")
        .play(&pcm, &|| false)
        .expect_err("no aplay");
    assert!(matches!(err, SpeechError::NoOutput(_)), "{err}");
}

#[test]
fn the_speaker_synthesises_once_then_plays_from_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("sink.wav");
    let cache_dir = dir.path().join("cache");
    let utterance = || {
        vec![Utterance {
            text: MANDARIN.to_owned(),
            voice: Voice::Mandarin,
        }]
    };
    let speaker = Speaker::start(
        Box::new(engine()),
        Box::new(sink(&out)),
        Some(SpeechCache::open(&cache_dir).expect("cache")),
    );
    speaker.say(utterance(), 100);
    wait_idle(&speaker);
    let first = std::fs::read(&out).expect("played");
    assert_eq!(speaker.stats().synthesized, 1);
    assert_eq!(speaker.stats().played, 1);
    let cached: Vec<_> = std::fs::read_dir(&cache_dir)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cached[0]).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    std::fs::remove_file(&out).expect("rm");
    speaker.say(utterance(), 100);
    wait_idle(&speaker);
    let stats = speaker.stats();
    assert_eq!(
        (stats.synthesized, stats.from_cache, stats.played),
        (1, 1, 2),
        "{stats:?}"
    );
    assert_eq!(std::fs::read(&out).expect("played again"), first);

    // A damaged cache file is made again, not played.
    std::fs::write(&cached[0], b"RIFF").expect("damage");
    speaker.say(utterance(), 100);
    wait_idle(&speaker);
    assert_eq!(speaker.stats().synthesized, 2);
    assert_eq!(speaker.stats().played, 3);
}

#[test]
fn a_speaker_without_sound_goes_on_and_counts_the_failures() {
    let speaker = Speaker::start(
        Box::new(engine()),
        Box::new(Aplay::new("aplay", "hw:CARD=NoSuchCard")),
        None,
    );
    for _ in 0..3 {
        speaker.say(
            vec![Utterance {
                text: "好".to_owned(),
                voice: Voice::Mandarin,
            }],
            80,
        );
        wait_idle(&speaker);
    }
    let stats = speaker.stats();
    assert_eq!((stats.failed, stats.played), (3, 0), "{stats:?}");
}
