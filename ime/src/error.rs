use std::path::PathBuf;

/// Everything that can go wrong in the input engines.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file the engine needs is not installed. The message names the Debian package.
    #[error("missing {what} at {path}: install the Debian package `{package}`")]
    MissingData {
        /// What the file is, in words.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// The Debian package that ships it.
        package: &'static str,
    },
    /// Rime's deployment (compiling the schemas and dictionaries) did not produce its output.
    #[error("Rime deployment failed: {0}")]
    Deploy(String),
    /// One Rime session per process: the previous one has not ended.
    #[error("another input session is active in this process; end it first")]
    Busy,
    /// librime refused to create a session or select the schema.
    #[error("librime: {0}")]
    Rime(String),
    /// A file-system error while preparing or wiping a directory.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// zinnia could not load its model or classify.
    #[error("handwriting: {0}")]
    Handwriting(String),
}

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
