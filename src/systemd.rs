//! systemd's service notification protocol (`sd_notify`), written out in a few lines rather than
//! linking libsystemd: the kiosk tells systemd it is ready once its window is up, then pings the
//! service watchdog from the UI thread, so a frozen UI is killed and restarted by systemd.
//!
//! The protocol is one datagram per message, `KEY=VALUE` lines, sent to the `AF_UNIX` socket
//! named in `$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`). Without
//! `$NOTIFY_SOCKET` (development, tests) every call is a no-op.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where systemd listens for this service's notifications.
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier for this process, or `None` when not started by systemd with
    /// `Type=notify` (no `$NOTIFY_SOCKET`) or when the variable holds an address we cannot use.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<Notifier> {
        let value = env("NOTIFY_SOCKET")?;
        match Notifier::connect(&value) {
            Ok(notifier) => Some(notifier),
            Err(e) => {
                tracing::warn!(error = %e, "NOTIFY_SOCKET unusable: no systemd notifications");
                None
            }
        }
    }

    /// A notifier for the socket address as written in `$NOTIFY_SOCKET`.
    pub fn connect(value: &str) -> io::Result<Notifier> {
        let addr = if let Some(name) = value.strip_prefix('@') {
            SocketAddr::from_abstract_name(name.as_bytes())?
        } else if value.starts_with('/') {
            SocketAddr::from_pathname(value)?
        } else {
            // systemd also knows vsock: addresses (for virtual machines); a kiosk never gets one.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NOTIFY_SOCKET is neither a path nor an abstract socket name",
            ));
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            addr,
        })
    }

    /// Sends one notification, e.g. `"READY=1"` or `"WATCHDOG=1"`.
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(state.as_bytes(), &self.addr)?;
        if sent != state.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notification datagram was cut short",
            ));
        }
        Ok(())
    }

    /// The service is up: systemd starts units ordered after it and begins the watchdog clock.
    pub fn ready(&self) -> io::Result<()> {
        self.notify("READY=1")
    }

    /// The service is alive: resets systemd's watchdog timer for it.
    pub fn watchdog(&self) -> io::Result<()> {
        self.notify("WATCHDOG=1")
    }
}

/// How often to ping the watchdog: half of `$WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
/// recommends, so one late tick does not cost a restart. `None` when systemd expects no pings,
/// or when `$WATCHDOG_PID` names another process (the variables were inherited, not meant for
/// us).
pub fn watchdog_interval(env: impl Fn(&str) -> Option<String>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = env("WATCHDOG_USEC")?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(pid) = env("WATCHDOG_PID")
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// The process environment, in the shape the functions above take.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a datagram arrives");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn path_socket_receives_ready_and_watchdog() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify");
        let systemd = UnixDatagram::bind(&path).expect("bind");
        systemd
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let value = path.to_str().expect("utf-8 temp path");
        let notifier = Notifier::from_env(env_of(&[("NOTIFY_SOCKET", value)])).expect("notifier");
        notifier.ready().expect("ready");
        notifier.watchdog().expect("watchdog");
        assert_eq!(receive(&systemd), "READY=1");
        assert_eq!(receive(&systemd), "WATCHDOG=1");
    }

    #[test]
    fn abstract_socket_is_written_with_an_at_sign() {
        let name = format!("kiosk-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract address");
        let systemd = UnixDatagram::bind_addr(&addr).expect("bind abstract");
        systemd
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let notifier = Notifier::connect(&format!("@{name}")).expect("notifier");
        notifier
            .notify("STATUS=waiting for the card reader")
            .expect("send");
        assert_eq!(receive(&systemd), "STATUS=waiting for the card reader");
    }

    #[test]
    fn nothing_without_notify_socket_or_with_a_strange_one() {
        assert!(Notifier::from_env(env_of(&[])).is_none());
        assert!(Notifier::from_env(env_of(&[("NOTIFY_SOCKET", "vsock:2:1234")])).is_none());
        assert!(Notifier::from_env(env_of(&[("NOTIFY_SOCKET", "")])).is_none());
    }

    #[test]
    fn a_vanished_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("gone");
        let notifier = Notifier::connect(path.to_str().expect("utf-8")).expect("notifier");
        assert!(notifier.ready().is_err());
    }

    #[test]
    fn watchdog_pings_at_half_the_interval_for_this_process_only() {
        let env = env_of(&[("WATCHDOG_USEC", "10000000")]);
        assert_eq!(watchdog_interval(env, 42), Some(Duration::from_secs(5)));
        let env = env_of(&[("WATCHDOG_USEC", "10000000"), ("WATCHDOG_PID", "42")]);
        assert_eq!(watchdog_interval(env, 42), Some(Duration::from_secs(5)));
        let env = env_of(&[("WATCHDOG_USEC", "10000000"), ("WATCHDOG_PID", "7")]);
        assert_eq!(watchdog_interval(env, 42), None);
        assert_eq!(watchdog_interval(env_of(&[]), 42), None);
        assert_eq!(
            watchdog_interval(env_of(&[("WATCHDOG_USEC", "0")]), 42),
            None
        );
        assert_eq!(
            watchdog_interval(env_of(&[("WATCHDOG_USEC", "soon")]), 42),
            None
        );
    }
}
