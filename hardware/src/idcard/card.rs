//! The card's 256-byte text block (UCS-2 LE, spec §2.2 and §3) for the four card types, and the
//! payload of the read commands (§2.1).
//!
//! Every byte offset lives in one of the `*_LAYOUT` tables below, so a wrong offset is corrected
//! in one place. The 'Y' (2023 foreign permanent resident) offsets come from a single source.

use serde::{Deserialize, Serialize};

/// Size of the text block.
pub const TEXT_LEN: usize = 256;
/// Size of the photo ("WLT", proprietary, opaque).
pub const PHOTO_LEN: usize = 1024;
/// Byte offset of the ASCII card-type flag (byte 249 is 0).
pub const CARD_TYPE_FLAG_OFFSET: usize = 248;
/// The validity end of a card without expiry, as decoded from `7F 95 1F 67` (长期).
pub const LONG_TERM: &str = "长期";

/// A field of the text block: byte offset and byte length (2 bytes per UCS-2 unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub len: usize,
}

const fn f(offset: usize, len: usize) -> Field {
    Field { offset, len }
}

/// Fields of [`CardData`] that live in the text block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    Name,
    Gender,
    Ethnicity,
    Birth,
    Address,
    IdNumber,
    Authority,
    ValidFrom,
    ValidTo,
    PassNumber,
    IssueCount,
    EnglishName,
    /// Second part of the English name on 'Y' cards, appended to the first.
    EnglishNameContinued,
    Nationality,
    RenewalCount,
    CardVersion,
    AuthorityCode,
    OldNumber,
}

impl TextField {
    /// The serde field name, for error messages (never the content).
    pub fn name(self) -> &'static str {
        match self {
            TextField::Name => "name",
            TextField::Gender => "gender",
            TextField::Ethnicity => "ethnicity",
            TextField::Birth => "birth",
            TextField::Address => "address",
            TextField::IdNumber => "id_number",
            TextField::Authority => "authority",
            TextField::ValidFrom => "valid_from",
            TextField::ValidTo => "valid_to",
            TextField::PassNumber => "pass_number",
            TextField::IssueCount => "issue_count",
            TextField::EnglishName | TextField::EnglishNameContinued => "english_name",
            TextField::Nationality => "nationality",
            TextField::RenewalCount => "renewal_count",
            TextField::CardVersion => "card_version",
            TextField::AuthorityCode => "authority_code",
            TextField::OldNumber => "old_number",
        }
    }
}

/// Resident ID card, flag ' ' (spec §2.2). [2+]
pub const RESIDENT_LAYOUT: &[(TextField, Field)] = &[
    (TextField::Name, f(0, 30)),
    (TextField::Gender, f(30, 2)),
    (TextField::Ethnicity, f(32, 4)),
    (TextField::Birth, f(36, 16)),
    (TextField::Address, f(52, 70)),
    (TextField::IdNumber, f(122, 36)),
    (TextField::Authority, f(158, 30)),
    (TextField::ValidFrom, f(188, 16)),
    (TextField::ValidTo, f(204, 16)),
];

/// HK/Macau/Taiwan residence permit, flag 'J' (spec §3). [2+]
pub const PERMIT_LAYOUT: &[(TextField, Field)] = &[
    (TextField::Name, f(0, 30)),
    (TextField::Gender, f(30, 2)),
    (TextField::Birth, f(36, 16)),
    (TextField::Address, f(52, 70)),
    (TextField::IdNumber, f(122, 36)),
    (TextField::Authority, f(158, 30)),
    (TextField::ValidFrom, f(188, 16)),
    (TextField::ValidTo, f(204, 16)),
    (TextField::PassNumber, f(220, 18)),
    (TextField::IssueCount, f(238, 4)),
];

/// Foreign permanent resident ID card, 2017 edition, flag 'I' (spec §3). [2+]
pub const FOREIGN_2017_LAYOUT: &[(TextField, Field)] = &[
    (TextField::EnglishName, f(0, 120)),
    (TextField::Gender, f(120, 2)),
    (TextField::IdNumber, f(122, 30)),
    (TextField::Nationality, f(152, 6)),
    (TextField::Name, f(158, 30)),
    (TextField::ValidFrom, f(188, 16)),
    (TextField::ValidTo, f(204, 16)),
    (TextField::Birth, f(220, 16)),
    (TextField::CardVersion, f(236, 4)),
    (TextField::AuthorityCode, f(240, 8)),
];

/// Foreign permanent resident ID card, 2023 edition, flag 'Y' (spec §3).
///
/// **Single source** (`EPRSampleDemoDlg.cpp`): confirm with a vendor SDK document or a real card.
/// 158..188 is reserved.
pub const FOREIGN_2023_LAYOUT: &[(TextField, Field)] = &[
    (TextField::Name, f(0, 30)),
    (TextField::Gender, f(30, 2)),
    (TextField::RenewalCount, f(32, 4)),
    (TextField::Birth, f(36, 16)),
    (TextField::EnglishName, f(52, 70)),
    (TextField::IdNumber, f(122, 36)),
    (TextField::ValidFrom, f(188, 16)),
    (TextField::ValidTo, f(204, 16)),
    (TextField::EnglishNameContinued, f(220, 22)),
    (TextField::Nationality, f(242, 6)),
    (TextField::OldNumber, f(250, 6)),
];

/// The four card types, told apart by the flag at byte 248.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardType {
    /// 居民身份证, flag ' '.
    Resident,
    /// 港澳台居民居住证, flag 'J'.
    Permit,
    /// 外国人永久居留身份证 (2017), flag 'I'.
    Foreign2017,
    /// 外国人永久居留身份证 (2023), flag 'Y'.
    Foreign2023,
}

impl CardType {
    /// The flag byte at offset 248.
    pub fn flag(self) -> u8 {
        match self {
            CardType::Resident => b' ',
            CardType::Permit => b'J',
            CardType::Foreign2017 => b'I',
            CardType::Foreign2023 => b'Y',
        }
    }

    /// The type a flag byte names. A resident card's flag is a space; 0x00 is accepted too.
    pub fn from_flag(flag: u8) -> Option<Self> {
        match flag {
            b' ' | 0 => Some(CardType::Resident),
            b'J' => Some(CardType::Permit),
            b'I' => Some(CardType::Foreign2017),
            b'Y' => Some(CardType::Foreign2023),
            _ => None,
        }
    }

    /// Where each field lives.
    pub fn layout(self) -> &'static [(TextField, Field)] {
        match self {
            CardType::Resident => RESIDENT_LAYOUT,
            CardType::Permit => PERMIT_LAYOUT,
            CardType::Foreign2017 => FOREIGN_2017_LAYOUT,
            CardType::Foreign2023 => FOREIGN_2023_LAYOUT,
        }
    }

    /// Chinese name of the document.
    pub fn zh(self) -> &'static str {
        match self {
            CardType::Resident => "居民身份证",
            CardType::Permit => "港澳台居民居住证",
            CardType::Foreign2017 | CardType::Foreign2023 => "外国人永久居留身份证",
        }
    }
}

/// Gender, GB/T 2261.1 code on the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// `0` 未知的性别.
    Unknown,
    /// `1` 男.
    Male,
    /// `2` 女.
    Female,
    /// `9` 未说明的性别.
    Unstated,
}

impl Gender {
    pub fn code(self) -> char {
        match self {
            Gender::Unknown => '0',
            Gender::Male => '1',
            Gender::Female => '2',
            Gender::Unstated => '9',
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "0" => Some(Gender::Unknown),
            "1" => Some(Gender::Male),
            "2" => Some(Gender::Female),
            "9" => Some(Gender::Unstated),
            _ => None,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Gender::Unknown => "未知的性别",
            Gender::Male => "男",
            Gender::Female => "女",
            Gender::Unstated => "未说明的性别",
        }
    }
}

/// GB/T 3304 ethnicity codes as printed on the card (without 族).
pub const ETHNICITIES: [(&str, &str); 58] = [
    ("01", "汉"),
    ("02", "蒙古"),
    ("03", "回"),
    ("04", "藏"),
    ("05", "维吾尔"),
    ("06", "苗"),
    ("07", "彝"),
    ("08", "壮"),
    ("09", "布依"),
    ("10", "朝鲜"),
    ("11", "满"),
    ("12", "侗"),
    ("13", "瑶"),
    ("14", "白"),
    ("15", "土家"),
    ("16", "哈尼"),
    ("17", "哈萨克"),
    ("18", "傣"),
    ("19", "黎"),
    ("20", "傈僳"),
    ("21", "佤"),
    ("22", "畲"),
    ("23", "高山"),
    ("24", "拉祜"),
    ("25", "水"),
    ("26", "东乡"),
    ("27", "纳西"),
    ("28", "景颇"),
    ("29", "柯尔克孜"),
    ("30", "土"),
    ("31", "达斡尔"),
    ("32", "仫佬"),
    ("33", "羌"),
    ("34", "布朗"),
    ("35", "撒拉"),
    ("36", "毛南"),
    ("37", "仡佬"),
    ("38", "锡伯"),
    ("39", "阿昌"),
    ("40", "普米"),
    ("41", "塔吉克"),
    ("42", "怒"),
    ("43", "乌孜别克"),
    ("44", "俄罗斯"),
    ("45", "鄂温克"),
    ("46", "德昂"),
    ("47", "保安"),
    ("48", "裕固"),
    ("49", "京"),
    ("50", "塔塔尔"),
    ("51", "独龙"),
    ("52", "鄂伦春"),
    ("53", "赫哲"),
    ("54", "门巴"),
    ("55", "珞巴"),
    ("56", "基诺"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
];

/// The name of a GB/T 3304 code ("01" → "汉").
pub fn ethnicity_name(code: &str) -> Option<&'static str> {
    ETHNICITIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Errors decoding or encoding card data. Messages name fields, never their content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("text block is {0} bytes, expected 256")]
    TextBlockLength(usize),
    #[error("unrecognised card type flag {0:#04x}")]
    UnknownCardType(u8),
    #[error("field {field} holds at most {max_units} UCS-2 units")]
    FieldTooLong {
        field: &'static str,
        max_units: usize,
    },
    #[error("field {0} is missing for this card type")]
    MissingField(&'static str),
    #[error("field {0} does not exist on this card type")]
    UnexpectedField(&'static str),
    #[error("read payload malformed: {0}")]
    Payload(&'static str),
}

impl CardError {
    /// Plain Chinese message.
    pub fn zh(&self) -> &'static str {
        match self {
            CardError::UnknownCardType(_) => "无法识别的证件类型，请使用居民身份证或居住证",
            _ => "证件信息格式错误，请重新放置证件",
        }
    }
}

/// Everything read from a card.
///
/// Field names are those of the simulator's card files (`hardware/cards/*.json`). Dates are
/// `YYYYMMDD` as on the card; `valid_to` may be [`LONG_TERM`]. `Debug` masks personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardData {
    pub card_type: CardType,
    /// Chinese name (all types).
    pub name: String,
    pub gender: Gender,
    /// GB/T 3304 code, e.g. "01"; resident cards only. See [`CardData::ethnicity_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
    pub birth: String,
    /// Resident and permit cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Citizen ID number; permanent-residence number on foreign cards.
    pub id_number: String,
    /// Issuing authority (resident and permit cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    pub valid_from: String,
    pub valid_to: String,
    /// 通行证号码 ('J').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_number: Option<String>,
    /// 签发次数 ('J').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_count: Option<String>,
    /// 'I' and 'Y'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub english_name: Option<String>,
    /// ISO 3166-1 alpha-3 ('I'), country/region code ('Y').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// 换证次数 ('Y').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_count: Option<String>,
    /// Issuing authority code ('I').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_code: Option<String>,
    /// Card version ('I').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_version: Option<String>,
    /// Link to the old-edition number ('Y').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_number: Option<String>,
    /// 追加住址 from `30 03`, when read and present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appended_address: Option<String>,
    /// The 1024-byte WLT photo, opaque (see [`crate::idcard::PhotoDecoder`]). Not serialised.
    #[serde(skip)]
    pub photo_wlt: Vec<u8>,
    /// Fingerprint templates from `30 10`, opaque. Not serialised.
    #[serde(skip)]
    pub fingerprint: Option<Vec<u8>>,
}

struct Masked<'a>(&'a str);

impl std::fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<masked, {} chars>", self.0.chars().count())
    }
}

struct MaskedOpt<'a>(&'a Option<String>);

impl std::fmt::Debug for MaskedOpt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(s) => write!(f, "Some({:?})", Masked(s)),
            None => f.write_str("None"),
        }
    }
}

impl std::fmt::Debug for CardData {
    /// Personal data (name, English name, id and pass numbers, birth date, addresses, old
    /// number) is masked, so the struct can appear in logs, errors and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardData")
            .field("card_type", &self.card_type)
            .field("name", &Masked(&self.name))
            .field("gender", &self.gender)
            .field("ethnicity", &self.ethnicity)
            .field("birth", &Masked(&self.birth))
            .field("address", &MaskedOpt(&self.address))
            .field("id_number", &Masked(&self.id_number))
            .field("authority", &self.authority)
            .field("valid_from", &self.valid_from)
            .field("valid_to", &self.valid_to)
            .field("pass_number", &MaskedOpt(&self.pass_number))
            .field("issue_count", &self.issue_count)
            .field("english_name", &MaskedOpt(&self.english_name))
            .field("nationality", &self.nationality)
            .field("renewal_count", &self.renewal_count)
            .field("authority_code", &self.authority_code)
            .field("card_version", &self.card_version)
            .field("old_number", &MaskedOpt(&self.old_number))
            .field("appended_address", &MaskedOpt(&self.appended_address))
            .field("photo_wlt_len", &self.photo_wlt.len())
            .field(
                "fingerprint_len",
                &self.fingerprint.as_ref().map(|fp| fp.len()),
            )
            .finish()
    }
}

/// Decodes UCS-2 LE (UTF-16 pairs are accepted; lone surrogates become U+FFFD) and trims
/// U+0020 and U+0000 at both ends.
pub fn decode_ucs2(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    s.trim_matches(|c| c == ' ' || c == '\0').to_owned()
}

/// Writes `s` as UCS-2 LE into `out`, right-padded with U+0020.
fn encode_ucs2(out: &mut [u8], s: &str, field: TextField) -> Result<(), CardError> {
    let max_units = out.len() / 2;
    let units: Vec<u16> = s.encode_utf16().collect();
    if units.len() > max_units {
        return Err(CardError::FieldTooLong {
            field: field.name(),
            max_units,
        });
    }
    for (i, pair) in out.chunks_exact_mut(2).enumerate() {
        let unit = units.get(i).copied().unwrap_or(0x0020);
        pair.copy_from_slice(&unit.to_le_bytes());
    }
    Ok(())
}

fn raw_ucs2(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

impl CardData {
    /// An empty card of `card_type` with every field of that type present but empty.
    pub fn empty(card_type: CardType) -> Self {
        let mut card = CardData {
            card_type,
            name: String::new(),
            gender: Gender::Unknown,
            ethnicity: None,
            birth: String::new(),
            address: None,
            id_number: String::new(),
            authority: None,
            valid_from: String::new(),
            valid_to: String::new(),
            pass_number: None,
            issue_count: None,
            english_name: None,
            nationality: None,
            renewal_count: None,
            authority_code: None,
            card_version: None,
            old_number: None,
            appended_address: None,
            photo_wlt: Vec::new(),
            fingerprint: None,
        };
        for (field, _) in card_type.layout() {
            if let Some(slot) = card.optional_slot(*field) {
                *slot = Some(String::new());
            }
        }
        card
    }

    /// Decodes the 256-byte text block.
    pub fn from_text_block(block: &[u8]) -> Result<Self, CardError> {
        if block.len() != TEXT_LEN {
            return Err(CardError::TextBlockLength(block.len()));
        }
        let flag = block[CARD_TYPE_FLAG_OFFSET];
        let card_type = CardType::from_flag(flag).ok_or(CardError::UnknownCardType(flag))?;
        let mut card = CardData::empty(card_type);
        let mut english_raw = String::new();
        for (field, at) in card_type.layout() {
            let bytes = &block[at.offset..at.offset + at.len];
            match field {
                TextField::Gender => {
                    let code = decode_ucs2(bytes);
                    card.gender = Gender::from_code(&code).unwrap_or_else(|| {
                        tracing::warn!("unrecognised gender code on card; using 'unknown'");
                        Gender::Unknown
                    });
                }
                // The English name may run on across both parts: join before trimming.
                TextField::EnglishName | TextField::EnglishNameContinued => {
                    english_raw.push_str(&raw_ucs2(bytes));
                }
                other => {
                    let value = decode_ucs2(bytes);
                    if let Some(slot) = card.required_slot(*other) {
                        *slot = value;
                    } else if let Some(slot) = card.optional_slot(*other) {
                        *slot = Some(value);
                    }
                }
            }
        }
        if card.english_name.is_some() {
            card.english_name = Some(
                english_raw
                    .trim_matches(|c| c == ' ' || c == '\0')
                    .to_owned(),
            );
        }
        Ok(card)
    }

    /// Encodes the text block (the simulator's side). Fields of the type must be present, and
    /// fields of other types absent.
    pub fn to_text_block(&self) -> Result<[u8; TEXT_LEN], CardError> {
        let mut block = [0u8; TEXT_LEN];
        for pair in block.chunks_exact_mut(2) {
            pair.copy_from_slice(&[0x20, 0x00]);
        }
        let layout = self.card_type.layout();
        self.check_fields(layout)?;
        let english = self.english_name.as_deref().unwrap_or("");
        let english_units: Vec<u16> = english.encode_utf16().collect();
        for (field, at) in layout {
            let out = &mut block[at.offset..at.offset + at.len];
            match field {
                TextField::Gender => {
                    encode_ucs2(out, self.gender.code().encode_utf8(&mut [0; 4]), *field)?
                }
                TextField::EnglishName | TextField::EnglishNameContinued => {
                    let (first, rest) = english_split(layout);
                    let (start, max) = if *field == TextField::EnglishName {
                        (0, first)
                    } else {
                        (first, rest)
                    };
                    if english_units.len() > first + rest {
                        return Err(CardError::FieldTooLong {
                            field: field.name(),
                            max_units: first + rest,
                        });
                    }
                    let end = english_units.len().min(start + max);
                    let part = english_units.get(start..end).unwrap_or(&[]);
                    let part = String::from_utf16(part).map_err(|_| {
                        // A surrogate pair split across the two parts.
                        CardError::FieldTooLong {
                            field: field.name(),
                            max_units: first + rest,
                        }
                    })?;
                    encode_ucs2(out, &part, *field)?;
                }
                other => {
                    let value = self.field_value(*other).unwrap_or("");
                    encode_ucs2(out, value, *other)?;
                }
            }
        }
        block[CARD_TYPE_FLAG_OFFSET] = self.card_type.flag();
        block[CARD_TYPE_FLAG_OFFSET + 1] = 0;
        Ok(block)
    }

    fn check_fields(&self, layout: &[(TextField, Field)]) -> Result<(), CardError> {
        const OPTIONAL: [TextField; 11] = [
            TextField::Ethnicity,
            TextField::Address,
            TextField::Authority,
            TextField::PassNumber,
            TextField::IssueCount,
            TextField::EnglishName,
            TextField::Nationality,
            TextField::RenewalCount,
            TextField::AuthorityCode,
            TextField::CardVersion,
            TextField::OldNumber,
        ];
        for field in OPTIONAL {
            let in_layout = layout.iter().any(|(f, _)| *f == field);
            let present = self.field_value(field).is_some();
            match (in_layout, present) {
                (true, false) => return Err(CardError::MissingField(field.name())),
                (false, true) => return Err(CardError::UnexpectedField(field.name())),
                _ => {}
            }
        }
        Ok(())
    }

    fn field_value(&self, field: TextField) -> Option<&str> {
        match field {
            TextField::Name => Some(&self.name),
            TextField::Birth => Some(&self.birth),
            TextField::IdNumber => Some(&self.id_number),
            TextField::ValidFrom => Some(&self.valid_from),
            TextField::ValidTo => Some(&self.valid_to),
            TextField::Gender => None,
            TextField::Ethnicity => self.ethnicity.as_deref(),
            TextField::Address => self.address.as_deref(),
            TextField::Authority => self.authority.as_deref(),
            TextField::PassNumber => self.pass_number.as_deref(),
            TextField::IssueCount => self.issue_count.as_deref(),
            TextField::EnglishName | TextField::EnglishNameContinued => {
                self.english_name.as_deref()
            }
            TextField::Nationality => self.nationality.as_deref(),
            TextField::RenewalCount => self.renewal_count.as_deref(),
            TextField::AuthorityCode => self.authority_code.as_deref(),
            TextField::CardVersion => self.card_version.as_deref(),
            TextField::OldNumber => self.old_number.as_deref(),
        }
    }

    fn required_slot(&mut self, field: TextField) -> Option<&mut String> {
        match field {
            TextField::Name => Some(&mut self.name),
            TextField::Birth => Some(&mut self.birth),
            TextField::IdNumber => Some(&mut self.id_number),
            TextField::ValidFrom => Some(&mut self.valid_from),
            TextField::ValidTo => Some(&mut self.valid_to),
            _ => None,
        }
    }

    fn optional_slot(&mut self, field: TextField) -> Option<&mut Option<String>> {
        match field {
            TextField::Ethnicity => Some(&mut self.ethnicity),
            TextField::Address => Some(&mut self.address),
            TextField::Authority => Some(&mut self.authority),
            TextField::PassNumber => Some(&mut self.pass_number),
            TextField::IssueCount => Some(&mut self.issue_count),
            TextField::EnglishName | TextField::EnglishNameContinued => {
                Some(&mut self.english_name)
            }
            TextField::Nationality => Some(&mut self.nationality),
            TextField::RenewalCount => Some(&mut self.renewal_count),
            TextField::AuthorityCode => Some(&mut self.authority_code),
            TextField::CardVersion => Some(&mut self.card_version),
            TextField::OldNumber => Some(&mut self.old_number),
            _ => None,
        }
    }

    /// "汉" for ethnicity "01".
    pub fn ethnicity_name(&self) -> Option<&'static str> {
        self.ethnicity.as_deref().and_then(ethnicity_name)
    }

    /// True when the card does not expire (valid to 长期).
    pub fn is_long_term(&self) -> bool {
        self.valid_to == LONG_TERM
    }

    /// The id number masked for display outside its own field, e.g. `1101**********0011`.
    pub fn masked_id_number(&self) -> String {
        mask_id_number(&self.id_number)
    }
}

/// Keeps the first and last 4 characters of an id number (TECH-NOTES: PIPL art. 51 masking);
/// shorter strings are masked entirely.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 4 || i >= n - 4 { *c } else { '*' })
        .collect()
}

fn english_split(layout: &[(TextField, Field)]) -> (usize, usize) {
    let units = |target| {
        layout
            .iter()
            .find(|(f, _)| *f == target)
            .map_or(0, |(_, at)| at.len / 2)
    };
    (
        units(TextField::EnglishName),
        units(TextField::EnglishNameContinued),
    )
}

/// Parses the data of a `30 01` response (after SW1..SW3): two big-endian lengths (text,
/// photo), then text and photo. Lengths come from the header.
pub fn parse_text_photo(data: &[u8]) -> Result<CardData, CardError> {
    parse_sections(data, 2)
}

/// Parses the data of a `30 10` response: three lengths (text, photo, fingerprint).
pub fn parse_text_photo_fingerprint(data: &[u8]) -> Result<CardData, CardError> {
    parse_sections(data, 3)
}

fn parse_sections(data: &[u8], sections: usize) -> Result<CardData, CardError> {
    let header = sections * 2;
    let lengths: Vec<usize> = data
        .get(..header)
        .ok_or(CardError::Payload("shorter than its length header"))?
        .chunks_exact(2)
        .map(|p| usize::from(u16::from_be_bytes([p[0], p[1]])))
        .collect();
    let total: usize = header + lengths.iter().sum::<usize>();
    if total != data.len() {
        return Err(CardError::Payload("section lengths do not match the frame"));
    }
    let mut at = header;
    let mut parts = Vec::with_capacity(sections);
    for len in &lengths {
        parts.push(&data[at..at + len]);
        at += len;
    }
    let mut card = CardData::from_text_block(parts[0])?;
    card.photo_wlt = parts[1].to_vec();
    if sections == 3 {
        card.fingerprint = Some(parts[2].to_vec());
    }
    Ok(card)
}

/// Builds the data of a `30 01` response (simulator side).
pub fn encode_text_photo(card: &CardData, photo: &[u8]) -> Result<Vec<u8>, CardError> {
    encode_sections(card, photo, None)
}

/// Builds the data of a `30 10` response (simulator side).
pub fn encode_text_photo_fingerprint(
    card: &CardData,
    photo: &[u8],
    fingerprint: &[u8],
) -> Result<Vec<u8>, CardError> {
    encode_sections(card, photo, Some(fingerprint))
}

fn encode_sections(
    card: &CardData,
    photo: &[u8],
    fingerprint: Option<&[u8]>,
) -> Result<Vec<u8>, CardError> {
    let text = card.to_text_block()?;
    let len16 = |n: usize| {
        u16::try_from(n)
            .map(u16::to_be_bytes)
            .map_err(|_| CardError::Payload("section longer than 65535 bytes"))
    };
    let mut out = Vec::with_capacity(6 + TEXT_LEN + photo.len());
    out.extend_from_slice(&len16(TEXT_LEN)?);
    out.extend_from_slice(&len16(photo.len())?);
    if let Some(fp) = fingerprint {
        out.extend_from_slice(&len16(fp.len())?);
    }
    out.extend_from_slice(&text);
    out.extend_from_slice(photo);
    if let Some(fp) = fingerprint {
        out.extend_from_slice(fp);
    }
    Ok(out)
}

/// Decodes the data of a `30 03` (appended address) success response: UCS-2 LE, trimmed.
pub fn parse_appended_address(data: &[u8]) -> String {
    decode_ucs2(data)
}

/// Encodes an appended address for a `30 03` response (simulator side): 70 bytes, padded.
pub fn encode_appended_address(address: &str) -> Result<Vec<u8>, CardError> {
    let mut out = vec![0u8; 70];
    encode_ucs2(&mut out, address, TextField::Address)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_and_do_not_overlap() {
        for t in [
            CardType::Resident,
            CardType::Permit,
            CardType::Foreign2017,
            CardType::Foreign2023,
        ] {
            let mut used = [false; TEXT_LEN];
            used[CARD_TYPE_FLAG_OFFSET] = true;
            used[CARD_TYPE_FLAG_OFFSET + 1] = true;
            for (field, at) in t.layout() {
                assert!(at.len % 2 == 0 && at.offset % 2 == 0, "{t:?} {field:?}");
                for b in &mut used[at.offset..at.offset + at.len] {
                    assert!(!*b, "{t:?} {field:?} overlaps");
                    *b = true;
                }
            }
        }
    }

    #[test]
    fn masking() {
        assert_eq!(mask_id_number("110101199003070011"), "1101**********0011");
        assert_eq!(mask_id_number("123"), "***");
    }
}
