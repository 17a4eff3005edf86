//! The browser harness itself: a real Chromium fills a Chinese form, submits it, keeps the
//! cookie the answer sets, and takes screenshots of the right size. The reviewer console's
//! browser tests rely on each of these steps.

use crate::browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use browser::Browser;

const FORM_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>材料审核</title></head>
<body>
<h1>材料审核</h1>
<form method="post" action="/">
  <label>审核人 <input id="reviewer" name="reviewer" type="text"></label>
  <label>结论
    <select id="verdict" name="verdict">
      <option value="pending">待定</option>
      <option value="approve">通过</option>
      <option value="reject">退回</option>
    </select>
  </label>
  <label><input id="originals" name="originals" type="checkbox" value="checked"> 已核对原件</label>
  <button id="submit" type="submit">提交</button>
</form>
</body>
</html>
"#;

/// Taller than any window the test uses, so the screenshot has to grow the viewport to fit it.
const ANSWER_HEIGHT: u32 = 2400;

#[test]
fn a_real_browser_fills_and_submits_a_chinese_form() {
    let site = serve_form();
    let browser = Browser::start(1280, 800);

    browser.goto(&format!("http://{site}/"));
    assert!(browser.exists("#reviewer"), "{}", browser.page_text());
    assert!(!browser.exists("#echo-reviewer"));
    assert_eq!(
        browser.attr("#reviewer", "name").as_deref(),
        Some("reviewer")
    );
    assert_eq!(browser.attr("#reviewer", "placeholder"), None);
    assert_eq!(browser.text("h1"), "材料审核");

    browser.fill("#reviewer", "张三 审核");
    browser.select("#verdict", "approve");
    browser.check("#originals");
    // A second tick must not untick it: check() is "make sure", not "toggle".
    browser.check("#originals");
    browser.click_to_next_page("#submit");

    let answer = browser.page_text();
    assert!(answer.contains("审核人：张三 审核"), "{answer}");
    assert!(answer.contains("结论：approve"), "{answer}");
    assert!(answer.contains("已核对原件：checked"), "{answer}");
    assert_eq!(browser.text("#echo-reviewer"), "审核人：张三 审核");
    assert_eq!(browser.current_url(), format!("http://{site}/"));

    let cookies = browser.cookies();
    let session = cookies
        .iter()
        .find(|cookie| cookie.name == "s")
        .unwrap_or_else(|| panic!("no cookie s among {cookies:?}"));
    assert_eq!(session.value, "1");
    assert!(session.http_only, "{session:?}");
    assert_eq!(session.same_site.as_deref(), Some("Strict"), "{session:?}");
    assert_eq!(
        browser.execute("return document.cookie;", vec![]),
        serde_json::json!(""),
        "an HttpOnly cookie is out of the page's reach"
    );

    let shots = tempfile::tempdir().expect("a directory for screenshots");
    for (width, height) in [(1280, 800), (1920, 1080)] {
        browser.resize(width, height);
        let path = shots.path().join(format!("answer-{width}.png"));
        browser.screenshot(&path);
        let (shot_width, shot_height) = png_size(&path);
        assert_eq!(shot_width, width, "{}", path.display());
        assert!(
            shot_height >= ANSWER_HEIGHT,
            "the whole page, {shot_height} px tall, {}",
            path.display()
        );
    }
    // The shot gives the viewport its height back, so later steps see the size they set.
    assert_eq!(
        browser.execute("return [window.innerWidth, window.innerHeight];", vec![]),
        serde_json::json!([1920, 1080])
    );
}

/// The PNG's width and height from its IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(png.len() > 24, "{} is cut short", path.display());
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (be(16), be(20))
}

/// A one-page site on a free loopback port: GET shows the form, POST echoes what was sent and
/// sets a session-like cookie. A thread per connection, because Chromium opens spare
/// connections it may never send on.
fn serve_form() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port for the form");
    let address = listener.local_addr().expect("the form's address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    address
}

fn answer(stream: TcpStream) {
    // Ends the thread of a spare connection Chromium never sends on; long enough for one it
    // sends on late, on a loaded machine.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut content_length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }

    let mut target = request_line.split_whitespace();
    let (method, path) = (target.next().unwrap_or(""), target.next().unwrap_or(""));
    let response = match (method, path) {
        ("GET", "/") => page("", FORM_PAGE),
        ("POST", "/") => page(
            "Set-Cookie: s=1; HttpOnly; SameSite=Strict; Path=/\r\n",
            &echo(&String::from_utf8_lossy(&body)),
        ),
        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = (&stream).write_all(response.as_bytes());
}

fn page(extra_headers: &str, html: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n{extra_headers}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    )
}

fn echo(form: &str) -> String {
    let field = |name: &str| {
        form.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| html_escape(&form_decode(value)))
            .unwrap_or_else(|| "（无）".into())
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>已提交</title>\
         </head><body>\
         <p id=\"echo-reviewer\">审核人：{}</p>\
         <p>结论：{}</p>\
         <p>已核对原件：{}</p>\
         <div style=\"height: {ANSWER_HEIGHT}px\"></div>\
         </body></html>",
        field("reviewer"),
        field("verdict"),
        field("originals"),
    )
}

/// application/x-www-form-urlencoded: `+` is a space, `%XX` a byte of UTF-8.
fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => decoded.push(b' '),
            b'%' if at + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        decoded.push(byte);
                        at += 2;
                    }
                    Err(_) => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        at += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
