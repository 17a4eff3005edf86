//! The input methods' integration tests, one binary (linking one per file cost more than the
//! tests). The phrase list they share with the examples stays in `tests/fixtures/`.

mod handwriting;
mod rime;
