//! Kiosk configuration: a TOML file, then `KIOSK_*` environment variables on top.

use std::path::{Path, PathBuf};

use kiosk_domain::{MaterialLimits, RulesEdition};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::sync::http::{CaError, Endpoint, load_ca};

/// Where the installed kiosk reads its configuration when no path is given.
pub const SYSTEM_CONFIG: &str = "/etc/kiosk/kiosk.toml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Devices {
    /// The ID card reader's serial device (the image's udev symlink).
    pub idcard: PathBuf,
    /// The front camera for the ID photo.
    pub camera: PathBuf,
    /// The document camera (高拍仪).
    pub doccam: PathBuf,
    /// What the front camera is asked for (the closest mode it offers is used).
    pub camera_mode: CameraMode,
    /// The receipt printer's serial device (ESC/POS); none: the kiosk prints no receipt.
    pub printer: Option<PathBuf>,
    pub printer_baud: u32,
    /// What the document camera is asked for.
    pub doccam_mode: CameraMode,
}

/// A camera mode: size in pixels and frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraMode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for Devices {
    fn default() -> Self {
        Devices {
            idcard: "/dev/kiosk/idcard".into(),
            camera: "/dev/kiosk/camera".into(),
            doccam: "/dev/kiosk/doccam".into(),
            printer: None,
            printer_baud: 115_200,
            // 720p is plenty for a 295x413 crop and converts well within a frame period.
            camera_mode: CameraMode {
                width: 1280,
                height: 720,
                fps: 30,
            },
            // 5 MP puts an A4 page at about 1900 px tall, above the 1754 px of 150 dpi.
            doccam_mode: CameraMode {
                width: 2592,
                height: 1944,
                fps: 15,
            },
        }
    }
}

/// The voice of elder mode (`[speech]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Speech {
    /// Elder mode speaks, until hall staff switch it off in staff mode (their choice is kept).
    pub enabled: bool,
    /// Loudness in percent of the synthesised level, until staff change it.
    pub volume: u8,
    /// The ALSA device prompts are played on (`aplay -D`).
    pub device: String,
    /// The programs: espeak-ng synthesises, aplay plays.
    pub espeak: PathBuf,
    pub aplay: PathBuf,
}

impl Default for Speech {
    fn default() -> Self {
        Speech {
            enabled: true,
            volume: 80,
            device: "default".into(),
            espeak: "espeak-ng".into(),
            aplay: "aplay".into(),
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Holds the encrypted store; created 0700 at first start.
    pub data_dir: PathBuf,
    /// The store's key file; `data_dir/kiosk.key` when unset.
    pub key_file: Option<PathBuf>,
    /// The central server.
    pub server_url: String,
    /// The hall's private CA (PEM, `central ca init` makes it). When set, the kiosk trusts this
    /// CA only for the server, never the public or system roots, and `server_url` must be
    /// `https://`. Unset with an `https://` URL: the system's roots are used.
    pub server_ca: Option<PathBuf>,
    /// This kiosk's device token (`central device enrol` prints it once). With a server URL it
    /// turns sync and the server's accounts on; without it the kiosk works alone.
    pub device_token: Option<String>,
    /// Development only: the file `central serve --sms-file` writes codes to; with it the
    /// development screen shows the last code sent, as it does with local accounts.
    pub dev_sms_file: Option<PathBuf>,
    pub devices: Devices,
    pub limits: MaterialLimits,
    /// Seconds without a touch before the "还在吗？" countdown.
    pub idle_timeout_secs: u32,
    /// Hours an unsubmitted draft (with its ID card image and photos) is kept after its last
    /// change, for the applicant to come back to; then it is deleted with its files.
    pub draft_retention_hours: u32,
    /// Development mode: attach materials from image files in this folder instead of the cameras.
    pub dev_materials_dir: Option<PathBuf>,
    /// Argon2 hash of the hall staff's PIN (`kiosk staff-pin-hash` makes one).
    pub staff_pin_hash: Option<String>,
    pub speech: Speech,
    /// The service hall, as the receipt names it (办理地点).
    pub hall_name: String,
}

/// Debug output names the secrets without showing them (the device token, the PIN hash).
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| if s.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("key_file", &self.key_file)
            .field("server_url", &self.server_url)
            .field("server_ca", &self.server_ca)
            .field("device_token", &secret(&self.device_token))
            .field("dev_sms_file", &self.dev_sms_file)
            .field("devices", &self.devices)
            .field("limits", &self.limits)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("draft_retention_hours", &self.draft_retention_hours)
            .field("dev_materials_dir", &self.dev_materials_dir)
            .field("staff_pin_hash", &secret(&self.staff_pin_hash))
            .field("speech", &self.speech)
            .field("hall_name", &self.hall_name)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: "/var/lib/kiosk".into(),
            key_file: None,
            server_url: "http://127.0.0.1:8780".into(),
            server_ca: None,
            device_token: None,
            dev_sms_file: None,
            devices: Devices::default(),
            limits: MaterialLimits::default(),
            idle_timeout_secs: 90,
            draft_retention_hours: 24,
            dev_materials_dir: None,
            staff_pin_hash: None,
            speech: Speech::default(),
            hall_name: String::new(),
        }
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name} has an invalid value: {message}")]
    Env { name: &'static str, message: String },
    #[error("{0}")]
    ServerCa(#[from] CaError),
    #[error("[speech] volume 是 0–100 的百分数 / [speech] volume is a percentage, 0–100, not {0}")]
    Volume(u8),
    #[error(
        "设置了 server_ca，但服务器地址 {url} 不是 https:// / server_ca is set but the server URL {url} is not https://"
    )]
    ServerCaWithoutHttps { url: String },
    #[error(
        "[limits] 比全省规则宽松，所拍文件会被服务器拒收；只能更严格 / [limits] are looser than the province's rule {edition} (photo {rule_photo_min}–{rule_photo_max} B, at least {rule_width}x{rule_height} px; others at most {rule_other_max} B): the server would refuse such files; they may only be stricter"
    )]
    LooserLimits {
        edition: &'static str,
        rule_photo_min: u64,
        rule_photo_max: u64,
        rule_width: u32,
        rule_height: u32,
        rule_other_max: u64,
    },
}

impl Config {
    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("kiosk.key"))
    }

    /// The server (URL and the CA to trust) and the device token when both are set: sync and
    /// remote accounts are on.
    pub fn sync_target(&self) -> Option<(Endpoint, &str)> {
        let url = self.server_url.trim();
        let token = self.device_token.as_deref().map(str::trim).unwrap_or("");
        (!url.is_empty() && !token.is_empty())
            .then(|| (Endpoint::new(url, self.server_ca.as_deref()), token))
    }

    /// Checks what can only be checked on the machine: the server CA file is there and holds a
    /// PEM certificate, and it is used with `https://` (with plain HTTP it would protect
    /// nothing while looking as if it did).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.speech.volume > 100 {
            return Err(ConfigError::Volume(self.speech.volume));
        }
        let rule = RulesEdition::CURRENT.limits();
        if !self.limits.within(&rule) {
            return Err(ConfigError::LooserLimits {
                edition: RulesEdition::CURRENT.name(),
                rule_photo_min: rule.photo_min_bytes_exclusive + 1,
                rule_photo_max: rule.photo_max_bytes,
                rule_width: rule.photo_min_width,
                rule_height: rule.photo_min_height,
                rule_other_max: rule.other_max_bytes,
            });
        }
        if let Some(ca) = &self.server_ca {
            load_ca(ca)?;
            let url = self.server_url.trim();
            if !url.is_empty() && !url.to_ascii_lowercase().starts_with("https://") {
                return Err(ConfigError::ServerCaWithoutHttps {
                    url: url.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Loads `path` (or the system file if it exists, or the defaults), then applies the
    /// environment. `env` is passed in so tests need not touch the process environment.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let system = Path::new(SYSTEM_CONFIG);
        let path = path.or_else(|| system.exists().then_some(system));
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::from_toml(&text).map_err(|message| ConfigError::Parse {
                    path: path.to_owned(),
                    message,
                })?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("KIOSK_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = env("KIOSK_KEY_FILE") {
            self.key_file = Some(v.into());
        }
        if let Some(v) = env("KIOSK_SERVER_URL") {
            self.server_url = v;
        }
        if let Some(v) = env("KIOSK_SERVER_CA") {
            self.server_ca = Some(v.into()).filter(|p: &PathBuf| !p.as_os_str().is_empty());
        }
        if let Some(v) = env("KIOSK_DEVICE_TOKEN") {
            self.device_token = Some(v).filter(|t| !t.trim().is_empty());
        }
        if let Some(v) = env("KIOSK_DEV_SMS_FILE") {
            self.dev_sms_file = Some(v.into());
        }
        if let Some(v) = env("KIOSK_IDCARD_PORT") {
            self.devices.idcard = v.into();
        }
        if let Some(v) = env("KIOSK_CAMERA") {
            self.devices.camera = v.into();
        }
        if let Some(v) = env("KIOSK_DOCCAM") {
            self.devices.doccam = v.into();
        }
        if let Some(v) = env("KIOSK_STAFF_PIN_HASH") {
            self.staff_pin_hash = Some(v);
        }
        if let Some(v) = env("KIOSK_PRINTER") {
            self.devices.printer = Some(v.into()).filter(|p: &PathBuf| !p.as_os_str().is_empty());
        }
        if let Some(v) = env("KIOSK_HALL_NAME") {
            self.hall_name = v;
        }
        if let Some(v) = env("KIOSK_AUDIO_DEVICE") {
            self.speech.device = v;
        }
        if let Some(v) = env("KIOSK_DEV_MATERIALS") {
            self.dev_materials_dir = Some(v.into());
        }
        if let Some(v) = env("KIOSK_DRAFT_RETENTION_HOURS") {
            self.draft_retention_hours = v.trim().parse().map_err(|_| ConfigError::Env {
                name: "KIOSK_DRAFT_RETENTION_HOURS",
                message: "expected a whole number of hours".into(),
            })?;
        }
        if let Some(v) = env("KIOSK_IDLE_TIMEOUT_SECS") {
            self.idle_timeout_secs = v.trim().parse().map_err(|_| ConfigError::Env {
                name: "KIOSK_IDLE_TIMEOUT_SECS",
                message: "expected a whole number of seconds".into(),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_may_be_stricter_than_the_rule_never_looser() {
        let stricter = Config {
            limits: MaterialLimits::id_card_photo_preset(),
            ..Config::default()
        };
        assert!(stricter.validate().is_ok());
        for looser in [
            MaterialLimits {
                photo_max_bytes: 30_000,
                ..MaterialLimits::default()
            },
            MaterialLimits {
                photo_min_width: 200,
                ..MaterialLimits::default()
            },
            MaterialLimits {
                other_max_bytes: 500_000,
                ..MaterialLimits::default()
            },
        ] {
            let config = Config {
                limits: looser,
                ..Config::default()
            };
            let refused = config.validate().expect_err("looser than the rule");
            assert!(refused.to_string().contains("服务器拒收"), "{refused}");
        }
    }

    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kiosk.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/kiosk\"\nserver_url = \"https://central.example\"\n\
             [limits]\nphoto_min_width = 358\nphoto_min_height = 441\n[devices]\nidcard = \"/dev/ttyUSB0\"\n\
             doccam_mode = { width = 3264, height = 2448, fps = 10 }\n",
        )
        .expect("write");
        let env =
            |name: &str| (name == "KIOSK_SERVER_URL").then(|| "http://127.0.0.1:9".to_owned());
        let config = Config::load(Some(&file), env).expect("loads");
        assert_eq!(config.data_dir, PathBuf::from("/srv/kiosk"));
        assert_eq!(config.server_url, "http://127.0.0.1:9");
        assert_eq!(config.limits.photo_min_width, 358);
        assert_eq!(config.limits.photo_max_bytes, 20_000);
        assert_eq!(config.devices.idcard, PathBuf::from("/dev/ttyUSB0"));
        assert_eq!(config.devices.camera, PathBuf::from("/dev/kiosk/camera"));
        assert_eq!(
            config.devices.doccam_mode,
            CameraMode {
                width: 3264,
                height: 2448,
                fps: 10
            }
        );
        assert_eq!(config.devices.camera_mode.width, 1280, "default kept");
        assert_eq!(config.key_file(), PathBuf::from("/srv/kiosk/kiosk.key"));
    }

    #[test]
    fn sync_needs_a_device_token() {
        let mut config = Config::default();
        assert_eq!(config.sync_target(), None);
        let env = |name: &str| (name == "KIOSK_DEVICE_TOKEN").then(|| " ck1.1.abc ".to_owned());
        config.apply_env(env).expect("env");
        assert_eq!(
            config.sync_target(),
            Some(("http://127.0.0.1:8780".into(), "ck1.1.abc"))
        );
        config.server_url.clear();
        assert_eq!(config.sync_target(), None);
        let file = Config::from_toml("device_token = \"ck1.2.def\"").expect("parses");
        assert_eq!(file.device_token.as_deref(), Some("ck1.2.def"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = Config {
            device_token: Some("ck1.abc.s3cr3t".into()),
            staff_pin_hash: Some("$argon2id$v=19$hash".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("argon2id"),
            "{shown}"
        );
        assert!(shown.contains("device_token: \"<set>\""));
    }

    #[test]
    fn server_ca_is_checked_at_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kiosk.toml");
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &file,
            format!(
                "server_url = \"https://central.example\"\nserver_ca = \"{}\"\n",
                ca.display()
            ),
        )
        .expect("write");
        let no_env = |_: &str| None;
        let missing = Config::load(Some(&file), no_env).expect_err("missing CA file");
        assert!(matches!(
            missing,
            ConfigError::ServerCa(CaError::Read { .. })
        ));
        assert!(missing.to_string().contains("服务器 CA"), "{missing}");
        std::fs::write(&ca, "not PEM").expect("write");
        assert!(matches!(
            Config::load(Some(&file), no_env),
            Err(ConfigError::ServerCa(CaError::NotPem { .. }))
        ));

        let other = dir.path().join("other.pem");
        let env = |name: &str| (name == "KIOSK_SERVER_CA").then(|| other.display().to_string());
        let config = Config::load(Some(&file), env).expect_err("env overrides the file");
        assert!(config.to_string().contains("other.pem"), "{config}");

        // A real CA, as `central ca init` makes it.
        let hall = kiosk_server::tls::ca_init(&dir.path().join("hall")).expect("ca init");
        let env = |name: &str| (name == "KIOSK_SERVER_CA").then(|| hall.cert.display().to_string());
        let config = Config::load(Some(&file), env).expect("a PEM CA with https");
        assert_eq!(config.server_ca.as_deref(), Some(hall.cert.as_path()));
        let http = |name: &str| match name {
            "KIOSK_SERVER_CA" => Some(hall.cert.display().to_string()),
            "KIOSK_SERVER_URL" => Some("http://central.example".to_owned()),
            _ => None,
        };
        assert!(matches!(
            Config::load(Some(&file), http),
            Err(ConfigError::ServerCaWithoutHttps { .. })
        ));

        let mut config = Config {
            server_ca: Some(ca.clone()),
            device_token: Some("ck1.1.abc".into()),
            ..Config::default()
        };
        assert!(format!("{config:?}").contains("ca.pem"), "shown in Debug");
        config.server_ca = None;
        config.validate().expect("no CA, nothing to check");
        let (endpoint, _) = config.sync_target().expect("target");
        assert_eq!(endpoint.ca, None);
    }

    #[test]
    fn the_images_configuration_is_valid() {
        let text = include_str!("../image-build/rootfs/etc/kiosk/kiosk.toml");
        let config = Config::from_toml(text).expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.speech.volume, 80);
        assert!(config.speech.enabled);
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(Config::from_toml("data_dri = \"/x\"").is_err());
        let loud = Config::from_toml("[speech]\nvolume = 150").expect("parses");
        assert!(matches!(loud.validate(), Err(ConfigError::Volume(150))));
        let bad_env = |name: &str| (name == "KIOSK_IDLE_TIMEOUT_SECS").then(|| "soon".to_owned());
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("empty.toml");
        std::fs::write(&file, "").expect("write");
        assert!(matches!(
            Config::load(Some(&file), bad_env),
            Err(ConfigError::Env { .. })
        ));
    }
}
