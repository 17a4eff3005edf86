//! Schema migrations, tracked in `PRAGMA user_version`. Append only: never edit a shipped step.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: drafts keyed by normalised ID number; material files beside them.
    "CREATE TABLE drafts (
         id_number  TEXT PRIMARY KEY NOT NULL,
         record     TEXT NOT NULL,
         revision   INTEGER NOT NULL,
         updated_at INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE material_blobs (
         blob_id    TEXT PRIMARY KEY NOT NULL,
         id_number  TEXT NOT NULL REFERENCES drafts(id_number) ON DELETE CASCADE,
         sha256     TEXT NOT NULL,
         content    BLOB NOT NULL,
         created_at INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX material_blobs_by_owner ON material_blobs(id_number);",
    // 2: applicant accounts of the local account service (until the central server is used).
    "CREATE TABLE accounts (
         id_number     TEXT PRIMARY KEY NOT NULL,
         id_type       TEXT NOT NULL,
         name          TEXT NOT NULL,
         mobile        TEXT NOT NULL,
         password_hash TEXT NOT NULL,
         created_at    INTEGER NOT NULL
     ) STRICT;",
    // 3: the sync outbox. A row is written with the submitted draft in one transaction; its
    // idempotency key is made once and never changes. `application_json` is the exact value
    // sent (and hashed); it and `draft_id` are cleared when the local personal data is purged.
    "CREATE TABLE outbox (
         id               INTEGER PRIMARY KEY,
         idempotency_key  TEXT NOT NULL UNIQUE,
         draft_id         TEXT,
         application_json TEXT,
         content_sha256   TEXT NOT NULL,
         state            TEXT NOT NULL CHECK (state IN ('pending', 'acked', 'done', 'failed')),
         attempts         INTEGER NOT NULL DEFAULT 0,
         next_attempt_at  INTEGER NOT NULL,
         last_error       TEXT,
         submission_id    TEXT,
         review_json      TEXT,
         next_poll_at     INTEGER,
         session_over     INTEGER NOT NULL DEFAULT 0,
         created_at       INTEGER NOT NULL,
         acked_at         INTEGER,
         done_at          INTEGER
     ) STRICT;
     CREATE INDEX outbox_by_state ON outbox(state, next_attempt_at);
     CREATE INDEX outbox_by_draft ON outbox(draft_id);
     CREATE TABLE outbox_materials (
         outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
         position  INTEGER NOT NULL,
         kind      TEXT NOT NULL,
         sha256    TEXT NOT NULL,
         blob_id   TEXT NOT NULL,
         PRIMARY KEY (outbox_id, position)
     ) STRICT;",
    // 4: the applicant session's grant on each submission (`kiosk_wire::grant`), made while
    // the applicant is logged in; the session token itself is never stored.
    "ALTER TABLE outbox ADD COLUMN grant_session_id TEXT;
     ALTER TABLE outbox ADD COLUMN grant_signature TEXT;",
    // 5: wrong staff PINs, kept across visits and restarts of the kiosk (one row). `recent` counts
    // towards the timed lock (`locked_until`, ms), `total` towards the lock only the hall admin
    // lifts (`kiosk staff unlock`); a right PIN clears both, the admin's unlock clears all.
    "CREATE TABLE staff_lock (
         id           INTEGER PRIMARY KEY CHECK (id = 1),
         recent       INTEGER NOT NULL DEFAULT 0,
         total        INTEGER NOT NULL DEFAULT 0,
         locked_until INTEGER NOT NULL DEFAULT 0,
         admin_locked INTEGER NOT NULL DEFAULT 0,
         updated_at   INTEGER NOT NULL
     ) STRICT;
     INSERT INTO staff_lock (id, updated_at) VALUES (1, 0);",
    // 6: copies of central-server accounts that earlier builds cached here ("remote" is never a
    // password hash): with a central server the kiosk keeps no account beyond the visit.
    "DELETE FROM accounts WHERE password_hash = 'remote';",
    // 7: the applicant's version of each submission (the session's next version), by which the
    // server orders an applicant's submissions from several kiosks.
    "ALTER TABLE outbox ADD COLUMN version INTEGER;",
    // 8: the spoken guidance as hall staff set it (one row, absent until they change it: the
    // configuration's values hold until then).
    "CREATE TABLE voice_settings (
         id         INTEGER PRIMARY KEY CHECK (id = 1),
         enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
         volume     INTEGER NOT NULL CHECK (volume BETWEEN 0 AND 100),
         updated_at INTEGER NOT NULL
     ) STRICT;",
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: CURRENT_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "store schema migrated");
    }
    Ok(())
}
