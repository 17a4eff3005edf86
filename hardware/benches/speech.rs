//! `cargo bench -p kiosk-hardware --bench speech`
//!
//! How long an elder waits between a new screen and its first word: espeak-ng synthesising the
//! longest prompt and a short one (the first time a prompt is said on a kiosk), and the same
//! prompt read from the cache (every time after), and ALSA playback's start through `aplay`
//! into the null device.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kiosk_hardware::speech::{Aplay, AudioOut, EspeakNg, Pcm, SpeechCache, Synthesizer, Voice};

const LONG: &str = "没有找到材料的四个角。请把屏幕上的四个圆点拖到材料的四角，然后点击确认四角。";
const SHORT: &str = "正在检查，请稍候。";

fn speech(c: &mut Criterion) {
    let engine = EspeakNg::new("espeak-ng").expect("espeak-ng installed");
    let mut group = c.benchmark_group("speech");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, text) in [("long prompt", LONG), ("short prompt", SHORT)] {
        group.bench_function(format!("espeak-ng synthesis, {name}"), |b| {
            b.iter(|| black_box(engine.synthesize(text, Voice::Mandarin).expect("audio")))
        });
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = SpeechCache::open(dir.path()).expect("cache");
    let pcm = engine.synthesize(LONG, Voice::Mandarin).expect("audio");
    cache
        .put(engine.identity(), Voice::Mandarin, LONG, &pcm)
        .expect("cached");
    group.bench_function("cache read, long prompt", |b| {
        b.iter(|| {
            black_box(
                cache
                    .get(engine.identity(), Voice::Mandarin, LONG)
                    .expect("hit"),
            )
        })
    });
    let blip = Pcm {
        sample_rate: pcm.sample_rate,
        samples: pcm.samples[..pcm.sample_rate as usize / 20].to_vec(),
    };
    let mut null = Aplay::new("aplay", "null");
    group.bench_function("aplay start and 50 ms of audio to the null device", |b| {
        b.iter(|| null.play(&blip, &|| false).expect("played"))
    });
    group.finish();
}

criterion_group!(benches, speech);
criterion_main!(benches);
