//! The accounts of the local account service (a kiosk without a central server).

use kiosk_domain::idnumber;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now_unix};

/// An account row of the local account service.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub id_number: String,
    pub id_type: String,
    pub name: String,
    pub mobile: String,
    pub password_hash: String,
}

impl Store {
    /// Adds an account; `false` if the ID number is taken.
    pub fn insert_account(&mut self, account: &StoredAccount) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO accounts (id_number, id_type, name, mobile, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id_number) DO NOTHING",
            params![
                account.id_number,
                account.id_type,
                account.name,
                account.mobile,
                account.password_hash,
                now_unix()
            ],
        )?;
        Ok(n == 1)
    }

    pub fn account(&self, id_number: &str) -> Result<Option<StoredAccount>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id_number, id_type, name, mobile, password_hash FROM accounts WHERE id_number = ?1",
                params![idnumber::normalize(id_number)],
                |r| {
                    Ok(StoredAccount {
                        id_number: r.get(0)?,
                        id_type: r.get(1)?,
                        name: r.get(2)?,
                        mobile: r.get(3)?,
                        password_hash: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn set_password_hash(&mut self, id_number: &str, hash: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE accounts SET password_hash = ?2 WHERE id_number = ?1",
            params![idnumber::normalize(id_number), hash],
        )?;
        Ok(n == 1)
    }
}
