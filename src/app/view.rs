//! What the screen shows for a session, as plain data: the Slint glue copies it into the UI's
//! globals. Building it is pure, so what a person sees is tested without a display.

use kiosk_domain::catalog::{Choice, MaterialKind};
use kiosk_domain::materials::required_materials;
use kiosk_domain::record::ReviewState;
use kiosk_domain::{Field, Issue, Lang, Step};

use super::forms::{self, Keyboard, Kind};
use super::session::{AccountMode, Overlay, PickerStage, Screen, Session, Tone};
use kiosk_domain::{tr, tr_args};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKindView {
    Text,
    Secret,
    Date,
    Pick,
    Inline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionView {
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldView {
    pub key: String,
    pub heading: String,
    pub label: String,
    pub kind: FieldKindView,
    pub value: String,
    pub error: String,
    pub note: String,
    pub required: bool,
    pub read_only: bool,
    pub active: bool,
    pub multi: bool,
    pub options: Vec<OptionView>,
    /// A button under the field, e.g. staff confirmation; empty for none.
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialView {
    pub key: String,
    pub label: String,
    pub status: String,
    pub ok: bool,
    pub error: String,
    pub files: usize,
    /// Several pages may be taken (certificates); the photo and the ID card sides are one each.
    pub multi: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub label: String,
    /// What the summary shows: the mobile number masked like the ID number, on a public screen.
    pub value: String,
    /// The whole value, shown only while the applicant holds the row; empty if nothing is masked.
    pub revealed: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummarySection {
    pub title: String,
    pub step: Step,
    pub rows: Vec<SummaryRow>,
}

/// One stored file on the summary: its preview is loaded by the glue from `blob_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryPicture {
    pub key: String,
    pub page: usize,
    /// "证件照", or "学历证书 第 2 页" for a material of several pages.
    pub label: String,
    pub blob_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewTone {
    Pending,
    Failed,
    Passed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewView {
    pub tone: ReviewTone,
    pub title: String,
    pub detail: String,
    pub editable: bool,
    /// The receipt code of this visit's submission, grouped for reading; empty for none.
    pub receipt_code: String,
    /// What the receipt's QR code holds (the public status page), to show on screen as well.
    pub status_url: Option<String>,
    pub can_print_receipt: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerView {
    pub title: String,
    pub options: Vec<String>,
    pub second_level: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateView {
    pub title: String,
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// The banner as shown: its message in the session's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerView {
    pub text: String,
    pub tone: Tone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub screen: Screen,
    pub step_number: usize,
    pub step_count: usize,
    pub step_title: String,
    pub fields: Vec<FieldView>,
    pub banner: Option<BannerView>,
    pub keyboard: Option<Keyboard>,
    pub picker: Option<PickerView>,
    pub date: Option<DateView>,
    pub countdown: Option<u32>,
    pub consent_given: bool,
    pub account_mode: AccountMode,
    pub materials: Vec<MaterialView>,
    pub dev_materials: bool,
    pub summary: Vec<SummarySection>,
    /// The photo and every material page, in the order of the materials step.
    pub summary_pictures: Vec<SummaryPicture>,
    pub review: ReviewView,
    pub intro: String,
    pub can_submit: bool,
    pub reader_status: String,
    pub reader_ok: bool,
    /// Digits entered so far in the staff PIN dialog, when it is open.
    pub staff_pin: Option<usize>,
    /// The PIN opens staff mode (rather than confirming a field).
    pub staff_pin_for_mode: bool,
    /// The staff panel's lines, when it is open.
    pub staff_panel: Option<Vec<super::session::HealthRow>>,
    /// The voice of elder mode as staff set it, when the kiosk has one.
    pub voice: Option<crate::store::VoiceSettings>,
    /// Elder mode speaks now: the 重听 button is shown.
    pub speaks: bool,
    /// Pinyin being composed and the current page of candidates.
    pub composition: String,
    pub candidates: Vec<String>,
    /// The active field can be typed in Chinese; `chinese` when the keyboard is in Chinese mode.
    pub chinese_available: bool,
    pub chinese: bool,
    pub handwriting_available: bool,
    pub handwriting: bool,
    /// The writing pad's ink, as SVG path commands.
    pub ink: String,
    /// The discreet sync indicator (queue and connectivity); empty without a server.
    pub sync_status: String,
}

fn field_view(
    session: &Session,
    issues: &[Issue],
    field: Field,
    heading: Option<&str>,
) -> FieldView {
    let lang = session.lang;
    let visit = &session.visit;
    let data = session.form_data();
    let spec = forms::spec_of(field);
    let active = visit.active == Some(field);
    let error = issues
        .iter()
        .find(|i| i.field == field)
        .map(|i| i.message(lang).to_owned())
        .unwrap_or_default();
    let secret = match field {
        Field::Password => Some(&visit.account.password),
        Field::PasswordConfirm => Some(&visit.account.password_confirm),
        Field::SmsCode => Some(&visit.account.sms_code),
        _ => None,
    };
    let value = match (secret, spec.kind) {
        (Some(s), Kind::Secret(_)) => "●".repeat(s.chars().count()),
        (Some(s), _) => s.clone(),
        (None, _) if active => forms::text_value(field, data),
        (None, _) => forms::display_value(field, data, lang),
    };
    let (kind, multi) = match spec.kind {
        Kind::Text(_) => (FieldKindView::Text, false),
        Kind::Secret(_) => (FieldKindView::Secret, false),
        Kind::Date => (FieldKindView::Date, false),
        Kind::Pick(_) => (FieldKindView::Pick, false),
        Kind::Inline { multi } => (FieldKindView::Inline, multi),
    };
    let options = if kind == FieldKindView::Inline {
        forms::inline_options(field, lang)
            .into_iter()
            .zip(forms::inline_selected(field, data))
            .map(|(label, selected)| OptionView { label, selected })
            .collect()
    } else {
        Vec::new()
    };
    let read_only = session.is_read_only(field);
    let needs_staff = issues
        .iter()
        .any(|i| i.field == field && i.severity == kiosk_domain::Severity::NeedsStaffConfirmation);
    let action = if needs_staff {
        tr(lang, "请工作人员确认").to_owned()
    } else {
        String::new()
    };
    let staff_confirmed =
        field == Field::EmployerCreditCode && data.work.employment.credit_code_confirmed_by_staff;
    let from_card =
        data.basic.from_id_card && kiosk_domain::card_fill::CARD_FIELDS.contains(&field);
    // On the account page the number tells its type; the choice is there for the foreign card's
    // letters, which need the full keyboard.
    let type_detected =
        field == Field::IdType && session.on_account_page() && data.basic.id_type.is_none();
    let note = match (read_only, from_card) {
        (false, _) if staff_confirmed => tr(lang, "已由工作人员确认").to_owned(),
        (false, _) if type_detected => {
            tr(lang, "不选则按证件号码识别；外国人永久居留身份证请选择").to_owned()
        }
        (false, _) => String::new(),
        (true, true) => tr(lang, "来自身份证").to_owned(),
        (true, false) => tr(lang, "来自注册信息").to_owned(),
    };
    FieldView {
        key: field.key(),
        heading: heading
            .map(|key| tr(lang, key).to_owned())
            .unwrap_or_default(),
        label: forms::label(field, lang).to_owned(),
        kind,
        value,
        error,
        note,
        required: spec.required
            && !(field == Field::IdType && session.on_account_page())
            && (field != Field::WorkStart
                || kiosk_domain::validate::work_start_required(&data.work)),
        read_only,
        active,
        multi,
        options,
        action,
    }
}

fn materials_view(session: &Session) -> Vec<MaterialView> {
    let lang = session.lang;
    let data = session.visit.app.data();
    let issues = kiosk_domain::validate::materials(data, &session.services.limits);
    required_materials(data)
        .into_iter()
        .map(|kind| {
            let files = data.materials.get(&kind).map(Vec::as_slice).unwrap_or(&[]);
            let error = issues
                .iter()
                .find(|i| {
                    i.field == Field::Material(kind)
                        && (session.visit.show_all_errors || !files.is_empty())
                })
                .map(|i| i.message(lang).to_owned())
                .unwrap_or_default();
            let status = match files {
                [] => tr(lang, "未提供").to_owned(),
                [one] => {
                    let kb = one.bytes.div_ceil(1000);
                    tr_args(lang, "已提供（{0} KB）", &[&kb])
                }
                many => tr_args(lang, "已提供 {0} 份", &[&many.len()]),
            };
            MaterialView {
                key: kind.key().to_owned(),
                label: kind.label(lang).to_owned(),
                ok: !files.is_empty() && error.is_empty(),
                status,
                error,
                files: files.len(),
                multi: !super::session::single_file(kind),
            }
        })
        .collect()
}

/// One row of the summary. The mobile number is masked (`138****5678`) like the ID number: the
/// summary is read on a public screen; the applicant holds the row to check it in full.
fn summary_row(field: Field, data: &kiosk_domain::ApplicationData, lang: Lang) -> SummaryRow {
    let value = forms::display_value(field, data, lang);
    let (value, revealed) = match field {
        Field::Mobile if !value.is_empty() => (kiosk_domain::privacy::mask_mobile(&value), value),
        _ => (value, String::new()),
    };
    SummaryRow {
        label: forms::label(field, lang).to_owned(),
        value,
        revealed,
    }
}

fn summary_pictures(session: &Session) -> Vec<SummaryPicture> {
    let lang = session.lang;
    let data = session.visit.app.data();
    let mut pictures = Vec::new();
    for kind in required_materials(data) {
        let files = data.materials.get(&kind).map(Vec::as_slice).unwrap_or(&[]);
        for (page, file) in files.iter().enumerate() {
            let label = if super::session::single_file(kind) {
                kind.label(lang).to_owned()
            } else {
                let n = page + 1;
                tr_args(lang, "{0} 第 {1} 页", &[&kind.label(lang), &n])
            };
            pictures.push(SummaryPicture {
                key: kind.key().to_owned(),
                page,
                label,
                blob_id: file.blob_id.clone(),
            });
        }
    }
    pictures
}

fn summary_view(session: &Session) -> Vec<SummarySection> {
    let lang = session.lang;
    let data = session.visit.app.data();
    let mut sections: Vec<SummarySection> = [
        Step::Basic,
        Step::Work,
        Step::Education,
        Step::Qualification,
    ]
    .into_iter()
    .map(|step| SummarySection {
        title: step.title(lang).to_owned(),
        step,
        rows: forms::page_fields(step, data)
            .into_iter()
            .map(|(_, field)| summary_row(field, data, lang))
            .filter(|row| !row.value.is_empty())
            .collect(),
    })
    .collect();
    sections.push(SummarySection {
        title: Step::Materials.title(lang).to_owned(),
        step: Step::Materials,
        rows: materials_view(session)
            .into_iter()
            .map(|m| SummaryRow {
                label: m.label,
                value: m.status,
                revealed: String::new(),
            })
            .collect(),
    });
    sections
}

fn review_view(session: &Session) -> ReviewView {
    let lang = session.lang;
    let review = session.visit.app.review();
    let (tone, title, detail) = match review {
        ReviewState::Draft => (
            ReviewTone::Pending,
            tr(lang, "尚未提交").to_owned(),
            String::new(),
        ),
        ReviewState::Submitted | ReviewState::UnderReview => (
            ReviewTone::Pending,
            tr(lang, "审核中").to_owned(),
            tr(
                lang,
                "您的信息已提交，财政部门审核后结果将显示在这里。您可以随时回到本机登录查看。",
            )
            .to_owned(),
        ),
        ReviewState::Rejected { reason } => (
            ReviewTone::Failed,
            tr(lang, "审核失败").to_owned(),
            tr_args(lang, "审核意见：{0}。请修改后重新提交。", &[&reason]),
        ),
        ReviewState::Approved => (
            ReviewTone::Passed,
            tr(lang, "审核成功").to_owned(),
            tr(lang, "信息采集已完成，不能再修改。").to_owned(),
        ),
    };
    ReviewView {
        tone,
        title,
        detail,
        editable: review.is_editable(),
        receipt_code: session
            .visit
            .receipt
            .as_ref()
            .and_then(|r| r.code.as_deref())
            .map(kiosk_domain::receipt::grouped)
            .unwrap_or_default(),
        status_url: session.receipt_status_url(),
        can_print_receipt: session.can_print_receipt(),
    }
}

fn picker_view(session: &Session) -> Option<PickerView> {
    let Some(Overlay::Picker { field, stage }) = session.visit.overlay.clone() else {
        return None;
    };
    Some(PickerView {
        title: forms::label(field, session.lang).to_owned(),
        options: session.picker_options(),
        second_level: matches!(stage, PickerStage::Counties(_)),
    })
}

fn intro(session: &Session, step: Step) -> String {
    let lang = session.lang;
    match step {
        Step::Eligibility => {
            let list: Vec<&str> = kiosk_domain::eligibility::ACCOUNTING_WORK
                .iter()
                .map(|key| tr(lang, key))
                .collect();
            tr_args(lang, "会计工作包括：{0}。", &[&list.join(tr(lang, "；"))])
        }
        Step::Account => match session.visit.account_mode {
            AccountMode::LogIn => tr(lang, "已注册的人员请用证件号码和密码登录。").to_owned(),
            AccountMode::Register => tr(lang, "首次采集请注册，并绑定本人手机号码。").to_owned(),
            AccountMode::ForgotPassword => tr(lang, "通过绑定的手机号码重设密码。").to_owned(),
            AccountMode::BindPhone => {
                tr(lang, "您的信息已在系统中，首次登录请绑定本人手机号码。").to_owned()
            }
        },
        Step::Education => tr(lang, "没有学历（学位）信息可以不填；填写的一栏需完整。").to_owned(),
        Step::Materials => tr(
            lang,
            "根据您的回答，需要提供以下材料。本机会自动检查并压缩到规定大小。",
        )
        .to_owned(),
        _ => String::new(),
    }
}

pub fn build(session: &Session) -> View {
    let visit = &session.visit;
    let lang = session.lang;
    let step = session.current_step();
    // Validated once per view, not once per field.
    let issues = session.visible_issues();
    let fields = match step {
        Some(Step::Account) => session
            .account_fields()
            .into_iter()
            .map(|f| field_view(session, &issues, f, None))
            .collect(),
        Some(s) => forms::page_fields(s, session.visit.app.data())
            .into_iter()
            .map(|(heading, f)| field_view(session, &issues, f, heading))
            .collect(),
        None => Vec::new(),
    };
    let (step_number, step_count) = match step {
        Some(_) => visit.wizard.position(),
        None => (0, Step::ALL.len()),
    };
    let date = match visit.overlay.clone() {
        Some(Overlay::Date { field, initial }) => Some(DateView {
            title: forms::label(field, lang).to_owned(),
            year: initial.year(),
            month: u8::from(initial.month()),
            day: initial.day(),
        }),
        _ => None,
    };
    let (composition, candidates) = session.candidate_bar();
    View {
        screen: visit.screen,
        step_number,
        step_count,
        step_title: step.map(|s| s.title(lang).to_owned()).unwrap_or_default(),
        fields,
        banner: visit.banner.as_ref().map(|b| BannerView {
            text: b.message.text(lang),
            tone: b.tone,
        }),
        keyboard: session.keyboard(),
        picker: picker_view(session),
        date,
        countdown: visit.countdown,
        consent_given: visit.app.data().consent.is_some(),
        account_mode: visit.account_mode,
        materials: if step == Some(Step::Materials) {
            materials_view(session)
        } else {
            Vec::new()
        },
        dev_materials: session.services.materials.is_some(),
        summary: if step == Some(Step::Summary) {
            summary_view(session)
        } else {
            Vec::new()
        },
        summary_pictures: if step == Some(Step::Summary) {
            summary_pictures(session)
        } else {
            Vec::new()
        },
        review: review_view(session),
        intro: step.map(|s| intro(session, s)).unwrap_or_default(),
        can_submit: visit.app.review().is_editable(),
        reader_status: match session.reader_online {
            None => String::new(),
            Some(true) => tr(lang, "请将身份证放在读卡区，自动开始采集").to_owned(),
            Some(false) => tr(
                lang,
                "读卡器未连接：请点击“开始采集”手动填写，或联系工作人员",
            )
            .to_owned(),
        },
        reader_ok: session.reader_online == Some(true),
        composition,
        candidates,
        chinese_available: session.pinyin_available(),
        chinese: session.pinyin_available() && !visit.english_input,
        handwriting_available: session.handwriting_available(),
        handwriting: session.handwriting_active(),
        ink: session.ink(),
        sync_status: session
            .sync_status()
            .map(|s| {
                if lang == Lang::Zh {
                    s.label_zh()
                } else {
                    s.label_en()
                }
            })
            .unwrap_or_default(),
        staff_pin: match &visit.overlay {
            Some(Overlay::StaffPin { entered, .. }) => Some(entered.len()),
            _ => None,
        },
        staff_pin_for_mode: matches!(visit.overlay, Some(Overlay::StaffPin { field: None, .. })),
        staff_panel: visit.staff_panel.then(|| session.staff_health()),
        voice: session.services.speaker.is_some().then_some(session.voice),
        speaks: session.speaks(),
    }
}

/// Material kind by its key, for the glue.
pub fn material_kind(key: &str) -> Option<MaterialKind> {
    MaterialKind::ALL.iter().copied().find(|k| k.key() == key)
}

/// "12月8日 14:30" (Dec 8, 14:30) in China Standard Time, for the applicant.
pub fn china_month_day_time(at: time::OffsetDateTime, lang: Lang) -> String {
    let cst = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let at = at.to_offset(cst);
    // The English month's abbreviation is the fourth argument, which the Chinese text leaves out.
    let month_abbreviation = &at.month().to_string()[..3];
    tr_args(
        lang,
        "{0}月{1}日 {2}",
        &[
            &u8::from(at.month()),
            &at.day(),
            &format!("{:02}:{:02}", at.hour(), at.minute()),
            &month_abbreviation,
        ],
    )
}
