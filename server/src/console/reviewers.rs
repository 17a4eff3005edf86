//! Console accounts, for the admin role: the list, a new account, disabling and enabling, a new
//! password. The same rules as `central reviewer ...` (names, 10-character passwords, known
//! bureaus), each change audited in its transaction. Only an admin account sees these pages; an
//! admin does not review submissions, so the one who grants access never uses it.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::form::Fields;
use super::{
    ConsoleError, FORM_MAX_BYTES, PageResult, Signed, blocking, html_response, role_label,
    see_other,
};
use crate::api::AppState;
use crate::store::{AuditEntry, ReviewerAccount, ReviewerChange, ReviewerRole};
use crate::util::now;

/// Shortest console password: a reviewer's account opens many applicants' records.
pub const PASSWORD_MIN_CHARS: usize = 10;
const PASSWORD_MAX_CHARS: usize = 128;

/// Whether `name` may name a console account: 1 to 64 letters, digits, '.', '-' or '_'.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Why a password is refused, if it is.
pub fn password_problem(password: &str, confirm: &str) -> Option<&'static str> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        Some("密码至少 10 个字符。")
    } else if chars > PASSWORD_MAX_CHARS {
        Some("密码过长。")
    } else if password != confirm {
        Some("两次输入的密码不一致。")
    } else {
        None
    }
}

/// Whether `code` is one of Yunnan's finance bureaus.
pub fn is_bureau(code: u32) -> bool {
    kiosk_domain::region::finance_bureaus().any(|d| d.code.0 == code)
}

/// The admin, or a refusal for anyone else.
fn admin_only(signed: &Signed) -> Result<(), ConsoleError> {
    match signed.account.role {
        ReviewerRole::Admin => Ok(()),
        _ => Err(ConsoleError::Forbidden(
            "只有账号管理员可以管理审核人员账号。",
        )),
    }
}

fn accounts_body(
    accounts: &[ReviewerAccount],
    me: &str,
    csrf: &str,
    message: Option<&str>,
) -> Markup {
    html! {
        h1 { "审核人员账号" }
        @if let Some(message) = message {
            p.success role="status" { (message) }
        }
        table.queue {
            thead { tr { th { "用户名" } th { "角色" } th { "状态" } th { "操作" } } }
            tbody {
                @for account in accounts {
                    tr {
                        td.mono { (account.name) }
                        td { (role_label(account.role)) }
                        td { @if account.disabled { span.state.rejected { "已停用" } } @else { span.state.approved { "启用" } } }
                        td {
                            @if account.name == me { span.muted { "当前登录" } } @else {
                            form.inline method="post" action="/console/reviewers/change" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="name" value=(account.name);
                                @if account.disabled {
                                    button.secondary name="change" value="enable" type="submit" { "启用" }
                                } @else {
                                    button.danger name="change" value="disable" type="submit" { "停用" }
                                }
                            }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "新增账号" }
            form.account method="post" action="/console/reviewers/add" {
                input type="hidden" name="csrf" value=(csrf);
                label { "用户名（字母、数字、. - _）"
                    input type="text" name="name" maxlength="64" required autocomplete="off";
                }
                label { "角色"
                    select name="role" {
                        @for bureau in kiosk_domain::region::finance_bureaus() {
                            option value=(bureau.code.0) { (bureau.bureau_name()) "审核人员" }
                        }
                        option value="province" { "全省审核人员" }
                        option value="admin" { "账号管理员" }
                    }
                }
                label { "初始密码（至少 10 个字符）"
                    input type="password" name="password" maxlength="128" required autocomplete="new-password";
                }
                label { "再次输入密码"
                    input type="password" name="confirm" maxlength="128" required autocomplete="new-password";
                }
                button.primary type="submit" { "新增账号" }
            }
        }
        section {
            h2 { "重设密码" }
            p.hint { "重设后，该账号已打开的页面会退出登录。" }
            form.account method="post" action="/console/reviewers/password" {
                input type="hidden" name="csrf" value=(csrf);
                label { "用户名"
                    select name="name" {
                        @for account in accounts { option value=(account.name) { (account.name) } }
                    }
                }
                label { "新密码（至少 10 个字符）"
                    input type="password" name="password" maxlength="128" required autocomplete="new-password";
                }
                label { "再次输入密码"
                    input type="password" name="confirm" maxlength="128" required autocomplete="new-password";
                }
                button.primary type="submit" { "重设密码" }
            }
        }
    }
}

fn done_message(done: &str) -> Option<&'static str> {
    match done {
        "added" => Some("账号已新增。"),
        "disabled" => Some("账号已停用，其已打开的页面已退出登录。"),
        "enabled" => Some("账号已启用。"),
        "password" => Some("密码已重设。"),
        _ => None,
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult {
    admin_only(&signed)?;
    let fields = Fields::parse(raw.unwrap_or_default().as_bytes(), &["done"], &[])?;
    let message = fields.get("done").and_then(done_message);
    let store = state.store.clone();
    let accounts = blocking(move || Ok(store.reviewer_accounts()?)).await?;
    Ok(html_response(
        StatusCode::OK,
        super::page(
            "审核人员账号",
            Some((&signed.account, &signed.session.csrf)),
            accounts_body(
                &accounts,
                &signed.account.name,
                &signed.session.csrf,
                message,
            ),
        ),
    ))
}

/// The form's new password, untrimmed (spaces may be part of one), if it is acceptable and
/// typed the same twice.
fn new_password(fields: &Fields) -> Result<String, ConsoleError> {
    let typed = |name: &str| {
        fields
            .all(name)
            .first()
            .copied()
            .unwrap_or_default()
            .to_owned()
    };
    let (password, confirm) = (typed("password"), typed("confirm"));
    match password_problem(&password, &confirm) {
        Some(problem) => Err(ConsoleError::BadRequest(problem)),
        None => Ok(password),
    }
}

/// An argon2id hash of `password` under the server's hashing bound.
fn hashed(state: &AppState, password: &str) -> Result<String, ConsoleError> {
    state
        .hashing
        .hash(password)?
        .map_err(|_| ConsoleError::Internal)
}

fn form_of(signed: &Signed, body: &[u8], names: &[&str]) -> Result<Fields, ConsoleError> {
    if body.len() > FORM_MAX_BYTES {
        return Err(ConsoleError::BadRequest("提交的内容过长。"));
    }
    let fields = Fields::parse(body, names, &[])?;
    signed.check_csrf(fields.get("csrf"))?;
    Ok(fields)
}

pub async fn add(State(state): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    admin_only(&signed)?;
    let fields = form_of(
        &signed,
        &body,
        &["csrf", "name", "role", "password", "confirm"],
    )?;
    let name = fields.get("name").unwrap_or_default().to_owned();
    if !valid_name(&name) {
        return Err(ConsoleError::BadRequest(
            "用户名须为 1 至 64 个字母、数字、“.”、“-”或“_”。",
        ));
    }
    let role = match fields.get("role") {
        Some("province") => ReviewerRole::Province,
        Some("admin") => ReviewerRole::Admin,
        Some(code) => match code.parse::<u32>() {
            Ok(code) if is_bureau(code) => ReviewerRole::Bureau(code),
            _ => return Err(ConsoleError::BadRequest("没有这个财政局。")),
        },
        None => return Err(ConsoleError::BadRequest("请选择角色。")),
    };
    let password = new_password(&fields)?;
    let actor = signed.actor();
    let added = blocking(move || {
        let hash = hashed(&state, &password)?;
        let audit = AuditEntry::new(&actor, "add console account", &name, "ok", now());
        Ok(state.store.insert_reviewer(&name, role, &hash, &audit)?)
    })
    .await?;
    match added {
        Some(_) => Ok(see_other("/console/reviewers?done=added")),
        None => Err(ConsoleError::BadRequest("已有同名账号，请换一个用户名。")),
    }
}

pub async fn change(State(state): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    admin_only(&signed)?;
    let fields = form_of(&signed, &body, &["csrf", "name", "change"])?;
    let name = fields.get("name").unwrap_or_default().to_owned();
    let (change, done) = match fields.get("change") {
        Some("disable") => (ReviewerChange::Disable, "disabled"),
        Some("enable") => (ReviewerChange::Enable, "enabled"),
        _ => return Err(ConsoleError::BadRequest("没有这种操作。")),
    };
    if name == signed.account.name && change == ReviewerChange::Disable {
        return Err(ConsoleError::BadRequest("不能停用自己正在使用的账号。"));
    }
    let actor = signed.actor();
    let changed = blocking(move || {
        let audit = AuditEntry::new(
            &actor,
            &format!("{done} console account"),
            &name,
            "ok",
            now(),
        );
        Ok(state.store.change_reviewer(&name, &change, &audit)?)
    })
    .await?;
    if !changed {
        return Err(ConsoleError::NotFound);
    }
    Ok(see_other(&format!("/console/reviewers?done={done}")))
}

pub async fn password(State(state): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    admin_only(&signed)?;
    let fields = form_of(&signed, &body, &["csrf", "name", "password", "confirm"])?;
    let name = fields.get("name").unwrap_or_default().to_owned();
    let password = new_password(&fields)?;
    let actor = signed.actor();
    let changed = blocking(move || {
        let hash = hashed(&state, &password)?;
        let audit = AuditEntry::new(&actor, "reset console account", &name, "ok", now());
        Ok(state
            .store
            .change_reviewer(&name, &ReviewerChange::Password { hash }, &audit)?)
    })
    .await?;
    if !changed {
        return Err(ConsoleError::NotFound);
    }
    Ok(see_other("/console/reviewers?done=password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_passwords_and_bureaus_follow_the_command_line_rules() {
        assert!(valid_name("li.ming-2_a"));
        assert!(!valid_name(""));
        assert!(!valid_name("李明"));
        assert!(!valid_name(&"a".repeat(65)));
        assert_eq!(
            password_problem("short", "short"),
            Some("密码至少 10 个字符。")
        );
        assert_eq!(
            password_problem("long-enough-1", "long-enough-2"),
            Some("两次输入的密码不一致。")
        );
        assert_eq!(password_problem("long-enough-1", "long-enough-1"), None);
        assert!(is_bureau(530102));
        assert!(!is_bureau(999_999));
    }
}
