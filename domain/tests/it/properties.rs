//! Property tests: no validator panics on any string, every valid generated number passes.

use kiosk_domain::catalog::IdType;
use kiosk_domain::record::Basic;
use kiosk_domain::{
    Application, Context, Progress, Step, contact, idnumber, uscc, validate, wizard,
};
use proptest::prelude::*;
use time::{Date, Month, macros::date};

const TODAY: Date = date!(2026 - 11 - 28);

fn any_date() -> impl Strategy<Value = Date> {
    (1900i32..=2026, 1u8..=12, 1u8..=31).prop_filter_map("real date", |(y, m, d)| {
        let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
        (date <= TODAY).then_some(date)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validators_never_panic(s in "\\PC{0,40}", t in ".{0,30}") {
        for id_type in [IdType::ResidentIdCard, IdType::HkMoTwResidencePermit, IdType::ForeignPermanentResidentCard] {
            let _ = idnumber::parse(&s, id_type, TODAY);
        }
        let _ = uscc::parse(&s);
        let _ = contact::normalize_mobile(&s);
        let _ = contact::check_phone(&s);
        let _ = contact::check_email(&s);
        let _ = contact::check_name(&s);
        let _ = contact::check_password(&s);
        let _ = kiosk_domain::privacy::mask_id_number(&s);
        let basic = Basic { name: t.clone(), id_number: s.clone(), mobile: t.clone(), email: s.clone(), postal_address: t, ..Basic::default() };
        let _ = validate::registration(&basic, &s, &s, &s, TODAY);
    }

    #[test]
    fn digit_strings_of_18_never_panic(s in "[0-9xX]{15,19}") {
        let _ = idnumber::parse(&s, IdType::ResidentIdCard, TODAY);
        let _ = uscc::parse(&s);
    }

    #[test]
    fn every_valid_generated_id_passes(region in 110000u32..=659999, birth in any_date(), seq in 0u32..=999) {
        let first17 = format!("{region:06}{:04}{:02}{:02}{seq:03}", birth.year(), u8::from(birth.month()), birth.day());
        prop_assume!(!first17.starts_with('9') && !first17.starts_with("81") && !first17.starts_with("82") && !first17.starts_with("83"));
        let check = idnumber::check_character(&first17).expect("17 digits");
        let number = format!("{first17}{check}");
        let parsed = idnumber::parse(&number.to_lowercase(), IdType::ResidentIdCard, TODAY);
        prop_assert!(parsed.is_ok(), "{number}: {parsed:?}");
        let parsed = parsed.expect("checked");
        prop_assert_eq!(parsed.birth(), Some(birth));
        prop_assert_eq!(parsed.as_str(), number.as_str());
        // Any single-digit change is caught (MOD 11-2 detects every single substitution).
        let mut bytes = number.into_bytes();
        bytes[(seq as usize) % 17] = b'0' + ((bytes[(seq as usize) % 17] - b'0' + 1) % 10);
        let altered = String::from_utf8(bytes).expect("ascii");
        prop_assert!(idnumber::parse(&altered, IdType::ResidentIdCard, TODAY).is_err());
    }

    #[test]
    fn every_valid_generated_uscc_passes(body in "[0-9A-HJ-NP-RTUW-Y]{8}", org in "[0-9A-Z]{8}") {
        let org_check = uscc::org_check_character(org.as_bytes()).expect("8 alphanumerics");
        let first17 = format!("{body}{org}{org_check}");
        // 'X' is a USCC character too, so every organisation check character is representable.
        if let Some(c18) = uscc::check_character(first17.as_bytes()) {
            let code = format!("{first17}{c18}");
            let parsed = uscc::parse(&code);
            prop_assert!(parsed.as_ref().is_ok_and(|u| u.passes_checks()), "{code}: {parsed:?}");
        } else {
            // The organisation code holds I, O, S, V or Z, which USCC does not allow.
            prop_assert!(org.bytes().any(|b| b"IOSVZ".contains(&b)));
        }
    }

    #[test]
    fn the_wizard_never_panics_on_arbitrary_records(json in "\\{\"data\":\\{\"basic\":\\{\"name\":\"\\PC{0,8}\",\"id_number\":\"[0-9Xx]{0,20}\"\\}\\}\\}") {
        if let Ok(app) = serde_json::from_str::<Application>(&json) {
            let p = Progress { validation: Context::new(TODAY), signed_in: false };
            for step in Step::ALL {
                let _ = wizard::step_issues(step, &app, &p);
            }
            prop_assert_eq!(wizard::first_incomplete(&app, &p), Step::Notice);
        }
    }
}
