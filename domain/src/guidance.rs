//! What the kiosk says aloud in elder mode: one prompt for every screen, dialog, camera stage and
//! countdown, and the spoken form of every notice.
//!
//! A prompt is a catalogue key (its Chinese text, translated like everything else in
//! `translations/`) and at most a few small numbers. It cannot hold a string: a name, an ID
//! number or a phone number has no way into what the hall hears.

use std::fmt::Display;

use crate::{Lang, Message, Step, i18n};

/// A spoken prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    key: &'static str,
    numbers: Vec<u16>,
}

impl Prompt {
    pub fn new(key: &'static str) -> Prompt {
        Prompt {
            key,
            numbers: Vec::new(),
        }
    }

    /// A prompt with numbers in its placeholders (seconds, counts): small enough that no phone
    /// or ID number fits.
    pub fn with_numbers(key: &'static str, numbers: &[u16]) -> Prompt {
        Prompt {
            key,
            numbers: numbers.to_vec(),
        }
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The words to say in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let args: Vec<&dyn Display> = self.numbers.iter().map(|n| n as &dyn Display).collect();
        i18n::tr_args(lang, self.key, &args)
    }
}

/// What is on the screen, as far as the voice is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    Welcome,
    Step(Step),
    /// The review page of a submission whose receipt can be printed.
    ReviewWithReceipt,
    /// The account page in each of its modes (the plain step is the log-in).
    Register,
    BindPhone,
    ForgotPassword,
    /// The camera screen.
    PhotoLive,
    PageLive,
    PhotoCountdown,
    Processing,
    PhotoReview,
    PageReview,
    PhotoRejected,
    PlaceCorners,
    CaptureFailed,
    /// Dialogs over the page.
    Picker,
    DatePicker,
    StaffPin,
    /// The "还在吗？" countdown, with its seconds.
    IdleWarning {
        seconds: u16,
    },
}

/// Every kind of screen the voice tells apart (the idle warning with its 30 seconds).
pub fn every_cue() -> Vec<Cue> {
    let mut cues = vec![
        Cue::Welcome,
        Cue::ReviewWithReceipt,
        Cue::Register,
        Cue::BindPhone,
        Cue::ForgotPassword,
        Cue::PhotoLive,
        Cue::PageLive,
        Cue::PhotoCountdown,
        Cue::Processing,
        Cue::PhotoReview,
        Cue::PageReview,
        Cue::PhotoRejected,
        Cue::PlaceCorners,
        Cue::CaptureFailed,
        Cue::Picker,
        Cue::DatePicker,
        Cue::StaffPin,
        Cue::IdleWarning { seconds: 30 },
    ];
    cues.extend(Step::ALL.iter().map(|&s| Cue::Step(s)));
    // A new kind of screen does not compile until it is listed above as well.
    let _listed_above = |cue: Cue| match cue {
        Cue::Welcome
        | Cue::ReviewWithReceipt
        | Cue::Step(_)
        | Cue::Register
        | Cue::BindPhone
        | Cue::ForgotPassword
        | Cue::PhotoLive
        | Cue::PageLive
        | Cue::PhotoCountdown
        | Cue::Processing
        | Cue::PhotoReview
        | Cue::PageReview
        | Cue::PhotoRejected
        | Cue::PlaceCorners
        | Cue::CaptureFailed
        | Cue::Picker
        | Cue::DatePicker
        | Cue::StaffPin
        | Cue::IdleWarning { .. } => (),
    };
    cues
}

/// The prompt for what is on the screen.
pub fn prompt(cue: Cue) -> Prompt {
    let key = match cue {
        Cue::Welcome => "欢迎使用会计人员信息采集自助终端。请点击开始采集。",
        Cue::Step(step) => step_prompt(step),
        Cue::ReviewWithReceipt => {
            "已提交。请点击打印回执，带走回执，扫描上面的二维码可查看审核结果。办完请点击完成，并带好您的身份证和材料。"
        }
        Cue::Register => {
            "请注册账号：把身份证放在读卡区，或输入证件号码和姓名，再填写手机号码和短信验证码，并设置密码。"
        }
        Cue::BindPhone => "请绑定手机：输入手机号码，点击获取短信验证码，再填写收到的验证码。",
        Cue::ForgotPassword => {
            "找回密码：请输入证件号码和手机号码，填写短信验证码，然后设置新密码。"
        }
        Cue::PhotoLive => "现在拍证件照。请正对镜头，把头部放在框内，然后点击拍照。",
        Cue::PageLive => "请把材料平放在高拍仪下，对准框内，然后点击拍照。",
        Cue::PhotoCountdown => "请保持不动，马上拍照。",
        Cue::Processing => "正在检查，请稍候。",
        Cue::PhotoReview => "照片拍好了。满意请点击使用这张，不满意请点击重拍。",
        Cue::PageReview => "材料拍好了。看得清请点击使用这张，看不清请点击重拍。",
        Cue::PhotoRejected => "照片不符合要求，请按屏幕上的提示调整后重拍。",
        Cue::PlaceCorners => {
            "没有找到材料的四个角。请把屏幕上的四个圆点拖到材料的四角，然后点击确认四角。"
        }
        Cue::CaptureFailed => "拍摄没有成功，请点击重拍，或向工作人员求助。",
        Cue::Picker => "请在列表中点选一项。",
        Cue::DatePicker => "请选择年、月、日，然后点击确定。",
        Cue::StaffPin => "请工作人员输入确认码。",
        Cue::IdleWarning { seconds } => {
            return Prompt::with_numbers(
                "您还在吗？如需继续，请点击屏幕。{0}秒后将结束本次办理。",
                &[seconds],
            );
        }
    };
    Prompt::new(key)
}

fn step_prompt(step: Step) -> &'static str {
    match step {
        Step::Notice => "第一步，采集须知。请阅读屏幕上的须知，同意的请勾选，然后点击下一步。",
        Step::Eligibility => "请回答屏幕上的问题，确认您是否需要采集，然后点击下一步。",
        Step::Account => "请登录。已有账号的，请输入证件号码和密码；第一次使用的，请点击注册。",
        Step::Basic => "请核对和填写基本信息。点击一项即可输入，填好后点击下一步。",
        Step::Work => "请填写工作信息，填好后点击下一步。",
        Step::Education => "请填写学历信息，填好后点击下一步。",
        Step::Qualification => "请填写会计专业技术资格信息。没有取得资格的，请按屏幕提示选择。",
        Step::Materials => "请上传证明材料。点击每项材料旁的拍摄，本机会为您拍照或扫描。",
        Step::Summary => "请核对全部信息和材料。需要修改的，点击修改；没有问题，请点击提交。",
        Step::Review => "审核结果会显示在这里。请点击完成结束本次办理，并带好您的身份证和材料。",
    }
}

/// What is said for a notice on the screen (a banner). A notice without arguments is said as it
/// is shown, if it is a catalogue entry; one with arguments (a field's name, a reviewer's words,
/// a code) has a spoken form without them, or the general prompt to look at the screen.
pub fn notice(message: &Message) -> Prompt {
    if message.args.is_empty() && i18n::has_translation(Lang::En, message.key) {
        return Prompt::new(message.key);
    }
    Prompt::new(match message.key {
        "读卡失败：{0}。请将身份证取下后重新放置。" => {
            "读卡失败，请将身份证取下后重新放置。"
        }
        "身份证与已保存的信息不一致：{0}。已保留原信息，请核对修改或联系工作人员。" => {
            "身份证与已保存的信息不一致，已保留原信息，请核对屏幕上的项目或联系工作人员。"
        }
        "登录成功。上次提交审核未通过，审核意见：{0}。请按意见修改后重新提交。" => {
            "登录成功。上次提交审核未通过，请看屏幕上的审核意见，修改后重新提交。"
        }
        "验证码已发送（开发模式：{0}）" => "验证码已发送，请查看手机短信",
        _ => "请看屏幕上的提示。",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_its_own_prompt_in_both_languages() {
        let cues = every_cue();
        let mut seen = std::collections::BTreeSet::new();
        for cue in &cues {
            let p = prompt(*cue);
            assert!(
                i18n::has_translation(Lang::En, p.key()),
                "{cue:?}: no English"
            );
            assert!(!i18n::has_cjk(&p.text(Lang::En)), "{cue:?}");
            assert!(seen.insert(p.key()), "{cue:?} shares its prompt");
        }
        assert_eq!(
            prompt(Cue::IdleWarning { seconds: 30 }).text(Lang::Zh),
            "您还在吗？如需继续，请点击屏幕。30秒后将结束本次办理。"
        );
    }

    #[test]
    fn a_notice_with_arguments_is_said_without_them() {
        let personal = "王小明 530102199001011234 13800138000";
        for key in [
            "读卡失败：{0}。请将身份证取下后重新放置。",
            "登录成功。上次提交审核未通过，审核意见：{0}。请按意见修改后重新提交。",
            "验证码已发送（开发模式：{0}）",
            "{0}已锁定，请联系管理员解锁",
        ] {
            let spoken = notice(&Message::with(key, &[&personal]));
            for lang in [Lang::Zh, Lang::En] {
                let text = spoken.text(lang);
                assert!(
                    !text.contains("王小明") && !text.contains("1234") && !text.contains("138"),
                    "{text}"
                );
                assert!(!text.contains('{'), "{text}");
            }
            assert!(i18n::has_translation(Lang::En, spoken.key()), "{key}");
        }
        let plain = Message::new("请按提示修改标红的项目后继续");
        assert_eq!(notice(&plain).key(), plain.key);
        // Text that is not in the catalogue is never read out.
        assert_eq!(notice(&Message::new("王小明")).key(), "请看屏幕上的提示。");
    }
}
