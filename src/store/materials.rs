//! Material files (photos, scans) of a draft, in the same encrypted database.

use kiosk_domain::idnumber;
use kiosk_domain::record::MaterialFile;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, key, now_unix, random_id};

impl Store {
    /// Stores a material file for the draft of `id_number`; returns its reference (without the
    /// image size, which the caller knows).
    pub fn put_material(
        &mut self,
        id_number: &str,
        content: &[u8],
    ) -> Result<MaterialFile, StoreError> {
        let sha256 = key::hex(&Sha256::digest(content));
        let blob_id = random_id("a material file's id")?;
        let owner = idnumber::normalize(id_number);
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM drafts WHERE id_number = ?1)",
            params![owner],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NoSuchDraft);
        }
        self.conn.execute(
            "INSERT INTO material_blobs (blob_id, id_number, sha256, content, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![blob_id, owner, sha256, content, now_unix()],
        )?;
        Ok(MaterialFile {
            blob_id,
            bytes: content.len() as u64,
            width: 0,
            height: 0,
            sha256,
        })
    }

    pub fn material(&self, blob_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT content FROM material_blobs WHERE blob_id = ?1",
                params![blob_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn delete_material(&mut self, blob_id: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM material_blobs WHERE blob_id = ?1",
            params![blob_id],
        )?;
        Ok(n > 0)
    }

    pub fn material_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM material_blobs", [], |r| r.get(0))?)
    }
}
