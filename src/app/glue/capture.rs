//! The camera screen's glue: opens the camera while the screen is up, copies the newest converted
//! frame into the picture, runs the 3-2-1, and processes the still on a worker thread. The camera
//! is closed, and the picture cleared, as soon as the screen goes (including an idle wipe).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use kiosk_domain::catalog::{Choice, MaterialKind};
use kiosk_hardware::camera::CameraSpec;
use kiosk_media::Point;
use slint::{ComponentHandle, Image, Rgba8Pixel, SharedPixelBuffer, Timer, TimerMode};

use super::{Glue, render};
use crate::app::session::{CaptureAction, CaptureStage, Session};
use crate::app::ui::{self, KioskWindow};
use crate::capture::feed::{CameraFeed, RgbaFrame};
use crate::capture::process::{self, Outcome};
use kiosk_domain::{tr, tr_args};

/// How often the newest frame is shown (the camera thread converts at its own pace).
pub const FRAME_POLL: Duration = Duration::from_millis(33);

struct Rig {
    feed: Option<(CameraSpec, CameraFeed)>,
    /// The still being processed or whose corners are being placed.
    still: Option<Arc<RgbaFrame>>,
    /// Answers of the processing threads, tagged with the still they are for.
    results: Receiver<(u64, Outcome)>,
    sender: Sender<(u64, Outcome)>,
    /// The still whose answer is awaited: an answer for an earlier one (a screen closed and
    /// reopened meanwhile) is dropped.
    generation: u64,
}

/// The frame as a Slint image (one copy).
pub fn image(frame: &RgbaFrame) -> Image {
    let buffer =
        SharedPixelBuffer::<Rgba8Pixel>::clone_from_slice(&frame.rgba, frame.width, frame.height);
    Image::from_rgba8(buffer)
}

/// Redraws the `Capture` global from the session (the picture itself is set by the poll).
pub fn render(window: &KioskWindow, session: &Session) {
    let g = window.global::<ui::Capture>();
    let Some(capture) = session.visit.capture.as_ref() else {
        if g.get_open() {
            g.set_open(false);
            g.set_advice(Default::default());
            g.set_corners(Default::default());
            g.set_frame(Image::default());
        }
        return;
    };
    let lang = session.lang;
    g.set_open(true);
    g.set_photo(capture.kind == MaterialKind::Photo);
    g.set_title(tr_args(lang, "拍摄：{0}", &[&capture.kind.label(lang)]).into());
    let (stage, advice, message, corners) = match &capture.stage {
        CaptureStage::Live => (ui::CaptureStage::Live, vec![], String::new(), vec![]),
        CaptureStage::Countdown(n) => {
            g.set_countdown(i32::from(*n));
            (ui::CaptureStage::Countdown, vec![], String::new(), vec![])
        }
        CaptureStage::Processing => (ui::CaptureStage::Processing, vec![], String::new(), vec![]),
        CaptureStage::Review { .. } => (ui::CaptureStage::Review, vec![], String::new(), vec![]),
        CaptureStage::Rejected(advice) => (
            ui::CaptureStage::Rejected,
            advice.iter().map(|key| tr(lang, key).to_owned()).collect(),
            String::new(),
            vec![],
        ),
        CaptureStage::PlaceCorners { corners, .. } => (
            ui::CaptureStage::Corners,
            vec![],
            String::new(),
            corners
                .iter()
                .map(|p| ui::CornerData {
                    x: p.x as f32,
                    y: p.y as f32,
                })
                .collect(),
        ),
        CaptureStage::Failed(message) => {
            (ui::CaptureStage::Failed, vec![], message.text(lang), vec![])
        }
    };
    g.set_stage(stage);
    g.set_message(message.into());
    let advice = advice.into_iter().map(slint::SharedString::from).collect();
    if let Some(model) = super::render::sync_model(g.get_advice(), advice) {
        g.set_advice(model);
    }
    // In place: the handle under the applicant's finger must outlive each move it reports.
    if let Some(model) = super::render::sync_model(g.get_corners(), corners) {
        g.set_corners(model);
    }
}

impl Rig {
    /// Starts processing the still (the newest frame, or the kept one with corners).
    fn process(&mut self, session: &mut Session, action: CaptureAction) -> Option<Image> {
        let corners: Option<[Point; 4]> = match action {
            CaptureAction::Nothing => return None,
            CaptureAction::TakeStill => {
                self.still = self.feed.as_ref().and_then(|(_, f)| f.newest());
                None
            }
            CaptureAction::UseCorners(c) => Some(c),
        };
        let (Some(still), Some(capture)) = (self.still.clone(), session.visit.capture.as_ref())
        else {
            session.capture_still_missing();
            return None;
        };
        let kind = capture.kind;
        let limits = session.services.limits;
        let sender = self.sender.clone();
        self.generation += 1;
        let generation = self.generation;
        let shown = image(&still);
        let spawned = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || {
                let outcome = process::process(kind, &still.to_rgb(), corners, &limits);
                // The screen may have closed meanwhile: then nobody listens, which is fine.
                let _ = sender.send((generation, outcome));
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start processing the still");
            session.capture_processing_not_started();
        }
        Some(shown)
    }

    /// Keeps the camera open exactly while the screen shows its live picture or its results.
    fn follow(&mut self, session: &mut Session, window: &KioskWindow) -> bool {
        let g = window.global::<ui::Capture>();
        if session.visit.capture.is_none() {
            // The camera stops, the still is forgotten, the picture goes.
            let had_feed = self.feed.take().is_some();
            let had_still = self.still.take().is_some();
            while self.results.try_recv().is_ok() {}
            if g.get_frame().size().width > 0 {
                g.set_frame(Image::default());
            }
            return had_feed || had_still;
        };
        // Opens the material's camera once; compared by reference on every poll.
        if let Some(spec) = session.capture_camera()
            && self.feed.as_ref().is_none_or(|(open, _)| open != spec)
        {
            self.feed = Some((spec.clone(), CameraFeed::start(spec.clone())));
        }
        let mut changed = false;
        if let Ok((generation, outcome)) = self.results.try_recv()
            && generation == self.generation
        {
            if let Outcome::Accepted { shown, .. } = &outcome {
                g.set_frame(image(shown));
            }
            session.capture_processed(outcome);
            if !session.capture_keeps_still() {
                self.still = None;
            }
            changed = true;
        }
        if let Some((_, feed)) = self.feed.as_ref() {
            if let Some(error) = feed.error() {
                if session.capture_camera_error(error.zh()) {
                    self.feed = None;
                    changed = true;
                }
            } else if session.capture_is_live()
                && let Some(frame) = feed.take_fresh()
            {
                g.set_frame(image(&frame));
            }
        }
        changed
    }
}

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) -> Timer {
    let (sender, results) = mpsc::channel();
    let rig = Rc::new(RefCell::new(Rig {
        feed: None,
        still: None,
        results,
        sender,
        generation: 0,
    }));
    let glue = Glue::new(window, session);
    let g = window.global::<ui::Capture>();
    let countdown = Rc::new(Timer::default());

    let act = {
        let (glue, rig, weak) = (glue.clone(), Rc::clone(&rig), window.as_weak());
        move |f: &dyn Fn(&mut Session) -> CaptureAction| {
            let (rig, weak) = (Rc::clone(&rig), weak.clone());
            glue.run(move |s| {
                let action = f(s);
                if let Some(shown) = rig.borrow_mut().process(s, action)
                    && let Some(window) = weak.upgrade()
                {
                    window.global::<ui::Capture>().set_frame(shown);
                }
            });
        }
    };
    {
        let (act, countdown, session) = (act.clone(), Rc::clone(&countdown), Rc::clone(session));
        let tick = act.clone();
        g.on_shoot(move || {
            act(&|s| s.capture_shoot());
            if session.borrow().capture_is_counting() {
                let tick = tick.clone();
                countdown.start(TimerMode::Repeated, Duration::from_secs(1), move || {
                    tick(&|s| s.capture_tick());
                });
            }
        });
    }
    {
        let act = act.clone();
        g.on_confirm_corners(move || act(&|s| s.capture_confirm_corners()));
    }
    {
        let glue = glue.clone();
        g.on_retake(move || glue.run(|s| s.capture_retake()));
    }
    {
        let glue = glue.clone();
        g.on_accept(move || glue.run(|s| s.capture_accept()));
    }
    {
        let glue = glue.clone();
        g.on_close(move || glue.run(|s| s.capture_close()));
    }
    {
        let glue = glue.clone();
        g.on_move_corner(move |i, x, y| {
            glue.run(|s| s.capture_move_corner(i as usize, f64::from(x), f64::from(y)))
        });
    }

    let poll = Timer::default();
    {
        let (weak, session, countdown) = (window.as_weak(), Rc::clone(session), countdown);
        poll.start(TimerMode::Repeated, FRAME_POLL, move || {
            let Some(window) = weak.upgrade() else {
                return;
            };
            let Ok(mut s) = session.try_borrow_mut() else {
                return;
            };
            let changed = rig.borrow_mut().follow(&mut s, &window);
            if changed {
                s.speak_changes();
            }
            let counting = s.capture_is_counting();
            drop(s);
            if !counting && countdown.running() {
                countdown.stop();
            }
            if changed {
                render::refresh(&window, &session.borrow());
            }
        });
    }
    // The countdown timer lives on in the callbacks; the poll is kept by the caller.
    poll
}
