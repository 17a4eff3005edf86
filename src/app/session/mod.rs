//! One applicant's session at the kiosk: the record, the wizard, the account form, which field is
//! being typed, open pickers, the idle countdown. Every touch on the screen becomes one method call
//! here; the Slint glue then shows [`super::view::View`]. No Slint in this file.

mod account;
mod capture;
mod card;
mod choices;
mod receipt;
mod staff;
mod typing;
mod voice;

use std::collections::BTreeSet;

use kiosk_domain::catalog::MaterialKind;
use kiosk_domain::record::{ApplicationData, Consent};
use kiosk_domain::region::{self, DivisionCode, Region};
use kiosk_domain::wizard::{MoveError, step_issues};
use kiosk_domain::{
    Application, Context, Field, Issue, IssueCode, Lang, MaterialLimits, Message, Progress, Step,
    Wizard, idnumber, tr, tr_args, validate,
};
use time::{Date, Month};

use crate::accounts::{AccountError, Accounts, Registration};
use crate::app::forms::{self, Keyboard, Kind, PickList};
use crate::store::Store;
use kiosk_domain::card_fill::{self, CARD_FIELDS, CardIdentity};
use kiosk_domain::record::Basic;
use kiosk_hardware::idcard::CardReaderDevice;
use kiosk_ime::PinyinEngine;

pub use capture::{Capture, CaptureAction, CaptureStage, PHOTO_COUNTDOWN};
pub use receipt::SavedReceipt;
pub use staff::{HealthRow, STAFF_ADMIN_LOCK_AFTER, STAFF_MODE_ATTEMPTS, STAFF_MODE_LOCKOUT_SECS};
pub use voice::{Spoken, VOLUME_STEP};

/// Development mode without cameras: materials attached from files.
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
    /// Present in development mode only (attach a material from a file); wins over cameras.
    pub materials: Option<Box<dyn MaterialSource>>,
    /// The front and document cameras; without them (and without development files) materials
    /// cannot be taken.
    pub cameras: Option<crate::capture::Cameras>,
    pub limits: MaterialLimits,
    pub idle_timeout_secs: u32,
    /// How long an unsubmitted draft is kept after its last change (`draft_retention_hours`).
    pub draft_retention_secs: i64,
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
    /// The voice of elder mode; without it the kiosk is silent.
    pub speaker: Option<kiosk_hardware::speech::Speaker>,
    /// The voice's settings until hall staff change them (then the store's win).
    pub voice: crate::store::VoiceSettings,
    /// The receipt printer; without one the review page offers no receipt.
    pub printer: Option<crate::receipt::SharedPrinter>,
    /// The service hall, as the receipt names it.
    pub hall_name: String,
    /// The central server's address for the receipt's QR code (`<base>/s/<code>`).
    pub status_base_url: Option<String>,
}

/// Starts one applicant's pinyin engine (its learning is wiped when the engine is dropped).
pub type PinyinFactory = Box<dyn Fn() -> Result<Box<dyn PinyinEngine>, String>>;

/// The photo and each side of the ID card are one file; a new one replaces the old. Certificates
/// may have several pages.
pub fn single_file(kind: MaterialKind) -> bool {
    matches!(
        kind,
        MaterialKind::Photo | MaterialKind::IdCardFront | MaterialKind::IdCardBack
    )
}

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
    /// First log-in of an accountant already on file: bind a phone with an SMS code.
    BindPhone,
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
    pub message: Message,
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
    /// A member of staff enters the hall PIN: to confirm a value that fails its check (an early
    /// credit code), or, with no field, to open staff mode.
    StaffPin {
        field: Option<Field>,
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
    /// The logged-in applicant's session with the central server (signs the submission's
    /// grant; revoked when the visit ends).
    pub applicant_session: Option<crate::sync::ApplicantSession>,
    pub account_mode: AccountMode,
    pub account: AccountForm,
    pub active: Option<Field>,
    pub show_all_errors: bool,
    pub touched: BTreeSet<Field>,
    pub banner: Option<Banner>,
    /// Counts the banners shown, so that one shown again is said again.
    pub banner_number: u64,
    /// What the voice last said in this visit.
    pub spoken: Spoken,
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
    /// The camera screen, while a material is being taken.
    pub capture: Option<Capture>,
    /// Staff mode's device and queue panel is open (part of the visit, so idle closes it).
    pub staff_panel: bool,
    /// The logged-in session of an account that must bind a phone before it can go on.
    pub binding: Option<crate::accounts::BindingTicket>,
    /// The submission made in this visit, for its receipt.
    pub receipt: Option<SavedReceipt>,
    /// The receipt being printed.
    pub print_job: Option<crate::receipt::PrintJob>,
}

pub struct Session {
    pub services: Services,
    pub lang: Lang,
    pub elder: bool,
    /// Whether the ID card reader answers; `None` when no reader is configured.
    pub reader_online: Option<bool>,
    pub visit: Visit,
    /// The staff PIN is refused for this many more seconds after too many wrong ones. Counted
    /// down by `tick`; the wrong PINs and the lock are committed in the store, which seeds this
    /// after a restart (neither an idle wipe nor a restart resets the lock).
    pub staff_lockout_secs: u32,
    /// Whether elder mode speaks and how loud: the staff's settings, kept in the store.
    pub voice: crate::store::VoiceSettings,
    /// The sync worker, when a central server is configured.
    sync: Option<crate::sync::SyncHandle>,
}

/// The longer side, in pixels, of a file's preview on the summary.
pub const THUMBNAIL_SIDE: u32 = 240;

impl Session {
    pub fn new(services: Services) -> Self {
        let staff_lockout_secs = staff::timed_lock_left_secs(&services.store);
        let voice = services
            .store
            .voice_settings()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "reading the voice settings failed");
                None
            })
            .unwrap_or(services.voice);
        let mut session = Session {
            services,
            lang: Lang::Zh,
            elder: false,
            reader_online: None,
            visit: Visit::default(),
            staff_lockout_secs,
            voice,
            sync: None,
        };
        session.delete_expired_drafts();
        session
    }

    /// Deletes the unsubmitted drafts, with their files, that nobody changed within the
    /// retention time: at start and after every visit.
    pub fn delete_expired_drafts(&mut self) {
        let cutoff =
            time::OffsetDateTime::now_utc().unix_timestamp() - self.services.draft_retention_secs;
        match self.services.store.delete_drafts_unchanged_since(cutoff) {
            Ok(0) => {}
            Ok(n) => tracing::info!(drafts = n, "expired drafts deleted"),
            Err(e) => tracing::error!(error = %e, "deleting expired drafts failed"),
        }
    }

    /// Until when the current draft is kept if the applicant leaves now, for the idle warning.
    pub fn draft_kept_until(&self) -> Option<time::OffsetDateTime> {
        if self.visit.app.data().basic.id_number.trim().is_empty()
            || !self.visit.app.review().is_editable()
        {
            return None;
        }
        let now = time::OffsetDateTime::now_utc();
        Some(now + time::Duration::seconds(self.services.draft_retention_secs))
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

    pub(crate) fn on_account_page(&self) -> bool {
        self.visit.screen == Screen::Step(Step::Account)
    }

    /// The field with this key on the visible page, if it is there.
    pub fn visible_field(&self, key: &str) -> Option<Field> {
        let step = self.current_step()?;
        let fields: Vec<Field> = if step == Step::Account {
            self.account_fields()
        } else {
            forms::page_fields(step, self.visit.app.data())
                .into_iter()
                .map(|(_, f)| f)
                .collect()
        };
        fields.into_iter().find(|f| f.key() == key)
    }

    /// The record the visible form edits: the account form on the account page.
    pub fn form_data(&self) -> &ApplicationData {
        if self.on_account_page() {
            &self.visit.account.data
        } else {
            self.visit.app.data()
        }
    }

    fn say(&mut self, tone: Tone, message: Message) {
        self.visit.banner = Some(Banner { message, tone });
        self.visit.banner_number += 1;
    }

    fn edit(&mut self, change: impl FnOnce(&mut ApplicationData)) {
        if self.on_account_page() {
            change(&mut self.visit.account.data);
            return;
        }
        if let Err(e) = self.visit.app.edit(change) {
            self.say(Tone::Error, Message::new(e.text_key()));
        }
    }

    /// Any touch: resets the idle clock and dismisses the countdown.
    pub fn activity(&mut self) {
        self.visit.quiet_secs = 0;
        self.visit.countdown = None;
    }

    /// Called once a second. Returns true when the session was wiped.
    pub fn tick(&mut self) -> bool {
        self.staff_lockout_secs = self.staff_lockout_secs.saturating_sub(1);
        self.poll_print();
        if self.visit.screen == Screen::Welcome && !self.visit.staff_panel {
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
        if let Some(session) = self.visit.applicant_session.take() {
            let pending = self
                .services
                .store
                .outbox_pending_keys_of_session(&session.session_id)
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "reading the session's pending submissions failed");
                    Vec::new()
                });
            self.services.accounts.end_session(&session, pending);
        }
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
        if let Some(speaker) = &self.services.speaker {
            speaker.stop();
        }
        self.delete_expired_drafts();
        tracing::info!("session wiped");
    }

    /// The language of the screen. A banner stays: it holds its message, not its words, and is
    /// shown in the new language.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
        // In elder mode the screen is said again, in the new language.
        self.visit.spoken.screen = None;
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
        // A locked collection cannot have changed here; and one brought back from the server for
        // display must not be written to this kiosk, which would then keep it.
        if self.visit.app.data().basic.id_number.trim().is_empty()
            || !self.visit.app.review().is_editable()
        {
            return;
        }
        if let Err(e) = self.services.store.save_draft(&self.visit.app) {
            tracing::error!(error = %e, "saving the draft failed");
            self.say(Tone::Error, Message::new(e.message_zh()));
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
                    Err(e) => self.say(Tone::Error, Message::new(e.text_key())),
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
                    eligibility.explanation_key()
                }
                _ => IssueCode::NotRequiredToCollect.text_key(),
            };
            self.say(Tone::Info, Message::new(text));
        } else {
            self.say(Tone::Error, Message::new("请按提示修改标红的项目后继续"));
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
            Err(MoveError::Locked(e)) => self.say(Tone::Error, Message::new(e.text_key())),
            Err(_) => self.say(Tone::Error, Message::new("请先完成前面的步骤")),
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

    /// "拍摄" on a material: the camera screen, or in development mode a file.
    pub fn attach_material(&mut self, kind: MaterialKind) {
        self.take_material(kind, None);
    }

    /// A small picture of a stored file for the summary, or `None` (with a warning) if the file
    /// cannot be read back: the applicant then sees that the page has no preview.
    pub fn material_thumbnail(&self, blob_id: &str) -> Option<kiosk_media::RgbImage> {
        let bytes = match self.services.store.material(blob_id) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                tracing::warn!("a material file of the draft is not in the store");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a material file for its preview failed");
                return None;
            }
        };
        kiosk_media::thumbnail(&bytes, THUMBNAIL_SIDE)
            .map_err(|e| tracing::warn!(error = %e, "a material file has no preview"))
            .ok()
    }

    /// "重拍" on one page shown on the summary: the new file takes that page's place.
    pub fn retake_material(&mut self, kind: MaterialKind, page: usize) {
        self.take_material(kind, Some(page));
    }

    fn take_material(&mut self, kind: MaterialKind, replaces: Option<usize>) {
        self.activity();
        let Some(source) = self.services.materials.as_mut() else {
            if self.has_cameras() {
                self.open_capture_for(kind, replaces);
            } else {
                self.say(
                    Tone::Error,
                    Message::new("本机未配置摄像头，请联系工作人员"),
                );
            }
            return;
        };
        let captured = match source.capture(kind) {
            Ok(c) => c,
            Err(reason) => {
                tracing::warn!(%reason, "material capture failed");
                self.say(Tone::Error, Message::new("材料获取失败，请重试"));
                return;
            }
        };
        self.store_material(kind, captured, replaces);
    }

    /// Saves a checked, compressed file with the draft (one file for the photo and the ID card
    /// sides, pages add up for the others, or one page is replaced).
    fn store_material(&mut self, kind: MaterialKind, captured: Captured, replaces: Option<usize>) {
        let id = self.visit.app.data().basic.id_number.clone();
        self.save_draft();
        match self.services.store.put_material(&id, &captured.bytes) {
            Ok(mut file) => {
                file.width = captured.width;
                file.height = captured.height;
                let single = single_file(kind);
                let mut replaced = Vec::new();
                self.edit(|d| {
                    let files = d.materials.entry(kind).or_default();
                    match replaces {
                        _ if single => {
                            replaced = std::mem::take(files);
                            files.push(file);
                        }
                        Some(page) if page < files.len() => {
                            replaced.push(std::mem::replace(&mut files[page], file));
                        }
                        _ => files.push(file),
                    }
                });
                self.save_draft();
                // A replaced file is nobody's any more: deleted now, not with the draft. (An editable draft has no submission waiting that could still need it.)
                for old in replaced {
                    if let Err(e) = self.services.store.delete_material(&old.blob_id) {
                        tracing::warn!(error = %e, "deleting a replaced material file failed");
                    }
                }
            }
            Err(e) => {
                self.say(Tone::Error, Message::new(e.message_zh()));
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
                let session = self.visit.applicant_session.as_ref();
                let saved = match self
                    .services
                    .store
                    .submit_to_outbox(&self.visit.app, session)
                {
                    Ok(saved) => saved,
                    Err(e) => {
                        tracing::error!(error = %e, "writing the submission to the outbox failed");
                        (self.visit.app, self.visit.wizard) = before;
                        self.say(Tone::Error, Message::new(e.message_zh()));
                        return;
                    }
                };
                self.visit.receipt = Some(SavedReceipt {
                    code: saved.receipt_code,
                    submitted_at: time::OffsetDateTime::now_utc(),
                });
                tracing::info!("submission committed to the outbox");
                if let Some(sync) = &self.sync {
                    sync.wake();
                }
                self.moved(Step::Review);
                self.say(Tone::Success, Message::new("已提交，信息已加密保存"));
            }
            Err(MoveError::EarlierStepIncomplete(step)) => {
                self.say(Tone::Error, Message::new("还有未完成的步骤，请先完成"));
                self.go_to(step);
            }
            Err(e) => self.say(Tone::Error, Message::new(e.text_key())),
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
