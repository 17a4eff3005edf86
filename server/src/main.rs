//! `central`: the reference central server and its admin commands.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use kiosk_domain::catalog::IdType;
use kiosk_domain::privacy::mask_id_number;
use kiosk_domain::{Lang, contact, idnumber};
use kiosk_server::blobs::{BlobStore, DiskBlobs};
use kiosk_server::postgres::{PgStore, is_postgres_url};
use kiosk_server::sms::{DisabledSender, FileSender, SmsSender};
use kiosk_server::sqlite::{SqliteStore, path_from_url};
use kiosk_server::store::{
    AuditEntry, DecideError, Decision, NewAccount, ReviewerChange, ReviewerRole, Role, Store,
    state_label,
};
use kiosk_server::{auth, review, util};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "central",
    version,
    about = "Reference central server for the collection kiosks"
)]
struct Cli {
    /// The database: `postgres://USER@HOST:PORT/DB` (or `postgresql://`), `sqlite://PATH` or a
    /// plain path (SQLite).
    #[arg(
        long,
        global = true,
        env = "CENTRAL_DB",
        default_value = "sqlite://central.db"
    )]
    db: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP API.
    Serve {
        #[arg(long, env = "CENTRAL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Development SMS sender: append `code <masked phone> <code>` lines to this file.
        /// Without it, sending codes answers 503.
        #[arg(long, env = "CENTRAL_SMS_FILE")]
        sms_file: Option<PathBuf>,
        /// HTTPS: the server's PEM certificate (chain), e.g. `server.pem` from `central ca
        /// issue`. With --tls-key the API is served over TLS only; without both, plain HTTP
        /// (development, or behind a proxy that terminates TLS).
        #[arg(long, env = "CENTRAL_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// HTTPS: the PEM private key of --tls-cert.
        #[arg(long, env = "CENTRAL_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP on an address other than loopback. Tokens, passwords and ID
        /// numbers then cross the network readable by anyone on it: only for a test network,
        /// or behind a proxy on the same host that terminates TLS.
        #[arg(long, env = "CENTRAL_INSECURE_HTTP")]
        insecure_http: bool,
        /// Where submissions' files wait for their records (`partial/`, `complete/`, 0600).
        /// Default: beside a SQLite database (`central.db` → `central.db-blobs`); required
        /// with PostgreSQL.
        #[arg(long, env = "CENTRAL_BLOB_DIR")]
        blob_dir: Option<PathBuf>,
        /// Hours a staged file may wait for its record before it is deleted.
        #[arg(long, env = "CENTRAL_BLOB_LIFETIME_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..))]
        blob_lifetime_hours: u64,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// The hall's private certificate authority for HTTPS (files only, no database).
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Kiosk credentials.
    Device {
        #[command(subcommand)]
        command: EnrolCommand,
    },
    /// Reviewer credentials, each of one finance bureau or of the province.
    Reviewer {
        #[command(subcommand)]
        command: ReviewerCommand,
    },
    /// Applicant accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Review decisions on the same database, as the province.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Prints the newest rows of the audit log (append-only), newest first.
    Audit {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// How long and how many clients may hold the server (`kiosk_server::Limits`).
#[derive(clap::Args)]
struct LimitArgs {
    /// Seconds a client has to send a request's line and headers (also the keep-alive idle time).
    #[arg(long, env = "CENTRAL_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request's body, counted from its headers.
    #[arg(long, env = "CENTRAL_BODY_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_secs: u64,
    /// Seconds a client has to finish the TLS handshake.
    #[arg(long, env = "CENTRAL_TLS_HANDSHAKE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    tls_handshake_timeout_secs: u64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, env = "CENTRAL_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Password hashes at once (each holds 19 MiB); 32 more per worker may wait, beyond that
    /// the answer is 503. Default: one per core.
    #[arg(long, env = "CENTRAL_HASH_WORKERS", value_parser = clap::value_parser!(u32).range(1..=256))]
    hash_workers: Option<u32>,
    /// Image checks at once (each decode may hold up to 256 MiB); 32 more per worker may wait,
    /// beyond that the answer is 503. Default: one per core.
    #[arg(long, env = "CENTRAL_DECODE_WORKERS", value_parser = clap::value_parser!(u32).range(1..=256))]
    decode_workers: Option<u32>,
}

impl LimitArgs {
    /// The server's state with the worker pools these arguments ask for.
    fn apply_workers(&self, mut state: kiosk_server::AppState) -> kiosk_server::AppState {
        if let Some(workers) = self.hash_workers.map(|w| w as usize) {
            state.hashing = Arc::new(kiosk_server::auth::HashingPool::new(workers, workers * 32));
        }
        if let Some(workers) = self.decode_workers.map(|w| w as usize) {
            state.decoding = Arc::new(kiosk_server::material_check::DecodePool::new(
                workers,
                workers * 32,
            ));
        }
        state
    }
}

impl From<&LimitArgs> for kiosk_server::Limits {
    fn from(args: &LimitArgs) -> Self {
        use std::time::Duration;
        kiosk_server::Limits {
            header_read_timeout: Duration::from_secs(args.header_timeout_secs),
            body_read_timeout: Duration::from_secs(args.body_timeout_secs),
            tls_handshake_timeout: Duration::from_secs(args.tls_handshake_timeout_secs),
            max_connections: args.max_connections as usize,
        }
    }
}

#[derive(Subcommand)]
enum CaCommand {
    /// Creates the CA: DIR/ca.pem (every kiosk's `server_ca`) and DIR/ca-key.pem (0600; keep
    /// it off the server). Never overwrites an existing CA.
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issues the server certificate for the names and addresses kiosks use to reach it:
    /// DIR/server.pem and DIR/server-key.pem (0600), for `serve --tls-cert --tls-key`.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long = "host", value_name = "NAME_OR_IP", required = true, num_args = 1..)]
        hosts: Vec<String>,
    },
}

#[derive(Subcommand)]
enum EnrolCommand {
    /// Creates a credential and prints its token once; only a hash is kept.
    Enrol { name: String },
    /// Revokes a credential by its id; its token stops working at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum ReviewerCommand {
    /// Creates a reviewer credential and prints its token once; only a hash is kept.
    Enrol {
        name: String,
        /// The finance bureau's division code (e.g. 530102 for 五华区财政局): the reviewer sees
        /// and decides only that bureau's submissions.
        #[arg(
            long,
            required_unless_present = "province",
            conflicts_with = "province"
        )]
        bureau: Option<u32>,
        /// A province-level reviewer who sees every bureau's submissions.
        #[arg(long)]
        province: bool,
    },
    /// Revokes a reviewer credential by its id; its token stops working at once.
    Revoke { id: String },
    /// Creates a console account (the web pages at /console). The password is the first line
    /// of standard input, never an argument (`ps` and shell history would show it).
    Add {
        /// What the reviewer logs in with (letters, digits, '.', '-', '_').
        #[arg(long)]
        name: String,
        /// The finance bureau's division code: the account reviews only its submissions.
        #[arg(long, required_unless_present_any = ["province", "admin"], conflicts_with_all = ["province", "admin"])]
        bureau: Option<u32>,
        /// Reviews every bureau's submissions.
        #[arg(long, conflicts_with = "admin")]
        province: bool,
        /// Manages console accounts and reviews nothing.
        #[arg(long)]
        admin: bool,
    },
    /// Stops a console account at once: its open pages log out.
    Disable {
        #[arg(long)]
        name: String,
    },
    /// Lets a disabled console account log in again.
    Enable {
        #[arg(long)]
        name: String,
    },
    /// Sets a new console password (first line of standard input); open pages log out.
    Reset {
        #[arg(long)]
        name: String,
    },
    /// Lists the console accounts.
    List,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Imports an accountant already on file, without a phone: they bind one at first login.
    /// Standard input (or --from FILE) gives three lines: the ID number, the name and the
    /// initial password. They are never taken as arguments, which every user of the machine
    /// can read (`ps`, /proc) and shells keep in their history.
    Import {
        /// Read the three lines from this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// resident_id_card, hk_mo_tw_residence_permit or foreign_permanent_resident_card.
        #[arg(long, default_value = "resident_id_card")]
        id_type: String,
        /// Refused: kept only to explain where the ID number goes now.
        #[arg(long, hide = true, num_args = 0..=1)]
        id_number: Option<Option<String>>,
        /// Refused: kept only to explain where the name goes now.
        #[arg(long, hide = true, num_args = 0..=1)]
        name: Option<Option<String>>,
    },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Lists submissions (masked), by default those under review.
    List {
        /// under_review, rejected, approved or all.
        #[arg(long, default_value = "under_review")]
        state: String,
    },
    Approve {
        id: String,
    },
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

fn init_logging() {
    let filter = EnvFilter::try_from_env("CENTRAL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn open(db: &str) -> anyhow::Result<Arc<dyn Store>> {
    if is_postgres_url(db) {
        // The URL may hold a password: it is not repeated in the error.
        return Ok(Arc::new(
            PgStore::connect(db).context("opening the PostgreSQL database")?,
        ));
    }
    let path = path_from_url(db);
    Ok(Arc::new(
        SqliteStore::open(path).with_context(|| format!("opening the database {path}"))?,
    ))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    kiosk_server::memory::return_large_buffers_to_the_os();
    // `ca` handles files only: it must work where there is no database.
    if let Command::Ca { command } = &cli.command {
        return ca_command(command);
    }
    // Refused before the database is opened (or created).
    if let Command::Serve {
        listen,
        tls_cert,
        insecure_http,
        ..
    } = &cli.command
    {
        check_plain_http(*listen, tls_cert.is_some(), *insecure_http)?;
    }
    if let Command::Account {
        command: AccountCommand::Import {
            id_number, name, ..
        },
    } = &cli.command
        && (id_number.is_some() || name.is_some())
    {
        bail!(
            "account import reads the ID number, the name and the password from standard input \
             (or --from FILE), one per line, never from arguments: every user of this machine \
             can read a command line"
        );
    }
    let store = open(&cli.db)?;
    match cli.command {
        Command::Serve {
            listen,
            sms_file,
            tls_cert,
            tls_key,
            insecure_http: _,
            blob_dir,
            blob_lifetime_hours,
            limits,
        } => {
            let blobs = open_blobs(&cli.db, blob_dir)?;
            let lifetime = Duration::from_secs(blob_lifetime_hours * 3600);
            serve(
                store,
                (blobs, lifetime),
                listen,
                sms_file,
                tls_cert.zip(tls_key),
                &limits,
            )
        }
        Command::Ca { command } => ca_command(&command),
        Command::Device { command } => credential_command(&*store, command, Role::Device),
        Command::Reviewer { command } => reviewer_command(&*store, command),
        Command::Audit { limit } => print_audit(&*store, limit),
        Command::Account {
            command: AccountCommand::Import { from, id_type, .. },
        } => import_account(&*store, from.as_deref(), &id_type),
        Command::Review { command } => review_command(&*store, command),
    }
}

/// Plain HTTP carries device tokens, passwords and ID numbers readable by anyone on the
/// network, so it is served only on loopback (a proxy on the same host may terminate TLS)
/// unless the operator says otherwise.
fn check_plain_http(listen: SocketAddr, tls: bool, insecure_http: bool) -> anyhow::Result<()> {
    if tls || insecure_http || listen.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    bail!(
        "refusing to serve plain HTTP on {listen}: tokens, passwords and ID numbers would cross \
         the network unencrypted. Serve HTTPS with --tls-cert and --tls-key (see `central ca`), \
         or listen on 127.0.0.1 behind a TLS proxy, or pass --insecure-http on a test network"
    )
}

fn open_blobs(db: &str, dir: Option<PathBuf>) -> anyhow::Result<Arc<dyn BlobStore>> {
    let dir = match dir {
        Some(dir) => dir,
        None if is_postgres_url(db) => {
            bail!("with PostgreSQL, say where submissions' files wait with --blob-dir")
        }
        None => PathBuf::from(format!("{}-blobs", path_from_url(db))),
    };
    Ok(Arc::new(DiskBlobs::open(&dir).with_context(|| {
        format!("opening the blob directory {}", dir.display())
    })?))
}

fn serve(
    store: Arc<dyn Store>,
    (blobs, blob_lifetime): (Arc<dyn BlobStore>, Duration),
    listen: SocketAddr,
    sms_file: Option<PathBuf>,
    tls: Option<(PathBuf, PathBuf)>,
    limit_args: &LimitArgs,
) -> anyhow::Result<()> {
    let limits: kiosk_server::Limits = limit_args.into();
    let sms: Arc<dyn SmsSender> = match sms_file {
        Some(path) => Arc::new(FileSender::new(path)),
        None => Arc::new(DisabledSender),
    };
    // Loaded before listening, so a wrong path or key stops the start instead of every
    // connection failing later.
    let tls = tls
        .map(|(cert, key)| kiosk_server::tls::server_config(&cert, &key))
        .transpose()
        .context("loading the TLS certificate and key")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        tracing::info!(addr = %listener.local_addr()?, tls = tls.is_some(), "central server listening");
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tokio::spawn(kiosk_server::collect_blob_garbage(
            blobs.clone(),
            blob_lifetime,
            Duration::from_secs(3600),
        ));
        let mut state = limit_args.apply_workers(kiosk_server::state(store, sms, blobs));
        state.faults = injected_faults(listen)?;
        kiosk_server::serve_with(listener, state, tls, limits, shutdown).await?;
        Ok(())
    })
}

/// The soak harness's deliberate defects (`soak/`), read from `CENTRAL_FAULT_*` only in a
/// build with the `fault-injection` feature, and only on loopback.
#[cfg(feature = "fault-injection")]
fn injected_faults(listen: SocketAddr) -> anyhow::Result<kiosk_server::api::Faults> {
    let faults = kiosk_server::api::Faults {
        forget_idempotency: std::env::var_os("CENTRAL_FAULT_FORGET_IDEMPOTENCY").is_some(),
    };
    if faults.forget_idempotency {
        if !listen.ip().is_loopback() {
            bail!("injected faults are for loopback test servers only");
        }
        tracing::warn!("FAULT INJECTED: idempotency keys are forgotten (soak negative control)");
    }
    Ok(faults)
}

/// A build without the feature refuses to start when asked for faults, so that a soak's
/// negative control cannot pass against a server that silently has none.
#[cfg(not(feature = "fault-injection"))]
fn injected_faults(_listen: SocketAddr) -> anyhow::Result<kiosk_server::api::Faults> {
    if std::env::var_os("CENTRAL_FAULT_FORGET_IDEMPOTENCY").is_some() {
        bail!(
            "CENTRAL_FAULT_FORGET_IDEMPOTENCY is set, but this central was built without the              fault-injection feature (build it together with kiosk-soak)"
        );
    }
    Ok(kiosk_server::api::Faults::default())
}

fn ca_command(command: &CaCommand) -> anyhow::Result<()> {
    use kiosk_server::tls;
    match command {
        CaCommand::Init { dir } => {
            let written = tls::ca_init(dir)?;
            println!("CA certificate: {}", written.cert.display());
            println!("CA key:         {}", written.key.display());
            eprintln!(
                "Install the certificate on every kiosk (server_ca); keep the key offline, it \
                 signs server certificates (`central ca issue`)."
            );
        }
        CaCommand::Issue { dir, hosts } => {
            let written = tls::ca_issue(dir, hosts)?;
            println!("server certificate: {}", written.cert.display());
            println!("server key:         {}", written.key.display());
            eprintln!(
                "Start the server with --tls-cert {} --tls-key {}; kiosks reach it as https://{}",
                written.cert.display(),
                written.key.display(),
                hosts.first().map_or("", String::as_str)
            );
        }
    }
    Ok(())
}

/// The audit log's actor for a command run on the server: the operating-system user.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

fn credential_command(store: &dyn Store, command: EnrolCommand, role: Role) -> anyhow::Result<()> {
    match command {
        EnrolCommand::Enrol { name } => enrol(store, &name, role, None),
        EnrolCommand::Revoke { id } => revoke(store, &id, role),
    }
}

fn reviewer_command(store: &dyn Store, command: ReviewerCommand) -> anyhow::Result<()> {
    match command {
        ReviewerCommand::Enrol { name, bureau, .. } => {
            if let Some(code) = bureau {
                known_bureau(code)?;
            }
            enrol(store, &name, Role::Reviewer, bureau)
        }
        ReviewerCommand::Revoke { id } => revoke(store, &id, Role::Reviewer),
        ReviewerCommand::Add {
            name,
            bureau,
            province,
            admin,
        } => {
            let role = match (bureau, province, admin) {
                (Some(code), _, _) => {
                    known_bureau(code)?;
                    ReviewerRole::Bureau(code)
                }
                (None, true, _) => ReviewerRole::Province,
                _ => ReviewerRole::Admin,
            };
            add_console_account(store, &name, role)
        }
        ReviewerCommand::Disable { name } => {
            change_console_account(store, &name, ReviewerChange::Disable, "disable")
        }
        ReviewerCommand::Enable { name } => {
            change_console_account(store, &name, ReviewerChange::Enable, "enable")
        }
        ReviewerCommand::Reset { name } => {
            let hash = auth::hash_password(&read_console_password()?)
                .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            change_console_account(store, &name, ReviewerChange::Password { hash }, "reset")
        }
        ReviewerCommand::List => {
            for account in store.reviewer_accounts()? {
                println!(
                    "{}\t{}\t{}",
                    account.name,
                    kiosk_server::console::role_label(account.role),
                    if account.disabled { "停用" } else { "启用" }
                );
            }
            Ok(())
        }
    }
}

fn known_bureau(code: u32) -> anyhow::Result<()> {
    if !kiosk_server::console::reviewers::is_bureau(code) {
        bail!("{code} is not a finance bureau of Yunnan");
    }
    Ok(())
}

fn read_console_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let min = kiosk_server::console::reviewers::PASSWORD_MIN_CHARS;
    if password.chars().count() < min {
        bail!("the password (first line of standard input) must have at least {min} characters");
    }
    Ok(password)
}

fn add_console_account(store: &dyn Store, name: &str, role: ReviewerRole) -> anyhow::Result<()> {
    if !kiosk_server::console::reviewers::valid_name(name) {
        bail!("a console account name is 1 to 64 letters, digits, '.', '-' or '_'");
    }
    let hash = auth::hash_password(&read_console_password()?)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    let audit = AuditEntry::new(&cli_actor(), "add console account", name, "ok", util::now());
    if store.insert_reviewer(name, role, &hash, &audit)?.is_none() {
        bail!("a console account named {name} already exists");
    }
    println!("added {name} ({})", kiosk_server::console::role_label(role));
    Ok(())
}

fn change_console_account(
    store: &dyn Store,
    name: &str,
    change: ReviewerChange,
    what: &str,
) -> anyhow::Result<()> {
    let audit = AuditEntry::new(
        &cli_actor(),
        &format!("{what} console account"),
        name,
        "ok",
        util::now(),
    );
    if !store.change_reviewer(name, &change, &audit)? {
        bail!("no console account named {name}");
    }
    println!("{what}: {name}");
    Ok(())
}

fn revoke(store: &dyn Store, id: &str, role: Role) -> anyhow::Result<()> {
    let found = store.credential(id)?.filter(|c| c.role == role);
    let audit = AuditEntry::new(
        &cli_actor(),
        &format!("revoke {}", role.as_str()),
        id,
        "ok",
        util::now(),
    );
    if found.is_none() || !store.revoke_credential(id, &audit)? {
        bail!("no {} credential {id}", role.as_str());
    }
    println!("revoked {id}");
    Ok(())
}

fn print_audit(store: &dyn Store, limit: i64) -> anyhow::Result<()> {
    for row in store.audit_log(limit.clamp(1, 100_000))? {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            row.at, row.actor, row.action, row.target, row.outcome
        );
    }
    Ok(())
}

/// What `account import` reads: the ID number, the name and the password, one per line.
struct ImportInput {
    id_number: String,
    name: String,
    password: String,
}

fn read_import_input(from: Option<&std::path::Path>) -> anyhow::Result<ImportInput> {
    use std::io::BufRead as _;
    let reader: Box<dyn std::io::BufRead> = match from {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut lines = reader.lines();
    let mut next = |what: &str| -> anyhow::Result<String> {
        match lines.next() {
            Some(line) => Ok(line?.trim_end_matches('\r').to_owned()),
            None => bail!(
                "account import: the input ended before the {what} (expected three lines: ID number, name, password)"
            ),
        }
    };
    Ok(ImportInput {
        id_number: next("ID number")?.trim().to_owned(),
        name: next("name")?,
        password: next("password")?,
    })
}

fn import_account(
    store: &dyn Store,
    from: Option<&std::path::Path>,
    id_type: &str,
) -> anyhow::Result<()> {
    let parsed_type: IdType = serde_json::from_value(serde_json::Value::String(id_type.to_owned()))
        .with_context(|| format!("unknown ID type {id_type}"))?;
    let input = read_import_input(from)?;
    let id = idnumber::parse(&input.id_number, parsed_type, util::today())
        .map_err(|code| anyhow::anyhow!("ID number: {}", code.message(Lang::En)))?;
    contact::check_name(&input.name)
        .map_err(|code| anyhow::anyhow!("name: {}", code.message(Lang::En)))?;
    contact::check_password(&input.password)
        .map_err(|code| anyhow::anyhow!("password: {}", code.message(Lang::En)))?;
    let account = NewAccount {
        id_type: id_type.to_owned(),
        id_number: id.as_str().to_owned(),
        name: input.name.trim().to_owned(),
        mobile: None,
        password_hash: auth::hash_password(&input.password).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let masked = mask_id_number(id.as_str());
    let audit = AuditEntry::new(&cli_actor(), "import account", &masked, "ok", util::now());
    if store.insert_account(&account, &audit)?.is_none() {
        bail!("an account for {masked} exists already");
    }
    println!("imported {masked}: the accountant binds a phone at first login");
    Ok(())
}

fn enrol(store: &dyn Store, name: &str, role: Role, bureau: Option<u32>) -> anyhow::Result<()> {
    let enrolled = auth::enrol(store, name, role, bureau, &cli_actor(), util::now())?;
    println!("id: {}", enrolled.id);
    println!("name: {}", enrolled.name);
    println!("role: {}", enrolled.role.as_str());
    println!("token: {}", enrolled.token);
    eprintln!(
        "The token is shown only now: give it to the {} and keep no copy.",
        role.as_str()
    );
    Ok(())
}

fn review_command(store: &dyn Store, command: ReviewCommand) -> anyhow::Result<()> {
    let (id, decision) = match command {
        ReviewCommand::List { state } => {
            let filter = (state != "all").then_some(state.as_str());
            for row in store.submissions(filter, None)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    row.id,
                    state_label(&row.review),
                    mask_id_number(&row.applicant),
                    row.received_at
                );
            }
            return Ok(());
        }
        ReviewCommand::Approve { id } => (id, Decision::Approve),
        ReviewCommand::Reject { id, reason } => {
            let decision = review::rejection(&reason)
                .context("a rejection needs a reason of 1 to 200 characters")?;
            (id, decision)
        }
    };
    match review::decide(store, &id, &decision, &cli_actor(), None)? {
        Ok(state) => {
            println!("{id}\t{}", state_label(&state));
            Ok(())
        }
        Err(DecideError::NotFound) => bail!("no submission {id}"),
        Err(DecideError::NotUnderReview(state)) => {
            bail!("{id} is not under review ({})", state_label(&state))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_plain_http;

    #[test]
    fn plain_http_only_on_loopback_unless_asked() {
        for allowed in [
            "127.0.0.1:8080",
            "127.8.9.10:80",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:80",
        ] {
            let addr = allowed.parse().expect("address");
            assert!(check_plain_http(addr, false, false).is_ok(), "{allowed}");
        }
        for refused in [
            "0.0.0.0:8080",
            "192.168.1.10:80",
            "[::]:8080",
            "[fe80::1]:80",
        ] {
            let addr = refused.parse().expect("address");
            let error = check_plain_http(addr, false, false).expect_err(refused);
            assert!(error.to_string().contains("--insecure-http"), "{error}");
            assert!(
                check_plain_http(addr, true, false).is_ok(),
                "TLS on {refused}"
            );
            assert!(
                check_plain_http(addr, false, true).is_ok(),
                "insecure on {refused}"
            );
        }
    }
}
