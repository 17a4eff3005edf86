//! The real `central` as a child process on 127.0.0.1, SIGKILLed and started again on the same
//! database; and the database itself (a SQLite file, or a PostgreSQL database of its own).

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kiosk_server::postgres::PgStore;
use kiosk_server::sqlite::SqliteStore;
use kiosk_server::store::Store;

/// The database a run uses.
pub enum Database {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Database {
    /// A fresh PostgreSQL database on the cluster at `admin_url` (dropped by [`Database::drop_it`]).
    pub fn create_postgres(admin_url: &str) -> anyhow::Result<Database> {
        let name = format!(
            "kiosk_soak_{}_{}",
            std::process::id(),
            kiosk_server::util::hex(&kiosk_server::util::random_bytes::<4>())
        );
        let mut admin = postgres::Client::connect(admin_url, postgres::NoTls)
            .context("connecting to the PostgreSQL cluster (KIOSK_TEST_POSTGRES_URL)")?;
        // Identifiers cannot be parameters; the name is ours and only [a-z0-9_].
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(Database::Postgres {
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// What `central --db` takes.
    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres { admin_url, name } => {
                kiosk_server::postgres::with_database(admin_url, name)
            }
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "SQLite",
            Database::Postgres { .. } => "PostgreSQL",
        }
    }

    /// The server's store on this database, as `central` opens it (migrations included).
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Database::Postgres { .. } => Arc::new(PgStore::connect(&self.url())?),
        })
    }

    pub fn drop_it(&self) {
        if let Database::Postgres { admin_url, name } = self
            && let Ok(mut admin) = postgres::Client::connect(admin_url, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

pub struct CentralProcess {
    exe: PathBuf,
    db_url: String,
    blob_dir: PathBuf,
    log: PathBuf,
    forget_idempotency: bool,
    child: Option<Child>,
    pub addr: SocketAddr,
}

impl CentralProcess {
    pub fn start(
        exe: &Path,
        database: &Database,
        work: &Path,
        forget_idempotency: bool,
    ) -> anyhow::Result<CentralProcess> {
        let mut central = CentralProcess {
            exe: exe.to_owned(),
            db_url: database.url(),
            blob_dir: work.join("central-blobs"),
            log: work.join("central.log"),
            forget_idempotency,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        central.spawn()?;
        Ok(central)
    }

    pub fn blob_dir(&self) -> &Path {
        &self.blob_dir
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        self.addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut command = Command::new(&self.exe);
        command
            .arg("serve")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--blob-dir")
            .arg(&self.blob_dir)
            .env("CENTRAL_DB", &self.db_url)
            .env("CENTRAL_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if self.forget_idempotency {
            command.env("CENTRAL_FAULT_FORGET_IDEMPOTENCY", "1");
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        self.child = Some(child);
        self.wait_until_healthy()
    }

    fn wait_until_healthy(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "central exited at start ({status}); its log: {}",
                    self.log.display()
                );
            }
            if healthy(self.addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("central did not answer /health within 30 s")
    }

    /// SIGKILL: no graceful shutdown, connections dropped mid-request.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Killed and started again on the same database and blob directory, on a new port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for CentralProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.1 200")
}

/// `central` beside this program (the same target directory), unless told otherwise.
pub fn default_exe() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("this program has no directory")?;
    let exe = dir.join("central");
    if !exe.exists() {
        bail!(
            "no `central` beside {} (build it with this crate: `cargo build -p kiosk-server \
             -p kiosk-soak`), or pass --central",
            me.display()
        );
    }
    Ok(exe)
}
