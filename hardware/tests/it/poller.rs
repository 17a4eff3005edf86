//! The polling loop's events against the simulator over real pseudo-terminals: placing,
//! removing and replacing cards, read failures, an unresponsive reader, unplug and replug.

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kiosk_hardware::idcard::command::Command;
use kiosk_hardware::idcard::sim::{Fault, FaultKind, SimConfig, SimState, Simulator};
use kiosk_hardware::idcard::{
    CardData, CardReaderDevice, IdCardService, ReaderError, ReaderEvent, ScriptedCardReader, Sw3,
};

/// The bound of a wait for an expected event: the wait ends when it comes, so the bound only
/// decides how long a real failure takes to be reported. 5 s was too short on the two-core
/// machine with the whole suite and two builds running.
const WAIT: Duration = Duration::from_secs(60);

struct Rig {
    _dir: tempfile::TempDir,
    link: PathBuf,
    sim: Option<Simulator>,
    service: IdCardService,
}

fn rig(card: Option<CardData>) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("idcard");
    let sim = Simulator::spawn(SimConfig {
        card,
        link: Some(link.clone()),
        ..SimConfig::default()
    })
    .expect("simulator");
    let service = IdCardService::start(common::fast_config(&link)).expect("service");
    Rig {
        _dir: dir,
        link,
        sim: Some(sim),
        service,
    }
}

impl Rig {
    fn sim(&self) -> &Simulator {
        self.sim.as_ref().expect("simulator running")
    }

    fn next(&self) -> ReaderEvent {
        self.service
            .next_event(WAIT)
            .expect("an event within the deadline")
    }

    /// Asserts that nothing happens for a few poll cycles.
    fn quiet(&self) {
        if let Some(event) = self.service.next_event(Duration::from_millis(300)) {
            panic!("unexpected event {event:?}");
        }
    }
}

fn expected(file: &str) -> CardData {
    let mut card = common::card(file);
    card.photo_wlt = vec![0; 1024];
    card
}

fn assert_read(event: ReaderEvent, file: &str) {
    match event {
        ReaderEvent::CardRead(card) => assert_eq!(*card, expected(file)),
        other => panic!("expected CardRead({file}), got {other:?}"),
    }
}

#[test]
fn place_read_remove_replace() {
    let rig = rig(None);
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    rig.quiet();

    rig.sim()
        .place(common::card("resident.json"))
        .expect("place");
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    assert_read(rig.next(), "resident.json");
    // The card stays: find answers 80 but the card is still selected. No events.
    rig.quiet();

    rig.sim().remove().expect("remove");
    assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
    rig.quiet();

    rig.sim().place(common::card("permit.json")).expect("place");
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    assert_read(rig.next(), "permit.json");

    // Swapped between two polls: seen as a removal then a new card.
    rig.sim()
        .place(common::card("foreign2017.json"))
        .expect("swap");
    assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    assert_read(rig.next(), "foreign2017.json");
    rig.quiet();
}

#[test]
fn every_card_type_through_the_service() {
    let rig = rig(None);
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    for file in common::CARD_FILES {
        rig.sim().place(common::card(file)).expect("place");
        assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
        assert_read(rig.next(), file);
        rig.sim().remove().expect("remove");
        assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
    }
}

#[test]
fn card_present_at_start_and_fragmented_garbage_answers() {
    let rig = rig(Some(common::card("foreign2023.json")));
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    assert_read(rig.next(), "foreign2023.json");
    rig.sim().remove().expect("remove");
    assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
    for fault in [FaultKind::Fragment, FaultKind::Garbage] {
        rig.sim().set_fault(Fault::always(fault)).expect("fault");
        rig.sim()
            .place(common::card("resident.json"))
            .expect("place");
        assert!(matches!(rig.next(), ReaderEvent::CardPlaced), "{fault:?}");
        assert_read(rig.next(), "resident.json");
        rig.sim().remove().expect("remove");
        assert!(matches!(rig.next(), ReaderEvent::CardRemoved), "{fault:?}");
    }
}

#[test]
fn unreadable_card_reports_failures_then_waits_for_removal() {
    let rig = rig(None);
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    // A card the simulator cannot encode: it answers the read with SW3 41.
    let mut broken = common::card("resident.json");
    broken.address = Some("长".repeat(40));
    rig.sim().place(broken).expect("place");
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    for _ in 0..3 {
        match rig.next() {
            ReaderEvent::ReadFailed(e) => {
                assert!(
                    matches!(
                        e,
                        ReaderError::Status {
                            sw3: Sw3::ReadFailed,
                            ..
                        }
                    ),
                    "{e}"
                );
                assert_eq!(e.zh(), "读卡失败，请重新放置身份证");
            }
            other => panic!("expected ReadFailed, got {other:?}"),
        }
    }
    rig.quiet(); // max_read_attempts = 3
    rig.sim().remove().expect("remove");
    assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
}

#[test]
fn lost_read_answer_is_completed_without_a_new_find() {
    let rig = rig(None);
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    // Both attempts (try + retry) of the read get corrupted answers. The simulator has sent
    // the card, so it is "read" and find answers 80: the poller must read it anyway.
    rig.sim()
        .set_fault(Fault::on_command(
            FaultKind::BadChecksum,
            2,
            Command::ReadTextPhoto,
        ))
        .expect("fault");
    rig.sim().place(common::card("permit.json")).expect("place");
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    match rig.next() {
        ReaderEvent::ReadFailed(e) => assert!(
            matches!(
                e,
                ReaderError::Checksum {
                    command: "read-text-photo"
                }
            ),
            "{e}"
        ),
        other => panic!("expected ReadFailed, got {other:?}"),
    }
    assert_eq!(rig.sim().state().expect("state"), SimState::Read);
    assert_read(rig.next(), "permit.json");
    rig.quiet();
}

#[test]
fn unplug_and_replug() {
    let mut rig = rig(Some(common::card("resident.json")));
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    assert_read(rig.next(), "resident.json");

    rig.sim().unplug().expect("unplug");
    assert!(!rig.link.exists());
    // The card was in the field: it is reported gone first.
    assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
    assert!(matches!(rig.next(), ReaderEvent::ReaderDisconnected));
    rig.quiet();

    rig.sim().replug().expect("replug");
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    // The card is still on the reader: read afresh.
    assert!(matches!(rig.next(), ReaderEvent::CardPlaced));
    assert_read(rig.next(), "resident.json");

    // The simulator process goes away entirely, then a new one appears at the same path.
    rig.sim.take();
    assert!(matches!(rig.next(), ReaderEvent::CardRemoved));
    assert!(matches!(rig.next(), ReaderEvent::ReaderDisconnected));
    rig.sim = Some(
        Simulator::spawn(SimConfig {
            link: Some(rig.link.clone()),
            ..SimConfig::default()
        })
        .expect("new simulator"),
    );
    assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
    rig.quiet();
}

#[test]
fn reader_absent_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("idcard");
    let mut service = IdCardService::start(common::fast_config(&link)).expect("service");
    assert!(matches!(
        service.next_event(WAIT),
        Some(ReaderEvent::ReaderDisconnected)
    ));
    assert!(
        service.next_event(Duration::from_millis(200)).is_none(),
        "reported once"
    );
    let _sim = Simulator::spawn(SimConfig {
        link: Some(link.clone()),
        ..SimConfig::default()
    })
    .expect("simulator");
    assert!(matches!(
        service.next_event(WAIT),
        Some(ReaderEvent::ReaderConnected)
    ));
    let t = Instant::now();
    service.stop();
    // Promptly: the poll interval is 20 ms; the bound leaves room for a loaded machine.
    assert!(t.elapsed() < Duration::from_secs(5), "stop joins promptly");
    service.stop();
}

#[test]
fn silent_or_garbled_reader_counts_as_disconnected() {
    for fault in [FaultKind::Silence, FaultKind::WrongBaud] {
        let rig = rig(None);
        assert!(matches!(rig.next(), ReaderEvent::ReaderConnected));
        rig.sim().set_fault(Fault::always(fault)).expect("fault");
        assert!(
            matches!(rig.next(), ReaderEvent::ReaderDisconnected),
            "{fault:?}"
        );
        rig.sim().set_fault(Fault::NONE).expect("fault");
        assert!(
            matches!(rig.next(), ReaderEvent::ReaderConnected),
            "{fault:?}"
        );
    }
}

#[test]
fn scripted_reader_for_ui_tests() {
    let (mut device, script) = ScriptedCardReader::new();
    script.send(ReaderEvent::ReaderConnected).expect("send");
    script
        .send(ReaderEvent::CardRead(Box::new(common::card(
            "resident.json",
        ))))
        .expect("send");
    let boxed: &mut dyn CardReaderDevice = &mut device;
    assert!(matches!(
        boxed.try_next_event(),
        Some(ReaderEvent::ReaderConnected)
    ));
    assert!(matches!(
        boxed.next_event(Duration::from_millis(10)),
        Some(ReaderEvent::CardRead(_))
    ));
    assert!(boxed.try_next_event().is_none());
    boxed.stop();
}

#[test]
fn events_never_show_personal_data() {
    let event = ReaderEvent::CardRead(Box::new(common::card("resident.json")));
    let shown = format!("{event:?}");
    assert!(!shown.contains("张三"));
    assert!(!shown.contains("110101199003070011"));
}
