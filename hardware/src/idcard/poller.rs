//! The polling loop: a thread that owns the reader, survives unplugging, follows the card's
//! life cycle and reports [`ReaderEvent`]s without ever blocking the caller.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::card::CardData;
use super::driver::{IdCardReader, ReaderConfig, ReaderError};

/// What the polling loop reports, in order.
#[derive(Debug)]
pub enum ReaderEvent {
    /// The port opened and the SAM answered its status check with 90.
    ReaderConnected,
    /// The port is missing, failed, or the reader stopped answering (UI: "读卡器未连接").
    /// Also the first event when the reader is absent at start. A present card is reported
    /// removed first.
    ReaderDisconnected,
    /// A card entered the field (find answered 9F). A read follows.
    CardPlaced,
    /// The card was read.
    CardRead(Box<CardData>),
    /// The card left the field.
    CardRemoved,
    /// Reading a placed card failed; up to `max_read_attempts` per placement are made.
    ReadFailed(ReaderError),
}

/// The interface the app uses, so tests and the UI can swap in [`ScriptedCardReader`].
pub trait CardReaderDevice: Send {
    /// The next event, waiting at most `timeout`.
    fn next_event(&self, timeout: Duration) -> Option<ReaderEvent>;
    /// The next event if one is waiting.
    fn try_next_event(&self) -> Option<ReaderEvent>;
    /// Stops the device (idempotent).
    fn stop(&mut self);
}

/// Stops and joins the polling thread when dropped.
#[derive(Debug)]
pub struct PollerHandle {
    stop_tx: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl PollerHandle {
    /// Asks the loop to stop and waits for it (at most one command timeout).
    pub fn stop(&mut self) {
        self.stop_tx.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("ID card polling thread panicked");
        }
    }
}

impl Drop for PollerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the polling loop; `on_event` runs on the loop's thread.
pub fn spawn_poller<F>(config: ReaderConfig, on_event: F) -> std::io::Result<PollerHandle>
where
    F: FnMut(ReaderEvent) + Send + 'static,
{
    let (stop_tx, stop_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("idcard-poller".into())
        .spawn(move || {
            Poller {
                config,
                emit: Box::new(on_event),
                reader: None,
                announced: None,
                card: CardState::Absent,
                failures: 0,
            }
            .run(&stop_rx)
        })?;
    Ok(PollerHandle {
        stop_tx: Some(stop_tx),
        thread: Some(thread),
    })
}

/// The polling loop with its events on a channel: the app's ID card reader.
#[derive(Debug)]
pub struct IdCardService {
    handle: PollerHandle,
    events: Receiver<ReaderEvent>,
}

impl IdCardService {
    /// Starts polling the reader described by `config`.
    pub fn start(config: ReaderConfig) -> std::io::Result<Self> {
        let (tx, events) = mpsc::channel();
        let handle = spawn_poller(config, move |event| {
            // The receiver is gone only while the service is being dropped.
            let _ = tx.send(event);
        })?;
        Ok(Self { handle, events })
    }

    /// The event channel, e.g. to forward it into the UI's event loop.
    pub fn events(&self) -> &Receiver<ReaderEvent> {
        &self.events
    }
}

impl CardReaderDevice for IdCardService {
    fn next_event(&self, timeout: Duration) -> Option<ReaderEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    fn try_next_event(&self) -> Option<ReaderEvent> {
        self.events.try_recv().ok()
    }

    fn stop(&mut self) {
        self.handle.stop();
    }
}

/// A [`CardReaderDevice`] fed by hand, for UI tests without a reader or a pseudo-terminal.
#[derive(Debug)]
pub struct ScriptedCardReader {
    events: Receiver<ReaderEvent>,
}

impl ScriptedCardReader {
    /// The device and the sender that scripts its events.
    pub fn new() -> (Self, Sender<ReaderEvent>) {
        let (tx, events) = mpsc::channel();
        (Self { events }, tx)
    }
}

impl CardReaderDevice for ScriptedCardReader {
    fn next_event(&self, timeout: Duration) -> Option<ReaderEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    fn try_next_event(&self) -> Option<ReaderEvent> {
        self.events.try_recv().ok()
    }

    fn stop(&mut self) {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CardState {
    Absent,
    /// In the field; `read` once read successfully (then find answers 80 until removal).
    Present {
        read: bool,
        attempts: u32,
    },
}

struct Poller {
    config: ReaderConfig,
    emit: Box<dyn FnMut(ReaderEvent) + Send>,
    reader: Option<IdCardReader>,
    /// Last connection state reported; `None` before the first report.
    announced: Option<bool>,
    card: CardState,
    /// Consecutive failed polls of a connected reader.
    failures: u32,
}

impl Poller {
    fn run(mut self, stop: &Receiver<()>) {
        tracing::info!(path = %self.config.path.display(), "ID card polling started");
        loop {
            let pause = self.step();
            match stop.recv_timeout(pause) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        tracing::info!("ID card polling stopped");
    }

    /// One poll; returns the pause before the next.
    fn step(&mut self) -> Duration {
        if self.reader.is_none() {
            return self.connect();
        }
        match self.poll_card() {
            Ok(()) => {
                self.failures = 0;
                self.config.poll_interval
            }
            Err(e) if e.is_disconnect() => {
                self.lose_reader(&e);
                self.config.reopen_interval
            }
            Err(e) => {
                self.failures += 1;
                tracing::debug!(error = %e, failures = self.failures, "poll failed");
                if self.failures >= self.config.unresponsive_after {
                    self.lose_reader(&e);
                    self.config.reopen_interval
                } else {
                    self.config.poll_interval
                }
            }
        }
    }

    fn connect(&mut self) -> Duration {
        let opened = IdCardReader::open(&self.config).and_then(|mut reader| {
            reader.sam_status()?;
            Ok(reader)
        });
        match opened {
            Ok(reader) => {
                self.reader = Some(reader);
                self.failures = 0;
                self.card = CardState::Absent;
                self.announce(true);
                Duration::ZERO
            }
            Err(e) => {
                if self.announced != Some(false) {
                    tracing::warn!(error = %e, "ID card reader not available");
                } else {
                    tracing::trace!(error = %e, "ID card reader still not available");
                }
                self.announce(false);
                self.config.reopen_interval
            }
        }
    }

    fn lose_reader(&mut self, why: &ReaderError) {
        tracing::warn!(error = %why, "ID card reader lost");
        self.reader = None;
        self.failures = 0;
        if self.card != CardState::Absent {
            self.card = CardState::Absent;
            (self.emit)(ReaderEvent::CardRemoved);
        }
        self.announce(false);
    }

    fn announce(&mut self, connected: bool) {
        if self.announced != Some(connected) {
            self.announced = Some(connected);
            (self.emit)(if connected {
                tracing::info!("ID card reader connected");
                ReaderEvent::ReaderConnected
            } else {
                ReaderEvent::ReaderDisconnected
            });
        }
    }

    fn poll_card(&mut self) -> Result<(), ReaderError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        let found = reader.find_card()?;
        match (self.card, found) {
            (CardState::Absent, false) => {}
            (CardState::Absent, true) => {
                (self.emit)(ReaderEvent::CardPlaced);
                self.card = CardState::Present {
                    read: false,
                    attempts: 0,
                };
                self.try_read(true)?;
            }
            // A read card is kept selected, so a 9F means another card (or the same one
            // put back) arrived since the last poll.
            (CardState::Present { read: true, .. }, true) => {
                (self.emit)(ReaderEvent::CardRemoved);
                (self.emit)(ReaderEvent::CardPlaced);
                self.card = CardState::Present {
                    read: false,
                    attempts: 0,
                };
                self.try_read(true)?;
            }
            (
                CardState::Present {
                    read: false,
                    attempts,
                },
                true,
            ) => {
                if attempts < self.config.max_read_attempts {
                    self.try_read(true)?;
                }
            }
            // 80: the card left, or it is still selected after a read (possibly one whose
            // answer we lost): ask the reader, and finish an unread card without select.
            (CardState::Present { read, attempts }, false) => {
                if !reader.probe_still_selected()? {
                    self.card = CardState::Absent;
                    (self.emit)(ReaderEvent::CardRemoved);
                } else if !read && attempts < self.config.max_read_attempts {
                    self.try_read(false)?;
                }
            }
        }
        Ok(())
    }

    fn try_read(&mut self, select: bool) -> Result<(), ReaderError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        let CardState::Present { attempts, .. } = self.card else {
            return Ok(());
        };
        let result = if select {
            reader.select_card().and_then(|()| reader.read_selected())
        } else {
            reader.read_selected()
        };
        match result {
            Ok(card) => {
                tracing::info!(card_type = ?card.card_type, "ID card read");
                self.card = CardState::Present {
                    read: true,
                    attempts: attempts + 1,
                };
                (self.emit)(ReaderEvent::CardRead(Box::new(card)));
                Ok(())
            }
            Err(e) if e.is_disconnect() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "reading the ID card failed");
                self.card = CardState::Present {
                    read: false,
                    attempts: attempts + 1,
                };
                (self.emit)(ReaderEvent::ReadFailed(e));
                Ok(())
            }
        }
    }
}
