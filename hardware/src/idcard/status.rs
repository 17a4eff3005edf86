//! SW3, the SAM's status byte (spec §1 "SW3 status codes"). The driver branches on it.

/// SW3 as sent by the reader. Codes 01/02/03/05/09 of the vendor DLL tables are host-library
/// return values, never sent on the wire, so they are not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sw3 {
    /// 0x90 success.
    Success,
    /// 0x91 the card has no content for this item (e.g. no appended address).
    NoContent,
    /// 0x9F find card success.
    FindSuccess,
    /// 0x10 checksum error in the host's frame.
    HostChecksumError,
    /// 0x11 length error in the host's frame.
    HostLengthError,
    /// 0x21 command error (values or combination).
    CommandError,
    /// 0x23 unauthorized operation (越权).
    Unauthorized,
    /// 0x24 unrecognized error.
    UnrecognizedError,
    /// 0x31 the card failed to authenticate the SAM.
    CardAuthenticateSamFailed,
    /// 0x32 the SAM failed to authenticate the card.
    SamAuthenticateCardFailed,
    /// 0x33 information verification failed.
    VerificationFailed,
    /// 0x37 fingerprint information verification error.
    FingerprintVerificationFailed,
    /// 0x3F information length error.
    InfoLengthError,
    /// 0x40 unrecognized card type.
    UnknownCardType,
    /// 0x41 read card failed.
    ReadFailed,
    /// 0x47 get random number failed.
    RandomFailed,
    /// 0x60 SAM self-test failed; it accepts no commands.
    SelfTestFailed,
    /// 0x66 SAM not authorized.
    SamNotAuthorized,
    /// 0x80 find card failed (no card).
    NoCard,
    /// 0x81 select card failed.
    SelectFailed,
    /// Any other byte.
    Other(u8),
}

const TABLE: [(u8, Sw3); 20] = [
    (0x90, Sw3::Success),
    (0x91, Sw3::NoContent),
    (0x9F, Sw3::FindSuccess),
    (0x10, Sw3::HostChecksumError),
    (0x11, Sw3::HostLengthError),
    (0x21, Sw3::CommandError),
    (0x23, Sw3::Unauthorized),
    (0x24, Sw3::UnrecognizedError),
    (0x31, Sw3::CardAuthenticateSamFailed),
    (0x32, Sw3::SamAuthenticateCardFailed),
    (0x33, Sw3::VerificationFailed),
    (0x37, Sw3::FingerprintVerificationFailed),
    (0x3F, Sw3::InfoLengthError),
    (0x40, Sw3::UnknownCardType),
    (0x41, Sw3::ReadFailed),
    (0x47, Sw3::RandomFailed),
    (0x60, Sw3::SelfTestFailed),
    (0x66, Sw3::SamNotAuthorized),
    (0x80, Sw3::NoCard),
    (0x81, Sw3::SelectFailed),
];

impl Sw3 {
    pub fn from_byte(b: u8) -> Self {
        TABLE
            .iter()
            .find(|(code, _)| *code == b)
            .map_or(Sw3::Other(b), |(_, s)| *s)
    }

    pub fn byte(self) -> u8 {
        match self {
            Sw3::Other(b) => b,
            known => TABLE
                .iter()
                .find(|(_, s)| *s == known)
                .map_or(0, |(code, _)| *code),
        }
    }

    /// 90, 91 or 9F.
    pub fn is_success(self) -> bool {
        matches!(self, Sw3::Success | Sw3::NoContent | Sw3::FindSuccess)
    }

    /// Plain Chinese message for the applicant or staff.
    pub fn zh(self) -> &'static str {
        match self {
            Sw3::Success => "操作成功",
            Sw3::NoContent => "身份证中没有此项内容",
            Sw3::FindSuccess => "已检测到身份证",
            Sw3::HostChecksumError => "读卡器收到的数据校验错误，请重试",
            Sw3::HostLengthError => "读卡器收到的数据长度错误，请重试",
            Sw3::CommandError => "读卡器不支持该命令",
            Sw3::Unauthorized => "读卡器拒绝了越权操作",
            Sw3::UnrecognizedError => "读卡器发生未知错误，请重试",
            Sw3::CardAuthenticateSamFailed | Sw3::SamAuthenticateCardFailed => {
                "身份证认证失败，请重新放置身份证"
            }
            Sw3::VerificationFailed => "身份证信息校验失败，请重新放置身份证",
            Sw3::FingerprintVerificationFailed => "指纹信息校验错误",
            Sw3::InfoLengthError => "身份证信息长度错误，请重新放置身份证",
            Sw3::UnknownCardType => "无法识别的证件类型，请使用居民身份证或居住证",
            Sw3::ReadFailed => "读卡失败，请重新放置身份证",
            Sw3::RandomFailed => "读卡失败，请重新放置身份证",
            Sw3::SelfTestFailed => "读卡器自检失败，请联系工作人员",
            Sw3::SamNotAuthorized => "读卡器未授权，请联系工作人员",
            Sw3::NoCard => "未检测到身份证，请将身份证放在读卡区",
            Sw3::SelectFailed => "身份证选卡失败，请重新放置身份证",
            Sw3::Other(_) => "读卡器返回未知状态，请重试",
        }
    }

    /// English message for logs and staff.
    pub fn en(self) -> &'static str {
        match self {
            Sw3::Success => "success",
            Sw3::NoContent => "the card has no content for this item",
            Sw3::FindSuccess => "card found",
            Sw3::HostChecksumError => "the reader received a frame with a bad checksum",
            Sw3::HostLengthError => "the reader received a frame with a bad length",
            Sw3::CommandError => "command error (values or combination)",
            Sw3::Unauthorized => "unauthorized operation",
            Sw3::UnrecognizedError => "unrecognized reader error",
            Sw3::CardAuthenticateSamFailed => "the card failed to authenticate the SAM",
            Sw3::SamAuthenticateCardFailed => "the SAM failed to authenticate the card",
            Sw3::VerificationFailed => "card information verification failed",
            Sw3::FingerprintVerificationFailed => "fingerprint information verification error",
            Sw3::InfoLengthError => "card information length error",
            Sw3::UnknownCardType => "unrecognized card type",
            Sw3::ReadFailed => "reading the card failed",
            Sw3::RandomFailed => "getting a random number from the card failed",
            Sw3::SelfTestFailed => "SAM self-test failed",
            Sw3::SamNotAuthorized => "SAM not authorized",
            Sw3::NoCard => "no card in the field",
            Sw3::SelectFailed => "selecting the card failed",
            Sw3::Other(_) => "unknown reader status",
        }
    }
}

impl std::fmt::Display for Sw3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SW3 {:02X}: {}", self.byte(), self.en())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(Sw3::from_byte(b).byte(), b);
        }
    }
}
