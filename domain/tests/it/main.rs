//! The domain's integration tests, one binary (linking one per file cost more than the tests).

mod golden_record;
mod journeys;
mod properties;
mod rules_doc;
mod rules_each;
