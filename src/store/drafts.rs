//! Drafts: one per ID number, saved at every step of the wizard.

use kiosk_domain::{Application, idnumber};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError, now_unix};

/// Metadata of a saved draft: nothing personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftInfo {
    pub revision: i64,
    pub updated_at: i64,
}

/// A draft record as stored; one that does not parse is corruption.
pub(super) fn parse_draft(record: &str) -> Result<Application, StoreError> {
    serde_json::from_str(record).map_err(|e| StoreError::corrupt_draft(&e))
}

pub(super) fn draft_key(app: &Application) -> Result<String, StoreError> {
    let key = idnumber::normalize(&app.data().basic.id_number);
    if key.is_empty() {
        Err(StoreError::NoIdNumber)
    } else {
        Ok(key)
    }
}

impl Store {
    /// Saves the draft (insert or replace) in one transaction; returns its new revision.
    pub fn save_draft(&mut self, app: &Application) -> Result<DraftInfo, StoreError> {
        let id = draft_key(app)?;
        let record = serde_json::to_string(app).map_err(StoreError::encode("a draft"))?;
        let now = now_unix();
        let tx = self.conn.transaction()?;
        let revision: i64 = tx.query_row(
            "INSERT INTO drafts (id_number, record, revision, updated_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(id_number) DO UPDATE SET record = excluded.record,
                 revision = drafts.revision + 1, updated_at = excluded.updated_at
             RETURNING revision",
            params![id, record, now],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(DraftInfo {
            revision,
            updated_at: now,
        })
    }

    /// The draft saved for this ID number (any spacing or case of x).
    pub fn load_draft(
        &self,
        id_number: &str,
    ) -> Result<Option<(Application, DraftInfo)>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT record, revision, updated_at FROM drafts WHERE id_number = ?1",
                params![idnumber::normalize(id_number)],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(record, revision, updated_at)| {
            let app = parse_draft(&record)?;
            Ok((
                app,
                DraftInfo {
                    revision,
                    updated_at,
                },
            ))
        })
        .transpose()
    }

    /// Deletes a draft and its material files. Returns whether there was one.
    pub fn delete_draft(&mut self, id_number: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM drafts WHERE id_number = ?1",
            params![idnumber::normalize(id_number)],
        )?;
        if n > 0 {
            // Move the deleted pages out of the WAL into the (secure-deleted) database.
            self.checkpoint()?;
        }
        Ok(n > 0)
    }

    pub fn draft_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM drafts", [], |r| r.get(0))?)
    }

    /// Deletes the drafts last changed before `cutoff_unix`, with their material files, unless a
    /// submission of theirs is still on its way or kept for staff (the outbox needs its files).
    /// Returns how many were deleted.
    pub fn delete_drafts_unchanged_since(&mut self, cutoff_unix: i64) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Material files go with the draft (ON DELETE CASCADE).
        let n = tx.execute(
            "DELETE FROM drafts WHERE updated_at < ?1
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.draft_id = drafts.id_number
                               AND o.state IN ('pending', 'acked', 'failed'))",
            params![cutoff_unix],
        )?;
        tx.commit()?;
        if n > 0 {
            self.checkpoint()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use kiosk_domain::samples::{self, Branch};

    use super::*;

    const ID: &str = "110101199003070011";
    const NAME: &str = "张三";

    fn store_with_a_draft(dir: &std::path::Path) -> Store {
        let mut app = Application::new();
        app.edit(|d| *d = samples::complete(Branch::Employed))
            .expect("a new application is editable");
        assert_eq!(app.data().basic.id_number, ID, "the sample's ID number");
        let mut store = Store::open(dir, &dir.join("kiosk.key")).expect("opens");
        store.save_draft(&app).expect("saves");
        store
    }

    fn overwrite_record(store: &Store, record: &str) {
        store
            .conn
            .execute(
                "UPDATE drafts SET record = ?2 WHERE id_number = ?1",
                params![ID, record],
            )
            .expect("overwrites the record");
    }

    #[test]
    fn a_draft_whose_record_is_garbage_is_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_with_a_draft(dir.path());
        overwrite_record(&store, "{\"data\": {\"basic\": ");
        let failed = store.load_draft(ID).expect_err("garbage is no draft");
        assert!(
            matches!(failed, StoreError::Corrupt { line: 1, .. }),
            "{failed:?}"
        );
        assert!(
            !failed.message_zh().contains("未丢失"),
            "a damaged draft is not promised intact: {}",
            failed.message_zh()
        );
    }

    #[test]
    fn a_corrupt_draft_does_not_quote_the_record_in_its_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_with_a_draft(dir.path());
        // Valid JSON of the wrong shape: serde's message quotes the string it found.
        let record = serde_json::to_string(&format!("{NAME} {ID}")).expect("a JSON string");
        let serde_says = serde_json::from_str::<Application>(&record)
            .expect_err("a string is no draft")
            .to_string();
        assert!(serde_says.contains(NAME), "the premise: {serde_says}");
        overwrite_record(&store, &record);
        let failed = store.load_draft(ID).expect_err("a string is no draft");
        assert!(matches!(failed, StoreError::Corrupt { .. }), "{failed:?}");
        let text = format!("{failed} {failed:?}");
        assert!(!text.contains(NAME) && !text.contains(ID), "{text}");
    }
}
