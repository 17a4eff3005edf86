//! What the kiosk keeps of an applicant who leaves without submitting: the draft for the stated
//! time and then nothing, and never a photo that was replaced.

use crate::sync_support;
use crate::ui_support;

use kiosk_domain::MaterialKind;
use sync_support::{Applicant, complete_draft};

#[test]
fn an_abandoned_draft_is_deleted_with_its_files_once_its_time_is_up() {
    let h = ui_support::start();
    let mut s = h.kiosk.session.borrow_mut();
    let who = Applicant::new(70);
    s.visit.app = complete_draft(&mut s.services.store, &who);
    let files = s.services.store.material_count().expect("count");
    assert!(files > 0);
    let until = s.draft_kept_until().expect("an editable draft is kept");
    let in_a_day = time::OffsetDateTime::now_utc() + time::Duration::hours(24);
    assert!(
        (until - in_a_day).abs() < time::Duration::minutes(1),
        "{until}"
    );

    // Within its time the draft survives the end of the visit.
    s.wipe();
    assert_eq!(s.services.store.draft_count().expect("count"), 1);
    assert!(
        s.draft_kept_until().is_none(),
        "nothing of anyone on screen"
    );

    // A minute after its time (the retention moved instead of the clock), the next end of a
    // visit deletes it with every file.
    s.services.draft_retention_secs = -60;
    s.wipe();
    assert_eq!(s.services.store.draft_count().expect("count"), 0);
    assert_eq!(s.services.store.material_count().expect("count"), 0);
}

#[test]
fn a_draft_whose_submission_waits_is_kept_past_its_time() {
    let h = ui_support::start();
    let mut s = h.kiosk.session.borrow_mut();
    let who = Applicant::new(71);
    sync_support::submit(&mut s.services.store, &who);
    s.services.draft_retention_secs = -60;
    s.wipe();
    assert_eq!(
        s.services.store.draft_count().expect("count"),
        1,
        "the outbox still needs its files"
    );
}

#[test]
fn a_replaced_photo_is_deleted_at_once() {
    let h = ui_support::start();
    let mut s = h.kiosk.session.borrow_mut();
    let who = Applicant::new(72);
    s.visit.app = complete_draft(&mut s.services.store, &who);
    s.attach_material(MaterialKind::Photo);
    let after_first = s.services.store.material_count().expect("count");
    let first = s.visit.app.data().materials[&MaterialKind::Photo][0]
        .blob_id
        .clone();
    s.attach_material(MaterialKind::Photo);
    assert_eq!(
        s.services.store.material_count().expect("count"),
        after_first,
        "the old photo is gone"
    );
    assert!(s.services.store.material(&first).expect("reads").is_none());
    assert_eq!(s.visit.app.data().materials[&MaterialKind::Photo].len(), 1);
}
