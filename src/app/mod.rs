//! The touch application: session logic (`session`, `view`: plain Rust; `forms`, what each field
//! looks like, lives in the domain crate) and the thin Slint glue (`glue`: one `setup` per concern).

pub use kiosk_domain::forms;
pub mod glue;
pub mod screenshots;
pub mod session;
pub mod view;

/// The Rust side of the `.slint` files in `ui/`.
pub mod ui {
    slint::include_modules!();
}

use std::cell::RefCell;
use std::rc::Rc;

use session::{Services, Session};
use slint::ComponentHandle;

/// A running kiosk window with its session.
pub struct Kiosk {
    pub window: ui::KioskWindow,
    pub session: Rc<RefCell<Session>>,
    _timers: [slint::Timer; 3],
}

impl Kiosk {
    /// Creates the window and wires every concern. The platform must be set up already (the
    /// default backend, the testing backend or the screenshot renderer).
    pub fn new(services: Services) -> Result<Kiosk, slint::PlatformError> {
        let window = ui::KioskWindow::new()?;
        // Chinese is the source language of the UI; English is the bundled translation.
        let _ = slint::select_bundled_translation("");
        let session = Rc::new(RefCell::new(Session::new(services)));
        glue::wizard::setup(&window, &session);
        glue::keys::setup(&window, &session);
        glue::pickers::setup(&window, &session);
        glue::prefs::setup(&window, &session);
        glue::watchdog::setup(&window);
        let timers = [
            glue::idle::setup(&window, &session),
            glue::idcard::setup(&window, &session),
            glue::capture::setup(&window, &session),
        ];
        glue::render::refresh(&window, &session.borrow());
        Ok(Kiosk {
            window,
            session,
            _timers: timers,
        })
    }

    /// Shows the window and runs the event loop until it closes.
    pub fn run(&self) -> Result<(), slint::PlatformError> {
        self.window.run()
    }

    /// Redraws the globals from the session (after a change made from outside the UI).
    pub fn refresh(&self) {
        glue::render::refresh(&self.window, &self.session.borrow());
    }
}
