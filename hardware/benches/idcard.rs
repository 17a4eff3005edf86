//! `cargo bench -p kiosk-hardware --bench idcard`
//!
//! * decode+parse of one 1295-byte `30 01` answer (whole and in 64-byte fragments);
//! * the full read cycle find → select → read against the simulator over a pty, with and
//!   without emulated 115200-baud wire time (a pty has no baud rate).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kiosk_hardware::idcard::card::{encode_text_photo, parse_text_photo};
use kiosk_hardware::idcard::command::Response;
use kiosk_hardware::idcard::sim::{SimConfig, Simulator, load_card};
use kiosk_hardware::idcard::{Decoder, IdCardReader, ReaderConfig, Sw3};

fn resident() -> kiosk_hardware::idcard::CardData {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cards/resident.json");
    load_card(&path).expect("example card")
}

fn golden_frame() -> Vec<u8> {
    let data = encode_text_photo(&resident(), &[0u8; 1024]).expect("encodes");
    Response::new(Sw3::Success, data).to_frame()
}

fn decode_parse(decoder: &mut Decoder, chunks: &[&[u8]]) -> usize {
    for chunk in chunks {
        decoder.push(chunk);
    }
    let frame = decoder
        .next_frame()
        .expect("a frame")
        .expect("a valid frame");
    let response = Response::from_frame(&frame).expect("response");
    let card = parse_text_photo(&response.data).expect("card");
    card.photo_wlt.len()
}

fn bench_decode(c: &mut Criterion) {
    let frame = golden_frame();
    assert_eq!(frame.len(), 1295);
    let mut decoder = Decoder::responses();
    c.bench_function("decode+parse 1295-byte frame (1 push)", |b| {
        b.iter(|| decode_parse(&mut decoder, &[black_box(&frame)]))
    });
    let chunks: Vec<&[u8]> = frame.chunks(64).collect();
    c.bench_function("decode+parse 1295-byte frame (64-byte pushes)", |b| {
        b.iter(|| decode_parse(&mut decoder, black_box(&chunks)))
    });
}

fn read_cycle(c: &mut Criterion, name: &str, wire_baud: Option<u32>) {
    let card = resident();
    let sim = Simulator::spawn(SimConfig {
        card: Some(card.clone()),
        wire_baud,
        ..SimConfig::default()
    })
    .expect("simulator");
    let config = ReaderConfig {
        read_appended_address: false,
        ..ReaderConfig::with_path(sim.path().expect("path"))
    };
    let mut reader = IdCardReader::open(&config).expect("reader");
    c.bench_function(name, |b| {
        b.iter_batched(
            // Not timed: put the card back so find answers 9F again.
            || sim.place(card.clone()).expect("place"),
            |()| {
                reader
                    .read_card()
                    .expect("read cycle")
                    .expect("card present")
            },
            BatchSize::PerIteration,
        )
    });
}

fn bench_read_cycle(c: &mut Criterion) {
    read_cycle(c, "read cycle find+select+read over pty", None);
    read_cycle(
        c,
        "read cycle find+select+read over pty, 115200-baud wire emulated",
        Some(115_200),
    );
}

criterion_group! {
    name = decode;
    config = Criterion::default();
    targets = bench_decode
}
criterion_group! {
    name = cycle;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    targets = bench_read_cycle
}
criterion_main!(decode, cycle);
