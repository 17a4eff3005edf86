//! Applicant accounts: register, log in, forgot password, SMS codes.
//!
//! The wizard talks to an [`Accounts`] implementation. [`LocalAccounts`] keeps accounts in the
//! kiosk's encrypted store with argon2id password hashes; the central server's implementation
//! replaces it when sync lands. SMS codes go through an [`SmsSender`]; the development sender keeps
//! the last code in memory so the development screen can show it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use kiosk_domain::catalog::{Choice, IdType};
use kiosk_domain::{contact, idnumber};
use thiserror::Error;

use crate::store::{Store, StoreError, StoredAccount};

/// How long an SMS code stays valid.
pub const SMS_CODE_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("the ID number is registered already")]
    IdTaken,
    #[error("wrong ID number or password")]
    WrongCredentials,
    #[error("the SMS code is wrong or expired")]
    WrongSmsCode,
    #[error("the mobile number is not the one registered")]
    MobileMismatch,
    #[error("the account service is unavailable: {0}")]
    Unavailable(String),
    #[error("the central server cannot be reached")]
    Offline,
    #[error("too many attempts; try again later")]
    Throttled,
    /// An accountant already on file logs in for the first time: they must bind a phone.
    #[error("the account has no phone bound yet")]
    PhoneBindingRequired(BindingTicket),
}

/// The logged-in session of an account that must bind a phone first. Kept in the visit only;
/// its `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq)]
pub struct BindingTicket(pub(crate) crate::sync::ApplicantSession);

impl std::fmt::Debug for BindingTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindingTicket(..)")
    }
}

impl AccountError {
    /// What the applicant is told: a key of the text catalogue (its Chinese text).
    pub fn message_zh(&self) -> &'static str {
        match self {
            AccountError::IdTaken => {
                "该证件号码已注册，请直接登录；如与本人身份不符，请联系当地会计管理部门核实"
            }
            AccountError::WrongCredentials => "证件号码或密码不正确",
            AccountError::WrongSmsCode => "短信验证码不正确或已过期，请重新获取",
            AccountError::MobileMismatch => "手机号码与注册时绑定的号码不一致",
            AccountError::Unavailable(_) => "账户服务暂时不可用，请稍后再试或联系工作人员",
            AccountError::Offline => "无法连接服务器，请稍后再试",
            AccountError::Throttled => "尝试次数过多，请稍后再试或通过“忘记密码”重置",
            AccountError::PhoneBindingRequired(_) => {
                "首次登录：请输入本人手机号码，获取验证码后绑定"
            }
        }
    }
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        AccountError::Unavailable(e.to_string())
    }
}

/// What a logged-in account tells the wizard.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    pub id_type: IdType,
    pub id_number: String,
    pub name: String,
    pub mobile: String,
    /// The collection as the central server has it (its latest submission, with its review
    /// status), for an applicant whose copy this kiosk has already deleted.
    pub on_server: Option<kiosk_domain::Application>,
    /// The session with the central server; `None` for accounts kept on this kiosk.
    pub session: Option<crate::sync::ApplicantSession>,
}

pub struct Registration<'a> {
    pub id_type: IdType,
    pub id_number: &'a str,
    pub name: &'a str,
    pub mobile: &'a str,
    pub sms_code: &'a str,
    pub password: &'a str,
}

/// What an SMS code is for (the central server keeps codes per purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    Register,
    ResetPassword,
    BindPhone,
}

pub trait Accounts {
    fn send_sms_code(&mut self, mobile: &str) -> Result<(), AccountError>;
    /// Sends a code for a purpose; a reset code goes out only to the phone bound to `id_number`.
    fn send_sms_code_for(
        &mut self,
        mobile: &str,
        _purpose: SmsPurpose,
        _id_number: &str,
    ) -> Result<(), AccountError> {
        self.send_sms_code(mobile)
    }
    fn register(&mut self, registration: &Registration<'_>) -> Result<Profile, AccountError>;
    fn log_in(&mut self, id_number: &str, password: &str) -> Result<Profile, AccountError>;
    fn reset_password(
        &mut self,
        id_number: &str,
        mobile: &str,
        sms_code: &str,
        new_password: &str,
    ) -> Result<(), AccountError>;
    /// Binds a phone to an account that logged in without one, then logs it in.
    fn bind_phone(
        &mut self,
        _ticket: &BindingTicket,
        _mobile: &str,
        _sms_code: &str,
    ) -> Result<Profile, AccountError> {
        Err(AccountError::Unavailable(
            "phone binding needs the central server".into(),
        ))
    }
    /// Whether an account exists for this ID number (a card read chooses log-in or
    /// registration); `None` where the account service does not say (the central server
    /// tells nobody who is registered).
    fn is_registered(&mut self, id_number: &str) -> Result<Option<bool>, AccountError>;
    /// The visit of a logged-in applicant is over (log-out or idle wipe): the server revokes the
    /// session, and keeps honouring its grants only on `pending_keys`. Never blocks the screen.
    fn end_session(
        &mut self,
        _session: &crate::sync::ApplicantSession,
        _pending_keys: Vec<String>,
    ) {
    }
    /// In development only: the last SMS code "sent", so the screen can show it.
    fn development_sms_hint(&self) -> Option<String> {
        None
    }
}

/// Delivers SMS codes.
pub trait SmsSender {
    fn send(&mut self, mobile: &str, code: &str) -> Result<(), AccountError>;
    fn last_code(&self) -> Option<String> {
        None
    }
}

/// The development sender: keeps the last code in memory; nothing is sent or written.
#[derive(Default)]
pub struct DevSmsSender {
    last: Option<String>,
}

impl SmsSender for DevSmsSender {
    fn send(&mut self, _mobile: &str, code: &str) -> Result<(), AccountError> {
        tracing::info!("development SMS sender: code issued");
        self.last = Some(code.to_owned());
        Ok(())
    }

    fn last_code(&self) -> Option<String> {
        self.last.clone()
    }
}

/// Accounts in the kiosk's encrypted store.
pub struct LocalAccounts<S: SmsSender> {
    store: Store,
    sms: S,
    codes: HashMap<String, (String, Instant)>,
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Unavailable(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| AccountError::Unavailable(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Unavailable(e.to_string()))
}

pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn id_type_key(id_type: IdType) -> &'static str {
    match id_type {
        IdType::ResidentIdCard => "resident",
        IdType::HkMoTwResidencePermit => "permit",
        IdType::ForeignPermanentResidentCard => "foreign",
    }
}

fn id_type_from_key(key: &str) -> IdType {
    IdType::ALL
        .iter()
        .copied()
        .find(|t| id_type_key(*t) == key)
        .unwrap_or(IdType::ResidentIdCard)
}

impl<S: SmsSender> LocalAccounts<S> {
    pub fn new(store: Store, sms: S) -> Self {
        LocalAccounts {
            store,
            sms,
            codes: HashMap::new(),
        }
    }

    fn take_code(&mut self, mobile: &str, code: &str) -> Result<(), AccountError> {
        let mobile = contact::normalize_mobile(mobile).map_err(|_| AccountError::WrongSmsCode)?;
        match self.codes.get(&mobile) {
            Some((expected, issued))
                if expected == code.trim() && issued.elapsed() < SMS_CODE_LIFETIME =>
            {
                self.codes.remove(&mobile);
                Ok(())
            }
            _ => Err(AccountError::WrongSmsCode),
        }
    }

    fn profile(account: StoredAccount) -> Profile {
        Profile {
            id_type: id_type_from_key(&account.id_type),
            id_number: account.id_number,
            name: account.name,
            mobile: account.mobile,
            on_server: None,
            session: None,
        }
    }
}

impl<S: SmsSender> Accounts for LocalAccounts<S> {
    fn send_sms_code(&mut self, mobile: &str) -> Result<(), AccountError> {
        let mobile = contact::normalize_mobile(mobile).map_err(|_| AccountError::MobileMismatch)?;
        let mut raw = [0u8; 4];
        getrandom::fill(&mut raw).map_err(|e| AccountError::Unavailable(e.to_string()))?;
        let code = format!("{:06}", u32::from_le_bytes(raw) % 1_000_000);
        self.sms.send(&mobile, &code)?;
        self.codes.insert(mobile, (code, Instant::now()));
        Ok(())
    }

    fn register(&mut self, r: &Registration<'_>) -> Result<Profile, AccountError> {
        let id_number = idnumber::normalize(r.id_number);
        if self.store.account(&id_number)?.is_some() {
            return Err(AccountError::IdTaken);
        }
        self.take_code(r.mobile, r.sms_code)?;
        let mobile =
            contact::normalize_mobile(r.mobile).map_err(|_| AccountError::MobileMismatch)?;
        let account = StoredAccount {
            id_number,
            id_type: id_type_key(r.id_type).to_owned(),
            name: r.name.trim().to_owned(),
            mobile,
            password_hash: hash_password(r.password)?,
        };
        if !self.store.insert_account(&account)? {
            return Err(AccountError::IdTaken);
        }
        tracing::info!("account registered");
        Ok(Self::profile(account))
    }

    fn log_in(&mut self, id_number: &str, password: &str) -> Result<Profile, AccountError> {
        match self.store.account(id_number)? {
            Some(account) if password_matches(password, &account.password_hash) => {
                tracing::info!("log-in succeeded");
                Ok(Self::profile(account))
            }
            _ => {
                tracing::info!("log-in refused");
                Err(AccountError::WrongCredentials)
            }
        }
    }

    fn reset_password(
        &mut self,
        id_number: &str,
        mobile: &str,
        sms_code: &str,
        new_password: &str,
    ) -> Result<(), AccountError> {
        let account = self
            .store
            .account(id_number)?
            .ok_or(AccountError::WrongCredentials)?;
        let mobile_ok = contact::normalize_mobile(mobile).is_ok_and(|m| m == account.mobile);
        if !mobile_ok {
            return Err(AccountError::MobileMismatch);
        }
        self.take_code(mobile, sms_code)?;
        self.store
            .set_password_hash(&account.id_number, &hash_password(new_password)?)?;
        tracing::info!("password reset");
        Ok(())
    }

    fn is_registered(&mut self, id_number: &str) -> Result<Option<bool>, AccountError> {
        Ok(Some(self.store.account(id_number)?.is_some()))
    }

    fn development_sms_hint(&self) -> Option<String> {
        self.sms.last_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> (tempfile::TempDir, LocalAccounts<DevSmsSender>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), &dir.path().join("k")).expect("store");
        (dir, LocalAccounts::new(store, DevSmsSender::default()))
    }

    #[test]
    fn register_log_in_and_reset() {
        let (_dir, mut accounts) = accounts();
        accounts.send_sms_code("13800138000").expect("code sent");
        let code = accounts.development_sms_hint().expect("dev hint");
        let reg = Registration {
            id_type: IdType::ResidentIdCard,
            id_number: "11010519491231002x",
            name: "李四",
            mobile: "138 0013 8000",
            sms_code: &code,
            password: "abc12345",
        };
        assert!(accounts.register(&reg).is_ok());
        // The code is single-use, and the ID number is now taken.
        assert!(matches!(
            accounts.register(&reg),
            Err(AccountError::IdTaken)
        ));
        let profile = accounts
            .log_in("11010519491231002X", "abc12345")
            .expect("logs in");
        assert_eq!(profile.name, "李四");
        assert!(matches!(
            accounts.log_in("11010519491231002X", "wrong123"),
            Err(AccountError::WrongCredentials)
        ));
        assert!(matches!(
            accounts.reset_password("11010519491231002X", "13900139000", "000000", "new12345"),
            Err(AccountError::MobileMismatch)
        ));
        assert!(matches!(
            accounts.reset_password("11010519491231002X", "13800138000", "000000", "new12345"),
            Err(AccountError::WrongSmsCode)
        ));
        accounts.send_sms_code("13800138000").expect("code sent");
        let code = accounts.development_sms_hint().expect("dev hint");
        accounts
            .reset_password("11010519491231002X", "13800138000", &code, "new12345")
            .expect("reset");
        assert!(accounts.log_in("11010519491231002X", "new12345").is_ok());
        assert!(accounts.log_in("11010519491231002X", "abc12345").is_err());
    }
}
