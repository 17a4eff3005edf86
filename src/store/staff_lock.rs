//! Wrong staff PINs and the lock they lead to.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError, now_unix};

/// Wrong staff PINs and the lock they led to (nothing personal). Kept in the store so that
/// neither an idle wipe nor a restart of the kiosk resets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaffLock {
    /// Wrong PINs since the last right one or the last timed lock.
    pub recent_failures: u32,
    /// Wrong PINs since the last right one or the hall admin's unlock.
    pub total_failures: u32,
    /// A timed lock runs until then (ms since the epoch); 0 when none was set since the last
    /// right PIN or unlock.
    pub locked_until_ms: i64,
    /// Only the hall admin lifts this lock (`kiosk staff unlock`).
    pub admin_locked: bool,
}

/// How wrong staff PINs lock: `attempts` in a row lock for `lockout_ms`; `admin_after` without a
/// right one in between lock until the hall admin lifts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffLockRules {
    pub attempts: u32,
    pub lockout_ms: i64,
    pub admin_after: u32,
}

impl StaffLock {
    /// The lock after one more wrong PIN at `now_ms`.
    pub fn after_failure(self, now_ms: i64, rules: StaffLockRules) -> StaffLock {
        let recent = self.recent_failures.saturating_add(1);
        let total = self.total_failures.saturating_add(1);
        if self.admin_locked || total >= rules.admin_after {
            return StaffLock {
                recent_failures: recent,
                total_failures: total,
                admin_locked: true,
                ..self
            };
        }
        if recent >= rules.attempts {
            return StaffLock {
                recent_failures: 0,
                total_failures: total,
                locked_until_ms: now_ms.saturating_add(rules.lockout_ms),
                admin_locked: false,
            };
        }
        StaffLock {
            recent_failures: recent,
            total_failures: total,
            ..self
        }
    }
}

impl Store {
    /// The staff PIN's failures and lock as last committed.
    pub fn staff_lock(&self) -> Result<StaffLock, StoreError> {
        read_staff_lock(&self.conn)
    }

    /// Counts one wrong staff PIN and commits it (with the lock it leads to) before returning,
    /// so the answer shown for a PIN is never ahead of what a restart would find.
    pub fn staff_pin_wrong(
        &mut self,
        now_ms: i64,
        rules: StaffLockRules,
    ) -> Result<StaffLock, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let lock = read_staff_lock(&tx)?.after_failure(now_ms, rules);
        write_staff_lock(&tx, &lock)?;
        tx.commit()?;
        Ok(lock)
    }

    /// A right staff PIN clears the counts and the timed lock, but never the admin's lock.
    pub fn staff_pin_right(&mut self) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE staff_lock SET recent = 0, total = 0, locked_until = 0, updated_at = ?1
             WHERE id = 1 AND admin_locked = 0",
            params![now_unix()],
        )?;
        Ok(())
    }

    /// The hall admin lifts every staff lock; returns what it was.
    pub fn staff_unlock(&mut self) -> Result<StaffLock, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = read_staff_lock(&tx)?;
        write_staff_lock(&tx, &StaffLock::default())?;
        tx.commit()?;
        Ok(before)
    }
}

fn read_staff_lock(conn: &Connection) -> Result<StaffLock, StoreError> {
    let lock = conn
        .query_row(
            "SELECT recent, total, locked_until, admin_locked FROM staff_lock WHERE id = 1",
            [],
            |r| {
                Ok(StaffLock {
                    recent_failures: r.get(0)?,
                    total_failures: r.get(1)?,
                    locked_until_ms: r.get(2)?,
                    admin_locked: r.get::<_, i64>(3)? != 0,
                })
            },
        )
        .optional()?;
    Ok(lock.unwrap_or_default())
}

fn write_staff_lock(conn: &Connection, lock: &StaffLock) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO staff_lock (id, recent, total, locked_until, admin_locked, updated_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET recent = excluded.recent, total = excluded.total,
             locked_until = excluded.locked_until, admin_locked = excluded.admin_locked,
             updated_at = excluded.updated_at",
        params![
            lock.recent_failures,
            lock.total_failures,
            lock.locked_until_ms,
            lock.admin_locked as i64,
            now_unix()
        ],
    )?;
    Ok(())
}
