//! The `kiosk` binary's tools for hall IT: value checks, the media pipeline on files, and the ID
//! card diagnostic against the reader simulator on a real pseudo-terminal.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kiosk_hardware::idcard::{SimConfig, Simulator, sim::load_card};

fn kiosk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .env("KIOSK_LOG", "error")
        .output()
        .expect("run kiosk")
}

/// Runs `kiosk args` with `input` on its standard input, as personal numbers are passed.
fn kiosk_with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .env("KIOSK_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiosk");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for kiosk")
}

fn json(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_prints_a_verdict_and_masks_the_id() {
    let ok = kiosk_with_stdin(&["check", "id"], "11010519491231002x\n");
    assert!(ok.status.success());
    let v = json(&ok);
    assert_eq!(v["id_number"], "1101**********002X");
    assert_eq!(v["gender"], "female");
    let bad = kiosk_with_stdin(&["check", "id"], "110101199003070012\n");
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(json(&bad)["message"], "证件号码校验位不正确，请逐位核对");
    let early = kiosk(&["check", "uscc", "91350100M000100Y44"]);
    assert_eq!(json(&early)["staff_may_confirm"], true);
    let mobile = kiosk_with_stdin(&["check", "mobile"], "+86 138 0013 8000\n");
    assert!(mobile.status.success());
    assert_eq!(json(&mobile)["mobile"], "138****8000");
    let in_argv = kiosk(&["check", "id", "11010519491231002x"]);
    assert!(
        !in_argv.status.success(),
        "an ID number in argv must be refused"
    );
}

#[test]
fn media_photo_doc_and_compress() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures = root().join("media/tests/fixtures");
    let out = dir.path().join("photo.jpg");
    let good = kiosk(&[
        "media",
        "photo",
        fixtures.join("photo_good.jpg").to_str().unwrap_or(""),
        out.to_str().unwrap_or(""),
    ]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    let report = json(&good);
    let bytes = std::fs::metadata(&out).expect("photo written").len();
    assert!(bytes > 10_240 && bytes <= 20_000, "{bytes} bytes");
    assert_eq!(report["bytes"].as_u64(), Some(bytes));
    assert_eq!(
        (report["width"].as_u64(), report["height"].as_u64()),
        (Some(295), Some(413))
    );

    let two = dir.path().join("two.jpg");
    let refused = kiosk(&[
        "media",
        "photo",
        fixtures.join("photo_two_faces.jpg").to_str().unwrap_or(""),
        two.to_str().unwrap_or(""),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let failed: Vec<String> = json(&refused)["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["passed"] == false)
        .map(|c| c["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(failed.iter().any(|m| m.contains("多张人脸")), "{failed:?}");
    assert!(!two.exists());

    let page = dir.path().join("page.jpg");
    let compressed = kiosk(&[
        "media",
        "compress",
        root()
            .join("docs/dev-materials/document.jpg")
            .to_str()
            .unwrap_or(""),
        page.to_str().unwrap_or(""),
        "--max-bytes",
        "200000",
    ]);
    assert!(compressed.status.success());
    assert!(std::fs::metadata(&page).expect("written").len() <= 200_000);

    let missing = kiosk(&[
        "media",
        "photo",
        "/nonexistent.jpg",
        out.to_str().unwrap_or(""),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        json(&missing)["message"]
            .as_str()
            .unwrap_or("")
            .contains("无法读取文件")
    );
}

#[test]
fn idcard_read_against_the_simulator() {
    let card = load_card(&root().join("hardware/cards/resident.json")).expect("card");
    let sim = Simulator::spawn(SimConfig {
        card: Some(card),
        ..SimConfig::default()
    })
    .expect("sim");
    let port = sim.path().expect("pty").display().to_string();
    let read = kiosk(&["idcard", "read", "--port", &port, "--timeout-ms", "5000"]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let v = json(&read);
    assert_eq!(v["name"], "张三");
    assert_eq!(v["id_number"], "1101**********0011");
    assert_eq!(v["card_type"], "resident");
    // The same field names as the simulator's card file.
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("hardware/cards/resident.json")).expect("file"),
    )
    .expect("json");
    for key in file.as_object().into_iter().flat_map(|o| o.keys()) {
        assert!(v.get(key).is_some(), "{key} missing");
    }

    let none = kiosk(&[
        "idcard",
        "read",
        "--port",
        "/dev/kiosk-test-missing",
        "--timeout-ms",
        "800",
    ]);
    assert_eq!(none.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&none.stderr).contains("读卡器未连接"));

    sim.remove().expect("remove");
    let empty = kiosk(&["idcard", "read", "--port", &port, "--timeout-ms", "1500"]);
    assert_eq!(empty.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("未检测到身份证"));
}

/// The kiosk makes itself non-dumpable and sets its core limit to zero before anything else: a
/// process that waits on its standard input is looked at from outside.
#[test]
fn the_kiosk_forbids_core_dumps_of_itself() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["check", "mobile"])
        .env("KIOSK_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run kiosk");
    let limits_file = format!("/proc/{}/limits", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let core_line = loop {
        let limits = std::fs::read_to_string(&limits_file).unwrap_or_default();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
        if line.as_deref() == Some("Max core file size 0 0 bytes")
            || std::time::Instant::now() > deadline
        {
            break line;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(child.stdin.take());
    let _ = child.wait();
    assert_eq!(core_line.as_deref(), Some("Max core file size 0 0 bytes"));
}

/// A second kiosk process on the same store would end the first one's visit: it is refused at
/// once, with a message, before it reads anything; once the first is gone, it starts.
#[test]
fn a_second_kiosk_on_the_same_store_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let walkthrough = || {
        Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .arg("walkthrough")
            .env("KIOSK_LOG", "error")
            .env("KIOSK_DATA_DIR", &data)
            .output()
            .expect("run kiosk")
    };
    let held = kiosk::store::StoreLock::acquire(&data).expect("the first process's lock");
    for refused in [
        walkthrough(),
        Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .arg("run")
            .env("KIOSK_LOG", "error")
            .env("KIOSK_DATA_DIR", &data)
            .output()
            .expect("run kiosk"),
    ] {
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("本机已有一个自助终端程序在运行"),
            "{stderr}"
        );
    }
    assert!(!data.join("kiosk.db").exists(), "nothing was opened");
    drop(held);
    let after = walkthrough();
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
}
