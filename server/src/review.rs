//! Review decisions, shared by the reviewer API and the `central review` command.

use kiosk_domain::ReviewState;
use tracing::info;

use crate::store::{BureauScope, DecideError, Decision, Store, StoreResult, state_tag};
use crate::util::now;

/// Longest rejection reason, in characters.
pub const REASON_MAX_CHARS: usize = 200;

/// A rejection with a usable reason, or `None` when the reason is empty or too long.
pub fn rejection(reason: &str) -> Option<Decision> {
    let reason = reason.trim();
    (!reason.is_empty() && reason.chars().count() <= REASON_MAX_CHARS).then(|| Decision::Reject {
        reason: reason.to_owned(),
    })
}

/// Approves or rejects a submission under review within the reviewer's scope; the store writes
/// the audit row in the same transaction.
pub fn decide(
    store: &dyn Store,
    id: &str,
    decision: &Decision,
    actor: &str,
    scope: BureauScope,
) -> StoreResult<Result<ReviewState, DecideError>> {
    let result = store.decide(id, decision, actor, scope, now())?;
    let outcome = match &result {
        Ok(state) => state_tag(state),
        Err(DecideError::NotFound) => "not_found",
        Err(DecideError::NotUnderReview(_)) => "refused",
    };
    info!(submission = %id, outcome, "review decision");
    Ok(result)
}
