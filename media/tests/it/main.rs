//! The media pipeline's integration tests, one binary: decoding, compression, documents, photos,
//! previews.

mod common;

mod compress;
mod decode;
mod document;
mod photo;
mod preview;
