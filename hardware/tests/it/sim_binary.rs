//! The `idcard-sim` binary: first stdout line is the device, stdin drives it.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use kiosk_hardware::idcard::{IdCardReader, ReaderError};

struct Sim {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sim {
    fn start(args: &[&str]) -> (Self, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idcard-sim"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("idcard-sim starts");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        (
            Self {
                child,
                stdin,
                stdout,
            },
            first.trim_end().to_owned(),
        )
    }

    fn say(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("write");
        self.stdin.flush().expect("flush");
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("answer");
        answer.trim_end().to_owned()
    }
}

#[test]
fn binary_serves_a_card_and_obeys_stdin() {
    let cards = common::cards_dir();
    let resident = cards.join("resident.json");
    let permit = cards.join("permit.json");
    let (mut sim, path) = Sim::start(&["--card", resident.to_str().expect("utf-8"), "--seed", "5"]);
    assert!(
        path.starts_with("/dev/pts/"),
        "first line is the device: {path}"
    );

    let mut config = common::fast_config(&path);
    config.read_timeout = Duration::from_millis(800);
    let mut reader = IdCardReader::open(&config).expect("opens the printed path");
    let card = reader.read_card().expect("no error").expect("card");
    assert_eq!(card.id_number, "110101199003070011");

    assert_eq!(sim.say("state"), "ok Read");
    assert_eq!(sim.say("remove"), "ok removed");
    assert_eq!(reader.read_card().expect("no error"), None);
    assert_eq!(sim.say(&format!("place {}", permit.display())), "ok placed");
    assert_eq!(
        reader
            .read_card()
            .expect("no error")
            .expect("card")
            .card_type,
        kiosk_hardware::idcard::CardType::Permit
    );
    assert_eq!(sim.say("fault silence"), "ok fault Silence");
    assert!(matches!(
        reader.sam_status(),
        Err(ReaderError::Timeout { .. })
    ));
    assert_eq!(sim.say("fault garbage 3"), "ok fault Garbage");
    reader.sam_status().expect("garbage is skipped");
    assert_eq!(sim.say("fault none"), "ok fault None");
    assert!(sim.say("fault bogus").starts_with("error: unknown fault"));
    assert!(sim.say("dance").starts_with("error: commands:"));
    assert!(sim.say("place /nonexistent.json").starts_with("error:"));
    writeln!(sim.stdin, "quit").expect("quit");
    let status = sim.child.wait().expect("exits");
    assert!(status.success());
}

#[test]
fn binary_no_card_and_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("idcard");
    let resident = common::cards_dir().join("resident.json");
    let (mut sim, path) = Sim::start(&[
        "--card",
        resident.to_str().expect("utf-8"),
        "--no-card",
        "--link",
        link.to_str().expect("utf-8"),
        "--fault",
        "fragment",
    ]);
    assert_eq!(path, link.to_str().expect("utf-8"));
    let mut reader = IdCardReader::open(&common::fast_config(&link)).expect("opens the link");
    assert_eq!(reader.read_card().expect("no error"), None);
    assert_eq!(sim.say("place"), "ok placed");
    assert!(reader.read_card().expect("fragmented but fine").is_some());
    assert_eq!(sim.say("unplug"), "ok unplugged");
    assert!(!link.exists());
    assert!(reader.find_card().expect_err("gone").is_disconnect());
    assert!(sim.say("replug").starts_with("ok replugged"));
    drop(reader);
    let mut reader = IdCardReader::open(&common::fast_config(&link)).expect("reopens");
    reader.sam_status().expect("answers again");
    drop(sim.stdin); // EOF quits as well
    assert!(sim.child.wait().expect("exits").success());
    assert!(!link.exists(), "link removed on exit");
}

#[test]
fn binary_rejects_a_bad_card_file_without_quoting_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"card_type": "resident", "name": 110101199003070011}"#,
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_idcard-sim"))
        .args(["--card", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid JSON at line 1"), "{err}");
    assert!(!err.contains("110101199003070011"), "{err}");
}
