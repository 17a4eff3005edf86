//! Field-level validation findings and their plain-language messages.
//!
//! A finding names the field it belongs to, so the UI can put the message right next to it, and
//! carries a code; the code's message is a key of the text catalogue (`crate::i18n`).

use serde::{Deserialize, Serialize};

use crate::catalog::{EducationKind, MaterialKind};

/// The language a message is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// One field of an education entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EducationField {
    Level,
    Degree,
    School,
    Major,
    Graduation,
    CertificateNumber,
}

/// Every field of the wizard a finding can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Field {
    Consent,
    HoldsQualificationAnswer,
    AccountingWorkAnswer,
    Name,
    IdType,
    IdNumber,
    Mobile,
    Gender,
    Ethnicity,
    BirthDate,
    PoliticalStatus,
    Email,
    PostalAddress,
    FinanceBureau,
    Employed,
    EmployerName,
    EmployerCreditCode,
    EmployerType,
    EmployerRegion,
    WorkStart,
    Posts,
    HeadOfAccounting,
    EmployerPhone,
    NotEmployedCategory,
    NotEmployedRegion,
    Education(EducationKind, EducationField),
    QualificationHeld,
    QualificationLevel,
    QualificationCertificate,
    QualificationObtained,
    QualificationSpecialty,
    Material(MaterialKind),
    Password,
    PasswordConfirm,
    SmsCode,
}

impl Field {
    /// A stable dotted key, used by the UI to find the widget of a field.
    pub fn key(self) -> String {
        let plain = match self {
            Field::Consent => "notice.consent",
            Field::HoldsQualificationAnswer => "eligibility.holds_qualification",
            Field::AccountingWorkAnswer => "eligibility.does_accounting_work",
            Field::Name => "basic.name",
            Field::IdType => "basic.id_type",
            Field::IdNumber => "basic.id_number",
            Field::Mobile => "basic.mobile",
            Field::Gender => "basic.gender",
            Field::Ethnicity => "basic.ethnicity",
            Field::BirthDate => "basic.birth_date",
            Field::PoliticalStatus => "basic.political_status",
            Field::Email => "basic.email",
            Field::PostalAddress => "basic.postal_address",
            Field::FinanceBureau => "basic.finance_bureau",
            Field::Employed => "work.employed",
            Field::EmployerName => "work.employer_name",
            Field::EmployerCreditCode => "work.employer_credit_code",
            Field::EmployerType => "work.employer_type",
            Field::EmployerRegion => "work.employer_region",
            Field::WorkStart => "work.work_start",
            Field::Posts => "work.posts",
            Field::HeadOfAccounting => "work.head_of_accounting",
            Field::EmployerPhone => "work.employer_phone",
            Field::NotEmployedCategory => "work.not_employed_category",
            Field::NotEmployedRegion => "work.not_employed_region",
            Field::QualificationHeld => "qualification.held",
            Field::QualificationLevel => "qualification.level",
            Field::QualificationCertificate => "qualification.certificate_number",
            Field::QualificationObtained => "qualification.obtained",
            Field::QualificationSpecialty => "qualification.specialty",
            Field::Password => "account.password",
            Field::PasswordConfirm => "account.password_confirm",
            Field::SmsCode => "account.sms_code",
            Field::Education(kind, field) => {
                let kind = match kind {
                    EducationKind::FullTime => "full_time",
                    EducationKind::PartTime => "part_time",
                };
                let field = match field {
                    EducationField::Level => "level",
                    EducationField::Degree => "degree",
                    EducationField::School => "school",
                    EducationField::Major => "major",
                    EducationField::Graduation => "graduation",
                    EducationField::CertificateNumber => "certificate_number",
                };
                return format!("education.{kind}.{field}");
            }
            Field::Material(kind) => return format!("materials.{}", kind.key()),
        };
        plain.to_owned()
    }
}

/// How a finding affects progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    /// The value is wrong; the step cannot be completed until it is fixed.
    Error,
    /// The value looks wrong but may be right (an early credit code, say): it blocks until a member
    /// of staff confirms it.
    NeedsStaffConfirmation,
}

/// What is wrong, independent of the field it is found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IssueCode {
    Required,
    RequiredOnceStarted,
    ConsentRequired,
    NotRequiredToCollect,
    TooLong,
    NameCharacters,
    IdLength,
    IdCharacters,
    IdBirthDate,
    IdBirthInFuture,
    IdChecksum,
    IdNotResident,
    IdNotPermit,
    IdNotForeign,
    ForeignIdFormat,
    GenderDiffersFromId,
    BirthDiffersFromId,
    UsccLength,
    UsccCharacters,
    UsccChecksum,
    MobileFormat,
    PhoneFormat,
    EmailFormat,
    DateInFuture,
    TooYoung,
    WorkStartTooEarly,
    GraduationBeforeBirth,
    QualificationBeforeBirth,
    PostsNoneWithOthers,
    PostsEmpty,
    UnknownRegion,
    NotAFinanceBureau,
    OutsideYunnan,
    BureauNotEmployerRegion,
    BureauNotSchoolRegion,
    BureauNotResidenceRegion,
    QualificationContradictsAnswer,
    MaterialMissing,
    MaterialTooLarge,
    MaterialTooSmall,
    PhotoTooFewPixels,
    PasswordRule,
    PasswordMismatch,
    SmsCodeFormat,
}

impl IssueCode {
    /// Every code, in declaration order, for what must name each rule (the traceability table in
    /// `docs/rules.md` and its test). The test below keeps it complete.
    pub const ALL: &'static [IssueCode] = &[
        IssueCode::Required,
        IssueCode::RequiredOnceStarted,
        IssueCode::ConsentRequired,
        IssueCode::NotRequiredToCollect,
        IssueCode::TooLong,
        IssueCode::NameCharacters,
        IssueCode::IdLength,
        IssueCode::IdCharacters,
        IssueCode::IdBirthDate,
        IssueCode::IdBirthInFuture,
        IssueCode::IdChecksum,
        IssueCode::IdNotResident,
        IssueCode::IdNotPermit,
        IssueCode::IdNotForeign,
        IssueCode::ForeignIdFormat,
        IssueCode::GenderDiffersFromId,
        IssueCode::BirthDiffersFromId,
        IssueCode::UsccLength,
        IssueCode::UsccCharacters,
        IssueCode::UsccChecksum,
        IssueCode::MobileFormat,
        IssueCode::PhoneFormat,
        IssueCode::EmailFormat,
        IssueCode::DateInFuture,
        IssueCode::TooYoung,
        IssueCode::WorkStartTooEarly,
        IssueCode::GraduationBeforeBirth,
        IssueCode::QualificationBeforeBirth,
        IssueCode::PostsNoneWithOthers,
        IssueCode::PostsEmpty,
        IssueCode::UnknownRegion,
        IssueCode::NotAFinanceBureau,
        IssueCode::OutsideYunnan,
        IssueCode::BureauNotEmployerRegion,
        IssueCode::BureauNotSchoolRegion,
        IssueCode::BureauNotResidenceRegion,
        IssueCode::QualificationContradictsAnswer,
        IssueCode::MaterialMissing,
        IssueCode::MaterialTooLarge,
        IssueCode::MaterialTooSmall,
        IssueCode::PhotoTooFewPixels,
        IssueCode::PasswordRule,
        IssueCode::PasswordMismatch,
        IssueCode::SmsCodeFormat,
    ];

    /// The message shown next to the field.
    pub fn message(self, lang: Lang) -> &'static str {
        crate::i18n::tr(lang, self.text_key())
    }

    /// The message's catalogue key (its Chinese text).
    pub fn text_key(self) -> &'static str {
        use IssueCode::*;
        match self {
            Required => "此项为必填项",
            RequiredOnceStarted => "已填写部分信息，此项也需填写完整",
            ConsentRequired => "请阅读并同意个人信息处理规则后再继续",
            NotRequiredToCollect => "根据您的回答，您不属于会计人员信息采集对象，无需采集",
            TooLong => "内容过长，请精简",
            NameCharacters => "姓名只能包含汉字、字母、间隔号“·”和空格",
            IdLength => "证件号码应为18位",
            IdCharacters => "证件号码前17位应为数字，最后一位为数字或X",
            IdBirthDate => "证件号码中的出生日期不存在，请核对",
            IdBirthInFuture => "证件号码中的出生日期晚于今天，请核对",
            IdChecksum => "证件号码校验位不正确，请逐位核对",
            IdNotResident => "这不是居民身份证号码，请核对证件类型",
            IdNotPermit => "港澳台居民居住证号码应以810000、820000或830000开头",
            IdNotForeign => "新版外国人永久居留身份证号码应以9开头",
            ForeignIdFormat => "外国人永久居留身份证号码应为3位字母加12位数字，或以9开头的18位号码",
            GenderDiffersFromId => "性别与证件号码不一致，请核对",
            BirthDiffersFromId => "出生日期与证件号码不一致，请核对",
            UsccLength => "统一社会信用代码应为18位",
            UsccCharacters => "统一社会信用代码只含数字和大写字母（不含I、O、S、V、Z）",
            UsccChecksum => {
                "统一社会信用代码校验未通过，请与营业执照逐位核对；确认无误请工作人员确认"
            }
            MobileFormat => "手机号码应为以1开头的11位数字",
            PhoneFormat => "电话号码格式不正确，例如 0871-61234567",
            EmailFormat => "电子邮箱格式不正确，例如 name@example.com",
            DateInFuture => "日期不能晚于今天",
            TooYoung => "出生日期有误：采集对象应年满16周岁",
            WorkStartTooEarly => "参加会计工作日期应在年满16周岁之后",
            GraduationBeforeBirth => "毕业日期应晚于出生日期",
            QualificationBeforeBirth => "取得资格日期应晚于出生日期",
            PostsNoneWithOthers => "“不从事会计工作岗位”不能与其他岗位同时选择",
            PostsEmpty => "请至少选择一个会计工作岗位",
            UnknownRegion => "请从列表中选择地区",
            NotAFinanceBureau => "请从列表中选择所属会计管理部门（财政局）",
            OutsideYunnan => "信息采集实行属地化原则：所在地不在云南省，请在所在地的财政部门采集",
            BureauNotEmployerRegion => "在岗人员应在工作单位所在地采集：请选择单位所在地的财政局",
            BureauNotSchoolRegion => "在校生应在学籍所在地采集：请选择学校所在地的财政局",
            BureauNotResidenceRegion => "请选择户籍所在地或居住地的财政局",
            QualificationContradictsAnswer => {
                "与前面“是否取得会计专业技术资格”的回答不一致，请核对"
            }
            MaterialMissing => "请拍摄或上传此项材料",
            MaterialTooLarge => "文件超过大小上限，请重新拍摄",
            MaterialTooSmall => "文件过小，清晰度不足，请重新拍摄",
            PhotoTooFewPixels => "照片尺寸不足295×413像素，请重新拍摄",
            PasswordRule => "密码应为8至20位，且同时包含字母和数字",
            PasswordMismatch => "两次输入的密码不一致",
            SmsCodeFormat => "短信验证码为6位数字",
        }
    }
}

/// A finding: which field, what is wrong, and whether staff may wave it through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub field: Field,
    pub code: IssueCode,
    pub severity: Severity,
}

impl Issue {
    pub fn error(field: Field, code: IssueCode) -> Self {
        Issue {
            field,
            code,
            severity: Severity::Error,
        }
    }

    pub fn needs_staff(field: Field, code: IssueCode) -> Self {
        Issue {
            field,
            code,
            severity: Severity::NeedsStaffConfirmation,
        }
    }

    pub fn message(&self, lang: Lang) -> &'static str {
        self.code.message(lang)
    }
}

#[cfg(test)]
mod tests {
    use serde::de::IntoDeserializer;
    use serde::de::value::U32Deserializer;

    use super::*;

    /// The place of each code in [`IssueCode::ALL`]. No wildcard arm: a new variant does not
    /// compile until it gets the next index here.
    fn position(code: IssueCode) -> usize {
        use IssueCode::*;
        match code {
            Required => 0,
            RequiredOnceStarted => 1,
            ConsentRequired => 2,
            NotRequiredToCollect => 3,
            TooLong => 4,
            NameCharacters => 5,
            IdLength => 6,
            IdCharacters => 7,
            IdBirthDate => 8,
            IdBirthInFuture => 9,
            IdChecksum => 10,
            IdNotResident => 11,
            IdNotPermit => 12,
            IdNotForeign => 13,
            ForeignIdFormat => 14,
            GenderDiffersFromId => 15,
            BirthDiffersFromId => 16,
            UsccLength => 17,
            UsccCharacters => 18,
            UsccChecksum => 19,
            MobileFormat => 20,
            PhoneFormat => 21,
            EmailFormat => 22,
            DateInFuture => 23,
            TooYoung => 24,
            WorkStartTooEarly => 25,
            GraduationBeforeBirth => 26,
            QualificationBeforeBirth => 27,
            PostsNoneWithOthers => 28,
            PostsEmpty => 29,
            UnknownRegion => 30,
            NotAFinanceBureau => 31,
            OutsideYunnan => 32,
            BureauNotEmployerRegion => 33,
            BureauNotSchoolRegion => 34,
            BureauNotResidenceRegion => 35,
            QualificationContradictsAnswer => 36,
            MaterialMissing => 37,
            MaterialTooLarge => 38,
            MaterialTooSmall => 39,
            PhotoTooFewPixels => 40,
            PasswordRule => 41,
            PasswordMismatch => 42,
            SmsCodeFormat => 43,
        }
    }

    #[test]
    fn all_lists_every_code_once_in_declaration_order() {
        for (index, code) in IssueCode::ALL.iter().enumerate() {
            assert_eq!(position(*code), index, "{code:?}");
        }
        // The derived Deserialize accepts a variant's index: walking the indices until one is
        // refused yields every declared variant, so one given a place above but left out of `ALL`
        // fails here too.
        let declared: Vec<IssueCode> = (0u32..)
            .map_while(|index| {
                let index: U32Deserializer<serde::de::value::Error> = index.into_deserializer();
                IssueCode::deserialize(index).ok()
            })
            .collect();
        assert_eq!(declared, IssueCode::ALL);
    }
}
