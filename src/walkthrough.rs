//! A text walk through the wizard's state machine, for the run command until the touch UI lands:
//! it drives the two invented sample applicants step by step, shows what each step asks for and
//! what it refuses, and saves, reloads and deletes the draft in the encrypted store.

use std::fmt::Write as _;

use kiosk_domain::materials::required_materials;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::wizard::{MoveError, step_issues};
use kiosk_domain::{Application, Choice, Context, Lang, Progress, Step, Wizard};

use crate::store::{Store, StoreError};

/// Walks one sample applicant through every step; returns the transcript.
pub fn walk(branch: Branch, store: &mut Store, today: time::Date) -> Result<String, StoreError> {
    let progress = Progress {
        validation: Context::new(today),
        signed_in: true,
    };
    let mut out = String::new();
    let mut app = Application::new();
    let mut wizard = Wizard::start();
    let title = match branch {
        Branch::Employed => "在岗会计人员 / employed accountant",
        Branch::NotEmployed => "非在岗人员 / not employed, holds a qualification",
    };
    let _ = writeln!(out, "== {title}");
    while wizard.current() != Step::Summary {
        let step = wizard.current();
        let (n, m) = wizard.position();
        let empty = step_issues(step, &app, &progress);
        let _ = writeln!(out, "[{n}/{m}] {}", step.title(Lang::Zh));
        for issue in empty.iter().take(4) {
            let _ = writeln!(
                out,
                "      空白时: {} — {}",
                issue.field.key(),
                issue.message(Lang::Zh)
            );
        }
        if empty.len() > 4 {
            let _ = writeln!(out, "      …共 {} 项待填", empty.len());
        }
        let _ = app.edit(|d| samples::fill_step(step, d, branch));
        if app.data().basic.id_number.is_empty() {
            // Nothing to key a draft by before the basic page.
        } else {
            let info = store.save_draft(&app)?;
            let _ = writeln!(out, "      已保存草稿（第 {} 版，已加密）", info.revision);
        }
        match wizard.next(&app, &progress) {
            Ok(next) => {
                let _ = writeln!(out, "      填写完成 → {}", next.title(Lang::Zh));
            }
            Err(MoveError::Incomplete(issues)) => {
                let _ = writeln!(out, "      仍有 {} 项问题", issues.len());
                break;
            }
            Err(e) => {
                let _ = writeln!(out, "      无法继续: {e}");
                break;
            }
        }
    }
    let required: Vec<&str> = required_materials(app.data())
        .into_iter()
        .map(|k| k.label(Lang::Zh))
        .collect();
    let _ = writeln!(out, "      需提交材料: {}", required.join("、"));
    let id = app.data().basic.id_number.clone();
    let resumed = store.load_draft(&id)?;
    let resume_at = resumed
        .as_ref()
        .map(|(a, _)| Wizard::resume(a, &progress).current().title(Lang::Zh));
    let _ = writeln!(
        out,
        "      按证件号码恢复草稿: 从“{}”继续",
        resume_at.unwrap_or("—")
    );
    match wizard.submit(&mut app, &progress) {
        Ok(()) => {
            let _ = writeln!(out, "      已提交 → {}", wizard.current().title(Lang::Zh));
        }
        Err(e) => {
            let _ = writeln!(out, "      提交失败: {e}");
        }
    }
    let locked = app.edit(|_| ()).err().map(|e| e.message(Lang::Zh));
    let _ = writeln!(out, "      提交后修改: {}", locked.unwrap_or("允许"));
    store.delete_draft(&id)?;
    let _ = writeln!(out, "      会话结束，本机草稿已删除");
    Ok(out)
}
