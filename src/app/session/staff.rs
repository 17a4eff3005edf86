//! Hall staff, with their PIN: confirm a value that fails its check (an early credit code), and
//! open staff mode, which shows device health and the sync queue and nothing about applicants.

use super::*;

/// Wrong PINs on the welcome page before staff mode is refused for a while.
pub const STAFF_MODE_ATTEMPTS: u32 = 5;
/// How long staff mode is refused after that.
pub const STAFF_MODE_LOCKOUT_SECS: u32 = 600;

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
                "暂时无法确认，请工作人员联系技术支持",
                "Staff confirmation is unavailable; staff, please call IT support",
            );
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
        if self.services.staff_pin_hash.is_none() || self.staff_lockout_secs > 0 {
            self.say(
                Tone::Error,
                "工作人员模式暂不可用，请稍后再试或联系技术支持",
                "Staff mode is unavailable for now; try later or call IT support",
            );
            return;
        }
        self.visit.overlay = Some(Overlay::StaffPin {
            field: None,
            entered: String::new(),
        });
    }

    pub(super) fn check_staff_mode_pin(&mut self, entered: &str) {
        let ok = self
            .services
            .staff_pin_hash
            .as_deref()
            .is_some_and(|hash| crate::accounts::password_matches(entered, hash));
        self.visit.overlay = None;
        if ok {
            self.staff_mode_failures = 0;
            self.visit.staff_panel = true;
            self.visit.banner = None;
            tracing::info!(audit = "staff-mode", "staff mode opened");
            return;
        }
        self.staff_mode_failures += 1;
        tracing::warn!(
            audit = "staff-mode",
            failures = self.staff_mode_failures,
            "wrong staff PIN"
        );
        if self.staff_mode_failures >= STAFF_MODE_ATTEMPTS {
            self.staff_mode_failures = 0;
            self.staff_lockout_secs = STAFF_MODE_LOCKOUT_SECS;
            self.say(
                Tone::Error,
                "确认码错误次数过多，工作人员模式10分钟内不可用",
                "Too many wrong PINs: staff mode is locked for 10 minutes",
            );
        } else {
            self.say(Tone::Error, "确认码不正确", "Wrong PIN");
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
                    &format!("已将 {n} 份提交重新加入发送队列"),
                    &format!("{n} submissions are queued again"),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "requeueing failed submissions failed");
                self.visit.banner = Some(Banner {
                    text: e.message_zh().to_owned(),
                    tone: Tone::Error,
                });
            }
        }
    }

    /// Device health and the queue, for the staff panel. Counts only: no applicant data.
    pub fn staff_health(&self) -> Vec<HealthRow> {
        let lang = self.lang;
        let row = |label: (&str, &str), value: String, ok: bool| HealthRow {
            label: t(lang, label.0, label.1),
            value,
            ok,
        };
        let mut rows = Vec::new();
        rows.push(match self.reader_online {
            None => row(
                ("身份证读卡器", "ID card reader"),
                t(lang, "未配置", "not configured"),
                false,
            ),
            Some(online) => row(
                ("身份证读卡器", "ID card reader"),
                if online {
                    t(lang, "在线", "online")
                } else {
                    t(lang, "未连接", "not connected")
                },
                online,
            ),
        });
        for (label, kind) in [
            (("证件照摄像头", "Photo camera"), MaterialKind::Photo),
            (("高拍仪", "Document camera"), MaterialKind::WorkCertificate),
        ] {
            let (value, ok) = match self.services.cameras.as_ref().map(|c| c.for_kind(kind)) {
                None => (t(lang, "未配置", "not configured"), false),
                Some(kiosk_hardware::camera::CameraSpec::Files { .. }) => {
                    (t(lang, "模拟摄像头", "simulated"), true)
                }
                Some(kiosk_hardware::camera::CameraSpec::Device { path, .. }) => {
                    if path.exists() {
                        (t(lang, "已连接", "connected"), true)
                    } else {
                        (t(lang, "未找到设备", "device not found"), false)
                    }
                }
            };
            rows.push(row(label, value, ok));
        }
        let counts = self.services.store.outbox_counts().unwrap_or_default();
        match self.sync_status() {
            None => rows.push(row(
                ("中央服务器", "Central server"),
                t(lang, "未配置（单机模式）", "not configured (stand-alone)"),
                false,
            )),
            Some(status) => rows.push(row(
                ("中央服务器", "Central server"),
                match status.online {
                    Some(true) => t(lang, "已连接", "connected"),
                    Some(false) => t(lang, "未连接", "not reachable"),
                    None => t(lang, "尚未联系", "not contacted yet"),
                },
                status.online == Some(true),
            )),
        }
        rows.push(row(
            ("待发送的提交", "Submissions waiting to be sent"),
            counts.pending.to_string(),
            counts.pending == 0,
        ));
        rows.push(row(
            ("被服务器拒绝的提交", "Submissions the server refused"),
            counts.failed.to_string(),
            counts.failed == 0,
        ));
        rows.push(row(
            ("已送达、等待审核结果", "Delivered, awaiting review"),
            counts.acked.to_string(),
            true,
        ));
        rows.push(row(
            ("软件版本", "Software version"),
            env!("CARGO_PKG_VERSION").to_owned(),
            true,
        ));
        rows
    }

    pub(super) fn check_staff_pin(&mut self, field: Field, entered: &str) {
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
                    field: Some(field),
                    entered: String::new(),
                });
                self.say(Tone::Error, "确认码不正确，请重试", "Wrong PIN; try again");
            }
        }
    }
}
