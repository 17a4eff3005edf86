//! Text block, card types, lookup tables, privacy of Debug, photo decoder.

use crate::common;

use kiosk_hardware::idcard::card::{
    CARD_TYPE_FLAG_OFFSET, CardData, CardError, CardType, ETHNICITIES, Gender, LONG_TERM,
    decode_ucs2, encode_text_photo, encode_text_photo_fingerprint, ethnicity_name, mask_id_number,
    parse_text_photo, parse_text_photo_fingerprint,
};
use kiosk_hardware::idcard::photo::{PhotoDecoder, PhotoError, UnavailablePhotoDecoder};

#[test]
fn example_cards_round_trip_through_the_text_block() {
    let types = [
        CardType::Resident,
        CardType::Permit,
        CardType::Foreign2017,
        CardType::Foreign2023,
    ];
    for (file, card_type) in common::CARD_FILES.iter().zip(types) {
        let card = common::card(file);
        assert_eq!(card.card_type, card_type, "{file}");
        let block = card.to_text_block().expect("encodes");
        assert_eq!(block[CARD_TYPE_FLAG_OFFSET], card_type.flag());
        assert_eq!(block[CARD_TYPE_FLAG_OFFSET + 1], 0);
        assert_eq!(
            CardData::from_text_block(&block).expect("decodes"),
            card,
            "{file}"
        );
    }
}

#[test]
fn example_id_numbers_are_invented_but_valid() {
    for file in common::CARD_FILES {
        let card = common::card(file);
        match card.card_type {
            CardType::Foreign2017 => {
                let id = &card.id_number;
                assert_eq!(id.len(), 15);
                assert!(id[..3].chars().all(|c| c.is_ascii_uppercase()));
                assert!(id[3..].chars().all(|c| c.is_ascii_digit()));
            }
            _ => {
                let id = &card.id_number;
                assert_eq!(id.len(), 18, "{file}");
                assert_eq!(
                    id.chars().last(),
                    Some(common::gb11643_check(&id[..17])),
                    "{file}"
                );
            }
        }
    }
    assert_eq!(common::gb11643_check("11010519491231002"), 'X');
    assert!(common::card("permit.json").id_number.starts_with("81"));
    assert!(common::card("foreign2023.json").id_number.starts_with('9'));
}

#[test]
fn resident_block_offsets() {
    let card = common::card("resident.json");
    let block = card.to_text_block().expect("encodes");
    assert_eq!(decode_ucs2(&block[0..30]), "张三");
    assert_eq!(decode_ucs2(&block[30..32]), "1");
    assert_eq!(decode_ucs2(&block[32..36]), "01");
    assert_eq!(decode_ucs2(&block[122..158]), "110101199003070011");
    assert_eq!(decode_ucs2(&block[204..220]), "20400101");
    assert!(block[220..256].chunks(2).all(|p| p == [0x20, 0x00]));
}

#[test]
fn permit_block_offsets() {
    let card = common::card("permit.json");
    let block = card.to_text_block().expect("encodes");
    assert_eq!(&block[32..36], &[0x20, 0, 0x20, 0], "no ethnicity");
    assert_eq!(decode_ucs2(&block[220..238]), "H12345678");
    assert_eq!(decode_ucs2(&block[238..242]), "01");
    assert_eq!(block[248], b'J');
    let decoded = CardData::from_text_block(&block).expect("decodes");
    assert_eq!(decoded.ethnicity, None);
    assert_eq!(decoded.pass_number.as_deref(), Some("H12345678"));
}

#[test]
fn foreign_2017_block_offsets() {
    let card = common::card("foreign2017.json");
    let block = card.to_text_block().expect("encodes");
    assert_eq!(decode_ucs2(&block[0..120]), "SMITH, JOHN ALEXANDER");
    assert_eq!(decode_ucs2(&block[120..122]), "1");
    assert_eq!(decode_ucs2(&block[122..152]), "USA310080010101");
    assert_eq!(decode_ucs2(&block[152..158]), "USA");
    assert_eq!(decode_ucs2(&block[158..188]), "史密斯");
    assert_eq!(decode_ucs2(&block[220..236]), "19800101");
    assert_eq!(decode_ucs2(&block[236..240]), "01");
    assert_eq!(decode_ucs2(&block[240..248]), "3100");
    assert_eq!(block[248], b'I');
}

#[test]
fn foreign_2023_english_name_runs_on_and_long_term_validity() {
    let card = common::card("foreign2023.json");
    let block = card.to_text_block().expect("encodes");
    assert_eq!(block[248], b'Y');
    // 41 characters: 35 in 52..122, the remaining 6 in 220..242.
    assert_eq!(
        decode_ucs2(&block[52..122]),
        "GARCIA LOPEZ, MARIA ISABEL DE LOS A"
    );
    assert_eq!(decode_ucs2(&block[220..242]), "NGELES");
    assert_eq!(decode_ucs2(&block[242..248]), "ESP");
    // 长期 = 7F 95 1F 67.
    assert_eq!(&block[204..208], &[0x7F, 0x95, 0x1F, 0x67]);
    let decoded = CardData::from_text_block(&block).expect("decodes");
    assert!(decoded.is_long_term());
    assert_eq!(decoded.valid_to, LONG_TERM);
    assert_eq!(decoded, card);
}

#[test]
fn english_name_breaking_on_a_space_keeps_it() {
    let mut card = common::card("foreign2023.json");
    // Character 35 (index 34) is a space: it must survive the split.
    card.english_name = Some(format!("{} {}", "A".repeat(34), "BCDEF"));
    let block = card.to_text_block().expect("encodes");
    assert_eq!(CardData::from_text_block(&block).expect("decodes"), card);
    card.english_name = Some("X".repeat(47));
    assert!(matches!(
        card.to_text_block(),
        Err(CardError::FieldTooLong {
            field: "english_name",
            max_units: 46
        })
    ));
}

#[test]
fn decoding_trims_spaces_and_nuls() {
    let mut card = common::card("resident.json");
    let mut block = card.to_text_block().expect("encodes");
    // Pad the name with NULs instead of spaces.
    for b in &mut block[4..30] {
        *b = 0;
    }
    let decoded = CardData::from_text_block(&block).expect("decodes");
    assert_eq!(decoded.name, "张三");
    card.name = "张三".into();
    assert_eq!(decoded, card);
}

#[test]
fn encoding_rejects_what_the_card_cannot_hold() {
    let mut card = common::card("resident.json");
    card.address = Some("很".repeat(36));
    assert_eq!(
        card.to_text_block(),
        Err(CardError::FieldTooLong {
            field: "address",
            max_units: 35
        })
    );
    let mut card = common::card("resident.json");
    card.pass_number = Some("H1".into());
    assert_eq!(
        card.to_text_block(),
        Err(CardError::UnexpectedField("pass_number"))
    );
    let mut card = common::card("permit.json");
    card.pass_number = None;
    assert_eq!(
        card.to_text_block(),
        Err(CardError::MissingField("pass_number"))
    );
}

#[test]
fn unknown_flag_and_bad_lengths() {
    let mut block = common::card("resident.json")
        .to_text_block()
        .expect("encodes");
    block[CARD_TYPE_FLAG_OFFSET] = b'Q';
    assert_eq!(
        CardData::from_text_block(&block),
        Err(CardError::UnknownCardType(b'Q'))
    );
    assert_eq!(
        CardData::from_text_block(&block[..255]),
        Err(CardError::TextBlockLength(255))
    );
    assert!(matches!(
        parse_text_photo(&[0x01]),
        Err(CardError::Payload(_))
    ));
    // Header lengths that disagree with the frame.
    let mut data = encode_text_photo(&common::card("resident.json"), &[0; 1024]).expect("ok");
    data.pop();
    assert!(matches!(
        parse_text_photo(&data),
        Err(CardError::Payload(_))
    ));
}

#[test]
fn lengths_come_from_the_header() {
    let card = common::card("permit.json");
    // A shorter photo and a fingerprint: offsets follow the header.
    let data = encode_text_photo_fingerprint(&card, &[7; 1024], &[9; 512]).expect("ok");
    assert_eq!(&data[..6], &[0x01, 0x00, 0x04, 0x00, 0x02, 0x00]);
    let decoded = parse_text_photo_fingerprint(&data).expect("parses");
    assert_eq!(decoded.photo_wlt, vec![7; 1024]);
    assert_eq!(decoded.fingerprint, Some(vec![9; 512]));
    let data = encode_text_photo(&card, &[1; 10]).expect("ok");
    assert_eq!(
        parse_text_photo(&data).expect("parses").photo_wlt,
        vec![1; 10]
    );
}

#[test]
fn gender_and_ethnicity_tables() {
    assert_eq!(Gender::from_code("1"), Some(Gender::Male));
    assert_eq!(Gender::from_code("2"), Some(Gender::Female));
    assert_eq!(Gender::from_code("0"), Some(Gender::Unknown));
    assert_eq!(Gender::from_code("9"), Some(Gender::Unstated));
    assert_eq!(Gender::from_code("3"), None);
    assert_eq!(Gender::Female.zh(), "女");
    assert_eq!(ETHNICITIES.len(), 58);
    assert_eq!(ethnicity_name("01"), Some("汉"));
    assert_eq!(ethnicity_name("46"), Some("德昂"));
    assert_eq!(ethnicity_name("56"), Some("基诺"));
    assert_eq!(ethnicity_name("98"), Some("外国血统中国籍人士"));
    assert_eq!(ethnicity_name("57"), None);
    for (i, (code, _)) in ETHNICITIES.iter().take(56).enumerate() {
        assert_eq!(*code, format!("{:02}", i + 1));
    }
}

#[test]
fn unknown_gender_code_decodes_as_unknown() {
    let mut block = common::card("resident.json")
        .to_text_block()
        .expect("encodes");
    block[30] = b'7';
    let card = CardData::from_text_block(&block).expect("decodes");
    assert_eq!(card.gender, Gender::Unknown);
}

#[test]
fn debug_masks_personal_data() {
    for file in common::CARD_FILES {
        let mut card = common::card(file);
        card.appended_address = Some("云南省昆明市五华区某路1号".into());
        let shown = format!("{card:?} {card:#?}");
        for secret in [
            Some(card.name.as_str()),
            Some(card.id_number.as_str()),
            Some(&card.id_number[card.id_number.len() - 6..]),
            Some(card.birth.as_str()),
            card.address.as_deref(),
            card.english_name.as_deref(),
            card.pass_number.as_deref(),
            card.appended_address.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        {
            assert!(
                !shown.contains(secret),
                "{file}: Debug leaks a personal field"
            );
        }
        assert!(shown.contains("masked"));
    }
    let card = common::card("resident.json");
    assert_eq!(card.masked_id_number(), "1101**********0011");
    assert_eq!(mask_id_number("12345"), "*****");
}

#[test]
fn serde_uses_the_card_file_names() {
    let card = common::card("permit.json");
    let json = serde_json::to_value(&card).expect("serialises");
    for key in [
        "card_type",
        "name",
        "gender",
        "birth",
        "address",
        "id_number",
        "authority",
        "valid_from",
        "valid_to",
        "pass_number",
        "issue_count",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["card_type"], "permit");
    assert!(json.get("ethnicity").is_none());
    assert!(json.get("photo_wlt").is_none());
    let json = serde_json::to_value(common::card("foreign2017.json")).expect("serialises");
    assert_eq!(json["card_type"], "foreign2017");
    let json = serde_json::to_value(common::card("foreign2023.json")).expect("serialises");
    assert_eq!(json["card_type"], "foreign2023");
}

#[test]
fn photo_decoder_is_unavailable_with_a_clear_error() {
    let decoder = UnavailablePhotoDecoder;
    let err = decoder.decode(&[0; 1024]).expect_err("no decoder ships");
    assert!(matches!(err, PhotoError::Unavailable));
    assert!(err.to_string().contains("no ID card photo decoder"));
    assert!(err.zh().contains("照片"));
    assert!(matches!(
        decoder.decode(&[0; 10]),
        Err(PhotoError::InvalidLength(10))
    ));
    let boxed: Box<dyn PhotoDecoder> = Box::new(decoder);
    assert!(boxed.decode(&[0; 1024]).is_err());
}
