//! `kiosk`: the self-service kiosk for Yunnan's accountant information collection, and its tools
//! for hall IT.

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use kiosk::accounts::{DevSmsSender, LocalAccounts};
use kiosk::app::Kiosk;
use kiosk::app::session::Services;
use kiosk::config::Config;
use kiosk::dev_materials::FolderMaterials;
use kiosk::store::Store;
use kiosk::sync::SyncConfig;
use kiosk::sync::accounts::RemoteAccounts;
use kiosk_domain::catalog::IdType;
use kiosk_domain::samples::Branch;
use kiosk_domain::{Lang, idnumber, privacy, region, uscc};
use kiosk_hardware::idcard::{IdCardService, ReaderConfig};

#[derive(Parser)]
#[command(
    name = "kiosk",
    version,
    about = "会计人员信息采集自助终端 / accountant information collection kiosk"
)]
struct Cli {
    /// Configuration file (default: /etc/kiosk/kiosk.toml if present, else built-in defaults).
    #[arg(long, env = "KIOSK_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk (the default).
    Run,
    /// Render every page to PNG without a display (both orientations, normal and elder mode,
    /// Chinese and English).
    Screenshots {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the wizard's state machine as text, walking two invented applicants.
    Walkthrough,
    /// The capture pipeline on files: ID photo, certificate page, compression.
    Media {
        #[command(subcommand)]
        what: MediaCommand,
    },
    /// Pinyin diagnostic: for each argument, the first page of candidates, best first.
    Ime {
        /// Treat the arguments as initials (简拼).
        #[arg(long)]
        abbr: bool,
        #[arg(required = true)]
        pinyin: Vec<String>,
    },
    /// The ID card reader, for hall IT.
    Idcard {
        #[command(subcommand)]
        what: IdcardCommand,
    },
    /// Check a value as the wizard does and print the verdict as JSON.
    Check {
        #[command(subcommand)]
        what: Check,
    },
    /// List Yunnan's finance bureaus with their division codes.
    Bureaus,
    /// Open the encrypted store and print its state (no personal data).
    StoreStatus,
    /// The sync outbox, one JSON line per submission (no personal data): state, attempts,
    /// the server's message for refused ones, the review status.
    Outbox,
    /// Read a staff PIN (4 to 8 digits) from standard input and print its hash for
    /// `staff_pin_hash` in kiosk.toml.
    StaffPinHash,
    /// The staff PIN's lock after wrong PINs, for the hall admin.
    Staff {
        #[command(subcommand)]
        what: StaffCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Print the wrong-PIN count and the lock as one JSON object.
    Status,
    /// Lift the staff PIN's lock (also the one only the admin can lift) and clear the count;
    /// written to the log as an audit line.
    Unlock,
}

#[derive(Subcommand)]
enum MediaCommand {
    /// Check, crop and compress an ID photo (exit 1 when a check fails).
    Photo {
        input: PathBuf,
        output: PathBuf,
        /// Use the ID-card standard size 358x441 instead of 295x413.
        #[arg(long)]
        id_card_size: bool,
    },
    /// Deskew, crop and compress a certificate photo.
    Doc {
        input: PathBuf,
        output: PathBuf,
        #[arg(long, value_enum, default_value = "a4")]
        kind: DocKindArg,
    },
    /// Fit an image into a byte range.
    Compress {
        input: PathBuf,
        output: PathBuf,
        #[arg(long)]
        max_bytes: usize,
        #[arg(long)]
        min_bytes: Option<usize>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DocKindArg {
    A4,
    Card,
}

#[derive(Subcommand)]
enum IdcardCommand {
    /// Wait for a card and print it as one JSON object (the simulator's field names).
    Read {
        /// Serial device (default: the configured reader, /dev/kiosk/idcard).
        #[arg(long)]
        port: Option<String>,
        /// Print the ID number unmasked.
        #[arg(long)]
        show: bool,
        /// How long to wait for a card.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
}

#[derive(Subcommand)]
enum Check {
    /// An identity number (GB 11643 and the permits that share its form), read from the first
    /// line of standard input so that it never shows in the process list.
    Id {
        #[arg(long, value_enum, default_value = "resident")]
        r#type: IdKind,
        /// Print the number unmasked.
        #[arg(long)]
        show: bool,
    },
    /// A unified social credit code (GB 32100).
    Uscc { code: String },
    /// A mainland mobile number, read from the first line of standard input.
    Mobile,
}

#[derive(Clone, Copy, ValueEnum)]
enum IdKind {
    Resident,
    Permit,
    Foreign,
}

impl From<IdKind> for IdType {
    fn from(kind: IdKind) -> Self {
        match kind {
            IdKind::Resident => IdType::ResidentIdCard,
            IdKind::Permit => IdType::HkMoTwResidencePermit,
            IdKind::Foreign => IdType::ForeignPermanentResidentCard,
        }
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC))
        .date()
}

fn verdict(ok: bool, message: Option<&'static str>, extra: serde_json::Value) -> ExitCode {
    let mut out = serde_json::json!({ "ok": ok });
    if let Some(m) = message {
        out["message"] = m.into();
    }
    if let (Some(obj), serde_json::Value::Object(more)) = (out.as_object_mut(), extra) {
        obj.extend(more);
    }
    println!("{out}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The first line of standard input, trimmed: personal numbers come this way, not in argv.
fn first_line_of_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(256)
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("无法读取标准输入：{e}"))?;
    Ok(line.trim().to_owned())
}

fn check(what: Check) -> anyhow::Result<ExitCode> {
    Ok(match what {
        Check::Id { r#type, show } => {
            match idnumber::parse(&first_line_of_stdin()?, r#type.into(), today()) {
                Ok(id) => {
                    let shown = if show {
                        id.as_str().to_owned()
                    } else {
                        privacy::mask_id_number(id.as_str())
                    };
                    let gender = id.gender().map(|g| format!("{g:?}").to_lowercase());
                    let birth = id.birth().map(|b| b.to_string());
                    verdict(
                        true,
                        None,
                        serde_json::json!({ "id_number": shown, "gender": gender, "birth": birth }),
                    )
                }
                Err(code) => verdict(false, Some(code.message(Lang::Zh)), serde_json::json!({})),
            }
        }
        Check::Uscc { code } => match uscc::parse(&code) {
            Ok(u) if u.passes_checks() => {
                verdict(true, None, serde_json::json!({ "code": u.normalized }))
            }
            Ok(u) => verdict(
                false,
                Some(kiosk_domain::IssueCode::UsccChecksum.message(Lang::Zh)),
                serde_json::json!({ "code": u.normalized, "check_ok": u.check_ok, "org_check_ok": u.org_check_ok, "staff_may_confirm": true }),
            ),
            Err(code) => verdict(false, Some(code.message(Lang::Zh)), serde_json::json!({})),
        },
        Check::Mobile => match kiosk_domain::contact::normalize_mobile(&first_line_of_stdin()?) {
            Ok(n) => verdict(
                true,
                None,
                serde_json::json!({ "mobile": privacy::mask_mobile(&n) }),
            ),
            Err(code) => verdict(false, Some(code.message(Lang::Zh)), serde_json::json!({})),
        },
    })
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.data_dir, &config.key_file())
        .map_err(|e| anyhow::anyhow!("{}\n{e}", e.message_zh()))
}

fn services(config: &Config, with_reader: bool) -> anyhow::Result<Services> {
    let store = open_store(config)?;
    let accounts: Box<dyn kiosk::accounts::Accounts> = match config.sync_target() {
        Some((url, token)) => Box::new(
            RemoteAccounts::new(url, token, open_store(config)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.message_zh()))?
                .with_dev_sms_file(config.dev_sms_file.clone()),
        ),
        None => Box::new(LocalAccounts::new(
            open_store(config)?,
            DevSmsSender::default(),
        )),
    };
    let materials = config.dev_materials_dir.as_ref().map(|dir| {
        Box::new(FolderMaterials::new(dir, config.limits))
            as Box<dyn kiosk::app::session::MaterialSource>
    });
    let card_reader = match with_reader {
        true => {
            let reader = IdCardService::start(ReaderConfig::with_path(&config.devices.idcard))?;
            Some(Box::new(reader) as Box<dyn kiosk_hardware::idcard::CardReaderDevice>)
        }
        false => None,
    };
    Ok(Services {
        store,
        accounts,
        materials,
        cameras: Some(kiosk::capture::Cameras::from_config(&config.devices)),
        limits: config.limits,
        idle_timeout_secs: config.idle_timeout_secs,
        draft_retention_secs: i64::from(config.draft_retention_hours) * 3600,
        today,
        card_reader,
        staff_pin_hash: config.staff_pin_hash.clone(),
        handwriting: match kiosk_ime::handwriting::Recognizer::open_default() {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "handwriting unavailable");
                None
            }
        },
        pinyin: Some(Box::new(|| {
            kiosk_ime::RimeSession::start(&kiosk_ime::RimeConfig::default())
                .map(|s| Box::new(s) as Box<dyn kiosk_ime::PinyinEngine>)
                .map_err(|e| e.to_string())
        })),
        speaker: kiosk::speech::start(config),
        voice: kiosk::speech::default_settings(config),
        printer: config.devices.printer.as_ref().map(|path| {
            std::sync::Arc::new(std::sync::Mutex::new(Box::new(
                kiosk_hardware::printer::driver::EscPosPrinter::new(
                    path,
                    config.devices.printer_baud,
                ),
            )
                as Box<dyn kiosk_hardware::printer::ReceiptPrinter>))
        }),
        hall_name: config.hall_name.clone(),
        status_base_url: config
            .sync_target()
            .map(|_| config.server_url.trim().to_owned()),
    })
}

/// This process's claim on the store, before anything of it is read.
fn lock_store(config: &Config) -> anyhow::Result<kiosk::store::StoreLock> {
    kiosk::store::StoreLock::acquire(&config.data_dir)
        .map_err(|e| anyhow::anyhow!("{}\n{e}", e.message_zh()))
}

fn run(config: &Config) -> anyhow::Result<()> {
    let _store_lock = lock_store(config)?;
    let kiosk = Kiosk::new(services(config, true)?)?;
    match config.sync_target() {
        Some((url, token)) => {
            let handle = kiosk::sync::spawn(
                &config.data_dir,
                &config.key_file(),
                SyncConfig::new(url, token),
            )?;
            kiosk.session.borrow_mut().attach_sync(handle);
            tracing::info!("sync with the central server on");
        }
        None => tracing::info!("no device token: sync off, local accounts"),
    }
    tracing::info!("kiosk started");
    kiosk.run()?;
    Ok(())
}

fn walkthrough(config: &Config) -> anyhow::Result<()> {
    println!("会计人员信息采集：向导状态机的文字演示（两位虚构的申请人）");
    println!("Text walk through the wizard's state machine with two invented applicants.\n");
    let _store_lock = lock_store(config)?;
    let mut store = open_store(config)?;
    for branch in [Branch::Employed, Branch::NotEmployed] {
        let transcript = kiosk::walkthrough::walk(branch, &mut store, today())
            .with_context(|| "walkthrough failed")?;
        println!("{transcript}");
    }
    Ok(())
}

fn screenshots(config: &Config, out: &std::path::Path) -> anyhow::Result<()> {
    // Screenshots use invented applicants and a throw-away store, never the kiosk's own.
    let scratch = tempfile::tempdir()?;
    let mut scratch_config = config.clone();
    scratch_config.data_dir = scratch.path().to_owned();
    scratch_config.key_file = None;
    // The PIN dialog is drawn whether or not this machine has a staff PIN; the scenes enter
    // digits, never a real PIN.
    scratch_config.staff_pin_hash = Some(
        kiosk::accounts::hash_password("screenshot-only")
            .map_err(|e| anyhow::anyhow!("hashing the screenshots' PIN: {e}"))?,
    );
    let written = kiosk::app::screenshots::render_all(out, services(&scratch_config, false)?)?;
    println!("{} screenshots written to {}", written.len(), out.display());
    Ok(())
}

fn main() -> ExitCode {
    kiosk::logging::init();
    if let Err(e) = kiosk::hardening::forbid_core_dumps() {
        tracing::warn!(error = %e, "core dumps could not be forbidden");
    }
    let cli = Cli::parse();
    let result = (|| -> anyhow::Result<ExitCode> {
        let config = Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
        match cli.command.unwrap_or(Command::Run) {
            Command::Run => run(&config).map(|()| ExitCode::SUCCESS),
            Command::Walkthrough => walkthrough(&config).map(|()| ExitCode::SUCCESS),
            Command::Ime { abbr, pinyin } => {
                let pages =
                    kiosk_ime::first_pages(&kiosk_ime::RimeConfig::default(), &pinyin, abbr)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                for (_, candidates) in pages {
                    println!("{}", candidates.join(" "));
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Media { what } => {
                use kiosk::media_cli;
                let outcome = match what {
                    MediaCommand::Photo {
                        input,
                        output,
                        id_card_size,
                    } => {
                        let options = if id_card_size {
                            kiosk_media::PhotoOptions::id_card_358x441()
                        } else {
                            kiosk_media::PhotoOptions::default()
                        };
                        media_cli::photo(&input, &output, &options)
                    }
                    MediaCommand::Doc {
                        input,
                        output,
                        kind,
                    } => {
                        let kind = match kind {
                            DocKindArg::A4 => kiosk_media::DocKind::A4,
                            DocKindArg::Card => kiosk_media::DocKind::Card,
                        };
                        media_cli::document(&input, &output, kind)
                    }
                    MediaCommand::Compress {
                        input,
                        output,
                        max_bytes,
                        min_bytes,
                    } => media_cli::compress(&input, &output, max_bytes, min_bytes),
                };
                println!("{}", outcome.report);
                Ok(if outcome.success {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            Command::Idcard {
                what:
                    IdcardCommand::Read {
                        port,
                        show,
                        timeout_ms,
                    },
            } => {
                let port = port.unwrap_or_else(|| config.devices.idcard.display().to_string());
                match kiosk::idcard::read_one(&port, std::time::Duration::from_millis(timeout_ms)) {
                    Ok(card) => {
                        println!("{}", kiosk::idcard::card_json(&card, show));
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        Ok(ExitCode::from(match e {
                            kiosk::idcard::ReadError::NoReader(_)
                            | kiosk::idcard::ReadError::Start(_) => 3,
                            _ => 4,
                        }))
                    }
                }
            }
            Command::Screenshots { out } => screenshots(&config, &out).map(|()| ExitCode::SUCCESS),
            Command::Check { what } => check(what),
            Command::Bureaus => {
                for d in region::finance_bureaus() {
                    println!("{}\t{}\t{}", d.code.0, d.bureau_name(), d.full_name());
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::StaffPinHash => {
                let mut pin = String::new();
                std::io::stdin().read_line(&mut pin)?;
                let pin = pin.trim();
                if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    anyhow::bail!("a staff PIN has 4 to 8 digits");
                }
                println!("{}", kiosk::accounts::hash_password(pin)?);
                Ok(ExitCode::SUCCESS)
            }
            Command::Staff { what } => {
                let mut store = open_store(&config)?;
                let lock = match what {
                    StaffCommand::Status => store.staff_lock()?,
                    StaffCommand::Unlock => {
                        let before = store.staff_unlock()?;
                        tracing::info!(
                            audit = "staff-mode",
                            was_admin_locked = before.admin_locked,
                            wrong_pins = before.total_failures,
                            "staff PIN unlocked by the hall admin"
                        );
                        store.staff_lock()?
                    }
                };
                let now = kiosk::store::now_ms();
                println!(
                    "{}",
                    serde_json::json!({
                        "admin_locked": lock.admin_locked,
                        "locked_for_secs": ((lock.locked_until_ms - now).max(0) as u64).div_ceil(1000),
                        "wrong_pins": lock.total_failures,
                        "wrong_pins_in_a_row": lock.recent_failures,
                    })
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Outbox => {
                let store = open_store(&config)?;
                for row in store.outbox_rows()? {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": row.id,
                            "state": row.state.as_str(),
                            "attempts": row.attempts,
                            "last_error": row.last_error,
                            "submission_id": row.submission_id,
                            "review": row.review,
                            "content_sha256": row.content_sha256,
                        })
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::StoreStatus => {
                let store = open_store(&config)?;
                let counts = store.outbox_counts()?;
                println!(
                    "{}",
                    serde_json::json!({
                        "data_dir": config.data_dir,
                        "schema_version": kiosk::store::SCHEMA_VERSION,
                        "drafts": store.draft_count()?,
                        "outbox": {
                            "pending": counts.pending,
                            "acked": counts.acked,
                            "failed": counts.failed,
                            "done": counts.done,
                        },
                    })
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            ExitCode::from(2)
        }
    }
}
