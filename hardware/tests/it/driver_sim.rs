//! The driver against the simulator over real pseudo-terminals: every card type, every fault.

use crate::common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use kiosk_hardware::idcard::command::Command;
use kiosk_hardware::idcard::sim::{Fault, FaultKind, SimConfig, SimState, Simulator};
use kiosk_hardware::idcard::{BaudRate, CardData, IdCardReader, ReaderError, Sw3};

fn sim_with(card: Option<CardData>, fault: Fault, seed: u64) -> Simulator {
    Simulator::spawn(SimConfig {
        card,
        fault,
        seed,
        ..SimConfig::default()
    })
    .expect("simulator starts")
}

fn reader_for(sim: &Simulator) -> IdCardReader {
    let path = sim.path().expect("device path");
    IdCardReader::open(&common::fast_config(path)).expect("reader opens")
}

fn expected(file: &str) -> CardData {
    let mut card = common::card(file);
    card.photo_wlt = vec![0; 1024];
    card
}

#[test]
fn reads_every_card_type() {
    for file in common::CARD_FILES {
        let sim = sim_with(Some(common::card(file)), Fault::NONE, 1);
        let mut reader = reader_for(&sim);
        reader.sam_status().expect("status 90");
        let card = reader.read_card().expect("no error").expect("a card");
        assert_eq!(card, expected(file), "{file}");
        assert_eq!(sim.state().expect("state"), SimState::Read);
    }
}

#[test]
fn sam_commands() {
    let sim = sim_with(None, Fault::NONE, 1);
    let mut reader = reader_for(&sim);
    reader.reset_sam().expect("reset");
    reader.sam_status().expect("status");
    assert_eq!(
        reader.sam_id().expect("id"),
        "05.01-20101028-0000123456-1234567890"
    );
    reader
        .set_baud(BaudRate::B115200)
        .expect("set baud acknowledged");
    reader.set_max_rf_bytes(0x50).expect("set RF acknowledged");
}

#[test]
fn no_card_and_card_lifecycle() {
    let sim = sim_with(None, Fault::NONE, 1);
    let mut reader = reader_for(&sim);
    assert_eq!(reader.read_card().expect("no error"), None);
    assert!(matches!(
        reader.select_card(),
        Err(ReaderError::Status {
            sw3: Sw3::SelectFailed,
            ..
        })
    ));
    assert!(matches!(
        reader.read_text_photo(),
        Err(ReaderError::Status {
            sw3: Sw3::ReadFailed,
            ..
        })
    ));

    sim.place(common::card("resident.json")).expect("place");
    assert!(reader.read_card().expect("no error").is_some());
    // A read card stays selected: find answers 80, the presence probe says "still there".
    assert!(!reader.find_card().expect("find"));
    assert!(reader.probe_still_selected().expect("probe"));
    // Reading again without find/select works (the YinanSoft workaround).
    assert_eq!(
        reader.read_text_photo().expect("re-read"),
        expected("resident.json")
    );

    sim.remove().expect("remove");
    assert!(!reader.find_card().expect("find"));
    assert!(!reader.probe_still_selected().expect("probe"));

    sim.place(common::card("permit.json")).expect("place");
    assert_eq!(
        reader.read_card().expect("no error"),
        Some(expected("permit.json"))
    );
}

#[test]
fn appended_address_and_fingerprint() {
    let mut card = common::card("resident.json");
    card.appended_address = Some("云南省昆明市五华区翠湖南路1号".into());
    card.fingerprint = Some(vec![0x42; 1024]);
    let sim = sim_with(Some(card.clone()), Fault::NONE, 1);
    let path = sim.path().expect("path");
    let mut config = common::fast_config(path);
    config.read_fingerprint = true;
    let mut reader = IdCardReader::open(&config).expect("opens");
    let read = reader.read_card().expect("no error").expect("card");
    assert_eq!(read.appended_address, card.appended_address);
    assert_eq!(read.fingerprint, Some(vec![0x42; 1024]));
    assert_eq!(read.photo_wlt.len(), 1024);

    // Without an appended address the reader answers 91: not an error.
    let sim = sim_with(Some(common::card("permit.json")), Fault::NONE, 1);
    let mut reader = reader_for(&sim);
    reader.read_card().expect("no error").expect("card");
    assert_eq!(reader.read_appended_address().expect("91 is fine"), None);
}

#[test]
fn fragmented_answers_are_reassembled() {
    for (seed, file) in common::CARD_FILES.iter().enumerate() {
        let sim = sim_with(
            Some(common::card(file)),
            Fault::always(FaultKind::Fragment),
            seed as u64 + 10,
        );
        let mut reader = reader_for(&sim);
        let card = reader.read_card().expect("no error").expect("card");
        assert_eq!(card, expected(file), "{file}");
    }
}

#[test]
fn garbage_before_frames_is_skipped() {
    for seed in 0..6 {
        let sim = sim_with(
            Some(common::card("foreign2023.json")),
            Fault::always(FaultKind::Garbage),
            seed,
        );
        let mut reader = reader_for(&sim);
        reader.sam_status().expect("status through garbage");
        let card = reader.read_card().expect("no error").expect("card");
        assert_eq!(card, expected("foreign2023.json"), "seed {seed}");
    }
}

#[test]
fn one_bad_checksum_is_retried() {
    let sim = sim_with(Some(common::card("resident.json")), Fault::NONE, 1);
    let mut reader = reader_for(&sim);
    assert!(reader.find_card().expect("find"));
    reader.select_card().expect("select");
    sim.set_fault(Fault::times(FaultKind::BadChecksum, 1))
        .expect("fault");
    let card = reader.read_text_photo().expect("the retry recovers");
    assert_eq!(card, expected("resident.json"));
}

#[test]
fn persistent_bad_checksum_is_a_clear_error() {
    let sim = sim_with(
        Some(common::card("resident.json")),
        Fault::always(FaultKind::BadChecksum),
        1,
    );
    let mut reader = reader_for(&sim);
    let err = reader.read_card().expect_err("every answer is corrupted");
    assert!(
        matches!(
            err,
            ReaderError::Checksum {
                command: "find-card"
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("checksum"));
    assert!(!err.zh().is_empty());
    // Two corrupted answers (attempt + one retry), then the fault is cleared by hand.
    sim.set_fault(Fault::times(FaultKind::BadChecksum, 2))
        .expect("fault");
    assert!(matches!(
        reader.find_card(),
        Err(ReaderError::Checksum { .. })
    ));
    assert!(reader.find_card().expect("clean again"));
}

#[test]
fn silence_is_a_timeout_and_one_lost_answer_is_retried() {
    let sim = sim_with(
        Some(common::card("permit.json")),
        Fault::times(FaultKind::Silence, 1),
        1,
    );
    let mut reader = reader_for(&sim);
    let t = Instant::now();
    assert!(reader.find_card().expect("retry recovers"));
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "waited one timeout"
    );

    sim.set_fault(Fault::always(FaultKind::Silence))
        .expect("fault");
    let t = Instant::now();
    let err = reader.select_card().expect_err("no answer");
    let elapsed = t.elapsed();
    assert!(
        matches!(
            err,
            ReaderError::Timeout {
                command: "select-card",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        elapsed >= Duration::from_millis(500),
        "two attempts: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(err.is_retryable() && !err.is_disconnect());
}

#[test]
fn wrong_baud_rate_is_a_clear_error() {
    let sim = sim_with(
        Some(common::card("resident.json")),
        Fault::always(FaultKind::WrongBaud),
        3,
    );
    let mut reader = reader_for(&sim);
    let err = reader.sam_status().expect_err("noise only");
    match &err {
        ReaderError::Garbled { command, bytes } => {
            assert_eq!(*command, "sam-status");
            assert!(*bytes > 0);
        }
        other => panic!("expected Garbled, got {other}"),
    }
    assert!(err.to_string().contains("baud"));
    sim.set_fault(Fault::NONE).expect("fault");
    reader.sam_status().expect("recovers once the rates match");
}

#[test]
fn status_errors_are_not_retried() {
    let sim = sim_with(None, Fault::NONE, 1);
    let mut reader = reader_for(&sim);
    let err = reader.select_card().expect_err("81");
    assert!(!err.is_retryable());
    assert_eq!(err.zh(), "身份证选卡失败，请重新放置身份证");
}

#[test]
fn simulator_answers_bad_host_frames() {
    let sim = sim_with(None, Fault::NONE, 1);
    let path = sim.path().expect("path");
    let mut port = serialport::new(path.to_string_lossy(), 115_200)
        .timeout(Duration::from_millis(500))
        .open()
        .expect("opens");
    let mut ask = |bytes: &[u8]| -> Vec<u8> {
        port.clear(serialport::ClearBuffer::Input).expect("flush");
        port.write_all(bytes).expect("write");
        let mut decoder = kiosk_hardware::idcard::Decoder::responses();
        let mut buf = [0u8; 64];
        let end = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end {
            if let Ok(n) = port.read(&mut buf) {
                decoder.push(&buf[..n]);
            }
            if let Some(Ok(frame)) = decoder.next_frame() {
                return frame.body;
            }
        }
        panic!("no answer");
    };
    let mut bad_chk = Command::FindCard.to_frame();
    *bad_chk.last_mut().expect("chk") ^= 1;
    assert_eq!(ask(&bad_chk), vec![0, 0, 0x10]);
    assert_eq!(
        ask(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x01, 0x00]),
        vec![0, 0, 0x11]
    );
    let unknown = kiosk_hardware::idcard::frame::encode_frame(&[0x42, 0x42]);
    assert_eq!(ask(&unknown), vec![0, 0, 0x21]);
    let bad_baud = kiosk_hardware::idcard::frame::encode_frame(&[0x60, 0x09]);
    assert_eq!(ask(&bad_baud), vec![0, 0, 0x21]);
    assert_eq!(ask(&Command::SamStatus.to_frame()), vec![0, 0, 0x90]);
}

#[test]
fn open_errors_name_the_path_only() {
    let err = IdCardReader::open(&common::fast_config("/nonexistent/idcard"))
        .expect_err("no such device");
    assert!(err.is_disconnect());
    assert_eq!(err.zh(), "读卡器未连接");
    assert!(err.to_string().contains("/nonexistent/idcard"));
}

#[test]
fn unplug_is_a_disconnect_error() {
    let sim = sim_with(Some(common::card("resident.json")), Fault::NONE, 1);
    let mut reader = reader_for(&sim);
    reader.sam_status().expect("status");
    sim.unplug().expect("unplug");
    let err = reader.find_card().expect_err("pty closed");
    assert!(err.is_disconnect(), "{err}");
}
