//! Hall staff, with their PIN: confirm a value that fails its check (an early credit code), and
//! open staff mode, which shows device health and the sync queue and nothing about applicants.

use super::*;
use crate::store::{StaffLock, StaffLockRules, StoreError, now_ms};

/// Wrong staff PINs in a row before the PIN is refused for a while.
pub const STAFF_MODE_ATTEMPTS: u32 = 5;
/// How long the PIN is refused after that.
pub const STAFF_MODE_LOCKOUT_SECS: u32 = 600;
/// Wrong staff PINs in all, without a right one in between, after which the PIN is refused until
/// the hall admin runs `kiosk staff unlock` on the kiosk.
pub const STAFF_ADMIN_LOCK_AFTER: u32 = 10;

const STAFF_LOCK_RULES: StaffLockRules = StaffLockRules {
    attempts: STAFF_MODE_ATTEMPTS,
    lockout_ms: STAFF_MODE_LOCKOUT_SECS as i64 * 1000,
    admin_after: STAFF_ADMIN_LOCK_AFTER,
};

/// Why the staff PIN is not asked for now.
enum StaffRefusal {
    /// The lock cannot be read: refused, as a lock that cannot be checked.
    Store(StoreError),
    AdminLock,
    Timed {
        secs_left: u32,
    },
}

/// Seconds left of the timed lock committed in `store` (after a restart of the kiosk). Never
/// more than one lockout, so a clock set back does not lock staff out for years.
pub(super) fn timed_lock_left_secs(store: &Store) -> u32 {
    match store.staff_lock() {
        Ok(lock) => {
            let left_ms = lock.locked_until_ms.saturating_sub(now_ms()).max(0) as u64;
            left_ms
                .div_ceil(1000)
                .min(u64::from(STAFF_MODE_LOCKOUT_SECS)) as u32
        }
        Err(e) => {
            // The PIN dialog reads the lock again and stays closed while it cannot.
            tracing::error!(error = %e, "reading the staff PIN lock failed");
            0
        }
    }
}

/// One line of the staff panel: a device or the queue, and whether it is fine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    pub label: String,
    pub value: String,
    pub ok: bool,
}

impl Session {
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
                Message::new("暂时无法确认，请工作人员联系技术支持"),
            );
            return;
        }
        if let Some(refusal) = self.staff_refusal() {
            self.say_staff_refusal(refusal, false);
            return;
        }
        self.visit.active = None;
        self.visit.overlay = Some(Overlay::StaffPin {
            field: Some(field),
            entered: String::new(),
        });
    }

    /// "工作人员" on the welcome page: asks for the hall PIN.
    pub fn open_staff_mode(&mut self) {
        self.activity();
        if self.visit.screen != Screen::Welcome {
            return;
        }
        if self.services.staff_pin_hash.is_none() {
            self.say(
                Tone::Error,
                Message::new("工作人员模式暂不可用，请稍后再试或联系技术支持"),
            );
            return;
        }
        if let Some(refusal) = self.staff_refusal() {
            self.say_staff_refusal(refusal, true);
            return;
        }
        self.visit.overlay = Some(Overlay::StaffPin {
            field: None,
            entered: String::new(),
        });
    }

    /// The committed lock, read afresh each time so that `kiosk staff unlock`, run while the
    /// kiosk is up, takes effect at once. The timed lock is counted down by `tick` (the seconds
    /// the kiosk has run); the store's deadline only seeds that count after a restart.
    fn staff_refusal(&mut self) -> Option<StaffRefusal> {
        match self.services.store.staff_lock() {
            Err(e) => Some(StaffRefusal::Store(e)),
            Ok(lock) if lock.admin_locked => Some(StaffRefusal::AdminLock),
            Ok(lock) if lock.locked_until_ms == 0 => {
                // Lifted by the admin (or never set).
                self.staff_lockout_secs = 0;
                None
            }
            Ok(_) if self.staff_lockout_secs > 0 => Some(StaffRefusal::Timed {
                secs_left: self.staff_lockout_secs,
            }),
            Ok(_) => None,
        }
    }

    fn say_staff_refusal(&mut self, refusal: StaffRefusal, for_mode: bool) {
        let what = tr(self.lang, staff_gate_name(for_mode));
        match refusal {
            StaffRefusal::Store(e) => {
                tracing::error!(error = %e, "staff PIN refused: its lock cannot be read or written");
                self.say(
                    Tone::Error,
                    Message::with("{0}暂不可用（本机存储出错），请联系技术支持", &[&what]),
                );
            }
            StaffRefusal::AdminLock => self.say(
                Tone::Error,
                Message::with("{0}已锁定，请联系管理员解锁", &[&what]),
            ),
            StaffRefusal::Timed { secs_left } => {
                let minutes = secs_left.div_ceil(60);
                self.say(
                    Tone::Error,
                    Message::with("{0}暂不可用，请{1}分钟后再试", &[&what, &minutes]),
                );
            }
        }
    }

    /// Commits one wrong staff PIN before anything is shown for it. `Err` when the store
    /// cannot count it: the caller then refuses as for a lock.
    fn record_wrong_staff_pin(&mut self, audit: &'static str) -> Result<StaffLock, StoreError> {
        let lock = self
            .services
            .store
            .staff_pin_wrong(now_ms(), STAFF_LOCK_RULES)
            .inspect_err(|e| tracing::error!(error = %e, "counting a wrong staff PIN failed"))?;
        tracing::warn!(
            audit,
            recent = lock.recent_failures,
            total = lock.total_failures,
            "wrong staff PIN"
        );
        if lock.admin_locked {
            tracing::warn!(
                audit,
                "staff PIN locked until the hall admin unlocks it (kiosk staff unlock)"
            );
        } else if lock.recent_failures == 0 {
            // This failure started the timed lock (the count restarts with it).
            self.staff_lockout_secs = STAFF_MODE_LOCKOUT_SECS;
            tracing::warn!(
                audit,
                secs = STAFF_MODE_LOCKOUT_SECS,
                "staff PIN locked for a while"
            );
        }
        Ok(lock)
    }

    /// Says what a committed wrong PIN led to; `false` when the PIN is not locked.
    fn say_staff_lock_after_failure(&mut self, lock: &StaffLock, for_mode: bool) -> bool {
        let what = tr(self.lang, staff_gate_name(for_mode));
        if lock.admin_locked {
            self.say(
                Tone::Error,
                Message::with("确认码错误次数过多，{0}已锁定，请联系管理员解锁", &[&what]),
            );
            true
        } else if lock.recent_failures == 0 {
            let minutes = STAFF_MODE_LOCKOUT_SECS / 60;
            self.say(
                Tone::Error,
                Message::with("确认码错误次数过多，{0}{1}分钟内不可用", &[&what, &minutes]),
            );
            true
        } else {
            false
        }
    }

    pub(super) fn check_staff_mode_pin(&mut self, entered: &str) {
        self.visit.overlay = None;
        if let Some(refusal) = self.staff_refusal() {
            self.say_staff_refusal(refusal, true);
            return;
        }
        let ok = self
            .services
            .staff_pin_hash
            .as_deref()
            .is_some_and(|hash| crate::accounts::password_matches(entered, hash));
        if ok {
            if let Err(e) = self.services.store.staff_pin_right() {
                tracing::error!(error = %e, "clearing the wrong staff PIN count failed");
            }
            self.visit.staff_panel = true;
            self.visit.banner = None;
            tracing::info!(audit = "staff-mode", "staff mode opened");
            return;
        }
        match self.record_wrong_staff_pin("staff-mode") {
            Err(e) => self.say_staff_refusal(StaffRefusal::Store(e), true),
            Ok(lock) => {
                if !self.say_staff_lock_after_failure(&lock, true) {
                    self.say(Tone::Error, Message::new("确认码不正确"));
                }
            }
        }
    }

    pub fn close_staff_panel(&mut self) {
        self.activity();
        self.visit.staff_panel = false;
        tracing::info!(audit = "staff-mode", "staff mode closed");
    }

    /// Puts submissions the server refused back in the queue (after staff fixed the cause, e.g.
    /// re-enrolled the kiosk).
    pub fn staff_retry_failed(&mut self) {
        self.activity();
        if !self.visit.staff_panel {
            return;
        }
        match self.services.store.outbox_retry_failed() {
            Ok(n) => {
                tracing::info!(
                    audit = "staff-mode",
                    requeued = n,
                    "failed submissions requeued"
                );
                if let Some(sync) = &self.sync {
                    sync.wake();
                }
                self.say(
                    Tone::Success,
                    Message::with("已将 {0} 份提交重新加入发送队列", &[&n]),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "requeueing failed submissions failed");
                self.say(Tone::Error, Message::new(e.message_zh()));
            }
        }
    }

    /// Device health and the queue, for the staff panel. Counts only: no applicant data.
    pub fn staff_health(&self) -> Vec<HealthRow> {
        let lang = self.lang;
        let row = |label: &str, value: String, ok: bool| HealthRow {
            label: tr(lang, label).to_owned(),
            value,
            ok,
        };
        let mut rows = Vec::new();
        rows.push(match self.reader_online {
            None => row("身份证读卡器", tr(lang, "未配置").to_owned(), false),
            Some(online) => row(
                "身份证读卡器",
                if online {
                    tr(lang, "在线").to_owned()
                } else {
                    tr(lang, "未连接").to_owned()
                },
                online,
            ),
        });
        for (label, kind) in [
            ("证件照摄像头", MaterialKind::Photo),
            ("高拍仪", MaterialKind::WorkCertificate),
        ] {
            let (value, ok) = match self.services.cameras.as_ref().map(|c| c.for_kind(kind)) {
                None => (tr(lang, "未配置").to_owned(), false),
                Some(kiosk_hardware::camera::CameraSpec::Files { .. }) => {
                    (tr(lang, "模拟摄像头").to_owned(), true)
                }
                Some(kiosk_hardware::camera::CameraSpec::Device { path, .. }) => {
                    if path.exists() {
                        (tr(lang, "已连接").to_owned(), true)
                    } else {
                        (tr(lang, "未找到设备").to_owned(), false)
                    }
                }
            };
            rows.push(row(label, value, ok));
        }
        let counts = self.services.store.outbox_counts().unwrap_or_default();
        match self.sync_status() {
            None => rows.push(row(
                "中央服务器",
                tr(lang, "未配置（单机模式）").to_owned(),
                false,
            )),
            Some(status) => rows.push(row(
                "中央服务器",
                match status.online {
                    Some(true) => tr(lang, "已连接").to_owned(),
                    Some(false) => tr(lang, "未连接").to_owned(),
                    None => tr(lang, "尚未联系").to_owned(),
                },
                status.online == Some(true),
            )),
        }
        rows.push(row(
            "待发送的提交",
            counts.pending.to_string(),
            counts.pending == 0,
        ));
        rows.push(row(
            "被服务器拒绝的提交",
            counts.failed.to_string(),
            counts.failed == 0,
        ));
        rows.push(row("已送达、等待审核结果", counts.acked.to_string(), true));
        rows.push(row("软件版本", env!("CARGO_PKG_VERSION").to_owned(), true));
        rows
    }

    pub(super) fn check_staff_pin(&mut self, field: Field, entered: &str) {
        if let Some(refusal) = self.staff_refusal() {
            self.visit.overlay = None;
            self.say_staff_refusal(refusal, false);
            return;
        }
        let ok = self
            .services
            .staff_pin_hash
            .as_deref()
            .is_some_and(|hash| crate::accounts::password_matches(entered, hash));
        if ok {
            if let Err(e) = self.services.store.staff_pin_right() {
                tracing::error!(error = %e, "clearing the wrong staff PIN count failed");
            }
            self.visit.overlay = None;
            self.edit(|d| d.work.employment.credit_code_confirmed_by_staff = true);
            self.visit.touched.insert(field);
            tracing::info!(
                audit = "staff-confirmation",
                what = "credit code checksum",
                "staff confirmed a value"
            );
            self.say(Tone::Success, Message::new("工作人员已确认"));
        } else {
            self.visit.staff_pin_failures += 1;
            let lock = match self.record_wrong_staff_pin("staff-confirmation") {
                Ok(lock) => lock,
                Err(e) => {
                    self.visit.overlay = None;
                    self.say_staff_refusal(StaffRefusal::Store(e), false);
                    return;
                }
            };
            if self.say_staff_lock_after_failure(&lock, false) {
                self.visit.overlay = None;
            } else if self.visit.staff_pin_failures >= STAFF_PIN_ATTEMPTS {
                self.visit.overlay = None;
                self.say(
                    Tone::Error,
                    Message::new("确认码错误次数过多，本次无法确认"),
                );
            } else {
                self.visit.overlay = Some(Overlay::StaffPin {
                    field: Some(field),
                    entered: String::new(),
                });
                self.say(Tone::Error, Message::new("确认码不正确，请重试"));
            }
        }
    }
}

/// What a staff PIN opens, as a catalogue key: staff mode or a staff confirmation.
fn staff_gate_name(for_mode: bool) -> &'static str {
    if for_mode {
        "工作人员模式"
    } else {
        "工作人员确认"
    }
}
