//! What each field of the wizard looks like and how a touch changes the record: labels, input
//! kinds, option lists, display values. Shared by the kiosk's pages and the reviewer console on
//! the server, so both show a record in the same words; no UI library here, so it is tested
//! directly.

use crate::catalog::{
    AccountingPost, Choice, Degree, EducationKind, EducationLevel, EmployerType, Gender, IdType,
    NotEmployedCategory, PoliticalStatus, QualificationLevel,
};
use crate::issue::EducationField;
use crate::record::{ApplicationData, Basic, EducationEntry};
use crate::region::{self, DivisionCode, Region};
use crate::{Ethnicity, Field, Lang, Step, privacy};
use time::Date;

/// Which on-screen keyboard a text field opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyboard {
    Letters,
    Digits,
    IdNumber,
    Phone,
}

/// A list chosen from in the picker overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickList {
    IdType,
    Ethnicity,
    PoliticalStatus,
    EmployerType,
    EducationLevel,
    Degree,
    /// Yunnan's divisions in two levels, plus "outside Yunnan".
    Region,
    /// The finance bureaus in two levels.
    Bureau,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text(Keyboard),
    Secret(Keyboard),
    Date,
    Pick(PickList),
    /// Options shown inline as large buttons; `multi` allows several.
    Inline {
        multi: bool,
    },
}

/// The fixed part of a field: its label, kind and whether it must be filled.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The label's catalogue key (the Chinese label).
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
}

fn spec(label: &'static str, kind: Kind, required: bool) -> Spec {
    Spec {
        label,
        kind,
        required,
    }
}

const YES_NO: [&str; 2] = ["是", "否"];

pub fn spec_of(field: Field) -> Spec {
    use Keyboard::*;
    use Kind::*;
    let text = Text(Letters);
    match field {
        Field::Consent => spec("同意", Inline { multi: false }, true),
        Field::HoldsQualificationAnswer => spec(
            "您是否取得会计专业技术资格（初级、中级、高级、正高级）？",
            Inline { multi: false },
            true,
        ),
        Field::AccountingWorkAnswer => {
            spec("您是否从事下列会计工作？", Inline { multi: false }, true)
        }
        Field::Name => spec("姓名", text, true),
        Field::IdType => spec("证件类型", Pick(PickList::IdType), true),
        Field::IdNumber => spec("证件号码", Text(IdNumber), true),
        Field::Mobile => spec("手机号码", Text(Phone), true),
        Field::Gender => spec("性别", Inline { multi: false }, true),
        Field::Ethnicity => spec("民族", Pick(PickList::Ethnicity), true),
        Field::BirthDate => spec("出生日期", Date, true),
        Field::PoliticalStatus => spec("政治面貌", Pick(PickList::PoliticalStatus), false),
        Field::Email => spec("电子邮箱", text, false),
        Field::PostalAddress => spec("通讯地址", text, true),
        Field::FinanceBureau => spec("所属会计管理部门（财政局）", Pick(PickList::Bureau), true),
        Field::Employed => spec("是否在岗", Inline { multi: false }, true),
        Field::EmployerName => spec("工作单位名称", text, true),
        Field::EmployerCreditCode => spec("单位统一社会信用代码", text, true),
        Field::EmployerType => spec("单位性质", Pick(PickList::EmployerType), true),
        Field::EmployerRegion => spec("单位所在地区", Pick(PickList::Region), true),
        Field::WorkStart => spec("参加会计工作日期", Date, true),
        Field::Posts => spec("会计工作岗位（可多选）", Inline { multi: true }, true),
        Field::HeadOfAccounting => spec(
            "是否为会计机构负责人或总会计师",
            Inline { multi: false },
            true,
        ),
        Field::EmployerPhone => spec("单位电话", Text(Phone), false),
        Field::NotEmployedCategory => spec("人员类别", Inline { multi: false }, true),
        Field::NotEmployedRegion => {
            spec("学籍、户籍或居住地所在地区", Pick(PickList::Region), true)
        }
        Field::Education(_, f) => match f {
            EducationField::Level => spec("学历", Pick(PickList::EducationLevel), false),
            EducationField::Degree => spec("学位", Pick(PickList::Degree), false),
            EducationField::School => spec("毕业院校", text, false),
            EducationField::Major => spec("所学专业", text, false),
            EducationField::Graduation => spec("毕业日期", Date, false),
            EducationField::CertificateNumber => {
                // Older diplomas and foreign-degree recognition certificates carry letters
                // and characters: the full keyboard, with Chinese a tap away.
                spec("学历证书编号", text, false)
            }
        },
        Field::QualificationHeld => spec("是否取得会计专业技术资格", Inline { multi: false }, true),
        Field::QualificationLevel => spec("资格级别", Inline { multi: false }, true),
        Field::QualificationCertificate => spec("资格证书编号或管理号", text, true),
        Field::QualificationObtained => spec("取得资格日期", Date, true),
        Field::QualificationSpecialty => spec("专业", text, false),
        Field::Material(kind) => spec(kind.text_key(), Inline { multi: false }, true),
        Field::Password => spec("密码", Secret(Letters), true),
        Field::PasswordConfirm => spec("再次输入密码", Secret(Letters), true),
        Field::SmsCode => spec("短信验证码", Text(Digits), true),
    }
}

/// Fields typed in Chinese (the keyboard offers pinyin and handwriting there).
pub fn accepts_chinese(field: Field) -> bool {
    matches!(
        field,
        Field::Name
            | Field::PostalAddress
            | Field::EmployerName
            | Field::QualificationSpecialty
            | Field::Education(
                _,
                EducationField::School | EducationField::Major | EducationField::CertificateNumber
            )
    )
}

/// A field whose values are mostly letters and digits, though some carry Chinese: its keyboard
/// opens in Latin mode. So does the number of a foreign permanent resident card, whose 2017 form
/// begins with three letters.
pub fn starts_in_latin(field: Field, data: &ApplicationData) -> bool {
    matches!(
        field,
        Field::Education(_, EducationField::CertificateNumber)
    ) || foreign_card_number(field, data)
}

fn foreign_card_number(field: Field, data: &ApplicationData) -> bool {
    field == Field::IdNumber && data.basic.id_type == Some(IdType::ForeignPermanentResidentCard)
}

/// The keyboard a text field opens with: its own, except that a foreign card's number needs
/// letters, which the ID pad (digits and X) lacks.
pub fn keyboard_of(field: Field, data: &ApplicationData) -> Option<Keyboard> {
    match spec_of(field).kind {
        Kind::Text(_) if foreign_card_number(field, data) => Some(Keyboard::Letters),
        Kind::Text(k) | Kind::Secret(k) => Some(k),
        _ => None,
    }
}

pub fn label(field: Field, lang: Lang) -> &'static str {
    crate::i18n::tr(lang, spec_of(field).label)
}

fn pick<T: Choice>(lang: Lang) -> Vec<String> {
    T::ALL.iter().map(|c| c.label(lang).to_owned()).collect()
}

fn yes_no(lang: Lang) -> Vec<String> {
    YES_NO
        .iter()
        .map(|key| crate::i18n::tr(lang, key).to_owned())
        .collect()
}

/// The options of an inline field, in display order.
pub fn inline_options(field: Field, lang: Lang) -> Vec<String> {
    match field {
        Field::Gender => pick::<Gender>(lang),
        Field::Posts => pick::<AccountingPost>(lang),
        Field::QualificationLevel => pick::<QualificationLevel>(lang),
        Field::NotEmployedCategory => pick::<NotEmployedCategory>(lang),
        _ => yes_no(lang),
    }
}

/// The options of a flat picker list.
pub fn pick_options(list: PickList, lang: Lang) -> Vec<String> {
    match list {
        PickList::IdType => pick::<IdType>(lang),
        PickList::Ethnicity => Ethnicity::all().map(|e| e.display_name(lang)).collect(),
        PickList::PoliticalStatus => pick::<PoliticalStatus>(lang),
        PickList::EmployerType => pick::<EmployerType>(lang),
        PickList::EducationLevel => pick::<EducationLevel>(lang),
        PickList::Degree => pick::<Degree>(lang),
        PickList::Region | PickList::Bureau => Vec::new(),
    }
}

fn entry(data: &ApplicationData, kind: EducationKind) -> &EducationEntry {
    data.education.entry(kind)
}

fn entry_mut(data: &mut ApplicationData, kind: EducationKind) -> &mut EducationEntry {
    match kind {
        EducationKind::FullTime => &mut data.education.full_time,
        EducationKind::PartTime => &mut data.education.part_time,
    }
}

/// The text a text field holds (unmasked).
pub fn text_value(field: Field, data: &ApplicationData) -> String {
    let b = &data.basic;
    let e = &data.work.employment;
    let q = &data.qualification;
    match field {
        Field::Name => b.name.clone(),
        Field::IdNumber => b.id_number.clone(),
        Field::Mobile => b.mobile.clone(),
        Field::Email => b.email.clone(),
        Field::PostalAddress => b.postal_address.clone(),
        Field::EmployerName => e.employer_name.clone(),
        Field::EmployerCreditCode => e.employer_credit_code.clone(),
        Field::EmployerPhone => e.employer_phone.clone(),
        Field::Education(kind, EducationField::School) => entry(data, kind).school.clone(),
        Field::Education(kind, EducationField::Major) => entry(data, kind).major.clone(),
        Field::Education(kind, EducationField::CertificateNumber) => {
            entry(data, kind).certificate_number.clone()
        }
        Field::QualificationCertificate => q.certificate_number.clone(),
        Field::QualificationSpecialty => q.specialty.clone(),
        _ => String::new(),
    }
}

/// The text slot of a text field, for typing into.
pub fn text_slot(field: Field, data: &mut ApplicationData) -> Option<&mut String> {
    Some(match field {
        Field::Name => &mut data.basic.name,
        Field::IdNumber => &mut data.basic.id_number,
        Field::Mobile => &mut data.basic.mobile,
        Field::Email => &mut data.basic.email,
        Field::PostalAddress => &mut data.basic.postal_address,
        Field::EmployerName => &mut data.work.employment.employer_name,
        Field::EmployerCreditCode => &mut data.work.employment.employer_credit_code,
        Field::EmployerPhone => &mut data.work.employment.employer_phone,
        Field::Education(kind, EducationField::School) => &mut entry_mut(data, kind).school,
        Field::Education(kind, EducationField::Major) => &mut entry_mut(data, kind).major,
        Field::Education(kind, EducationField::CertificateNumber) => {
            &mut entry_mut(data, kind).certificate_number
        }
        Field::QualificationCertificate => &mut data.qualification.certificate_number,
        Field::QualificationSpecialty => &mut data.qualification.specialty,
        _ => return None,
    })
}

/// The selected index of an inline single-choice field.
pub fn inline_selected(field: Field, data: &ApplicationData) -> Vec<bool> {
    fn one<T: Choice + PartialEq>(value: Option<T>) -> Vec<bool> {
        T::ALL.iter().map(|c| Some(*c) == value).collect()
    }
    let yes_no = |v: Option<bool>| vec![v == Some(true), v == Some(false)];
    match field {
        Field::HoldsQualificationAnswer => yes_no(data.eligibility.holds_qualification),
        Field::AccountingWorkAnswer => yes_no(data.eligibility.does_accounting_work),
        Field::Gender => one(data.basic.gender),
        Field::Employed => yes_no(data.work.employed),
        Field::HeadOfAccounting => yes_no(data.work.employment.head_of_accounting),
        Field::NotEmployedCategory => one(data.work.non_employment.category),
        Field::QualificationHeld => yes_no(data.qualification.held),
        Field::QualificationLevel => one(data.qualification.level),
        Field::Posts => AccountingPost::ALL
            .iter()
            .map(|p| data.work.employment.posts.contains(p))
            .collect(),
        _ => Vec::new(),
    }
}

/// Applies a touch on option `index` of an inline field (a toggle for multi-select fields).
pub fn choose_inline(field: Field, index: usize, data: &mut ApplicationData) {
    let yes = index == 0;
    match field {
        Field::HoldsQualificationAnswer => data.eligibility.holds_qualification = Some(yes),
        Field::AccountingWorkAnswer => data.eligibility.does_accounting_work = Some(yes),
        Field::Gender => data.basic.gender = Gender::ALL.get(index).copied(),
        Field::Employed => data.work.employed = Some(yes),
        Field::HeadOfAccounting => data.work.employment.head_of_accounting = Some(yes),
        Field::NotEmployedCategory => {
            data.work.non_employment.category = NotEmployedCategory::ALL.get(index).copied()
        }
        Field::QualificationHeld => data.qualification.held = Some(yes),
        Field::QualificationLevel => {
            data.qualification.level = QualificationLevel::ALL.get(index).copied()
        }
        Field::Posts => {
            if let Some(post) = AccountingPost::ALL.get(index) {
                let posts = &mut data.work.employment.posts;
                if !posts.remove(post) {
                    posts.insert(*post);
                }
            }
        }
        _ => {}
    }
}

/// Applies a choice from a flat picker list.
pub fn choose_from_list(field: Field, index: usize, data: &mut ApplicationData) {
    match field {
        Field::IdType => data.basic.id_type = IdType::ALL.get(index).copied(),
        Field::Ethnicity => data.basic.ethnicity = Ethnicity::all().nth(index),
        Field::PoliticalStatus => {
            data.basic.political_status = PoliticalStatus::ALL.get(index).copied()
        }
        Field::EmployerType => {
            data.work.employment.employer_type = EmployerType::ALL.get(index).copied()
        }
        Field::Education(kind, EducationField::Level) => {
            entry_mut(data, kind).level = EducationLevel::ALL.get(index).copied()
        }
        Field::Education(kind, EducationField::Degree) => {
            entry_mut(data, kind).degree = Degree::ALL.get(index).copied()
        }
        _ => {}
    }
}

/// Sets a region or bureau answer.
pub fn set_place(field: Field, place: Region, data: &mut ApplicationData) {
    match (field, place) {
        (Field::FinanceBureau, Region::Yunnan(code)) => data.basic.finance_bureau = Some(code),
        (Field::EmployerRegion, p) => data.work.employment.employer_region = Some(p),
        (Field::NotEmployedRegion, p) => data.work.non_employment.region = Some(p),
        _ => {}
    }
}

pub fn date_value(field: Field, data: &ApplicationData) -> Option<Date> {
    match field {
        Field::BirthDate => data.basic.birth_date,
        Field::WorkStart => data.work.employment.work_start,
        Field::Education(kind, EducationField::Graduation) => entry(data, kind).graduation,
        Field::QualificationObtained => data.qualification.obtained,
        _ => None,
    }
}

pub fn set_date(field: Field, date: Date, data: &mut ApplicationData) {
    match field {
        Field::BirthDate => data.basic.birth_date = Some(date),
        Field::WorkStart => data.work.employment.work_start = Some(date),
        Field::Education(kind, EducationField::Graduation) => {
            entry_mut(data, kind).graduation = Some(date)
        }
        Field::QualificationObtained => data.qualification.obtained = Some(date),
        _ => {}
    }
}

fn place_name(place: Option<Region>, lang: Lang) -> String {
    match place {
        None => String::new(),
        Some(Region::OutsideYunnan) => outside_yunnan(lang).to_owned(),
        Some(Region::Yunnan(code)) => region::division(code)
            .map(|d| d.full_name())
            .unwrap_or_default(),
    }
}

pub fn outside_yunnan(lang: Lang) -> &'static str {
    crate::i18n::tr(lang, "云南省外")
}

fn bureau_name(code: Option<DivisionCode>) -> String {
    code.and_then(region::division)
        .map(|d| d.bureau_name())
        .unwrap_or_default()
}

/// What a field shows when it is not being edited: masked ID numbers, labels of choices.
pub fn display_value(field: Field, data: &ApplicationData, lang: Lang) -> String {
    let b: &Basic = &data.basic;
    match field {
        Field::IdNumber => privacy::mask_id_number(&b.id_number),
        Field::IdType => b
            .id_type
            .map(|t| t.label(lang).to_owned())
            .unwrap_or_default(),
        Field::Ethnicity => b
            .ethnicity
            .map(|e| e.display_name(lang))
            .unwrap_or_default(),
        Field::BirthDate
        | Field::WorkStart
        | Field::QualificationObtained
        | Field::Education(_, EducationField::Graduation) => {
            date_value(field, data).map(format_date).unwrap_or_default()
        }
        Field::PoliticalStatus => b
            .political_status
            .map(|p| p.label(lang).to_owned())
            .unwrap_or_default(),
        Field::FinanceBureau => bureau_name(b.finance_bureau),
        Field::EmployerType => data
            .work
            .employment
            .employer_type
            .map(|t| t.label(lang).to_owned())
            .unwrap_or_default(),
        Field::EmployerRegion => place_name(data.work.employment.employer_region, lang),
        Field::NotEmployedRegion => place_name(data.work.non_employment.region, lang),
        Field::Education(kind, EducationField::Level) => entry(data, kind)
            .level
            .map(|l| l.label(lang).to_owned())
            .unwrap_or_default(),
        Field::Education(kind, EducationField::Degree) => entry(data, kind)
            .degree
            .map(|d| d.label(lang).to_owned())
            .unwrap_or_default(),
        _ if matches!(spec_of(field).kind, Kind::Inline { .. }) => {
            let options = inline_options(field, lang);
            inline_selected(field, data)
                .iter()
                .zip(options)
                .filter(|(selected, _)| **selected)
                .map(|(_, label)| label)
                .collect::<Vec<_>>()
                .join(crate::i18n::tr(lang, "、"))
        }
        _ => text_value(field, data),
    }
}

pub fn format_date(date: Date) -> String {
    format!(
        "{}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The fields of a wizard page, in order, with the section heading that precedes each (if any).
/// Which fields appear depends on the answers (the employed branch, say).
pub fn page_fields(step: Step, data: &ApplicationData) -> Vec<(Option<&'static str>, Field)> {
    let plain = |fields: &[Field]| fields.iter().map(|f| (None, *f)).collect::<Vec<_>>();
    match step {
        Step::Eligibility => plain(&[Field::HoldsQualificationAnswer, Field::AccountingWorkAnswer]),
        Step::Basic => plain(&[
            Field::Name,
            Field::IdType,
            Field::IdNumber,
            Field::Mobile,
            Field::Gender,
            Field::Ethnicity,
            Field::BirthDate,
            Field::PoliticalStatus,
            Field::Email,
            Field::PostalAddress,
            Field::FinanceBureau,
        ]),
        Step::Work => {
            let mut fields = plain(&[Field::Employed]);
            match data.work.employed {
                Some(true) => fields.extend(plain(&[
                    Field::EmployerName,
                    Field::EmployerCreditCode,
                    Field::EmployerType,
                    Field::EmployerRegion,
                    Field::WorkStart,
                    Field::Posts,
                    Field::HeadOfAccounting,
                    Field::EmployerPhone,
                ])),
                Some(false) => fields.extend(plain(&[
                    Field::NotEmployedCategory,
                    Field::NotEmployedRegion,
                ])),
                None => {}
            }
            fields
        }
        Step::Education => {
            let mut fields = Vec::new();
            for (kind, heading) in [
                (
                    EducationKind::FullTime,
                    "全日制最高学历（选填，填写则需完整）",
                ),
                (
                    EducationKind::PartTime,
                    "非全日制最高学历（选填，填写则需完整）",
                ),
            ] {
                for (i, f) in [
                    EducationField::Level,
                    EducationField::Degree,
                    EducationField::School,
                    EducationField::Major,
                    EducationField::Graduation,
                    EducationField::CertificateNumber,
                ]
                .into_iter()
                .enumerate()
                {
                    fields.push(((i == 0).then_some(heading), Field::Education(kind, f)));
                }
            }
            fields
        }
        Step::Qualification => {
            let mut fields = plain(&[Field::QualificationHeld]);
            if data.qualification.held == Some(true) {
                fields.extend(plain(&[
                    Field::QualificationLevel,
                    Field::QualificationCertificate,
                    Field::QualificationObtained,
                    Field::QualificationSpecialty,
                ]));
            }
            fields
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{self, Branch};

    #[test]
    fn every_page_field_reads_back_what_was_written() {
        let data = samples::complete(Branch::Employed);
        for step in Step::ALL {
            for (_, field) in page_fields(step, &data) {
                let shown = display_value(field, &data, Lang::Zh);
                let required = spec_of(field).required;
                let optional_empty =
                    matches!(
                        field,
                        Field::PoliticalStatus | Field::Email | Field::EmployerPhone
                    ) || matches!(field, Field::Education(EducationKind::PartTime, _));
                assert!(
                    !shown.is_empty() || optional_empty || !required,
                    "{field:?} shows nothing"
                );
            }
        }
        assert_eq!(
            display_value(Field::IdNumber, &data, Lang::Zh),
            "1101**********0011"
        );
        assert_eq!(display_value(Field::Posts, &data, Lang::Zh), "出纳、总账");
        assert_eq!(
            display_value(Field::FinanceBureau, &data, Lang::Zh),
            "五华区财政局"
        );
    }

    #[test]
    fn touches_change_the_record() {
        let mut data = ApplicationData::default();
        choose_inline(Field::Posts, 1, &mut data);
        choose_inline(Field::Posts, 7, &mut data);
        choose_inline(Field::Posts, 1, &mut data);
        assert_eq!(data.work.employment.posts.len(), 1);
        choose_inline(Field::Employed, 1, &mut data);
        assert_eq!(data.work.employed, Some(false));
        choose_from_list(Field::Ethnicity, 6, &mut data);
        assert_eq!(data.basic.ethnicity.map(Ethnicity::code), Some(7));
        if let Some(slot) = text_slot(Field::EmployerName, &mut data) {
            slot.push_str("云南");
        }
        assert_eq!(text_value(Field::EmployerName, &data), "云南");
        assert_eq!(page_fields(Step::Work, &data).len(), 3);
    }
}
