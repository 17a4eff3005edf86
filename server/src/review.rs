//! Review decisions, shared by the reviewer API and the `central review` command.

use kiosk_domain::ReviewState;
use tracing::info;

use crate::store::{DecideError, Decision, Store, StoreResult, state_tag};
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

/// Approves or rejects a submission under review, and writes the audit log.
pub fn decide(
    store: &dyn Store,
    id: &str,
    decision: &Decision,
    actor: &str,
) -> StoreResult<Result<ReviewState, DecideError>> {
    let at = now();
    let result = store.decide(id, decision, actor, at)?;
    let action = match decision {
        Decision::Approve => "approve",
        Decision::Reject { .. } => "reject",
    };
    let outcome = match &result {
        Ok(state) => state_tag(state).to_owned(),
        Err(DecideError::NotFound) => "not_found".to_owned(),
        Err(DecideError::NotUnderReview(state)) => format!("refused: {}", state_tag(state)),
    };
    store.audit(actor, action, id, &outcome, at)?;
    info!(submission = %id, action, outcome = %outcome, "review decision");
    Ok(result)
}
