//! The blob store and its upload claims under arbitrary sequences of operations on a few
//! blobs: appends in order, truncated, oversized (past the file's true end), at wrong offsets
//! and interleaved between blobs; completions with right and wrong bytes; reads, removals and
//! claims held across other uploads. Checked against a model after every step: the store holds
//! exactly the bytes appended in order, a blob completes only when its bytes hash to its name
//! and then reads back exactly, a wrong offset changes nothing, one upload per blob at a time.
//! No panic.
#![no_main]

use std::path::PathBuf;

use kiosk_server::blobs::{BlobError, BlobStore, DiskBlobs, UploadClaim, Uploading};
use kiosk_server::util::sha256_hex;
use libfuzzer_sys::fuzz_target;

/// What the store should hold of one blob.
#[derive(Default, Clone)]
struct Model {
    partial: Option<Vec<u8>>,
    complete: Option<Vec<u8>>,
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiosk-blobs-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    // Three files: two named by their true hash, one by the hash of something else, so no
    // upload of it may ever complete.
    let split = |i: usize| data[i] as usize % 48;
    let (a, b) = (split(0), split(1));
    let rest = &data[2..];
    let first = rest[..a.min(rest.len())].to_vec();
    let second = rest[a.min(rest.len())..(a + b).min(rest.len())].to_vec();
    let files = [first.clone(), second, first.iter().rev().copied().collect()];
    let names = [
        sha256_hex(&files[0]),
        sha256_hex(&files[1]),
        sha256_hex(b"not the third file's bytes"),
    ];
    if names[0] == names[1] {
        // Two models of one blob would disagree with each other, not with the store.
        return;
    }
    let ops = &rest[(a + b).min(rest.len())..];

    let dir = scratch();
    let store = DiskBlobs::open(&dir).expect("blob dir");
    let uploading = Uploading::default();
    let mut claims: [Option<UploadClaim>; 3] = [None, None, None];
    let mut models: [Model; 3] = Default::default();

    for op in ops.chunks(3) {
        let &[kind, which, arg] = op else { break };
        let i = which as usize % 3;
        let name = &names[i];
        let model = &mut models[i];
        match kind % 7 {
            // Append the next bytes of the true file, or past its end (oversized), or junk.
            0 => {
                let held = model.partial.as_ref().map_or(0, Vec::len);
                let take = arg as usize % 24;
                let bytes: Vec<u8> = if arg & 0x80 == 0 {
                    files[i].iter().skip(held).take(take).copied().collect()
                } else {
                    (0..take).map(|n| n as u8 ^ arg).collect()
                };
                let answer = store.append(name, held as u64, &bytes);
                let partial = model.partial.get_or_insert_with(Vec::new);
                partial.extend_from_slice(&bytes);
                assert_eq!(answer.expect("an append at the held offset"), partial.len() as u64);
            }
            // An append at a wrong offset: refused, nothing changes.
            1 => {
                let held = model.partial.as_ref().map_or(0, Vec::len) as u64;
                let wrong = if arg & 1 == 0 { held + 1 + u64::from(arg % 7) } else { held.wrapping_sub(1) };
                match store.append(name, wrong, b"xyz") {
                    Err(BlobError::WrongOffset { offset, held: h }) => {
                        assert_eq!((offset, h), (wrong, held));
                    }
                    other => panic!("a wrong offset must be refused: {other:?}"),
                }
                model.partial.get_or_insert_with(Vec::new);
            }
            // Complete: only bytes that hash to the name; a mismatch drops what was held.
            2 => {
                let answer = store.complete(name);
                match model.partial.take() {
                    None => assert!(answer.is_err(), "nothing to complete"),
                    Some(bytes) if sha256_hex(&bytes) == *name => {
                        answer.expect("the right bytes complete");
                        model.complete = Some(bytes);
                    }
                    Some(_) => assert!(
                        matches!(answer, Err(BlobError::HashMismatch)),
                        "wrong bytes must not complete: {answer:?}"
                    ),
                }
            }
            3 => {
                store.remove(name).expect("remove");
                *model = Model::default();
            }
            // One upload per blob at a time.
            4 => {
                let claim = uploading.claim(name);
                if claims[i].is_some() {
                    assert!(claim.is_none(), "a second upload of a blob in progress");
                } else {
                    claims[i] = Some(claim.expect("a free blob can be claimed"));
                }
            }
            5 => claims[i] = None,
            // A wrongly named blob is refused before any file is touched.
            _ => {
                let bad = format!("{}G", &name[..63]);
                assert!(matches!(store.held(&bad), Err(BlobError::BadName)));
                assert!(matches!(store.append(&bad, 0, b"x"), Err(BlobError::BadName)));
            }
        }
        let held = store.held(name).expect("held");
        match &model.complete {
            Some(bytes) => {
                assert_eq!((held.bytes, held.complete), (bytes.len() as u64, true));
                assert_eq!(store.read(name).expect("read").as_deref(), Some(bytes.as_slice()));
            }
            None => {
                let partial = model.partial.as_ref().map_or(0, Vec::len) as u64;
                assert_eq!((held.bytes, held.complete), (partial, false));
                assert!(store.read(name).expect("read").is_none());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
});
