//! What the applicant's receipt says: the receipt code (which the QR carries to the public
//! status page), when and where, the bureau, the applicant masked, the materials sent and what
//! happens next. Text only; the kiosk renders it for the printer.

use time::OffsetDateTime;

use crate::catalog::Choice;
use crate::{Application, Lang, materials, privacy, region, tr, tr_args};

/// The receipt as lines of text, in `lang`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptText {
    pub title: String,
    pub lines: Vec<String>,
    /// What the QR code holds: the public status page; `None` on a kiosk without a server.
    pub qr: Option<String>,
    pub footer: String,
}

/// Where and when a submission was made, besides the record.
pub struct ReceiptFacts<'a> {
    pub submitted_at: OffsetDateTime,
    /// The service hall, as the site configuration names it.
    pub hall: &'a str,
    /// `kiosk_wire::receipt` code, when the applicant's session was the server's.
    pub code: Option<&'a str>,
    /// The status page the code opens (`https://<server>/s/<code>`).
    pub status_url: Option<String>,
}

/// `ABCD-EFGH-JKMN-PQRS-TVWX`: groups of four, as a person reads a code from paper.
pub fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

pub fn receipt(app: &Application, facts: &ReceiptFacts<'_>, lang: Lang) -> ReceiptText {
    let data = app.data();
    let cst = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let at = facts.submitted_at.to_offset(cst);
    let when = tr_args(
        lang,
        "{0}年{1}月{2}日 {3}",
        &[
            &at.year(),
            &u8::from(at.month()),
            &at.day(),
            &format!("{:02}:{:02}", at.hour(), at.minute()),
        ],
    );
    let bureau = data
        .basic
        .finance_bureau
        .and_then(region::division)
        .map(|d| d.bureau_name())
        .unwrap_or_default();
    let field = |key: &str, value: &str| tr_args(lang, "{0}：{1}", &[&tr(lang, key), &value]);
    let mut lines = Vec::new();
    if let Some(code) = facts.code {
        lines.push(field("回执编号", &grouped(code)));
    }
    lines.push(field("提交时间", &when));
    lines.push(field("办理地点", facts.hall));
    lines.push(field("审核部门", &bureau));
    lines.push(field(
        "姓名",
        &privacy::mask_name_on_paper(&data.basic.name),
    ));
    lines.push(field(
        "证件号码",
        &privacy::mask_id_number(&data.basic.id_number),
    ));
    lines.push(tr(lang, "已提交的材料：").to_owned());
    let mut counted: Vec<(crate::MaterialKind, usize)> = Vec::new();
    for (kind, _) in materials::submission_files(data) {
        match counted.last_mut() {
            Some((last, n)) if *last == kind => *n += 1,
            _ => counted.push((kind, 1)),
        }
    }
    for (kind, pages) in counted {
        lines.push(tr_args(
            lang,
            "  {0}（{1} 页）",
            &[&kind.label(lang), &pages],
        ));
    }
    lines.push(
        tr(
            lang,
            "接下来：所属财政部门将审核您提交的信息。审核结果可扫描下方二维码查看，也可以回到本机登录查看。审核未通过的，请按审核意见修改后重新提交。",
        )
        .to_owned(),
    );
    let footer = match facts.status_url {
        Some(_) => tr(lang, "扫码查看审核状态").to_owned(),
        None => tr(
            lang,
            "本机暂未连接省级系统，审核进度请回到本机登录查看或咨询工作人员",
        )
        .to_owned(),
    };
    ReceiptText {
        title: tr(lang, "会计人员信息采集回执").to_owned(),
        lines,
        qr: facts.status_url.clone(),
        footer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn a_receipt_names_the_applicant_masked_and_every_material_sent() {
        let today = time::Date::from_calendar_date(2026, time::Month::December, 8).expect("date");
        let (_, app) = samples::golden_records(today)
            .into_iter()
            .next()
            .expect("a sample");
        let data = app.data();
        let facts = ReceiptFacts {
            submitted_at: time::macros::datetime!(2026-12-08 02:30 UTC),
            hall: "五华区政务服务中心",
            code: Some("0123456789ABCDEFGHJK"),
            status_url: Some("https://central.example/s/0123456789ABCDEFGHJK".into()),
        };
        let r = receipt(&app, &facts, Lang::Zh);
        let text = r.lines.join("\n");
        assert!(
            text.contains("回执编号：0123-4567-89AB-CDEF-GHJK"),
            "{text}"
        );
        assert!(text.contains("提交时间：2026年12月8日 10:30"), "{text}");
        assert!(text.contains(&privacy::mask_id_number(&data.basic.id_number)));
        assert!(!text.contains(&data.basic.id_number));
        assert!(!text.contains(&data.basic.name), "{text}");
        assert!(!text.contains(&data.basic.mobile));
        for (kind, _) in materials::submission_files(data) {
            assert!(text.contains(kind.label(Lang::Zh)), "{kind:?} missing");
        }
        assert_eq!(r.qr.as_deref(), facts.status_url.as_deref());
        let en = receipt(&app, &facts, Lang::En);
        assert!(!crate::i18n::has_cjk(&format!("{}{}", en.title, en.footer)));
    }

    #[test]
    fn names_are_masked_as_the_applicant_still_knows_them() {
        assert_eq!(privacy::mask_name_on_paper("王小明"), "王*明");
        assert_eq!(privacy::mask_name_on_paper("欧阳小明"), "欧**明");
        assert_eq!(privacy::mask_name_on_paper("张三"), "张*");
        assert_eq!(privacy::mask_name_on_paper("李"), "*");
    }
}
