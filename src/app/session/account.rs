//! Log in, register, forgot password; resuming the draft of the applicant who signed in.

use super::*;

impl Session {
    pub fn set_account_mode(&mut self, mode: AccountMode) {
        self.activity();
        if mode != AccountMode::BindPhone {
            self.visit.binding = None;
        }
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
            AccountMode::LogIn => vec![Field::IdType, Field::IdNumber, Field::Password],
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
                Field::IdType,
                Field::IdNumber,
                Field::Mobile,
                Field::SmsCode,
                Field::Password,
                Field::PasswordConfirm,
            ],
            AccountMode::BindPhone => vec![Field::Mobile, Field::SmsCode],
        }
    }

    /// Findings on the account page's fields for the current mode.
    pub fn account_issues(&self) -> Vec<Issue> {
        let today = (self.services.today)();
        let mut basic = self.visit.account.data.basic.clone();
        if basic.id_type.is_none() {
            basic.id_type = Some(kiosk_domain::idnumber::type_of(&basic.id_number));
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
            self.say(Tone::Error, Message::new("请先输入正确的手机号码"));
            return;
        }
        let purpose = match self.visit.account_mode {
            AccountMode::ForgotPassword => crate::accounts::SmsPurpose::ResetPassword,
            AccountMode::BindPhone => crate::accounts::SmsPurpose::BindPhone,
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
                let message = match &hint {
                    Some(code) => Message::with("验证码已发送（开发模式：{0}）", &[code]),
                    None => Message::new("验证码已发送，请查看手机短信"),
                };
                self.say(Tone::Success, message);
            }
            Err(e) => self.account_failed(&e),
        }
    }

    pub(super) fn account_failed(&mut self, e: &AccountError) {
        self.say(Tone::Error, Message::new(e.message_zh()));
    }

    /// "登录" / "注册" / "重置密码".
    pub fn account_submit(&mut self) {
        self.activity();
        self.visit.active = None;
        if !self.account_issues().is_empty() {
            self.visit.show_all_errors = true;
            self.say(Tone::Error, Message::new("请按提示修改标红的项目后继续"));
            return;
        }
        let b = self.visit.account.data.basic.clone();
        let a = &self.visit.account;
        let result = match self.visit.account_mode {
            AccountMode::LogIn => self.services.accounts.log_in(&b.id_number, &a.password),
            AccountMode::Register => self.services.accounts.register(&Registration {
                id_type: b
                    .id_type
                    .unwrap_or_else(|| kiosk_domain::idnumber::type_of(&b.id_number)),
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
                        self.say(Tone::Success, Message::new("密码已重置，请用新密码登录"));
                    }
                    Err(e) => self.account_failed(&e),
                }
                return;
            }
            AccountMode::BindPhone => match self.visit.binding.clone() {
                Some(ticket) => self
                    .services
                    .accounts
                    .bind_phone(&ticket, &b.mobile, &a.sms_code),
                None => {
                    self.set_account_mode(AccountMode::LogIn);
                    return;
                }
            },
        };
        match result {
            Ok(profile) => self.signed_in_as(profile),
            Err(AccountError::PhoneBindingRequired(ticket)) => {
                self.visit.binding = Some(ticket);
                self.visit.account_mode = AccountMode::BindPhone;
                self.visit.show_all_errors = false;
                self.visit.account.password.clear();
                self.visit.account.sms_code.clear();
                self.say(
                    Tone::Info,
                    Message::new("首次登录：请输入本人手机号码，获取验证码后点“绑定并登录”"),
                );
            }
            Err(e) => {
                if matches!(e, AccountError::IdTaken) {
                    self.visit.account_mode = AccountMode::LogIn;
                }
                self.account_failed(&e);
            }
        }
    }

    pub(super) fn signed_in_as(&mut self, profile: crate::accounts::Profile) {
        let progress_before = self.visit.app.data().clone();
        self.visit.signed_in = true;
        self.visit.applicant_session = profile.session.clone();
        self.visit.account = AccountForm::default();
        self.visit.binding = None;
        self.visit.account_mode = AccountMode::LogIn;
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
            // This kiosk deleted its copy after delivery: the server's record and status.
            Ok(None) if profile.on_server.is_some() => {
                tracing::info!("collection restored from the central server");
                profile.on_server.clone().unwrap_or_default()
            }
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
        self.say_logged_in();
        if let Some(card) = self.visit.pending_card.take() {
            self.card_for_applicant(card);
        }
        self.save_draft();
    }
    /// The banner after a log-in. A returning applicant whose collection was rejected reads why
    /// on the page they resume at, in the reviewer's words, before changing anything.
    pub(crate) fn say_logged_in(&mut self) {
        match self.visit.app.review().clone() {
            kiosk_domain::ReviewState::Rejected { reason } => self.say(
                Tone::Error,
                Message::with(
                    "登录成功。上次提交审核未通过，审核意见：{0}。请按意见修改后重新提交。",
                    &[&reason],
                ),
            ),
            _ => self.say(Tone::Success, Message::new("登录成功")),
        }
    }
}
