//! `central`: the reference central server and its admin commands.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use kiosk_domain::catalog::IdType;
use kiosk_domain::privacy::mask_id_number;
use kiosk_domain::{Lang, contact, idnumber};
use kiosk_server::postgres::{PgStore, is_postgres_url};
use kiosk_server::sms::{DisabledSender, FileSender, SmsSender};
use kiosk_server::sqlite::{SqliteStore, path_from_url};
use kiosk_server::store::{
    AuditEntry, DecideError, Decision, NewAccount, Role, Store, state_label,
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
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Imports an accountant already on file, without a phone: they bind one at first login.
    /// The initial password is read from the first line of standard input.
    Import {
        #[arg(long)]
        id_number: String,
        #[arg(long)]
        name: String,
        /// resident_id_card, hk_mo_tw_residence_permit or foreign_permanent_resident_card.
        #[arg(long, default_value = "resident_id_card")]
        id_type: String,
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
    // `ca` handles files only: it must work where there is no database.
    if let Command::Ca { command } = &cli.command {
        return ca_command(command);
    }
    let store = open(&cli.db)?;
    match cli.command {
        Command::Serve {
            listen,
            sms_file,
            tls_cert,
            tls_key,
        } => serve(store, listen, sms_file, tls_cert.zip(tls_key)),
        Command::Ca { command } => ca_command(&command),
        Command::Device { command } => credential_command(&*store, command, Role::Device),
        Command::Reviewer { command } => reviewer_command(&*store, command),
        Command::Audit { limit } => print_audit(&*store, limit),
        Command::Account {
            command:
                AccountCommand::Import {
                    id_number,
                    name,
                    id_type,
                },
        } => import_account(&*store, &id_number, &name, &id_type),
        Command::Review { command } => review_command(&*store, command),
    }
}

fn serve(
    store: Arc<dyn Store>,
    listen: SocketAddr,
    sms_file: Option<PathBuf>,
    tls: Option<(PathBuf, PathBuf)>,
) -> anyhow::Result<()> {
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
        let state = kiosk_server::state(store, sms);
        match tls {
            Some(tls) => kiosk_server::serve_tls(listener, tls, state, shutdown).await?,
            None => kiosk_server::serve(listener, state, shutdown).await?,
        }
        Ok(())
    })
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
                let known = kiosk_domain::region::finance_bureaus()
                    .any(|d| d.code == kiosk_domain::region::DivisionCode(code));
                if !known {
                    bail!("{code} is not a finance bureau of Yunnan");
                }
            }
            enrol(store, &name, Role::Reviewer, bureau)
        }
        ReviewerCommand::Revoke { id } => revoke(store, &id, Role::Reviewer),
    }
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

fn import_account(
    store: &dyn Store,
    id_number: &str,
    name: &str,
    id_type: &str,
) -> anyhow::Result<()> {
    let parsed_type: IdType = serde_json::from_value(serde_json::Value::String(id_type.to_owned()))
        .with_context(|| format!("unknown ID type {id_type}"))?;
    let id = idnumber::parse(id_number, parsed_type, util::today())
        .map_err(|code| anyhow::anyhow!("ID number: {}", code.message(Lang::En)))?;
    contact::check_name(name)
        .map_err(|code| anyhow::anyhow!("name: {}", code.message(Lang::En)))?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    contact::check_password(password)
        .map_err(|code| anyhow::anyhow!("password: {}", code.message(Lang::En)))?;
    let account = NewAccount {
        id_type: id_type.to_owned(),
        id_number: id.as_str().to_owned(),
        name: name.trim().to_owned(),
        mobile: None,
        password_hash: auth::hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))?,
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
