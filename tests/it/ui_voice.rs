//! Elder mode speaks: every screen of the wizard, its notices and the idle countdown are said
//! aloud, 重听 repeats, staff set the volume or switch the voice off. Real parts throughout:
//! taps on the window, espeak-ng, the prompt cache, `aplay` into ALSA's file plugin. What the
//! hall would hear is compared, sample for sample, with the prompt of the screen shown.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use i_slint_backend_testing::mock_elapsed_time;
use kiosk::app::screenshots::scenes;
use kiosk::app::ui::{self, Screen};
use kiosk_domain::guidance::{self, Cue};
use kiosk_domain::{Lang, Step, i18n};
use kiosk_hardware::speech::{EspeakNg, Pcm, SpeakerStats, Synthesizer, Voice};
use slint::ComponentHandle;

use crate::ui_support::{self, Harness, STAFF_PIN};

const ID: &str = "110101199003070011";
const NAME: &str = "张三";
const MOBILE: &str = "13800138000";

fn engine() -> EspeakNg {
    EspeakNg::new("espeak-ng").expect("espeak-ng is installed by the test command")
}

fn stats(h: &Harness) -> SpeakerStats {
    speaker_state(h, |s| s.stats())
}

fn speaker_state<T>(h: &Harness, read: impl Fn(&kiosk_hardware::speech::Speaker) -> T) -> T {
    let session = h.kiosk.session.borrow();
    read(session.services.speaker.as_ref().expect("a speaker"))
}

/// Waits until the voice has said everything it was asked to, then reads what was heard.
fn heard(h: &Harness) -> Pcm {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if speaker_state(h, |s| s.is_idle()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the voice never finished: {:?}",
            stats(h)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let wav = std::fs::read(h.dir.path().join("heard.wav")).expect("something was played");
    Pcm::from_wav(&wav).expect("a WAV file")
}

/// The last thing heard was exactly `text` (ALSA may pad the end with a period of silence).
fn assert_heard(h: &Harness, text: &str) {
    let (voice, volume) = {
        let session = h.kiosk.session.borrow();
        let voice = match session.lang {
            Lang::Zh => Voice::Mandarin,
            Lang::En => Voice::English,
        };
        (voice, session.voice.volume)
    };
    let expected = engine()
        .synthesize(text, voice)
        .expect("synthesised")
        .at_volume(volume);
    let heard = heard(h);
    assert!(
        heard.samples.len() >= expected.samples.len()
            && heard.samples[..expected.samples.len()] == expected.samples[..],
        "heard {:.2} s, not the {:.2} s of {text:?}",
        heard.duration().as_secs_f64(),
        expected.duration().as_secs_f64()
    );
    std::fs::remove_file(h.dir.path().join("heard.wav")).expect("clear the sink");
}

/// The last thing heard was the notice on the screen, in its spoken form.
fn assert_heard_notice(h: &Harness) {
    let (banner, lang) = {
        let session = h.kiosk.session.borrow();
        (
            session.visit.banner.clone().expect("a notice"),
            session.lang,
        )
    };
    assert_heard(h, &guidance::notice(&banner.message).text(lang));
}

/// The last thing heard was the prompt of the screen shown, and it names that screen.
fn assert_heard_screen(h: &Harness, cue: Cue) {
    let (shown, lang) = {
        let session = h.kiosk.session.borrow();
        (session.voice_cue(), session.lang)
    };
    assert_eq!(shown, cue, "the screen is not the one expected");
    assert_heard(h, &guidance::prompt(cue).text(lang));
}

#[test]
fn an_elderly_applicant_hears_every_screen_of_the_journey_and_its_notices() {
    let h = ui_support::start_speaking(None);
    let prefs = h.kiosk.window.global::<ui::Prefs>();
    assert!(
        !prefs.get_speaks() && !h.exists("重听语音提示"),
        "silent outside elder mode"
    );
    h.tap("切换长辈模式");
    assert!(prefs.get_speaks());
    assert_heard_screen(&h, Cue::Welcome);

    h.tap("开始采集");
    assert_heard_screen(&h, Cue::Step(Step::Notice));
    // A refusal is said; the page has not changed, so it is not said again.
    h.next();
    assert_heard_notice(&h);
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    assert_heard_screen(&h, Cue::Step(Step::Eligibility));
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_heard_screen(&h, Cue::Step(Step::Account));
    h.tap("登录方式：注册");
    assert_heard_screen(&h, Cue::Register);
    h.pick("证件类型", &["居民身份证"]);
    h.fill("证件号码", ID);
    h.fill("姓名", NAME);
    h.fill("手机号码", MOBILE);
    h.tap("获取短信验证码");
    // The development hint carries the code: said without it.
    assert!(h.banner().contains("开发模式"), "{}", h.banner());
    assert_heard(&h, "验证码已发送，请查看手机短信");
    h.finish_registration();
    assert_heard_screen(&h, Cue::Step(Step::Basic));

    // 重听 says the page again, from the cache.
    let before = stats(&h);
    h.tap("重听语音提示");
    assert_heard_screen(&h, Cue::Step(Step::Basic));
    let after = stats(&h);
    assert!(
        after.from_cache > before.from_cache,
        "{before:?} → {after:?}"
    );
    assert_eq!(
        after.synthesized, before.synthesized,
        "nothing new to synthesise"
    );

    // English: the same page is said again in English.
    h.tap("切换语言");
    assert_heard_screen(&h, Cue::Step(Step::Basic));
    h.tap("切换语言");
    assert_heard_screen(&h, Cue::Step(Step::Basic));

    // The idle countdown speaks its warning; a touch stops it.
    for _ in 0..90 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert!(h.kiosk.window.global::<ui::Idle>().get_warning());
    assert_heard_screen(&h, Cue::IdleWarning { seconds: 30 });
    h.tap("继续");
    assert!(!h.kiosk.window.global::<ui::Idle>().get_warning());
    assert!(stats(&h).failed == 0, "{:?}", stats(&h));

    // Nothing the voice was given holds the applicant's data.
    let said = h.kiosk.session.borrow().screen_prompt().text(Lang::Zh);
    for secret in [ID, NAME, MOBILE, "1101"] {
        assert!(!said.contains(secret), "{said}");
    }

    // Leaving the kiosk ends elder mode and its voice.
    h.kiosk.session.borrow_mut().wipe();
    h.kiosk.refresh();
    assert!(!prefs.get_speaks());
}

#[test]
fn every_elder_mode_screen_has_a_prompt_of_its_own_that_is_said_when_it_appears() {
    let h = ui_support::start();
    let mut cues = BTreeSet::new();
    for scene in scenes() {
        {
            let mut s = h.kiosk.session.borrow_mut();
            s.wipe();
            s.elder = true;
            (scene.setup)(&mut s);
        }
        h.kiosk.refresh();
        let mut s = h.kiosk.session.borrow_mut();
        let cue = s.voice_cue();
        let prompt = guidance::prompt(cue);
        assert!(
            i18n::has_translation(Lang::En, prompt.key()),
            "scene {}: the prompt has no English",
            scene.name
        );
        s.speak_changes();
        assert_eq!(
            s.visit.spoken.last.as_ref(),
            Some(&prompt),
            "scene {}: its prompt is not said",
            scene.name
        );
        cues.insert(format!("{cue:?}"));
    }
    // The scenes reach every kind of screen the voice tells apart.
    for cue in Step::ALL.map(Cue::Step).into_iter().chain([
        Cue::Welcome,
        Cue::Register,
        Cue::PhotoCountdown,
        Cue::PageReview,
        Cue::PhotoRejected,
        Cue::PlaceCorners,
        Cue::Picker,
        Cue::DatePicker,
        Cue::StaffPin,
        Cue::IdleWarning { seconds: 30 },
    ]) {
        assert!(
            cues.contains(&format!("{cue:?}")),
            "no scene shows {cue:?}: {cues:?}"
        );
    }
}

#[test]
fn every_prompt_synthesises_to_audible_speech_of_plausible_length_in_both_languages() {
    let engine = engine();
    let prompts: Vec<guidance::Prompt> = guidance::every_cue()
        .into_iter()
        .map(guidance::prompt)
        .collect();
    for lang in [Lang::Zh, Lang::En] {
        for prompt in &prompts {
            let text = prompt.text(lang);
            let voice = if lang == Lang::Zh {
                Voice::Mandarin
            } else {
                Voice::English
            };
            let pcm = engine.synthesize(&text, voice).expect("synthesised");
            // Chinese: a character is a syllable; English: about one in three letters.
            let syllables = match lang {
                Lang::Zh => text
                    .chars()
                    .filter(|c| i18n::has_cjk(&c.to_string()))
                    .count() as f64,
                Lang::En => text.chars().filter(char::is_ascii_alphabetic).count() as f64 / 3.0,
            };
            let secs = pcm.duration().as_secs_f64();
            assert!(
                (syllables / 6.0..syllables / 1.2).contains(&secs),
                "{text:?}: {secs:.1} s for about {syllables:.0} syllables"
            );
            assert!(pcm.rms() > 500.0, "{text:?} is nearly silent");
        }
    }
}

#[test]
fn the_camera_screen_is_said_at_each_stage_and_repeated_there() {
    use kiosk::app::screenshots;
    use kiosk::app::ui::CaptureStage;
    use kiosk_domain::catalog::{Choice, MaterialKind};
    use kiosk_domain::samples::Branch;
    use kiosk_hardware::camera::CameraSpec;

    let repo = |p: &str| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
    let files = |path| CameraSpec::Files { path, fps: 30 };
    let h = ui_support::start_speaking(Some(kiosk::capture::Cameras {
        front: files(repo("docs/dev-materials/photo.jpg")),
        document: files(repo("docs/dev-materials/doccam-page.jpg")),
    }));
    {
        let mut s = h.kiosk.session.borrow_mut();
        screenshots::at(&mut s, Step::Materials, Branch::Employed);
        let _ = s.visit.app.edit(|d| d.materials.clear());
    }
    h.kiosk.refresh();
    h.tap("切换长辈模式");
    assert_heard_screen(&h, Cue::Step(Step::Materials));
    let capture = h.kiosk.window.global::<ui::Capture>();
    let run_until = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "waiting for {what}"
            );
            mock_elapsed_time(Duration::from_millis(40));
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    h.tap(&format!("{}：拍摄", MaterialKind::Photo.label(Lang::Zh)));
    assert_heard_screen(&h, Cue::PhotoLive);
    h.tap("重听语音提示");
    assert_heard_screen(&h, Cue::PhotoLive);
    run_until("the live picture", &|| capture.get_frame().size().width > 0);
    h.tap("拍照");
    assert_heard_screen(&h, Cue::PhotoCountdown);
    for _ in 0..3 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    run_until("the checked photo", &|| {
        capture.get_stage() == CaptureStage::Review
    });
    assert_heard_screen(&h, Cue::PhotoReview);
    h.tap("使用这张");
    assert_heard_screen(&h, Cue::Step(Step::Materials));
}

fn open_staff_mode(h: &Harness) {
    h.tap("工作人员入口");
    h.type_keys(STAFF_PIN);
    h.tap("完成");
    assert!(h.kiosk.window.global::<ui::Staff>().get_panel_open());
}

#[test]
fn staff_set_the_volume_and_switch_the_voice_off_and_it_stays_so() {
    let h = ui_support::start_speaking(None);
    open_staff_mode(&h);
    let staff = h.kiosk.window.global::<ui::Staff>();
    assert!(staff.get_has_voice() && staff.get_voice_on());
    assert_eq!(staff.get_volume(), 80);
    h.tap("音量减小");
    h.tap("音量减小");
    assert_eq!(staff.get_volume(), 60);
    // Staff hear the new level at once: the welcome prompt at 60 %.
    let quieter = heard(&h);
    let full = engine()
        .synthesize(
            &guidance::prompt(Cue::Welcome).text(Lang::Zh),
            Voice::Mandarin,
        )
        .expect("synthesised");
    let ratio = quieter.rms() / full.rms();
    assert!((0.55..0.65).contains(&ratio), "level {ratio:.2} of full");
    h.tap("关闭语音");
    assert!(!staff.get_voice_on());
    h.tap("退出工作人员模式");

    // Elder mode is silent now, and stays so after a restart.
    let h = h.restart();
    let staff = h.kiosk.window.global::<ui::Staff>();
    h.tap("切换长辈模式");
    assert!(!h.kiosk.window.global::<ui::Prefs>().get_speaks());
    assert!(!h.exists("重听语音提示"));
    h.tap("切换长辈模式");
    open_staff_mode(&h);
    assert!(!staff.get_voice_on());
    assert_eq!(staff.get_volume(), 60);
    h.tap("开启语音");
    assert!(staff.get_voice_on());
}

#[test]
fn without_a_speech_engine_the_kiosk_has_no_voice_controls_and_works_on() {
    let h = ui_support::start();
    h.tap("切换长辈模式");
    assert!(!h.kiosk.window.global::<ui::Prefs>().get_speaks());
    assert!(!h.exists("重听语音提示"));
    h.tap("开始采集");
    assert_eq!(h.screen(), Screen::Notice);
    open_staff_mode_from_welcome(&h);
}

fn open_staff_mode_from_welcome(h: &Harness) {
    h.kiosk.session.borrow_mut().wipe();
    h.kiosk.refresh();
    open_staff_mode(h);
    assert!(!h.kiosk.window.global::<ui::Staff>().get_has_voice());
    assert!(!h.exists("长辈模式语音"));
}
