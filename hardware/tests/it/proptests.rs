//! Property tests: the decoder never panics and stays bounded; card data round-trips.

use kiosk_hardware::idcard::card::{
    CardData, CardType, Gender, encode_text_photo, parse_text_photo,
};
use kiosk_hardware::idcard::command::Response;
use kiosk_hardware::idcard::frame::{Decoder, MAX_FRAME_LEN, MAX_PENDING_ITEMS};
use kiosk_hardware::idcard::status::Sw3;
use proptest::prelude::*;

fn chunked(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    for cut in cuts {
        if rest.is_empty() {
            break;
        }
        let n = (cut % rest.len()).max(1);
        let (a, b) = rest.split_at(n);
        out.push(a.to_vec());
        rest = b;
    }
    if !rest.is_empty() {
        out.push(rest.to_vec());
    }
    out
}

/// Bytes biased towards preamble pieces and plausible lengths.
fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            Just(0xAA),
            Just(0x96),
            Just(0x69),
            Just(0x00),
            Just(0x05),
        ],
        0..6000,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoder_never_panics_and_stays_bounded(
        data in nasty_bytes(),
        cuts in prop::collection::vec(1usize..3000, 0..20),
    ) {
        let mut decoder = Decoder::responses();
        for chunk in chunked(&data, &cuts) {
            decoder.push(&chunk);
            prop_assert!(decoder.buffered() < MAX_FRAME_LEN);
            prop_assert!(decoder.pending() <= MAX_PENDING_ITEMS);
            if chunk.len() % 3 == 0 {
                while decoder.next_frame().is_some() {}
            }
        }
        let mut requests = Decoder::requests();
        requests.push(&data);
        prop_assert!(requests.buffered() < MAX_FRAME_LEN);
    }

    #[test]
    fn frames_in_noise_are_recovered(
        sw3 in any::<u8>(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        noise in prop::collection::vec(any::<u8>().prop_filter("no AA", |b| *b != 0xAA), 0..200),
        cuts in prop::collection::vec(1usize..400, 0..10),
    ) {
        let frame = Response::new(Sw3::from_byte(sw3), payload.clone()).to_frame();
        let mut stream = noise.clone();
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&noise);
        stream.extend_from_slice(&frame);
        let mut decoder = Decoder::responses();
        for chunk in chunked(&stream, &cuts) {
            decoder.push(&chunk);
        }
        let frames: Vec<_> = std::iter::from_fn(|| decoder.next_frame()).collect();
        prop_assert_eq!(frames.len(), 2);
        for item in frames {
            let body = item.expect("valid").body;
            prop_assert_eq!(body[2], sw3);
            prop_assert_eq!(&body[3..], &payload[..]);
        }
    }

    #[test]
    fn card_data_round_trips(card in any_card(), cuts in prop::collection::vec(1usize..1400, 0..6)) {
        let block = card.to_text_block().expect("fits");
        prop_assert_eq!(&CardData::from_text_block(&block).expect("decodes"), &card);
        // And through a whole 30 01 frame, fragmented.
        let mut with_photo = card.clone();
        with_photo.photo_wlt = vec![0x33; 1024];
        let frame = Response::new(
            Sw3::Success,
            encode_text_photo(&with_photo, &with_photo.photo_wlt).expect("fits"),
        )
        .to_frame();
        prop_assert_eq!(frame.len(), 1295);
        let mut decoder = Decoder::responses();
        for chunk in chunked(&frame, &cuts) {
            decoder.push(&chunk);
        }
        let raw = decoder.next_frame().expect("frame").expect("valid");
        let response = Response::from_frame(&raw).expect("response");
        prop_assert_eq!(parse_text_photo(&response.data).expect("parses"), with_photo);
    }
}

/// A field value: no leading/trailing space or NUL (the decoder trims those), BMP characters,
/// mixing ASCII and CJK, at most `max` UTF-16 units.
fn text(max: usize) -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        proptest::char::range('\u{4E00}', '\u{9FA5}'),
        Just(' '),
        Just(','),
        Just('·'),
    ];
    prop::collection::vec(ch, 0..=max).prop_map(|chars| {
        let s: String = chars.into_iter().collect();
        s.trim_matches(' ').to_owned()
    })
}

fn gender() -> impl Strategy<Value = Gender> {
    prop_oneof![
        Just(Gender::Unknown),
        Just(Gender::Male),
        Just(Gender::Female),
        Just(Gender::Unstated),
    ]
}

fn any_card() -> impl Strategy<Value = CardData> {
    let card_type = prop_oneof![
        Just(CardType::Resident),
        Just(CardType::Permit),
        Just(CardType::Foreign2017),
        Just(CardType::Foreign2023),
    ];
    (card_type, gender(), prop::collection::vec(text(60), 12)).prop_map(|(card_type, gender, v)| {
        let cut = |s: &str, n: usize| -> String {
            let units: Vec<u16> = s.encode_utf16().take(n).collect();
            String::from_utf16_lossy(&units)
                .trim_matches(' ')
                .to_owned()
        };
        let mut card = CardData::empty(card_type);
        card.gender = gender;
        match card_type {
            CardType::Resident | CardType::Permit => {
                card.name = cut(&v[0], 15);
                card.birth = cut(&v[1], 8);
                card.address = Some(cut(&v[2], 35));
                card.id_number = cut(&v[3], 18);
                card.authority = Some(cut(&v[4], 15));
                card.valid_from = cut(&v[5], 8);
                card.valid_to = cut(&v[6], 8);
                if card_type == CardType::Resident {
                    card.ethnicity = Some(cut(&v[7], 2));
                } else {
                    card.pass_number = Some(cut(&v[7], 9));
                    card.issue_count = Some(cut(&v[8], 2));
                }
            }
            CardType::Foreign2017 => {
                card.english_name = Some(cut(&v[0], 60));
                card.id_number = cut(&v[1], 15);
                card.nationality = Some(cut(&v[2], 3));
                card.name = cut(&v[3], 15);
                card.valid_from = cut(&v[4], 8);
                card.valid_to = cut(&v[5], 8);
                card.birth = cut(&v[6], 8);
                card.card_version = Some(cut(&v[7], 2));
                card.authority_code = Some(cut(&v[8], 4));
            }
            CardType::Foreign2023 => {
                card.name = cut(&v[0], 15);
                card.renewal_count = Some(cut(&v[1], 2));
                card.birth = cut(&v[2], 8);
                card.english_name = Some(cut(&format!("{}{}", v[3], v[4]), 46));
                card.id_number = cut(&v[5], 18);
                card.valid_from = cut(&v[6], 8);
                card.valid_to = cut(&v[7], 8);
                card.nationality = Some(cut(&v[8], 3));
                card.old_number = Some(cut(&v[9], 3));
            }
        }
        card
    })
}
