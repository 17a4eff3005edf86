//! One applicant's session at the kiosk: the record, the wizard, the account form, which field is
//! being typed, open pickers, the idle countdown. Every touch on the screen becomes one method call
//! here; the Slint glue then shows [`super::view::View`]. No Slint in this file.

use std::collections::BTreeSet;

use kiosk_domain::catalog::{IdType, MaterialKind};
use kiosk_domain::record::{ApplicationData, Consent};
use kiosk_domain::region::{self, DivisionCode, Region};
use kiosk_domain::wizard::{MoveError, step_issues};
use kiosk_domain::{
    Application, Context, Field, Issue, IssueCode, Lang, MaterialLimits, Progress, Step, Wizard,
    idnumber, validate,
};
use time::{Date, Month};

use super::forms::{self, Keyboard, Kind, PickList};
use crate::accounts::{AccountError, Accounts, Registration};
use crate::store::Store;
use kiosk_domain::card_fill::{self, CARD_FIELDS, CardIdentity};
use kiosk_domain::record::Basic;
use kiosk_hardware::idcard::CardReaderDevice;
use kiosk_ime::PinyinEngine;

/// Where a captured material comes from: the cameras (a later issue) or, in development, files.
pub trait MaterialSource {
    /// Produces the file for `kind`, already checked and compressed to its limit.
    fn capture(&mut self, kind: MaterialKind) -> Result<Captured, String>;
}

pub struct Captured {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// What the session needs from the rest of the kiosk.
pub struct Services {
    pub store: Store,
    pub accounts: Box<dyn Accounts>,
    /// Present in development mode only (attach a material from a file).
    pub materials: Option<Box<dyn MaterialSource>>,
    pub limits: MaterialLimits,
    pub idle_timeout_secs: u32,
    /// "Today" for validation, in China Standard Time.
    pub today: fn() -> Date,
    /// The ID card reader, when one is configured.
    pub card_reader: Option<Box<dyn CardReaderDevice>>,
    /// Argon2 hash of the hall staff's PIN; without one, staff confirmation is unavailable.
    pub staff_pin_hash: Option<String>,
    /// Starts a pinyin engine for one visit; without it the keyboard types letters only.
    pub pinyin: Option<PinyinFactory>,
    /// Handwriting recognition; without it the keyboard offers no writing pad.
    pub handwriting: Option<kiosk_ime::handwriting::Recognizer>,
}

/// Starts one applicant's pinyin engine (its learning is wiped when the engine is dropped).
pub type PinyinFactory = Box<dyn Fn() -> Result<Box<dyn PinyinEngine>, String>>;

/// Seconds the "还在吗？" countdown runs before the session is wiped.
pub const IDLE_COUNTDOWN_SECS: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Welcome,
    Step(Step),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountMode {
    #[default]
    LogIn,
    Register,
    ForgotPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Error,
    Success,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub text: String,
    pub tone: Tone,
}

/// The stage of the two-level region and bureau picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerStage {
    Flat(PickList),
    Prefectures { with_outside: bool },
    Counties(DivisionCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Picker {
        field: Field,
        stage: PickerStage,
    },
    Date {
        field: Field,
        initial: Date,
    },
    /// A member of staff confirms a value that fails its check (an early credit code).
    StaffPin {
        field: Field,
        entered: String,
    },
}

/// Wrong staff PINs allowed in one visit.
pub const STAFF_PIN_ATTEMPTS: u32 = 5;

/// The account page's own fields (registration data lives in `data.basic`).
#[derive(Default)]
pub struct AccountForm {
    pub data: ApplicationData,
    pub password: String,
    pub password_confirm: String,
    pub sms_code: String,
}

/// Everything about the applicant at the screen. Wiping the session replaces it whole, so nothing
/// added here can be forgotten by the wipe.
#[derive(Default)]
pub struct Visit {
    pub screen: Screen,
    pub app: Application,
    pub wizard: Wizard,
    pub signed_in: bool,
    pub account_mode: AccountMode,
    pub account: AccountForm,
    pub active: Option<Field>,
    pub show_all_errors: bool,
    pub touched: BTreeSet<Field>,
    pub banner: Option<Banner>,
    pub overlay: Option<Overlay>,
    pub quiet_secs: u32,
    pub countdown: Option<u32>,
    /// A card read before consent: held in memory, used only once the applicant has consented.
    pub pending_card: Option<CardIdentity>,
    pub staff_pin_failures: u32,
    /// This visit's pinyin engine, started at the first Chinese field.
    pub pinyin: Option<Box<dyn PinyinEngine>>,
    /// The applicant switched the keyboard to English (中/英).
    pub english_input: bool,
    /// The writing pad replaces the letter keys.
    pub handwriting: bool,
    /// Strokes on the writing pad (pad coordinates), and the pad's size.
    pub strokes: Vec<Vec<(i32, i32)>>,
    pub pad_size: (f32, f32),
    pub written_candidates: Vec<String>,
}

pub struct Session {
    pub services: Services,
    pub lang: Lang,
    pub elder: bool,
    /// Whether the ID card reader answers; `None` when no reader is configured.
    pub reader_online: Option<bool>,
    pub visit: Visit,
    /// The sync worker, when a central server is configured.
    sync: Option<crate::sync::SyncHandle>,
}

fn t(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
    .to_owned()
}

impl Session {
    pub fn new(services: Services) -> Self {
        Session {
            services,
            lang: Lang::Zh,
            elder: false,
            reader_online: None,
            visit: Visit::default(),
            sync: None,
        }
    }

    /// Connects the sync worker: submissions wake it, ended sessions let it delete what the
    /// server has acknowledged.
    pub fn attach_sync(&mut self, handle: crate::sync::SyncHandle) {
        self.sync = Some(handle);
    }

    /// The sync indicator (queue length and connectivity, nothing personal); `None` without a
    /// server.
    pub fn sync_status(&self) -> Option<crate::sync::SyncStatus> {
        self.sync.as_ref().map(|s| s.status())
    }

    pub fn progress(&self) -> Progress {
        Progress {
            validation: Context {
                today: (self.services.today)(),
                limits: self.services.limits,
            },
            signed_in: self.visit.signed_in,
        }
    }

    pub fn current_step(&self) -> Option<Step> {
        match self.visit.screen {
            Screen::Welcome => None,
            Screen::Step(step) => Some(step),
        }
    }

    fn on_account_page(&self) -> bool {
        self.visit.screen == Screen::Step(Step::Account)
    }

    /// The record the visible form edits: the account form on the account page.
    pub fn form_data(&self) -> &ApplicationData {
        if self.on_account_page() {
            &self.visit.account.data
        } else {
            self.visit.app.data()
        }
    }

    fn say(&mut self, tone: Tone, zh: &str, en: &str) {
        self.visit.banner = Some(Banner {
            text: t(self.lang, zh, en),
            tone,
        });
    }

    fn edit(&mut self, change: impl FnOnce(&mut ApplicationData)) {
        if self.on_account_page() {
            change(&mut self.visit.account.data);
            return;
        }
        if let Err(e) = self.visit.app.edit(change) {
            self.visit.banner = Some(Banner {
                text: e.message(self.lang).to_owned(),
                tone: Tone::Error,
            });
        }
    }

    /// Any touch: resets the idle clock and dismisses the countdown.
    pub fn activity(&mut self) {
        self.visit.quiet_secs = 0;
        self.visit.countdown = None;
    }

    /// Called once a second. Returns true when the session was wiped.
    pub fn tick(&mut self) -> bool {
        if self.visit.screen == Screen::Welcome {
            return false;
        }
        if let Some(left) = self.visit.countdown {
            if left <= 1 {
                self.wipe();
                return true;
            }
            self.visit.countdown = Some(left - 1);
            return false;
        }
        self.visit.quiet_secs += 1;
        if self.visit.quiet_secs >= self.services.idle_timeout_secs {
            self.visit.countdown = Some(IDLE_COUNTDOWN_SECS);
        }
        false
    }

    /// Forgets everything about the applicant and returns to the welcome page. The draft saved in
    /// the encrypted store stays, so the applicant can log in again and resume.
    pub fn wipe(&mut self) {
        // The applicant's session is over: what the server has acknowledged may now be deleted.
        let id_number = self.visit.app.data().basic.id_number.clone();
        if !id_number.trim().is_empty() {
            if let Err(e) = self.services.store.outbox_end_session(&id_number) {
                tracing::error!(error = %e, "recording the end of the session failed");
            }
            if let Some(sync) = &self.sync {
                sync.wake();
            }
        }
        self.visit = Visit::default();
        self.lang = Lang::Zh;
        self.elder = false;
        tracing::info!("session wiped");
    }

    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
        self.visit.banner = None;
    }

    pub fn start(&mut self) {
        self.activity();
        self.visit.screen = Screen::Step(Step::Notice);
        self.visit.wizard = Wizard::start();
    }

    pub fn set_consent(&mut self, accepted: bool) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.edit(|d| {
            d.consent = accepted.then(|| Consent {
                notice_version: kiosk_domain::NOTICE_VERSION.to_owned(),
                accepted_at: now,
            })
        });
    }

    fn save_draft(&mut self) {
        if self.visit.app.data().basic.id_number.trim().is_empty() {
            return;
        }
        if let Err(e) = self.services.store.save_draft(&self.visit.app) {
            tracing::error!(error = %e, "saving the draft failed");
            self.visit.banner = Some(Banner {
                text: e.message_zh().to_owned(),
                tone: Tone::Error,
            });
        }
    }

    fn moved(&mut self, step: Step) {
        self.visit.screen = Screen::Step(step);
        self.visit.active = None;
        self.visit.overlay = None;
        self.visit.show_all_errors = false;
        self.visit.touched.clear();
        self.visit.banner = None;
        if step == Step::Account
            && !self.visit.signed_in
            && let Some(card) = self.visit.pending_card.clone()
        {
            self.card_on_account_page(card);
        }
    }

    pub fn reader_status(&mut self, online: bool) {
        if self.reader_online != Some(online) {
            tracing::info!(online, "ID card reader status");
        }
        self.reader_online = Some(online);
    }

    /// A card was read. Before consent it is only held; on the account page it fills the form
    /// and picks log-in or registration; for a signed-in applicant it fills the draft, flagging
    /// any disagreement instead of overwriting.
    pub fn card_read(&mut self, card: CardIdentity) {
        self.activity();
        let consented = self.visit.app.data().consent.is_some();
        match self.visit.screen {
            Screen::Welcome => {
                self.start();
                self.visit.pending_card = Some(card);
                self.say(
                    Tone::Info,
                    "已读取身份证。请先阅读采集须知，同意后才会使用身份证信息。",
                    "ID card read. Please read the notice first: the card is used only after you consent.",
                );
            }
            Screen::Step(Step::Account) if consented && !self.visit.signed_in => {
                self.visit.pending_card = Some(card.clone());
                self.card_on_account_page(card);
            }
            Screen::Step(_) if self.visit.signed_in => self.card_for_applicant(card),
            Screen::Step(_) => {
                self.visit.pending_card = Some(card);
                self.say(
                    Tone::Info,
                    "已读取身份证，将在登录或注册时使用。",
                    "ID card read; it will be used to log in or register.",
                );
            }
        }
    }

    fn card_on_account_page(&mut self, card: CardIdentity) {
        let mut basic = Basic::default();
        card_fill::fill_from_card(&mut basic, &card);
        basic.postal_address.clear();
        let mobile = std::mem::take(&mut self.visit.account.data.basic.mobile);
        self.visit.account.data.basic = Basic { mobile, ..basic };
        match self.services.accounts.is_registered(&card.id_number) {
            Ok(true) => {
                self.visit.account_mode = AccountMode::LogIn;
                self.say(
                    Tone::Success,
                    "已读取身份证：请输入密码登录。",
                    "ID card read: enter your password to log in.",
                );
            }
            Ok(false) => {
                self.visit.account_mode = AccountMode::Register;
                self.say(
                    Tone::Success,
                    "已读取身份证：首次采集请绑定本人手机号码并设置密码。",
                    "ID card read: first time here, bind your mobile number and set a password.",
                );
            }
            Err(e) => self.account_failed(&e),
        }
    }

    fn card_for_applicant(&mut self, card: CardIdentity) {
        let same = idnumber::normalize(&card.id_number)
            == idnumber::normalize(&self.visit.app.data().basic.id_number);
        if !same {
            self.say(
                Tone::Error,
                "这张身份证与当前登录的申请人不一致，未使用。请使用本人身份证。",
                "This ID card is not the logged-in applicant's and was not used.",
            );
            return;
        }
        let mut conflicts = Vec::new();
        self.edit(|d| conflicts = card_fill::fill_from_card(&mut d.basic, &card));
        self.visit.pending_card = None;
        self.save_draft();
        if conflicts.is_empty() {
            self.say(
                Tone::Success,
                "已从身份证读取信息",
                "Filled from the ID card",
            );
        } else {
            let names: Vec<&str> = conflicts
                .iter()
                .map(|f| forms::label(*f, self.lang))
                .collect();
            let list = names.join("、");
            self.say(
                Tone::Error,
                &format!("身份证与已保存的信息不一致：{list}。已保留原信息，请核对修改或联系工作人员。"),
                &format!("The ID card disagrees with the saved draft: {list}. The draft was kept; please check or ask staff."),
            );
        }
    }

    /// "下一步": validates the page and moves on, saving the draft.
    pub fn next(&mut self) {
        self.activity();
        match self.visit.screen {
            Screen::Welcome => self.start(),
            Screen::Step(Step::Account) => self.account_submit(),
            Screen::Step(Step::Summary) => self.submit(),
            Screen::Step(Step::Review) => self.wipe(),
            Screen::Step(_) => {
                let progress = self.progress();
                match self.visit.wizard.next(&self.visit.app, &progress) {
                    Ok(step) => {
                        self.save_draft();
                        self.moved(step);
                    }
                    Err(MoveError::Incomplete(issues)) => self.refused(&issues),
                    Err(e) => {
                        self.visit.banner = Some(Banner {
                            text: e.to_string(),
                            tone: Tone::Error,
                        })
                    }
                }
            }
        }
    }

    fn refused(&mut self, issues: &[Issue]) {
        self.visit.show_all_errors = true;
        self.visit.active = None;
        if issues
            .iter()
            .any(|i| i.code == IssueCode::NotRequiredToCollect)
        {
            let eligibility = kiosk_domain::eligibility::assess(&self.visit.app.data().eligibility);
            let text = match eligibility {
                kiosk_domain::eligibility::Eligibility::NotRequired => {
                    eligibility.explanation(self.lang)
                }
                _ => IssueCode::NotRequiredToCollect.message(self.lang),
            };
            self.visit.banner = Some(Banner {
                text: text.to_owned(),
                tone: Tone::Info,
            });
        } else {
            self.say(
                Tone::Error,
                "请按提示修改标红的项目后继续",
                "Please correct the items marked in red",
            );
        }
    }

    /// "上一步": never loses anything.
    pub fn back(&mut self) {
        self.activity();
        match self.visit.screen {
            Screen::Welcome => {}
            Screen::Step(Step::Notice) => self.wipe(),
            Screen::Step(_) => {
                let progress = self.progress();
                let step = self.visit.wizard.back(&self.visit.app, &progress);
                self.save_draft();
                self.moved(step);
            }
        }
    }

    /// "修改" on the summary, or a tap on the progress bar.
    pub fn go_to(&mut self, step: Step) {
        self.activity();
        let progress = self.progress();
        match self.visit.wizard.go_to(step, &self.visit.app, &progress) {
            Ok(step) => self.moved(step),
            Err(MoveError::Locked(e)) => {
                self.visit.banner = Some(Banner {
                    text: e.message(self.lang).to_owned(),
                    tone: Tone::Error,
                })
            }
            Err(_) => self.say(
                Tone::Error,
                "请先完成前面的步骤",
                "Please complete the earlier steps first",
            ),
        }
    }

    /// A tap on a field: opens its keyboard, picker or date picker.
    pub fn activate(&mut self, field: Field) {
        self.activity();
        if self.is_read_only(field) {
            self.say(
                Tone::Info,
                "此项来自注册信息或身份证，不能在此修改",
                "This comes from your registration or ID card and cannot be changed here",
            );
            return;
        }
        // What was being composed belongs to the field it was typed for.
        self.commit_composition();
        self.visit.overlay = None;
        match forms::spec_of(field).kind {
            Kind::Text(_) | Kind::Secret(_) => {
                self.visit.active = Some(field);
            }
            Kind::Date => {
                self.visit.active = None;
                let today = (self.services.today)();
                let initial = forms::date_value(field, self.form_data())
                    .unwrap_or_else(|| default_date(field, today));
                self.visit.overlay = Some(Overlay::Date { field, initial });
            }
            Kind::Pick(list) => {
                self.visit.active = None;
                let stage = match list {
                    PickList::Region => PickerStage::Prefectures { with_outside: true },
                    PickList::Bureau => PickerStage::Prefectures {
                        with_outside: false,
                    },
                    flat => PickerStage::Flat(flat),
                };
                self.visit.overlay = Some(Overlay::Picker { field, stage });
            }
            Kind::Inline { .. } => {}
        }
    }

    pub fn is_read_only(&self, field: Field) -> bool {
        let from_card = self.form_data().basic.from_id_card && CARD_FIELDS.contains(&field);
        let from_account = !self.on_account_page()
            && self.visit.signed_in
            && matches!(
                field,
                Field::Name | Field::IdType | Field::IdNumber | Field::Mobile
            );
        from_card || from_account
    }

    pub fn keyboard(&self) -> Option<Keyboard> {
        if matches!(self.visit.overlay, Some(Overlay::StaffPin { .. })) {
            return None;
        }
        match forms::spec_of(self.visit.active?).kind {
            Kind::Text(k) | Kind::Secret(k) => Some(k),
            _ => None,
        }
    }

    fn secret_slot(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Password => Some(&mut self.visit.account.password),
            Field::PasswordConfirm => Some(&mut self.visit.account.password_confirm),
            Field::SmsCode => Some(&mut self.visit.account.sms_code),
            _ => None,
        }
    }

    fn type_into(&mut self, change: impl FnOnce(&mut String)) {
        let Some(field) = self.visit.active else {
            return;
        };
        self.visit.touched.insert(field);
        if let Some(slot) = self.secret_slot(field) {
            change(slot);
            return;
        }
        self.edit(|d| {
            if let Some(slot) = forms::text_slot(field, d) {
                change(slot);
            }
        });
    }

    /// A key of the on-screen keyboard (or a committed Chinese phrase).
    pub fn key(&mut self, text: &str) {
        self.activity();
        if let Some(Overlay::StaffPin { entered, .. }) = &mut self.visit.overlay {
            if entered.len() < 8 && text.bytes().all(|b| b.is_ascii_digit()) {
                entered.push_str(text);
            }
            return;
        }
        if self.pinyin_active() {
            for c in text.chars() {
                let composing = self.composing();
                let out = match self.engine() {
                    // Space picks the first candidate, as on every pinyin keyboard.
                    Some(engine) if c == ' ' && composing => engine.select(0),
                    Some(engine) => engine.type_key(c),
                    None => Some(c.to_string()),
                };
                if let Some(out) = out {
                    self.insert(&out);
                }
            }
            return;
        }
        self.insert(text);
    }

    /// Inserts text into the active field, within the field's length limit.
    fn insert(&mut self, text: &str) {
        let limit = match self.visit.active {
            Some(Field::IdNumber) => 18,
            Some(Field::Mobile) => 11,
            Some(Field::SmsCode) => 6,
            Some(Field::Password | Field::PasswordConfirm) => 20,
            _ => validate::TEXT_MAX_CHARS,
        };
        let text = text.to_owned();
        self.type_into(move |s| {
            if s.chars().count() + text.chars().count() <= limit {
                s.push_str(&text);
            }
        });
    }

    /// Whether keys go through the pinyin engine: a Chinese field, in Chinese mode.
    pub fn pinyin_available(&self) -> bool {
        self.services.pinyin.is_some() && self.visit.active.is_some_and(forms::accepts_chinese)
    }

    fn pinyin_active(&self) -> bool {
        self.pinyin_available() && !self.visit.english_input
    }

    fn engine(&mut self) -> Option<&mut Box<dyn PinyinEngine>> {
        if self.visit.pinyin.is_none() {
            let factory = self.services.pinyin.as_ref()?;
            match factory() {
                Ok(engine) => self.visit.pinyin = Some(engine),
                Err(e) => {
                    tracing::error!(error = %e, "the pinyin engine did not start; typing letters");
                    self.services.pinyin = None;
                    return None;
                }
            }
        }
        self.visit.pinyin.as_mut()
    }

    /// Whether pinyin is being composed.
    pub fn composing(&self) -> bool {
        self.visit
            .pinyin
            .as_ref()
            .is_some_and(|e| !e.composition().is_empty())
    }

    /// The composition and the current page of candidates, for the candidate bar.
    pub fn candidate_bar(&self) -> (String, Vec<String>) {
        if self.handwriting_active() {
            return (String::new(), self.visit.written_candidates.clone());
        }
        match &self.visit.pinyin {
            Some(e) if self.pinyin_active() => (e.composition(), e.candidates()),
            _ => (String::new(), Vec::new()),
        }
    }

    /// A tap on a candidate.
    pub fn select_candidate(&mut self, index: usize) {
        self.activity();
        if self.handwriting_active() {
            if let Some(text) = self.visit.written_candidates.get(index).cloned() {
                self.insert(&text);
                self.clear_pad();
            }
            return;
        }
        if let Some(text) = self.engine().and_then(|e| e.select(index)) {
            self.insert(&text);
        }
    }

    /// "‹" / "›" in the candidate bar.
    pub fn page_candidates(&mut self, forward: bool) {
        self.activity();
        if let Some(e) = self.engine() {
            if forward {
                e.page_next();
            } else {
                e.page_prev();
            }
        }
    }

    /// Ends a composition by committing its letters as typed (the Return key's behaviour).
    fn commit_composition(&mut self) {
        if self.composing()
            && let Some(raw) = self.visit.pinyin.as_mut().map(|e| e.commit_raw())
        {
            self.insert(&raw);
        }
    }

    pub fn handwriting_available(&self) -> bool {
        self.services.handwriting.is_some() && self.visit.active.is_some_and(forms::accepts_chinese)
    }

    pub fn handwriting_active(&self) -> bool {
        self.handwriting_available() && self.visit.handwriting
    }

    /// "手写" / "拼音": the writing pad instead of the letter keys, or back.
    pub fn toggle_handwriting(&mut self) {
        self.activity();
        self.commit_composition();
        self.visit.handwriting = !self.visit.handwriting && self.handwriting_available();
        self.clear_pad();
    }

    pub fn clear_pad(&mut self) {
        self.visit.strokes.clear();
        self.visit.written_candidates.clear();
    }

    /// A finger touches the pad (`width`/`height`: the pad's size, for recognition).
    pub fn stroke_start(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.activity();
        self.visit.pad_size = (width.max(1.0), height.max(1.0));
        self.visit.strokes.push(vec![(x as i32, y as i32)]);
    }

    /// The finger moves; points closer than 4 px to the last one are skipped.
    pub fn stroke_point(&mut self, x: f32, y: f32) {
        if let Some(stroke) = self.visit.strokes.last_mut() {
            let (x, y) = (x as i32, y as i32);
            let far = stroke
                .last()
                .is_none_or(|(lx, ly)| (lx - x).abs() + (ly - y).abs() >= 4);
            if far {
                stroke.push((x, y));
            }
        }
    }

    /// The finger lifts: recognise what is written so far.
    pub fn stroke_end(&mut self) {
        self.activity();
        let Some(recognizer) = self.services.handwriting.as_ref() else {
            return;
        };
        let size = self.visit.pad_size.0.max(self.visit.pad_size.1) as u32;
        match recognizer.candidates(&self.visit.strokes, size) {
            Ok(candidates) => self.visit.written_candidates = candidates,
            Err(e) => tracing::warn!(error = %e, "handwriting recognition failed"),
        }
    }

    /// The strokes as SVG path commands, for drawing the ink.
    pub fn ink(&self) -> String {
        let mut path = String::new();
        for stroke in &self.visit.strokes {
            for (i, (x, y)) in stroke.iter().enumerate() {
                let cmd = if i == 0 { 'M' } else { 'L' };
                path.push_str(&format!("{cmd}{x} {y} "));
            }
            if stroke.len() == 1
                && let Some((x, y)) = stroke.first()
            {
                path.push_str(&format!("L{} {} ", x + 1, y + 1));
            }
        }
        path
    }

    /// "中/英".
    pub fn toggle_input_language(&mut self) {
        self.activity();
        self.commit_composition();
        self.visit.english_input = !self.visit.english_input;
    }

    pub fn backspace(&mut self) {
        self.activity();
        if let Some(Overlay::StaffPin { entered, .. }) = &mut self.visit.overlay {
            entered.pop();
            return;
        }
        if self.pinyin_active() && self.visit.pinyin.as_mut().is_some_and(|e| e.backspace()) {
            return;
        }
        self.type_into(|s| {
            s.pop();
        });
    }

    pub fn close_keyboard(&mut self) {
        self.activity();
        if let Some(Overlay::StaffPin { field, entered }) = self.visit.overlay.clone() {
            self.check_staff_pin(field, &entered);
            return;
        }
        self.commit_composition();
        if let Some(field) = self.visit.active.take() {
            self.visit.touched.insert(field);
            if field == Field::IdNumber {
                let normalized = idnumber::normalize(&forms::text_value(field, self.form_data()));
                self.edit(|d| d.basic.id_number = normalized);
            }
        }
    }

    /// The button under a field ("请工作人员确认" under a credit code that fails its check).
    pub fn field_action(&mut self, field: Field) {
        self.activity();
        if field != Field::EmployerCreditCode {
            return;
        }
        if self.services.staff_pin_hash.is_none()
            || self.visit.staff_pin_failures >= STAFF_PIN_ATTEMPTS
        {
            self.say(
                Tone::Error,
                "暂时无法确认，请工作人员联系技术支持",
                "Staff confirmation is unavailable; staff, please call IT support",
            );
            return;
        }
        self.visit.active = None;
        self.visit.overlay = Some(Overlay::StaffPin {
            field,
            entered: String::new(),
        });
    }

    fn check_staff_pin(&mut self, field: Field, entered: &str) {
        let ok = self
            .services
            .staff_pin_hash
            .as_deref()
            .is_some_and(|hash| crate::accounts::password_matches(entered, hash));
        if ok {
            self.visit.overlay = None;
            self.edit(|d| d.work.employment.credit_code_confirmed_by_staff = true);
            self.visit.touched.insert(field);
            tracing::info!(
                audit = "staff-confirmation",
                what = "credit code checksum",
                "staff confirmed a value"
            );
            self.say(Tone::Success, "工作人员已确认", "Confirmed by staff");
        } else {
            self.visit.staff_pin_failures += 1;
            tracing::warn!(
                audit = "staff-confirmation",
                failures = self.visit.staff_pin_failures,
                "wrong staff PIN"
            );
            if self.visit.staff_pin_failures >= STAFF_PIN_ATTEMPTS {
                self.visit.overlay = None;
                self.say(
                    Tone::Error,
                    "确认码错误次数过多，本次无法确认",
                    "Too many wrong PINs for this visit",
                );
            } else {
                self.visit.overlay = Some(Overlay::StaffPin {
                    field,
                    entered: String::new(),
                });
                self.say(Tone::Error, "确认码不正确，请重试", "Wrong PIN; try again");
            }
        }
    }

    /// A tap on option `index` of an inline field.
    pub fn choose_inline(&mut self, field: Field, index: usize) {
        self.activity();
        self.visit.active = None;
        self.visit.touched.insert(field);
        self.edit(|d| forms::choose_inline(field, index, d));
        if field == Field::HoldsQualificationAnswer {
            // The qualification page asks again; start it from this answer.
            let answer = self.visit.app.data().eligibility.holds_qualification;
            self.edit(|d| {
                if d.qualification.held.is_none() {
                    d.qualification.held = answer;
                }
            });
        }
    }

    /// Options of the open picker, and whether it has a way back to the first level.
    pub fn picker_options(&self) -> Vec<String> {
        let Some(Overlay::Picker { stage, .. }) = self.visit.overlay.clone() else {
            return Vec::new();
        };
        let bureau = matches!(
            &self.visit.overlay,
            Some(Overlay::Picker {
                field: Field::FinanceBureau,
                ..
            })
        );
        match stage {
            PickerStage::Flat(list) => forms::pick_options(list, self.lang),
            PickerStage::Prefectures { with_outside } => {
                let mut options: Vec<String> =
                    region::prefectures().map(|d| d.name.to_owned()).collect();
                if with_outside {
                    options.push(forms::outside_yunnan(self.lang).to_owned());
                }
                options
            }
            PickerStage::Counties(prefecture) => {
                let own = region::division(prefecture).map(|d| {
                    if bureau {
                        d.bureau_name()
                    } else {
                        t(
                            self.lang,
                            &format!("{}（市州本级）", d.name),
                            &format!("{} (prefecture level)", d.name),
                        )
                    }
                });
                own.into_iter()
                    .chain(region::counties_of(prefecture).map(|d| {
                        if bureau {
                            d.bureau_name()
                        } else {
                            d.name.to_owned()
                        }
                    }))
                    .collect()
            }
        }
    }

    pub fn picker_choose(&mut self, index: usize) {
        self.activity();
        let Some(Overlay::Picker { field, stage }) = self.visit.overlay.clone() else {
            return;
        };
        self.visit.touched.insert(field);
        match stage {
            PickerStage::Flat(_) => {
                self.edit(|d| forms::choose_from_list(field, index, d));
                self.visit.overlay = None;
            }
            PickerStage::Prefectures { with_outside } => {
                let prefectures: Vec<DivisionCode> =
                    region::prefectures().map(|d| d.code).collect();
                if let Some(code) = prefectures.get(index) {
                    self.visit.overlay = Some(Overlay::Picker {
                        field,
                        stage: PickerStage::Counties(*code),
                    });
                } else if with_outside && index == prefectures.len() {
                    self.edit(|d| forms::set_place(field, Region::OutsideYunnan, d));
                    self.visit.overlay = None;
                }
            }
            PickerStage::Counties(prefecture) => {
                let code = if index == 0 {
                    Some(prefecture)
                } else {
                    region::counties_of(prefecture)
                        .nth(index - 1)
                        .map(|d| d.code)
                };
                if let Some(code) = code {
                    self.edit(|d| forms::set_place(field, Region::Yunnan(code), d));
                    if field != Field::FinanceBureau {
                        self.suggest_bureau();
                    }
                }
                self.visit.overlay = None;
            }
        }
    }

    /// After a region answer, pick the matching bureau if none is chosen yet.
    fn suggest_bureau(&mut self) {
        let data = self.visit.app.data();
        if data.basic.finance_bureau.is_none()
            && let Some(code) = kiosk_domain::jurisdiction::suggested_bureau(&data.work)
        {
            self.edit(|d| d.basic.finance_bureau = Some(code));
        }
    }

    /// "返回上一级" in the two-level picker, or closes it.
    pub fn picker_back(&mut self) {
        self.activity();
        match self.visit.overlay.clone() {
            Some(Overlay::Picker {
                field,
                stage: PickerStage::Counties(_),
            }) => {
                let with_outside = field != Field::FinanceBureau;
                self.visit.overlay = Some(Overlay::Picker {
                    field,
                    stage: PickerStage::Prefectures { with_outside },
                });
            }
            _ => self.visit.overlay = None,
        }
    }

    pub fn close_overlay(&mut self) {
        self.activity();
        self.visit.overlay = None;
    }

    /// "确定" in the date picker. The day is clamped to the month's length.
    pub fn confirm_date(&mut self, year: i32, month: u8, day: u8) {
        self.activity();
        let Some(Overlay::Date { field, .. }) = self.visit.overlay.clone() else {
            return;
        };
        let month = Month::try_from(month.clamp(1, 12)).unwrap_or(Month::January);
        let last = time::util::days_in_month(month, year);
        if let Ok(date) = Date::from_calendar_date(year, month, day.clamp(1, last)) {
            self.visit.touched.insert(field);
            self.edit(|d| forms::set_date(field, date, d));
        }
        self.visit.overlay = None;
    }

    pub fn set_account_mode(&mut self, mode: AccountMode) {
        self.activity();
        self.visit.account_mode = mode;
        self.visit.active = None;
        self.visit.show_all_errors = false;
        self.visit.banner = None;
        self.visit.account.password.clear();
        self.visit.account.password_confirm.clear();
        self.visit.account.sms_code.clear();
    }

    /// The fields of the account page in the current mode.
    pub fn account_fields(&self) -> Vec<Field> {
        match self.visit.account_mode {
            AccountMode::LogIn => vec![Field::IdNumber, Field::Password],
            AccountMode::Register => vec![
                Field::IdType,
                Field::IdNumber,
                Field::Name,
                Field::Mobile,
                Field::SmsCode,
                Field::Password,
                Field::PasswordConfirm,
            ],
            AccountMode::ForgotPassword => vec![
                Field::IdNumber,
                Field::Mobile,
                Field::SmsCode,
                Field::Password,
                Field::PasswordConfirm,
            ],
        }
    }

    /// Findings on the account page's fields for the current mode.
    pub fn account_issues(&self) -> Vec<Issue> {
        let today = (self.services.today)();
        let mut basic = self.visit.account.data.basic.clone();
        if basic.id_type.is_none() {
            basic.id_type = Some(IdType::ResidentIdCard);
        }
        let a = &self.visit.account;
        let fields = self.account_fields();
        validate::registration(&basic, &a.password, &a.password_confirm, &a.sms_code, today)
            .into_iter()
            .filter(|i| fields.contains(&i.field))
            .filter(|i| {
                !(self.visit.account_mode == AccountMode::LogIn
                    && i.code == IssueCode::PasswordRule)
            })
            .collect()
    }

    /// "获取验证码".
    pub fn send_sms_code(&mut self) {
        self.activity();
        let mobile = self.visit.account.data.basic.mobile.clone();
        if kiosk_domain::contact::normalize_mobile(&mobile).is_err() {
            self.visit.touched.insert(Field::Mobile);
            self.say(
                Tone::Error,
                "请先输入正确的手机号码",
                "Enter a valid mobile number first",
            );
            return;
        }
        let purpose = match self.visit.account_mode {
            AccountMode::ForgotPassword => crate::accounts::SmsPurpose::ResetPassword,
            _ => crate::accounts::SmsPurpose::Register,
        };
        let id_number = self.visit.account.data.basic.id_number.clone();
        match self
            .services
            .accounts
            .send_sms_code_for(&mobile, purpose, &id_number)
        {
            Ok(()) => {
                let hint = self.services.accounts.development_sms_hint();
                let (zh, en) = match &hint {
                    Some(code) => (
                        format!("验证码已发送（开发模式：{code}）"),
                        format!("Code sent (development mode: {code})"),
                    ),
                    None => (
                        "验证码已发送，请查看手机短信".to_owned(),
                        "The code was sent by SMS".to_owned(),
                    ),
                };
                self.say(Tone::Success, &zh, &en);
            }
            Err(e) => self.account_failed(&e),
        }
    }

    fn account_failed(&mut self, e: &AccountError) {
        self.visit.banner = Some(Banner {
            text: match self.lang {
                Lang::Zh => e.message_zh(),
                Lang::En => e.message_en(),
            }
            .to_owned(),
            tone: Tone::Error,
        });
    }

    /// "登录" / "注册" / "重置密码".
    pub fn account_submit(&mut self) {
        self.activity();
        self.visit.active = None;
        if !self.account_issues().is_empty() {
            self.visit.show_all_errors = true;
            self.say(
                Tone::Error,
                "请按提示修改标红的项目后继续",
                "Please correct the items marked in red",
            );
            return;
        }
        let b = self.visit.account.data.basic.clone();
        let a = &self.visit.account;
        let result = match self.visit.account_mode {
            AccountMode::LogIn => self.services.accounts.log_in(&b.id_number, &a.password),
            AccountMode::Register => self.services.accounts.register(&Registration {
                id_type: b.id_type.unwrap_or(IdType::ResidentIdCard),
                id_number: &b.id_number,
                name: &b.name,
                mobile: &b.mobile,
                sms_code: &a.sms_code,
                password: &a.password,
            }),
            AccountMode::ForgotPassword => {
                match self.services.accounts.reset_password(
                    &b.id_number,
                    &b.mobile,
                    &a.sms_code,
                    &a.password,
                ) {
                    Ok(()) => {
                        self.set_account_mode(AccountMode::LogIn);
                        self.say(
                            Tone::Success,
                            "密码已重置，请用新密码登录",
                            "Password reset: log in with the new password",
                        );
                    }
                    Err(e) => self.account_failed(&e),
                }
                return;
            }
        };
        match result {
            Ok(profile) => self.signed_in_as(profile),
            Err(e) => {
                if matches!(e, AccountError::IdTaken) {
                    self.visit.account_mode = AccountMode::LogIn;
                }
                self.account_failed(&e);
            }
        }
    }

    fn signed_in_as(&mut self, profile: crate::accounts::Profile) {
        let progress_before = self.visit.app.data().clone();
        self.visit.signed_in = true;
        self.visit.account = AccountForm::default();
        let draft = self.services.store.load_draft(&profile.id_number);
        // Back at the screen: what the server already has must not be deleted under this visit.
        if let Err(e) = self
            .services
            .store
            .outbox_reopen_session(&profile.id_number)
        {
            tracing::error!(error = %e, "reopening the applicant's outbox session failed");
        }
        let mut app = match draft {
            Ok(Some((app, _))) => app,
            Ok(None) => Application::new(),
            Err(e) => {
                tracing::error!(error = %e, "loading the draft failed");
                Application::new()
            }
        };
        let _ = app.edit(|d| {
            // This visit's consent is the one that counts; earlier answers fill what is missing.
            d.consent = progress_before.consent.clone();
            if d.eligibility.holds_qualification.is_none() {
                d.eligibility = progress_before.eligibility.clone();
            }
            d.basic.id_type = Some(profile.id_type);
            d.basic.id_number = profile.id_number.clone();
            d.basic.name = profile.name.clone();
            d.basic.mobile = profile.mobile.clone();
            if d.qualification.held.is_none() {
                d.qualification.held = d.eligibility.holds_qualification;
            }
        });
        self.visit.app = app;
        let progress = self.progress();
        self.visit.wizard = Wizard::resume(&self.visit.app, &progress);
        let step = self.visit.wizard.current();
        self.moved(step);
        self.say(Tone::Success, "登录成功", "Logged in");
        if let Some(card) = self.visit.pending_card.take() {
            self.card_for_applicant(card);
        }
        self.save_draft();
    }

    /// Development mode: attach the material from a file.
    pub fn attach_material(&mut self, kind: MaterialKind) {
        self.activity();
        let Some(source) = self.services.materials.as_mut() else {
            self.say(
                Tone::Info,
                "拍摄功能即将上线，请联系工作人员",
                "Capture is not available yet; please ask staff",
            );
            return;
        };
        let captured = match source.capture(kind) {
            Ok(c) => c,
            Err(reason) => {
                tracing::warn!(%reason, "material capture failed");
                self.say(
                    Tone::Error,
                    "材料获取失败，请重试",
                    "Capturing the material failed; please try again",
                );
                return;
            }
        };
        let id = self.visit.app.data().basic.id_number.clone();
        self.save_draft();
        match self.services.store.put_material(&id, &captured.bytes) {
            Ok(mut file) => {
                file.width = captured.width;
                file.height = captured.height;
                let single = matches!(
                    kind,
                    MaterialKind::Photo | MaterialKind::IdCardFront | MaterialKind::IdCardBack
                );
                self.edit(|d| {
                    let files = d.materials.entry(kind).or_default();
                    if single {
                        files.clear();
                    }
                    files.push(file);
                });
                self.save_draft();
            }
            Err(e) => {
                self.visit.banner = Some(Banner {
                    text: e.message_zh().to_owned(),
                    tone: Tone::Error,
                });
            }
        }
    }

    pub fn submit(&mut self) {
        self.activity();
        let progress = self.progress();
        let before = (self.visit.app.clone(), self.visit.wizard);
        match self.visit.wizard.submit(&mut self.visit.app, &progress) {
            Ok(()) => {
                // The draft and its outbox row are committed together; only then is the
                // applicant told the submission is saved.
                if let Err(e) = self.services.store.submit_to_outbox(&self.visit.app) {
                    tracing::error!(error = %e, "writing the submission to the outbox failed");
                    (self.visit.app, self.visit.wizard) = before;
                    self.visit.banner = Some(Banner {
                        text: e.message_zh().to_owned(),
                        tone: Tone::Error,
                    });
                    return;
                }
                tracing::info!("submission committed to the outbox");
                if let Some(sync) = &self.sync {
                    sync.wake();
                }
                self.moved(Step::Review);
                self.say(
                    Tone::Success,
                    "已提交，信息已加密保存",
                    "Submitted and saved, encrypted",
                );
            }
            Err(MoveError::EarlierStepIncomplete(step)) => {
                self.say(
                    Tone::Error,
                    "还有未完成的步骤，请先完成",
                    "Some steps are incomplete",
                );
                self.go_to(step);
            }
            Err(e) => {
                self.visit.banner = Some(Banner {
                    text: e.to_string(),
                    tone: Tone::Error,
                })
            }
        }
    }

    /// Findings to show on the visible page, after the rules for when to show them.
    pub fn visible_issues(&self) -> Vec<Issue> {
        let Some(step) = self.current_step() else {
            return Vec::new();
        };
        let all = if step == Step::Account {
            self.account_issues()
        } else {
            step_issues(step, &self.visit.app, &self.progress())
        };
        all.into_iter()
            .filter(|i| {
                self.visit.show_all_errors
                    || (self.visit.touched.contains(&i.field)
                        && self.visit.active != Some(i.field)
                        && i.code != IssueCode::Required
                        && i.code != IssueCode::RequiredOnceStarted)
            })
            .collect()
    }
}

fn default_date(field: Field, today: Date) -> Date {
    let years_back = match field {
        Field::BirthDate => 35,
        Field::WorkStart | Field::Education(..) | Field::QualificationObtained => 10,
        _ => 0,
    };
    Date::from_calendar_date(today.year() - years_back, Month::January, 1).unwrap_or(today)
}
