//! The fault-injecting proxy between one kiosk and `central`: it relays HTTP/1.1 request by
//! request, so that it can cut a chosen share of requests at a random byte (of the request, or
//! after the server has answered, which the kiosk then never hears), count what the kiosk
//! sends, and tell what the kiosk is doing at the moment it is killed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync_support::Rng;

/// What a request is, for the table of where kills landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    FileUpload,
    RecordUpload,
    StatusPoll,
    Other,
}

impl RequestKind {
    fn of(request_line: &str) -> RequestKind {
        let mut words = request_line.split(' ');
        match (words.next(), words.next()) {
            (Some("PUT"), Some(path)) if path.starts_with("/v1/blobs/") => RequestKind::FileUpload,
            (Some("PUT"), Some(path)) if path.starts_with("/v1/submissions/") => {
                RequestKind::RecordUpload
            }
            (Some("GET"), Some(path)) if path.ends_with("/status") => RequestKind::StatusPoll,
            _ => RequestKind::Other,
        }
    }
}

/// Counts over every proxy of one run.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    /// Of which status polls.
    pub status_polls: AtomicU64,
    /// Requests cut before the server had all of them.
    pub cut_requests: AtomicU64,
    /// Answers the server gave that the kiosk never received.
    pub cut_answers: AtomicU64,
    /// Every byte the kiosks sent towards the server (heads and bodies, cut ones too).
    pub bytes_up: AtomicU64,
}

struct Shared {
    target: Mutex<SocketAddr>,
    cut_percent: u64,
    rng: Mutex<Rng>,
    stats: Arc<Stats>,
    in_flight: Mutex<Option<RequestKind>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    pub fn start(
        target: SocketAddr,
        cut_percent: u64,
        seed: u64,
        stats: Arc<Stats>,
    ) -> io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            cut_percent,
            rng: Mutex::new(Rng::new(seed)),
            stats,
            in_flight: Mutex::new(None),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let shared = accepting.clone();
                std::thread::spawn(move || relay(client, &shared));
            }
        });
        Ok(Proxy { addr, shared })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn retarget(&self, to: SocketAddr) {
        *lock(&self.shared.target) = to;
    }

    /// The request the kiosk behind this proxy is waiting on, if any.
    pub fn in_flight(&self) -> Option<RequestKind> {
        *lock(&self.shared.in_flight)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Closes with a reset (SO_LINGER 0), as a dropped network link or a killed peer looks.
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized `linger` value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

enum Cut {
    None,
    /// After this many bytes of the request (head and body).
    Request(u64),
    /// Once the server's answer has begun.
    Answer,
}

fn relay(client: TcpStream, shared: &Shared) {
    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
    let upstream = *lock(&shared.target);
    let server = match TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) {
        Ok(server) => server,
        Err(_) => {
            reset(&client);
            return;
        }
    };
    for stream in [&client, &server] {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let _ = stream.set_nodelay(true);
    }
    let _ = exchange_all(&client, &server, shared);
    *lock(&shared.in_flight) = None;
    reset(&client);
    reset(&server);
}

/// Relays requests and answers until either side closes or a cut ends the connection.
fn exchange_all(client: &TcpStream, server: &TcpStream, shared: &Shared) -> io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut from_server = BufReader::new(server.try_clone()?);
    let (mut to_client, mut to_server) = (client.try_clone()?, server.try_clone()?);
    loop {
        let Some(head) = read_head(&mut from_client)? else {
            return Ok(());
        };
        let request_line = head.lines().next().unwrap_or("").to_owned();
        let body_length = content_length(&head).unwrap_or(0);
        shared.stats.requests.fetch_add(1, Ordering::Relaxed);
        let kind = RequestKind::of(&request_line);
        if kind == RequestKind::StatusPoll {
            shared.stats.status_polls.fetch_add(1, Ordering::Relaxed);
        }
        *lock(&shared.in_flight) = Some(kind);
        let cut = choose_cut(shared, head.len() as u64 + body_length);
        let budget = match cut {
            Cut::Request(at) => at,
            _ => u64::MAX,
        };
        let sent = forward(
            head.as_bytes(),
            &mut from_client,
            body_length,
            &mut to_server,
            budget,
        )?;
        shared.stats.bytes_up.fetch_add(sent, Ordering::Relaxed);
        if matches!(cut, Cut::Request(_)) {
            shared.stats.cut_requests.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let Some(answer_head) = read_head(&mut from_server)? else {
            return Ok(());
        };
        if matches!(cut, Cut::Answer) {
            shared.stats.cut_answers.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let answer_length = content_length(&answer_head);
        match answer_length {
            Some(length) => {
                forward(
                    answer_head.as_bytes(),
                    &mut from_server,
                    length,
                    &mut to_client,
                    u64::MAX,
                )?;
            }
            None => {
                // No length (not expected of `central`): relay to the end and close.
                to_client.write_all(answer_head.as_bytes())?;
                io::copy(&mut from_server, &mut to_client)?;
                return Ok(());
            }
        }
        *lock(&shared.in_flight) = None;
    }
}

fn choose_cut(shared: &Shared, request_bytes: u64) -> Cut {
    let mut rng = lock(&shared.rng);
    if rng.below(100) >= shared.cut_percent {
        return Cut::None;
    }
    // Three cuts in five before the server has the whole request, two after it has answered.
    if rng.below(5) < 3 {
        Cut::Request(rng.below(request_bytes.max(1)))
    } else {
        Cut::Answer
    }
}

/// Writes `head` and then `length` body bytes from `from` to `to`, stopping after `budget`
/// bytes in all; returns the bytes written.
fn forward(
    head: &[u8],
    from: &mut impl Read,
    length: u64,
    to: &mut impl Write,
    budget: u64,
) -> io::Result<u64> {
    let head_part = (head.len() as u64).min(budget) as usize;
    to.write_all(&head[..head_part])?;
    let mut written = head_part as u64;
    let mut left = length.min(budget - written);
    let mut buffer = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = (left as usize).min(buffer.len());
        let n = from.read(&mut buffer[..want])?;
        if n == 0 {
            break;
        }
        to.write_all(&buffer[..n])?;
        written += n as u64;
        left -= n as u64;
    }
    to.flush()?;
    Ok(written)
}

/// The request or status line and headers, through the blank line; `None` at a clean end.
fn read_head(from: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if from.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" || line == "\n" {
            return Ok(Some(head));
        }
        if head.len() > 64 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
    }
}

fn content_length(head: &str) -> Option<u64> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_told_apart_by_line() {
        assert_eq!(
            RequestKind::of("PUT /v1/blobs/ab12 HTTP/1.1"),
            RequestKind::FileUpload
        );
        assert_eq!(
            RequestKind::of("PUT /v1/submissions/k-1 HTTP/1.1"),
            RequestKind::RecordUpload
        );
        assert_eq!(
            RequestKind::of("GET /v1/submissions/sub_1/status HTTP/1.1"),
            RequestKind::StatusPoll
        );
        assert_eq!(RequestKind::of("GET /health HTTP/1.1"), RequestKind::Other);
    }

    #[test]
    fn lengths_are_read_from_any_case_of_header() {
        assert_eq!(
            content_length("PUT / HTTP/1.1\r\ncontent-length: 12\r\n\r\n"),
            Some(12)
        );
        assert_eq!(content_length("HTTP/1.1 204 No Content\r\n\r\n"), None);
    }
}
