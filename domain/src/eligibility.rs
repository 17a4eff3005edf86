//! Who must be collected (采集对象): holders of an accounting qualification, and people without one
//! who do accounting work (heads of accounting bodies and chief accountants included).

use serde::{Deserialize, Serialize};

use crate::issue::Lang;
use crate::record::EligibilityAnswers;

/// The accounting work that makes someone an accountant, as the notice lists it, for the
/// eligibility page.
pub const ACCOUNTING_WORK: [&str; 10] = [
    "出纳",
    "稽核",
    "资产、负债和所有者权益（净资产）的核算",
    "收入、费用（支出）的核算",
    "财务成果（政府预算执行结果）的核算",
    "财务会计报告（决算报告）编制",
    "会计监督",
    "会计机构内会计档案管理",
    "其他会计工作",
    "担任会计机构负责人（会计主管人员）或总会计师",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    Qualification,
    AccountingWork,
    QualificationAndWork,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Eligibility {
    /// Not every question has been answered yet.
    Unanswered,
    Collected(Basis),
    NotRequired,
}

/// Decides from the two answers, only once both are given: one "yes" is enough to be collected,
/// but the other answer still decides what is collected (a qualification makes a person without
/// accounting work, or without a job, an applicant too), so a skipped question would later turn
/// into "need not be collected".
pub fn assess(answers: &EligibilityAnswers) -> Eligibility {
    match (answers.holds_qualification, answers.does_accounting_work) {
        (Some(true), Some(true)) => Eligibility::Collected(Basis::QualificationAndWork),
        (Some(true), Some(false)) => Eligibility::Collected(Basis::Qualification),
        (Some(false), Some(true)) => Eligibility::Collected(Basis::AccountingWork),
        (Some(false), Some(false)) => Eligibility::NotRequired,
        _ => Eligibility::Unanswered,
    }
}

impl Eligibility {
    /// The plain explanation shown on the eligibility page.
    pub fn explanation(self, lang: Lang) -> &'static str {
        crate::i18n::tr(lang, self.explanation_key())
    }

    /// The explanation's catalogue key.
    pub fn explanation_key(self) -> &'static str {
        match self {
            Eligibility::Unanswered => "请回答以上两个问题",
            Eligibility::Collected(_) => "您属于会计人员信息采集对象，请继续",
            Eligibility::NotRequired => {
                "您既没有取得会计专业技术资格，也不从事会计工作，因此无需进行会计人员信息采集。\
                 如果您担任单位会计机构负责人（会计主管）或总会计师，您属于会计人员，请在第二个问题选择“是”。"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_yes_is_enough_once_both_are_answered() {
        let a = |q, w| {
            assess(&EligibilityAnswers {
                holds_qualification: q,
                does_accounting_work: w,
            })
        };
        assert_eq!(
            a(Some(true), Some(false)),
            Eligibility::Collected(Basis::Qualification)
        );
        // A skipped question decides nothing, whatever the other answer.
        assert_eq!(a(Some(true), None), Eligibility::Unanswered);
        assert_eq!(a(None, Some(true)), Eligibility::Unanswered);
        assert_eq!(
            a(Some(false), Some(true)),
            Eligibility::Collected(Basis::AccountingWork)
        );
        assert_eq!(
            a(Some(true), Some(true)),
            Eligibility::Collected(Basis::QualificationAndWork)
        );
        assert_eq!(a(Some(false), Some(false)), Eligibility::NotRequired);
        assert_eq!(a(Some(false), None), Eligibility::Unanswered);
        assert_eq!(a(None, None), Eligibility::Unanswered);
    }
}
