//! Handwriting recognition through zinnia (Debian `libzinnia-dev`, BSD-3) with the simplified
//! Chinese model from `tegaki-zinnia-simplified-chinese` (LGPL-2.1+).
//!
//! A character is a list of strokes, each a list of `(x, y)` points in a square writing box of
//! `size` pixels (origin top left). [`Recognizer::classify`] returns the best candidates, best first.

use std::ffi::{CStr, CString, c_char, c_int};
use std::path::{Path, PathBuf};

use crate::Error;

/// Where Debian's `tegaki-zinnia-simplified-chinese` installs the model.
pub const DEFAULT_MODEL: &str = "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model";

/// The Debian package that ships [`DEFAULT_MODEL`].
pub const MODEL_PACKAGE: &str = "tegaki-zinnia-simplified-chinese";

/// How many candidates the keyboard shows (stroke-order errors push the right one down the list).
pub const CANDIDATES: usize = 10;

#[repr(C)]
struct ZRecognizer {
    _private: [u8; 0],
}
#[repr(C)]
struct ZCharacter {
    _private: [u8; 0],
}
#[repr(C)]
struct ZResult {
    _private: [u8; 0],
}

unsafe extern "C" {
    fn zinnia_recognizer_new() -> *mut ZRecognizer;
    fn zinnia_recognizer_destroy(r: *mut ZRecognizer);
    fn zinnia_recognizer_open(r: *mut ZRecognizer, filename: *const c_char) -> c_int;
    fn zinnia_recognizer_strerror(r: *mut ZRecognizer) -> *const c_char;
    fn zinnia_recognizer_classify(
        r: *mut ZRecognizer,
        c: *const ZCharacter,
        nbest: usize,
    ) -> *mut ZResult;
    fn zinnia_character_new() -> *mut ZCharacter;
    fn zinnia_character_destroy(c: *mut ZCharacter);
    fn zinnia_character_set_width(c: *mut ZCharacter, width: usize);
    fn zinnia_character_set_height(c: *mut ZCharacter, height: usize);
    fn zinnia_character_add(c: *mut ZCharacter, id: usize, x: c_int, y: c_int) -> c_int;
    fn zinnia_result_value(r: *mut ZResult, i: usize) -> *const c_char;
    fn zinnia_result_score(r: *mut ZResult, i: usize) -> f32;
    fn zinnia_result_size(r: *mut ZResult) -> usize;
    fn zinnia_result_destroy(r: *mut ZResult);
}

/// One recognised character and zinnia's score for it (higher is better).
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    /// The character.
    pub text: String,
    /// zinnia's score.
    pub score: f32,
}

/// A loaded zinnia model. Cheap to use, about 27 MB to hold; load once and keep it.
pub struct Recognizer {
    raw: *mut ZRecognizer,
}

// SAFETY: zinnia's recognizer holds the read-only model; `classify` takes `&self` but zinnia keeps
// per-call state in the result object, and we never share the pointer across threads without
// `&mut` (the type is Send, not Sync).
unsafe impl Send for Recognizer {}

impl Recognizer {
    /// Loads the model from [`DEFAULT_MODEL`].
    pub fn open_default() -> Result<Self, Error> {
        Self::open(Path::new(DEFAULT_MODEL))
    }

    /// Loads a zinnia model file.
    pub fn open(model: &Path) -> Result<Self, Error> {
        if !model.is_file() {
            return Err(Error::MissingData {
                what: "the zinnia handwriting model",
                path: model.to_path_buf(),
                package: MODEL_PACKAGE,
            });
        }
        let c_path = CString::new(model.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Handwriting("model path contains a NUL byte".into()))?;
        // SAFETY: plain C constructor; checked for null below.
        let raw = unsafe { zinnia_recognizer_new() };
        if raw.is_null() {
            return Err(Error::Handwriting("zinnia_recognizer_new failed".into()));
        }
        let recognizer = Recognizer { raw };
        // SAFETY: `raw` is a live recognizer and `c_path` a NUL-terminated string.
        if unsafe { zinnia_recognizer_open(raw, c_path.as_ptr()) } == 0 {
            // SAFETY: strerror returns a string owned by the recognizer, valid until destroy.
            let msg = unsafe { cstr_lossy(zinnia_recognizer_strerror(raw)) };
            return Err(Error::Handwriting(format!(
                "cannot open {}: {msg}",
                PathBuf::from(model).display()
            )));
        }
        Ok(recognizer)
    }

    /// Recognises one character written in a `size` x `size` box; returns up to `nbest`
    /// candidates, best first. Empty strokes are skipped; no strokes gives no candidates.
    pub fn classify(
        &self,
        strokes: &[Vec<(i32, i32)>],
        size: u32,
        nbest: usize,
    ) -> Result<Vec<Guess>, Error> {
        let strokes: Vec<&Vec<(i32, i32)>> = strokes.iter().filter(|s| !s.is_empty()).collect();
        if strokes.is_empty() || nbest == 0 {
            return Ok(Vec::new());
        }
        // SAFETY: plain C constructor; checked for null below and destroyed by the guard.
        let character = unsafe { zinnia_character_new() };
        if character.is_null() {
            return Err(Error::Handwriting("zinnia_character_new failed".into()));
        }
        struct CharGuard(*mut ZCharacter);
        impl Drop for CharGuard {
            fn drop(&mut self) {
                // SAFETY: created by zinnia_character_new, destroyed once.
                unsafe { zinnia_character_destroy(self.0) }
            }
        }
        let _guard = CharGuard(character);
        // SAFETY: `character` is live for the whole block.
        unsafe {
            zinnia_character_set_width(character, size as usize);
            zinnia_character_set_height(character, size as usize);
            for (id, stroke) in strokes.iter().enumerate() {
                for &(x, y) in stroke.iter() {
                    zinnia_character_add(character, id, x, y);
                }
            }
        }
        // SAFETY: both pointers are live; the result is destroyed below.
        let result = unsafe { zinnia_recognizer_classify(self.raw, character, nbest) };
        if result.is_null() {
            // SAFETY: see `open`.
            let msg = unsafe { cstr_lossy(zinnia_recognizer_strerror(self.raw)) };
            return Err(Error::Handwriting(format!("classify failed: {msg}")));
        }
        let mut out = Vec::new();
        // SAFETY: indices below `zinnia_result_size`; strings are copied before destroy.
        unsafe {
            for i in 0..zinnia_result_size(result) {
                out.push(Guess {
                    text: cstr_lossy(zinnia_result_value(result, i)),
                    score: zinnia_result_score(result, i),
                });
            }
            zinnia_result_destroy(result);
        }
        Ok(out)
    }

    /// The keyboard's call: [`CANDIDATES`] characters, best first.
    pub fn candidates(&self, strokes: &[Vec<(i32, i32)>], size: u32) -> Result<Vec<String>, Error> {
        Ok(self
            .classify(strokes, size, CANDIDATES)?
            .into_iter()
            .map(|g| g.text)
            .collect())
    }
}

impl Drop for Recognizer {
    fn drop(&mut self) {
        // SAFETY: created by zinnia_recognizer_new, destroyed once.
        unsafe { zinnia_recognizer_destroy(self.raw) }
    }
}

/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
