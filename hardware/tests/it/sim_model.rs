//! The simulator's protocol logic without I/O.

use crate::common;

use kiosk_hardware::idcard::command::{Command, Request, Response};
use kiosk_hardware::idcard::frame::{DecodeError, Decoder, RawFrame};
use kiosk_hardware::idcard::sim::{FaultKind, ReaderModel, SimRng, SimState};
use kiosk_hardware::idcard::status::Sw3;

fn ask(model: &mut ReaderModel, command: Command) -> Response {
    let mut decoder = Decoder::requests();
    decoder.push(&command.to_frame());
    let frame = decoder.next_frame().expect("frame");
    let request = Request::from_frame(frame.as_ref().expect("valid")).expect("request");
    assert_eq!(request.cmd, command.code()[0]);
    model.handle(frame)
}

#[test]
fn states_follow_the_spec() {
    let mut model = ReaderModel::new();
    assert_eq!(ask(&mut model, Command::FindCard).sw3, Sw3::NoCard);
    model.place(common::card("resident.json"));
    assert_eq!(model.state(), SimState::Present);
    assert_eq!(ask(&mut model, Command::SelectCard).sw3, Sw3::SelectFailed);
    assert_eq!(ask(&mut model, Command::ReadTextPhoto).sw3, Sw3::ReadFailed);
    let found = ask(&mut model, Command::FindCard);
    assert_eq!((found.sw3, found.data.len()), (Sw3::FindSuccess, 4));
    assert_eq!(model.state(), SimState::Found);
    let selected = ask(&mut model, Command::SelectCard);
    assert_eq!((selected.sw3, selected.data.len()), (Sw3::Success, 8));
    assert_eq!(model.state(), SimState::Selected);
    let read = ask(&mut model, Command::ReadTextPhoto);
    assert_eq!((read.sw3, read.data.len()), (Sw3::Success, 4 + 256 + 1024));
    assert_eq!(read.to_frame().len(), 1295);
    assert_eq!(model.state(), SimState::Read);
    // After a read, find fails until the card leaves; reads still work.
    assert_eq!(ask(&mut model, Command::FindCard).sw3, Sw3::NoCard);
    assert_eq!(
        ask(&mut model, Command::ReadAppendedAddress).sw3,
        Sw3::NoContent
    );
    assert_eq!(ask(&mut model, Command::ReadTextPhoto).sw3, Sw3::Success);
    let fp = ask(&mut model, Command::ReadTextPhotoFingerprint);
    assert_eq!(fp.to_frame().len(), 1297, "30 10 without fingerprint");
    model.remove();
    assert_eq!(model.state(), SimState::NoCard);
    assert_eq!(
        ask(&mut model, Command::ReadAppendedAddress).sw3,
        Sw3::ReadFailed
    );
    // Reset puts a card back to Present.
    model.place(common::card("permit.json"));
    ask(&mut model, Command::FindCard);
    assert_eq!(ask(&mut model, Command::ResetSam).sw3, Sw3::Success);
    assert_eq!(model.state(), SimState::Present);
}

#[test]
fn fingerprint_frame_is_2321_bytes() {
    let mut model = ReaderModel::new();
    let mut card = common::card("resident.json");
    card.fingerprint = Some(vec![1; 1024]);
    model.place(card);
    ask(&mut model, Command::FindCard);
    ask(&mut model, Command::SelectCard);
    let frame = ask(&mut model, Command::ReadTextPhotoFingerprint).to_frame();
    assert_eq!(frame.len(), 2321);
    assert_eq!(&frame[5..7], &[0x09, 0x0A]);
}

#[test]
fn oversized_card_data_is_an_info_length_error_not_a_panic() {
    let mut model = ReaderModel::new();
    let mut card = common::card("resident.json");
    card.photo_wlt = vec![0; 3000];
    model.place(card);
    ask(&mut model, Command::FindCard);
    ask(&mut model, Command::SelectCard);
    assert_eq!(
        ask(&mut model, Command::ReadTextPhoto).sw3,
        Sw3::InfoLengthError
    );
}

#[test]
fn bad_frames_and_unknown_commands() {
    let mut model = ReaderModel::new();
    let r = model.handle(Err(DecodeError::Checksum {
        computed: 1,
        received: 2,
    }));
    assert_eq!(r.sw3, Sw3::HostChecksumError);
    assert_eq!(
        model.handle(Err(DecodeError::Length(1))).sw3,
        Sw3::HostLengthError
    );
    let unknown = RawFrame {
        body: vec![0x99, 0x01],
    };
    assert_eq!(model.handle(Ok(unknown)).sw3, Sw3::CommandError);
    let extra_data = RawFrame {
        body: vec![0x20, 0x01, 0x00],
    };
    assert_eq!(model.handle(Ok(extra_data)).sw3, Sw3::CommandError);
    assert_eq!(
        ask(&mut model, Command::SetMaxRfBytes(0x50)).sw3,
        Sw3::Success
    );
}

#[test]
fn faults_parse_and_rng_is_reproducible() {
    for (s, k) in [
        ("none", FaultKind::None),
        ("fragment", FaultKind::Fragment),
        ("garbage", FaultKind::Garbage),
        ("badchk", FaultKind::BadChecksum),
        ("silence", FaultKind::Silence),
        ("baud", FaultKind::WrongBaud),
    ] {
        assert_eq!(s.parse::<FaultKind>(), Ok(k));
    }
    assert!("nope".parse::<FaultKind>().is_err());
    let a: Vec<u64> = {
        let mut r = SimRng::new(7);
        (0..5).map(|_| r.next_u64()).collect()
    };
    let b: Vec<u64> = {
        let mut r = SimRng::new(7);
        (0..5).map(|_| r.next_u64()).collect()
    };
    assert_eq!(a, b);
    let mut r = SimRng::new(1);
    assert!((0..10_000).all(|_| r.noise_byte() != 0xAA));
}
