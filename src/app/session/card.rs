//! ID card reads during a visit: before consent they are held, on the account page they fill
//! the form, for a signed-in applicant they fill the draft and flag disagreements.

use super::*;

impl Session {
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
                    Message::new("已读取身份证。请先阅读采集须知，同意后才会使用身份证信息。"),
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
                    Message::new("已读取身份证，将在登录或注册时使用。"),
                );
            }
        }
    }

    pub(super) fn card_on_account_page(&mut self, card: CardIdentity) {
        let mut basic = Basic::default();
        card_fill::fill_from_card(&mut basic, &card);
        basic.postal_address.clear();
        let mobile = std::mem::take(&mut self.visit.account.data.basic.mobile);
        self.visit.account.data.basic = Basic { mobile, ..basic };
        match self.services.accounts.is_registered(&card.id_number) {
            Ok(None) => {
                self.visit.account_mode = AccountMode::LogIn;
                self.say(
                    Tone::Success,
                    Message::new("已读取身份证：请输入密码登录；首次采集请点“注册”。"),
                );
            }
            Ok(Some(true)) => {
                self.visit.account_mode = AccountMode::LogIn;
                self.say(
                    Tone::Success,
                    Message::new("已读取身份证：请输入密码登录。"),
                );
            }
            Ok(Some(false)) => {
                self.visit.account_mode = AccountMode::Register;
                self.say(
                    Tone::Success,
                    Message::new("已读取身份证：首次采集请绑定本人手机号码并设置密码。"),
                );
            }
            Err(e) => self.account_failed(&e),
        }
    }

    pub(super) fn card_for_applicant(&mut self, card: CardIdentity) {
        let same = idnumber::normalize(&card.id_number)
            == idnumber::normalize(&self.visit.app.data().basic.id_number);
        if !same {
            self.say(
                Tone::Error,
                Message::new("这张身份证与当前登录的申请人不一致，未使用。请使用本人身份证。"),
            );
            return;
        }
        let mut conflicts = Vec::new();
        self.edit(|d| conflicts = card_fill::fill_from_card(&mut d.basic, &card));
        self.visit.pending_card = None;
        self.save_draft();
        if conflicts.is_empty() {
            self.say(Tone::Success, Message::new("已从身份证读取信息"));
        } else {
            let names: Vec<&str> = conflicts
                .iter()
                .map(|f| forms::label(*f, self.lang))
                .collect();
            let list = names.join(tr(self.lang, "、"));
            self.say(
                Tone::Error,
                Message::with(
                    "身份证与已保存的信息不一致：{0}。已保留原信息，请核对修改或联系工作人员。",
                    &[&list],
                ),
            );
        }
    }

    /// The reader could not read the card; `reason` is the reader's catalogue key.
    pub fn card_read_failed(&mut self, reason: &'static str) {
        self.say(
            Tone::Error,
            Message::with(
                "读卡失败：{0}。请将身份证取下后重新放置。",
                &[&tr(self.lang, reason)],
            ),
        );
    }
}
