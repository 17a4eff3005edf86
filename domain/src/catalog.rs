//! The fixed choice lists of the collection, each labelled by its catalogue key (its Chinese
//! label; other languages come from `crate::i18n`).
//!
//! The UI shows these as large choice buttons, never as free text.

use serde::{Deserialize, Serialize};

use crate::issue::Lang;

/// A closed list of choices, each labelled.
pub trait Choice: Sized + Copy + 'static {
    const ALL: &'static [Self];
    /// The label's catalogue key, which is the Chinese label.
    fn text_key(self) -> &'static str;

    fn label(self, lang: Lang) -> &'static str {
        crate::i18n::tr(lang, self.text_key())
    }
}

macro_rules! choice_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $zh:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl Choice for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn text_key(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }
        }
    };
}

choice_enum!(
    /// The identity document the applicant registers with.
    IdType {
        ResidentIdCard => "居民身份证",
        HkMoTwResidencePermit => "港澳台居民居住证",
        ForeignPermanentResidentCard => "外国人永久居留身份证",
    }
);

choice_enum!(
    /// Gender as GB/T 2261.1 codes 1 and 2; the form offers only these two.
    Gender {
        Male => "男",
        Female => "女",
    }
);

choice_enum!(
    /// Political status (政治面貌), GB/T 4762.
    PoliticalStatus {
        CpcMember => "中共党员",
        CpcProbationaryMember => "中共预备党员",
        CylMember => "共青团员",
        Revolutionary => "民革党员",
        DemocraticLeague => "民盟盟员",
        NationalConstruction => "民建会员",
        PromotingDemocracy => "民进会员",
        PeasantsWorkers => "农工党党员",
        ZhiGong => "致公党党员",
        JiuSan => "九三学社社员",
        TaiwanLeague => "台盟盟员",
        NonParty => "无党派人士",
        Masses => "群众",
    }
);

choice_enum!(
    /// The kind of employer.
    EmployerType {
        GovernmentAgency => "国家机关",
        PublicInstitution => "事业单位",
        StateOwnedEnterprise => "国有企业",
        PrivateEnterprise => "民营企业",
        ForeignFundedEnterprise => "外资企业",
        AccountingFirm => "会计师事务所",
        BookkeepingAgency => "代理记账机构",
        SocialOrganization => "社会团体",
        Other => "其他",
    }
);

choice_enum!(
    /// The posts of the work certificate's fixed template (appendix of the notice), in its order.
    AccountingPost {
        HeadOfAccounting => "会计机构负责人（会计主管）",
        Cashier => "出纳",
        Audit => "稽核",
        CapitalAndFunds => "资本、基金核算",
        IncomeExpenseClaimsDebts => "收入、支出、债权、债务核算",
        PayrollCostResults => "工资核算、成本费用核算、财务成果核算",
        PropertyAndMaterials => "财产物资收发、增减核算",
        GeneralLedger => "总账",
        FinancialReports => "财务会计报告编制",
        Archives => "会计机构内会计档案管理",
        OtherAccountingWork => "其它会计工作",
        NoAccountingPost => "不从事会计工作岗位",
    }
);

choice_enum!(
    /// Why someone who is not employed is collected, which decides where (属地化原则).
    NotEmployedCategory {
        StudentWithQualification => "在校生（已取得会计专业技术资格）",
        OtherWithQualification => "其他人员（已取得会计专业技术资格）",
    }
);

choice_enum!(
    /// Level of education, after GB/T 4658-2006 (学历代码): its graduate, undergraduate and
    /// secondary vocational levels by name, the general ones below them as one.
    EducationLevel {
        Doctorate => "博士研究生",
        Master => "硕士研究生",
        Bachelor => "大学本科",
        JuniorCollege => "大学专科",
        SecondaryVocational => "中等专科",
        VocationalHighSchool => "职业高中",
        TechnicalSchool => "技工学校",
        HighSchoolOrBelow => "高中及以下",
    }
);

choice_enum!(
    /// Academic degree.
    Degree {
        Doctor => "博士",
        Master => "硕士",
        Bachelor => "学士",
        Associate => "副学士",
        NoDegree => "无学位",
    }
);

choice_enum!(
    /// Full-time or part-time highest education.
    EducationKind {
        FullTime => "全日制",
        PartTime => "非全日制",
    }
);

choice_enum!(
    /// Accounting professional qualification levels.
    QualificationLevel {
        Junior => "初级",
        Intermediate => "中级",
        Senior => "高级",
        Principal => "正高级",
    }
);

choice_enum!(
    /// The materials of the upload step (上传证明材料), in the notice's order.
    MaterialKind {
        Photo => "近期白底1寸证件照",
        IdCardFront => "身份证正面",
        IdCardBack => "身份证反面",
        WorkCertificate => "工作证明（盖章）",
        ResidenceDocument => "居住证、户口簿或学生证（本人信息页）",
        FullTimeEducationCertificate => "全日制最高学历（学位）证书",
        PartTimeEducationCertificate => "非全日制最高学历（学位）证书",
        QualificationCertificate => "会计专业技术资格证书",
    }
);

impl MaterialKind {
    pub fn key(self) -> &'static str {
        match self {
            MaterialKind::Photo => "photo",
            MaterialKind::IdCardFront => "id_card_front",
            MaterialKind::IdCardBack => "id_card_back",
            MaterialKind::WorkCertificate => "work_certificate",
            MaterialKind::ResidenceDocument => "residence_document",
            MaterialKind::FullTimeEducationCertificate => "full_time_education_certificate",
            MaterialKind::PartTimeEducationCertificate => "part_time_education_certificate",
            MaterialKind::QualificationCertificate => "qualification_certificate",
        }
    }
}

/// Ethnic groups by GB/T 3304 code. The code is what the ID card carries; the label is the name
/// with 族 as forms show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Ethnicity(u8);

const ETHNICITY_NAMES: [(u8, &str); 58] = [
    (1, "汉"),
    (2, "蒙古"),
    (3, "回"),
    (4, "藏"),
    (5, "维吾尔"),
    (6, "苗"),
    (7, "彝"),
    (8, "壮"),
    (9, "布依"),
    (10, "朝鲜"),
    (11, "满"),
    (12, "侗"),
    (13, "瑶"),
    (14, "白"),
    (15, "土家"),
    (16, "哈尼"),
    (17, "哈萨克"),
    (18, "傣"),
    (19, "黎"),
    (20, "傈僳"),
    (21, "佤"),
    (22, "畲"),
    (23, "高山"),
    (24, "拉祜"),
    (25, "水"),
    (26, "东乡"),
    (27, "纳西"),
    (28, "景颇"),
    (29, "柯尔克孜"),
    (30, "土"),
    (31, "达斡尔"),
    (32, "仫佬"),
    (33, "羌"),
    (34, "布朗"),
    (35, "撒拉"),
    (36, "毛南"),
    (37, "仡佬"),
    (38, "锡伯"),
    (39, "阿昌"),
    (40, "普米"),
    (41, "塔吉克"),
    (42, "怒"),
    (43, "乌孜别克"),
    (44, "俄罗斯"),
    (45, "鄂温克"),
    (46, "德昂"),
    (47, "保安"),
    (48, "裕固"),
    (49, "京"),
    (50, "塔塔尔"),
    (51, "独龙"),
    (52, "鄂伦春"),
    (53, "赫哲"),
    (54, "门巴"),
    (55, "珞巴"),
    (56, "基诺"),
    (97, "其他"),
    (98, "外国血统中国籍人士"),
];

impl Ethnicity {
    /// The group with this GB/T 3304 code, if there is one.
    pub fn from_code(code: u8) -> Option<Self> {
        ETHNICITY_NAMES
            .iter()
            .any(|(c, _)| *c == code)
            .then_some(Ethnicity(code))
    }

    /// The group whose name, as printed on the card (without 族) or with 族, is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        let bare = name.trim().trim_end_matches('族');
        ETHNICITY_NAMES
            .iter()
            .find(|(_, n)| *n == bare)
            .map(|(c, _)| Ethnicity(*c))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// The name as the card prints it, without 族.
    pub fn card_name(self) -> &'static str {
        ETHNICITY_NAMES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, n)| *n)
            .unwrap_or("其他")
    }

    /// The name as a form shows it: 汉族, 彝族 (Han, Yi); the two catch-all codes keep their own
    /// wording.
    pub fn display_name(self, lang: Lang) -> String {
        let name = crate::i18n::tr(lang, self.card_name());
        match self.0 {
            97 | 98 => name.to_owned(),
            _ => crate::i18n::tr_args(lang, "{0}族", &[&name]),
        }
    }

    pub fn all() -> impl Iterator<Item = Ethnicity> {
        ETHNICITY_NAMES.iter().map(|(c, _)| Ethnicity(*c))
    }
}

impl<'de> Deserialize<'de> for Ethnicity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u8::deserialize(deserializer)?;
        Ethnicity::from_code(code)
            .ok_or_else(|| serde::de::Error::custom("unknown GB/T 3304 ethnicity code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethnicity_table_has_every_code_once() {
        let mut codes: Vec<u8> = Ethnicity::all().map(Ethnicity::code).collect();
        codes.dedup();
        assert_eq!(codes.len(), 58);
        assert_eq!(
            Ethnicity::from_code(46).map(Ethnicity::card_name),
            Some("德昂")
        );
        assert_eq!(Ethnicity::from_name("彝族").map(Ethnicity::code), Some(7));
        assert_eq!(Ethnicity::from_code(57), None);
        assert_eq!(
            Ethnicity::from_code(1).map(|e| e.display_name(Lang::Zh)),
            Some("汉族".into())
        );
    }

    #[test]
    fn choices_serialise_as_stable_keys() {
        let json = serde_json::to_string(&AccountingPost::NoAccountingPost).unwrap_or_default();
        assert_eq!(json, "\"no_accounting_post\"");
        assert_eq!(AccountingPost::ALL.len(), 12);
        assert_eq!(AccountingPost::Cashier.label(Lang::Zh), "出纳");
    }
}
