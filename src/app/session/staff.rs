//! Hall staff confirm, with their PIN, a value that fails its check (an early credit code).

use super::*;

impl Session {
    /// The button under a field ("请工作人员确认" under a credit code that fails its check).
    pub fn field_action(&mut self, field: Field) {
        self.activity();
        if field != Field::EmployerCreditCode {
            return;
        }
        if self.services.staff_pin_hash.is_none()
            || self.visit.staff_pin_failures >= STAFF_PIN_ATTEMPTS
        {
            self.say(
                Tone::Error,
                "暂时无法确认，请工作人员联系技术支持",
                "Staff confirmation is unavailable; staff, please call IT support",
            );
            return;
        }
        self.visit.active = None;
        self.visit.overlay = Some(Overlay::StaffPin {
            field,
            entered: String::new(),
        });
    }

    pub(super) fn check_staff_pin(&mut self, field: Field, entered: &str) {
        let ok = self
            .services
            .staff_pin_hash
            .as_deref()
            .is_some_and(|hash| crate::accounts::password_matches(entered, hash));
        if ok {
            self.visit.overlay = None;
            self.edit(|d| d.work.employment.credit_code_confirmed_by_staff = true);
            self.visit.touched.insert(field);
            tracing::info!(
                audit = "staff-confirmation",
                what = "credit code checksum",
                "staff confirmed a value"
            );
            self.say(Tone::Success, "工作人员已确认", "Confirmed by staff");
        } else {
            self.visit.staff_pin_failures += 1;
            tracing::warn!(
                audit = "staff-confirmation",
                failures = self.visit.staff_pin_failures,
                "wrong staff PIN"
            );
            if self.visit.staff_pin_failures >= STAFF_PIN_ATTEMPTS {
                self.visit.overlay = None;
                self.say(
                    Tone::Error,
                    "确认码错误次数过多，本次无法确认",
                    "Too many wrong PINs for this visit",
                );
            } else {
                self.visit.overlay = Some(Overlay::StaffPin {
                    field,
                    entered: String::new(),
                });
                self.say(Tone::Error, "确认码不正确，请重试", "Wrong PIN; try again");
            }
        }
    }
}
