//! A real headless Chromium for tests of pages a person uses in a browser: the test starts its own
//! chromedriver on a free loopback port and drives one browser session through it.
//!
//! Every method blocks and panics on failure with the selector and the page's URL, so a test reads
//! as the steps a reviewer takes. A module of the server's test binary of its own, not of
//! `common`, which the benches include and which needs no browser; the kiosk's console test
//! includes it by path.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
// The bounds below are waits on a condition, checked every few milliseconds: generous, since
// they cost nothing when all is well, and a loaded machine (the tests run beside Chromium)
// must not fail a test; far beyond them something is broken.

/// chromedriver answers within a second even on a busy machine; far beyond that it is broken.
const DRIVER_READY_WITHIN: Duration = Duration::from_secs(60);
/// Bounds every page load and script, so a hung page fails the test instead of stalling it.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a click may take to bring the next page.
const NEXT_PAGE_WITHIN: Duration = Duration::from_secs(60);
/// Closing the session is a courtesy on drop; the driver is killed after this regardless.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);
const HOW_TO_INSTALL: &str = "run ./scripts/test, which installs chromium and chromium-driver";

/// One cookie as the browser stores it, for assertions on the flags a server set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub http_only: bool,
    /// "Strict", "Lax" or "None" as the browser reports it; `None` when it reports nothing.
    pub same_site: Option<String>,
}

pub struct Browser {
    // Taken on drop, to close the session before the driver is killed.
    client: Option<Client>,
    runtime: tokio::runtime::Runtime,
    driver: Child,
    // The browser profile and the driver's log; a field drops after `drop` has killed the driver.
    scratch: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose page viewport is `width` x `height`.
    pub fn start(width: u32, height: u32) -> Browser {
        for binary in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: {HOW_TO_INSTALL}"
            );
        }
        let scratch = tempfile::tempdir().expect("a temporary directory for the browser");
        let profile = scratch.path().join("profile");
        let driver_log = scratch.path().join("chromedriver.log");
        let port = free_loopback_port();
        let log = File::create(&driver_log).expect("chromedriver's log file");
        let log_too = log
            .try_clone()
            .expect("chromedriver's log file, a second handle");
        // No --allowed-ips: with it chromedriver listens on every interface and filters by
        // address; without it, it binds loopback only, which is what a test wants.
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER} ({e}): {HOW_TO_INSTALL}"));
        let driver_address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if let Err(why) = wait_until_ready(&mut driver, driver_address) {
            kill_driver(&mut driver);
            panic!(
                "chromedriver on {driver_address} not ready: {why}\n--- its output ---\n{}",
                read_log(&driver_log)
            );
        }

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the browser session");
        let capabilities = chrome_capabilities(width, height, &profile);
        let connected = runtime.block_on(async {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&format!("http://{driver_address}"))
                .await
        });
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                kill_driver(&mut driver);
                panic!(
                    "no Chromium session from chromedriver on {driver_address}: {e}\n\
                     --- chromedriver's output ---\n{}",
                    read_log(&driver_log)
                );
            }
        };
        let browser = Browser {
            client: Some(client),
            runtime,
            driver,
            scratch,
        };
        let timeouts =
            TimeoutConfiguration::new(Some(PAGE_TIMEOUT), Some(PAGE_TIMEOUT), Some(Duration::ZERO));
        let set = browser.run(browser.client().update_timeouts(timeouts));
        browser.or_fail(set, "set the session's timeouts");
        browser.resize(width, height);
        browser
    }

    pub fn goto(&self, url: &str) {
        let result = self.run(self.client().goto(url));
        if let Err(e) = result {
            panic!("browser: cannot open {url}: {e}");
        }
    }

    pub fn current_url(&self) -> String {
        let url = self.run(self.client().current_url());
        self.or_fail(url, "read the current URL").to_string()
    }

    /// Replaces the field's value with `text`, typed key by key as a person would, so the page's
    /// own input handling runs. Checks the field then holds exactly `text`. chromedriver inserts
    /// characters no key makes, Chinese included, as text, so no script has to set the value.
    pub fn fill(&self, css: &str, text: &str) {
        let field = self.find(css);
        let typed = self.run(async {
            field.clear().await?;
            field.send_keys(text).await?;
            field.prop("value").await
        });
        let value = self.or_fail(typed, &format!("type {text:?} into `{css}`"));
        if value.as_deref() != Some(text) {
            self.fail(&format!(
                "type {text:?} into `{css}`: the field holds {value:?}"
            ));
        }
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        let clicked = self.run(element.click());
        self.or_fail(clicked, &format!("click `{css}`"));
    }

    /// Clicks a link or a form's button at `css` and waits until the page it leads to has
    /// loaded (a click returns as soon as it is delivered, before the next page is there).
    pub fn click_to_next_page(&self, css: &str) {
        const MARK: &str = "__page_before_click";
        self.execute(&format!("window.{MARK} = true;"), vec![]);
        self.click(css);
        let deadline = std::time::Instant::now() + NEXT_PAGE_WITHIN;
        let check =
            format!("return window.{MARK} === undefined && document.readyState === 'complete';");
        while std::time::Instant::now() < deadline {
            // Scripts may fail while the old page is torn down: not there yet.
            if let Ok(Value::Bool(true)) = self.run(self.client().execute(&check, vec![])) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.fail(&format!(
            "click `{css}`: no new page within {NEXT_PAGE_WITHIN:?}"
        ));
    }

    /// Chooses the `<option>` whose value is `value` in the `<select>` at `css`.
    pub fn select(&self, css: &str, value: &str) {
        let select = self.find(css);
        let chosen = self.run(async {
            select.select_by_value(value).await?;
            select.prop("value").await
        });
        let now = self.or_fail(chosen, &format!("choose {value:?} in `{css}`"));
        if now.as_deref() != Some(value) {
            self.fail(&format!(
                "choose {value:?} in `{css}`: the select holds {now:?}"
            ));
        }
    }

    /// Ticks the checkbox at `css`; one already ticked stays ticked.
    pub fn check(&self, css: &str) {
        let checkbox = self.find(css);
        let ticked = self.run(async {
            if !checkbox.is_selected().await? {
                checkbox.click().await?;
            }
            checkbox.is_selected().await
        });
        if !self.or_fail(ticked, &format!("tick `{css}`")) {
            self.fail(&format!("tick `{css}`: still unticked after a click"));
        }
    }

    /// The element's text as rendered, without hidden parts.
    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        let text = self.run(element.text());
        self.or_fail(text, &format!("read the text of `{css}`"))
    }

    /// The whole page's text as rendered (the body's innerText).
    pub fn page_text(&self) -> String {
        match self.execute(
            "return document.body ? document.body.innerText : '';",
            vec![],
        ) {
            Value::String(text) => text,
            other => self.fail(&format!("read the page's text: got {other}")),
        }
    }

    pub fn exists(&self, css: &str) -> bool {
        let found = self.run(self.client().find_all(Locator::Css(css)));
        !self.or_fail(found, &format!("look for `{css}`")).is_empty()
    }

    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css);
        let value = self.run(element.attr(name));
        self.or_fail(value, &format!("read attribute {name:?} of `{css}`"))
    }

    /// Writes a PNG of the whole page at the viewport's width: the viewport is made as tall as
    /// the document for the shot, then given back its size.
    pub fn screenshot(&self, path: &Path) {
        let client = self.client();
        let shot = self.run(async {
            let (width, height) = viewport(client).await?;
            let document_height = client
                .execute(
                    "return Math.ceil(Math.max(document.documentElement.scrollHeight, \
                     document.body ? document.body.scrollHeight : 0));",
                    vec![],
                )
                .await?
                .as_u64()
                .map_or(height, to_u32);
            let grow = document_height > height;
            if grow {
                set_viewport(client, width, document_height).await?;
            }
            let png = client.screenshot().await;
            if grow {
                set_viewport(client, width, height).await?;
            }
            png
        });
        let png = self.or_fail(shot, &format!("take a screenshot for {}", path.display()));
        if let Err(e) = std::fs::write(path, png) {
            self.fail(&format!("write the screenshot to {}: {e}", path.display()));
        }
    }

    /// Makes the page's viewport (not the window around it) `width` x `height`.
    pub fn resize(&self, width: u32, height: u32) {
        let resized = self.run(async {
            set_viewport(self.client(), width, height).await?;
            viewport(self.client()).await
        });
        let now = self.or_fail(resized, &format!("resize the viewport to {width}x{height}"));
        if now != (width, height) {
            self.fail(&format!(
                "resize the viewport to {width}x{height}: it is {}x{}",
                now.0, now.1
            ));
        }
    }

    pub fn cookies(&self) -> Vec<BrowserCookie> {
        let cookies = self.run(self.client().get_all_cookies());
        self.or_fail(cookies, "read the cookies")
            .iter()
            .map(browser_cookie)
            .collect()
    }

    /// Runs `js` as a function body in the page (`arguments[i]` are `args`) and gives its
    /// return value.
    pub fn execute(&self, js: &str, args: Vec<Value>) -> Value {
        let result = self.run(self.client().execute(js, args));
        self.or_fail(result, &format!("run the script {js:?}"))
    }

    fn find(&self, css: &str) -> Element {
        let found = self.run(self.client().find(Locator::Css(css)));
        self.or_fail(found, &format!("find `{css}`"))
    }

    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the session is closed only on drop")
    }

    fn run<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn or_fail<T>(&self, result: Result<T, fantoccini::error::CmdError>, doing: &str) -> T {
        result.unwrap_or_else(|e| self.fail(&format!("{doing}: {e}")))
    }

    fn fail(&self, what: &str) -> ! {
        let url = self
            .run(self.client().current_url())
            .map(|url| url.to_string())
            .unwrap_or_else(|e| format!("unknown ({e})"));
        panic!("browser: cannot {what}\n  at {url}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(CLOSE_WITHIN, client.close()).await });
        }
        kill_driver(&mut self.driver);
    }
}

/// Kills chromedriver and reaps it. It stays in the test's process group on purpose, so Ctrl-C
/// on `cargo test` ends it too; Chromium's helpers, told to quit when the session closed, exit on
/// their own a few seconds later.
fn kill_driver(driver: &mut Child) {
    let _ = driver.kill();
    let _ = driver.wait();
}

fn chrome_capabilities(width: u32, height: u32, profile: &Path) -> Capabilities {
    let options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new",
            // Tests run as root in containers, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            // /dev/shm is 64 MB in many containers, too small for a renderer.
            "--disable-dev-shm-usage",
            format!("--window-size={width},{height}"),
            "--lang=zh-CN",
            // Screenshots are then exactly as many pixels wide as the window.
            "--force-device-scale-factor=1",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = Capabilities::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    capabilities
}

/// A port nothing listens on now: the kernel picks it for a socket that is closed at once.
fn free_loopback_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// Polls the driver's `/status` until it says ready, it exits, or the time is up.
fn wait_until_ready(driver: &mut Child, address: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + DRIVER_READY_WITHIN;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("it exited with {status}"));
        }
        match status(address) {
            Ok(body) if is_ready(&body) => return Ok(()),
            Ok(body) => last = format!("it answered {body}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "not ready within {DRIVER_READY_WITHIN:?}, last: {last}"
    ))
}

/// GET /status over a plain socket. The body is read by its Content-Length: chromedriver says
/// `Connection: close` but leaves the socket open.
fn status(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET /status HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
        if let Some(body) = complete_body(&answer) {
            return Ok(body);
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// The body once the headers and as many bytes as their Content-Length names have arrived.
fn complete_body(answer: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())?;
    (body.len() >= length).then(|| body.to_string())
}

fn is_ready(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|status| status["value"]["ready"].as_bool())
        .unwrap_or(false)
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(unreadable: {e})"))
}

fn browser_cookie(cookie: &Cookie<'static>) -> BrowserCookie {
    BrowserCookie {
        name: cookie.name().to_string(),
        value: cookie.value().to_string(),
        http_only: cookie.http_only().unwrap_or(false),
        same_site: cookie.same_site().map(|same_site| same_site.to_string()),
    }
}

/// The page's viewport in CSS pixels (one device pixel each, by --force-device-scale-factor).
async fn viewport(client: &Client) -> Result<(u32, u32), fantoccini::error::CmdError> {
    let size = client
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await?;
    let side = |at: usize| size[at].as_u64().map_or(0, to_u32);
    Ok((side(0), side(1)))
}

/// WebDriver sizes the window, and headless Chromium still draws a toolbar's worth of window
/// above the page (143 px at 1080), so the window is sized, the page measured, and the window
/// grown by the difference. Chromium applies a new size a moment after it answers, so the
/// measuring is repeated until the page has the size asked for, or [`VIEWPORT_WITHIN`] passed.
async fn set_viewport(
    client: &Client,
    width: u32,
    height: u32,
) -> Result<(), fantoccini::error::CmdError> {
    let deadline = Instant::now() + VIEWPORT_WITHIN;
    let (mut window_width, mut window_height) = (width, height);
    loop {
        client.set_window_size(window_width, window_height).await?;
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (inner_width, inner_height) = viewport(client).await?;
        if (inner_width, inner_height) == (width, height) || Instant::now() >= deadline {
            return Ok(());
        }
        window_width = (window_width + width).saturating_sub(inner_width);
        window_height = (window_height + height).saturating_sub(inner_height);
    }
}

/// How long the page may take to get its size before the caller's check reports the difference.
const VIEWPORT_WITHIN: Duration = Duration::from_secs(30);

fn to_u32(pixels: u64) -> u32 {
    u32::try_from(pixels).unwrap_or(u32::MAX)
}
