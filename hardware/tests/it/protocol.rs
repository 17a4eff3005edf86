//! Frames, commands, SW3 and the streaming decoder against the spec's bytes.

use crate::common;

use kiosk_hardware::idcard::card::{CardData, encode_text_photo};
use kiosk_hardware::idcard::command::{BaudRate, Command, Response, format_sam_id};
use kiosk_hardware::idcard::frame::{
    DecodeError, Decoder, MAX_FRAME_LEN, MAX_LEN, PREAMBLE, RawFrame, encode_frame, xor_checksum,
};
use kiosk_hardware::idcard::status::Sw3;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

/// The golden frame of spec §2.6 built by hand from the rules of §1, §2.1 and §2.2, without
/// the crate's encoder.
fn golden_by_hand() -> Vec<u8> {
    let mut text = [0u8; 256];
    for pair in text.chunks_exact_mut(2) {
        pair.copy_from_slice(&[0x20, 0x00]);
    }
    let mut put = |offset: usize, s: &str| {
        for (i, unit) in s.encode_utf16().enumerate() {
            text[offset + 2 * i..offset + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
        }
    };
    put(0, "张三");
    put(30, "1");
    put(32, "01");
    put(36, "19900307");
    put(52, "北京市东城区景山前街4号");
    put(122, "110101199003070011");
    put(158, "北京市公安局东城分局");
    put(188, "20200101");
    put(204, "20400101");
    let mut frame = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x05, 0x08, 0x00, 0x00, 0x90];
    frame.extend_from_slice(&[0x01, 0x00, 0x04, 0x00]);
    frame.extend_from_slice(&text);
    frame.extend_from_slice(&[0u8; 1024]);
    let chk = frame[5..].iter().fold(0u8, |a, b| a ^ b);
    frame.push(chk);
    frame
}

fn golden_by_crate() -> Vec<u8> {
    let card = common::card("resident.json");
    let data = encode_text_photo(&card, &[0u8; 1024]).expect("encodes");
    Response::new(Sw3::Success, data).to_frame()
}

#[test]
fn golden_frame_matches_spec() {
    let frame = golden_by_hand();
    assert_eq!(frame.len(), 1295);
    assert_eq!(&frame[5..7], &[0x05, 0x08]);
    assert_eq!(frame[1294], 0x10, "CHK of the golden frame");
    assert_eq!(
        &frame[..16],
        &hex("AA AA AA 96 69 05 08 00 00 90 01 00 04 00 20 5F")[..]
    );
    assert_eq!(
        golden_by_crate(),
        frame,
        "crate encoder == hand-built frame"
    );
}

#[test]
fn golden_frame_decodes_to_the_card() {
    let mut decoder = Decoder::responses();
    decoder.push(&golden_by_hand());
    let frame = decoder.next_frame().expect("a frame").expect("valid");
    let response = Response::from_frame(&frame).expect("response");
    assert_eq!(response.sw3, Sw3::Success);
    let card = kiosk_hardware::idcard::card::parse_text_photo(&response.data).expect("parses");
    assert_eq!(card, {
        let mut c = common::card("resident.json");
        c.photo_wlt = vec![0; 1024];
        c
    });
    assert_eq!(card.name, "张三");
    assert_eq!(card.id_number, "110101199003070011");
    assert_eq!(card.ethnicity_name(), Some("汉"));
}

#[test]
fn every_command_frame_matches_the_spec_table() {
    let table: [(Command, &str); 15] = [
        (Command::ResetSam, "AA AA AA 96 69 00 03 10 FF EC"),
        (Command::SamStatus, "AA AA AA 96 69 00 03 11 FF ED"),
        (Command::ReadSamId, "AA AA AA 96 69 00 03 12 FF EE"),
        (Command::FindCard, "AA AA AA 96 69 00 03 20 01 22"),
        (Command::SelectCard, "AA AA AA 96 69 00 03 20 02 21"),
        (Command::ReadTextPhoto, "AA AA AA 96 69 00 03 30 01 32"),
        (
            Command::ReadAppendedAddress,
            "AA AA AA 96 69 00 03 30 03 30",
        ),
        (
            Command::ReadTextPhotoFingerprint,
            "AA AA AA 96 69 00 03 30 10 23",
        ),
        (
            Command::SetBaud(BaudRate::B115200),
            "AA AA AA 96 69 00 03 60 00 63",
        ),
        (
            Command::SetBaud(BaudRate::B57600),
            "AA AA AA 96 69 00 03 60 01 62",
        ),
        (
            Command::SetBaud(BaudRate::B38400),
            "AA AA AA 96 69 00 03 60 02 61",
        ),
        (
            Command::SetBaud(BaudRate::B19200),
            "AA AA AA 96 69 00 03 60 03 60",
        ),
        (
            Command::SetBaud(BaudRate::B9600),
            "AA AA AA 96 69 00 03 60 04 67",
        ),
        (
            Command::SetMaxRfBytes(0x50),
            "AA AA AA 96 69 00 04 61 FF 50 CA",
        ),
        // Re-check one against the rule itself.
        (Command::FindCard, "AA AA AA 96 69 00 03 20 01 22"),
    ];
    for (command, expected) in table {
        assert_eq!(command.to_frame(), hex(expected), "{command:?}");
    }
    assert_eq!(BaudRate::B9600.bits_per_second(), 9600);
    assert_eq!(BaudRate::from_code(0x02), Some(BaudRate::B38400));
    assert_eq!(BaudRate::from_code(0x05), None);
}

#[test]
fn response_frames_match_the_spec() {
    let cases: [(Response, &str); 8] = [
        (
            Response::new(Sw3::FindSuccess, vec![0; 4]),
            "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97",
        ),
        (
            Response::new(Sw3::Success, vec![0; 8]),
            "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C",
        ),
        (
            Response::new(Sw3::NoCard, vec![]),
            "AA AA AA 96 69 00 04 00 00 80 84",
        ),
        (
            Response::new(Sw3::SelectFailed, vec![]),
            "AA AA AA 96 69 00 04 00 00 81 85",
        ),
        (
            Response::new(Sw3::ReadFailed, vec![]),
            "AA AA AA 96 69 00 04 00 00 41 45",
        ),
        (
            Response::new(Sw3::Success, vec![]),
            "AA AA AA 96 69 00 04 00 00 90 94",
        ),
        (
            Response::new(Sw3::SelfTestFailed, vec![]),
            "AA AA AA 96 69 00 04 00 00 60 64",
        ),
        (
            Response::new(Sw3::HostChecksumError, vec![]),
            "AA AA AA 96 69 00 04 00 00 10 14",
        ),
    ];
    for (response, expected) in cases {
        assert_eq!(response.to_frame(), hex(expected), "{response:?}");
    }
}

#[test]
fn sam_id_example_of_the_spec() {
    let frame =
        hex("AA AA AA 96 69 00 14 00 00 90 05 00 01 00 A4 B7 32 01 40 E2 01 00 D2 02 96 49 0C");
    let mut decoder = Decoder::responses();
    decoder.push(&frame);
    let response = Response::from_frame(&decoder.next_frame().expect("frame").expect("valid"))
        .expect("response");
    assert_eq!(
        format_sam_id(&response.data).as_deref(),
        Some("05.01-20101028-0000123456-1234567890")
    );
    assert_eq!(format_sam_id(&[0; 15]), None);
}

#[test]
fn sw3_messages() {
    assert_eq!(Sw3::from_byte(0x80), Sw3::NoCard);
    assert_eq!(Sw3::NoCard.zh(), "未检测到身份证，请将身份证放在读卡区");
    assert_eq!(Sw3::NoCard.en(), "no card in the field");
    assert_eq!(Sw3::from_byte(0x9F), Sw3::FindSuccess);
    assert_eq!(Sw3::from_byte(0x60), Sw3::SelfTestFailed);
    assert_eq!(Sw3::from_byte(0x42), Sw3::Other(0x42));
    for b in [
        0x90, 0x91, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40, 0x41,
        0x47, 0x60, 0x66, 0x80, 0x81,
    ] {
        let s = Sw3::from_byte(b);
        assert!(!matches!(s, Sw3::Other(_)), "{b:#04x} is a known code");
        assert!(!s.zh().is_empty() && !s.en().is_empty());
        assert_eq!(s.byte(), b);
    }
    assert_eq!(
        Sw3::Other(0x42).to_string(),
        "SW3 42: unknown reader status"
    );
}

fn decode_all(decoder: &mut Decoder) -> Vec<Result<RawFrame, DecodeError>> {
    std::iter::from_fn(|| decoder.next_frame()).collect()
}

#[test]
fn decoder_survives_every_split_of_the_golden_frame() {
    let frame = golden_by_hand();
    for split in 0..=frame.len() {
        let mut decoder = Decoder::responses();
        decoder.push(&frame[..split]);
        let early = decode_all(&mut decoder);
        decoder.push(&frame[split..]);
        let late = decode_all(&mut decoder);
        assert!(split == frame.len() || early.is_empty(), "split {split}");
        let all: Vec<_> = early.into_iter().chain(late).collect();
        assert_eq!(all.len(), 1, "split {split}");
        let body = &all[0].as_ref().expect("valid frame").body;
        assert_eq!(body.len(), 1287, "split {split}");
        assert_eq!(decoder.buffered(), 0);
    }
}

#[test]
fn decoder_survives_every_three_way_split_and_byte_by_byte() {
    let frame = Response::new(Sw3::Success, vec![0; 8]).to_frame();
    for a in 0..=frame.len() {
        for b in a..=frame.len() {
            let mut decoder = Decoder::responses();
            decoder.push(&frame[..a]);
            decoder.push(&frame[a..b]);
            decoder.push(&frame[b..]);
            let items = decode_all(&mut decoder);
            assert_eq!(items.len(), 1, "{a}/{b}");
            assert!(items[0].is_ok());
        }
    }
    let mut decoder = Decoder::responses();
    for byte in golden_by_hand() {
        decoder.push(&[byte]);
    }
    assert!(matches!(decode_all(&mut decoder).as_slice(), [Ok(_)]));
}

#[test]
fn decoder_resyncs_after_garbage() {
    let frame = Response::new(Sw3::NoCard, vec![]).to_frame();
    let garbages: [&[u8]; 7] = [
        &[0x00, 0x13, 0x37],
        &[0xAA],
        &[0xAA, 0xAA],
        &[0xAA, 0xAA, 0xAA, 0x96],
        &[0xAA, 0xAA, 0xAA, 0x96, 0x00],
        &[0x96, 0x69, 0xAA, 0x69, 0xAA, 0xAA],
        &[0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA],
    ];
    for garbage in garbages {
        let mut decoder = Decoder::responses();
        decoder.push(garbage);
        decoder.push(&frame);
        decoder.push(&[0x01, 0x02]);
        decoder.push(&frame);
        let items = decode_all(&mut decoder);
        assert_eq!(items.len(), 2, "garbage {garbage:02X?}");
        for item in items {
            assert_eq!(item.expect("valid").body, vec![0, 0, 0x80]);
        }
        assert!(decoder.discarded() >= garbage.len() as u64 + 2);
    }
}

#[test]
fn decoder_rejects_bad_checksum_and_recovers() {
    let good = Response::new(Sw3::Success, vec![1, 2, 3]).to_frame();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xFF;
    let mut decoder = Decoder::responses();
    decoder.push(&bad);
    decoder.push(&good);
    let items = decode_all(&mut decoder);
    assert_eq!(items.len(), 2);
    assert!(matches!(items[0], Err(DecodeError::Checksum { .. })));
    assert_eq!(
        items[1].as_ref().expect("valid").body,
        vec![0, 0, 0x90, 1, 2, 3]
    );

    // A corrupted body byte is caught as well.
    let mut bad = good.clone();
    bad[9] ^= 0x01;
    let mut decoder = Decoder::responses();
    decoder.push(&bad);
    assert!(matches!(
        decode_all(&mut decoder).as_slice(),
        [Err(DecodeError::Checksum { .. })]
    ));
}

#[test]
fn decoder_finds_a_real_frame_swallowed_by_a_fake_header() {
    let good = Response::new(Sw3::NoCard, vec![]).to_frame();
    // A fake header with a plausible LEN covering the real frame.
    let mut stream = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x0F];
    stream.extend_from_slice(&good);
    stream.extend_from_slice(&[0x00; 4]);
    let mut decoder = Decoder::responses();
    decoder.push(&stream);
    let items = decode_all(&mut decoder);
    assert!(matches!(items[0], Err(DecodeError::Checksum { .. })));
    assert_eq!(items[1].as_ref().expect("valid").body, vec![0, 0, 0x80]);
}

#[test]
fn decoder_reports_a_frame_in_progress_behind_a_fake_header() {
    let good = Response::new(Sw3::NoCard, vec![]).to_frame();
    let mut stream = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x05];
    stream.extend_from_slice(&good[..6]);
    let mut decoder = Decoder::responses();
    decoder.push(&stream);
    assert!(matches!(
        decoder.next_frame(),
        Some(Err(DecodeError::Checksum { .. }))
    ));
    assert!(decoder.next_frame().is_none());
    assert!(
        decoder.frame_in_progress(),
        "the real frame's start is kept"
    );
    decoder.push(&good[6..]);
    assert_eq!(
        decoder.next_frame().map(|r| r.map(|f| f.body)),
        Some(Ok(vec![0, 0, 0x80]))
    );
    assert!(!decoder.frame_in_progress());
}

#[test]
fn decoder_bounds_len() {
    for len in [0u16, 1, 2, 3, MAX_LEN + 1, 0xFFFF] {
        let mut stream = PREAMBLE.to_vec();
        stream.extend_from_slice(&len.to_be_bytes());
        let mut decoder = Decoder::responses();
        decoder.push(&stream);
        assert_eq!(
            decoder.next_frame(),
            Some(Err(DecodeError::Length(len))),
            "LEN {len}"
        );
        assert!(decoder.buffered() < 7);
    }
    // Requests may be one byte shorter (CMD PARA CHK).
    let mut requests = Decoder::requests();
    requests.push(&Command::FindCard.to_frame());
    assert!(matches!(requests.next_frame(), Some(Ok(_))));
    let mut responses = Decoder::responses();
    responses.push(&Command::FindCard.to_frame());
    assert_eq!(responses.next_frame(), Some(Err(DecodeError::Length(3))));
    // The largest accepted frame decodes.
    let body = vec![0x5Au8; usize::from(MAX_LEN) - 1];
    let frame = encode_frame(&body);
    assert_eq!(frame.len(), MAX_FRAME_LEN);
    let mut decoder = Decoder::responses();
    decoder.push(&frame);
    assert_eq!(
        decoder.next_frame().map(|r| r.map(|f| f.body.len())),
        Some(Ok(body.len()))
    );
}

#[test]
fn decoder_memory_is_bounded_on_endless_garbage() {
    let mut decoder = Decoder::responses();
    let noise: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + 3) as u8 & 0x7F).collect();
    decoder.push(&noise);
    assert!(decoder.buffered() < 5);
    // A header announcing the largest frame holds at most one frame's worth.
    let mut stream = PREAMBLE.to_vec();
    stream.extend_from_slice(&MAX_LEN.to_be_bytes());
    stream.extend_from_slice(&vec![0x11; 10_000]);
    decoder.push(&stream);
    assert!(decoder.buffered() < MAX_FRAME_LEN);
    let items = decode_all(&mut decoder);
    assert!(matches!(
        items.first(),
        Some(Err(DecodeError::Checksum { .. }))
    ));
}

#[test]
fn pending_items_are_bounded() {
    let frame = Response::new(Sw3::NoCard, vec![]).to_frame();
    let mut decoder = Decoder::responses();
    for _ in 0..100 {
        decoder.push(&frame);
    }
    assert_eq!(
        decoder.pending(),
        kiosk_hardware::idcard::frame::MAX_PENDING_ITEMS
    );
    assert_eq!(decoder.dropped_items(), 100 - 16);
}

#[test]
fn checksum_rule() {
    assert_eq!(xor_checksum(&[0x00, 0x03, 0x20, 0x01]), 0x22);
    assert_eq!(encode_frame(&[0x20, 0x01]), Command::FindCard.to_frame());
    let card: CardData = common::card("resident.json");
    assert_eq!(card.card_type.flag(), b' ');
}
