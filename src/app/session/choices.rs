//! Inline options, the two-level region and bureau picker, and the date picker.

use super::*;

impl Session {
    /// A tap on option `index` of an inline field.
    pub fn choose_inline(&mut self, field: Field, index: usize) {
        self.activity();
        self.visit.active = None;
        self.visit.touched.insert(field);
        self.edit(|d| forms::choose_inline(field, index, d));
        if field == Field::HoldsQualificationAnswer {
            // The qualification page asks again; start it from this answer.
            let answer = self.visit.app.data().eligibility.holds_qualification;
            self.edit(|d| {
                if d.qualification.held.is_none() {
                    d.qualification.held = answer;
                }
            });
        }
    }

    /// Options of the open picker, and whether it has a way back to the first level.
    pub fn picker_options(&self) -> Vec<String> {
        let Some(Overlay::Picker { stage, .. }) = self.visit.overlay.clone() else {
            return Vec::new();
        };
        let bureau = matches!(
            &self.visit.overlay,
            Some(Overlay::Picker {
                field: Field::FinanceBureau,
                ..
            })
        );
        match stage {
            PickerStage::Flat(list) => forms::pick_options(list, self.lang),
            PickerStage::Prefectures { with_outside } => {
                let mut options: Vec<String> =
                    region::prefectures().map(|d| d.name.to_owned()).collect();
                if with_outside {
                    options.push(forms::outside_yunnan(self.lang).to_owned());
                }
                options
            }
            PickerStage::Counties(prefecture) => {
                let own = region::division(prefecture).map(|d| {
                    if bureau {
                        d.bureau_name()
                    } else {
                        tr_args(self.lang, "{0}（市州本级）", &[&d.name])
                    }
                });
                own.into_iter()
                    .chain(region::counties_of(prefecture).map(|d| {
                        if bureau {
                            d.bureau_name()
                        } else {
                            d.name.to_owned()
                        }
                    }))
                    .collect()
            }
        }
    }

    pub fn picker_choose(&mut self, index: usize) {
        self.activity();
        let Some(Overlay::Picker { field, stage }) = self.visit.overlay.clone() else {
            return;
        };
        self.visit.touched.insert(field);
        match stage {
            PickerStage::Flat(_) => {
                self.edit(|d| forms::choose_from_list(field, index, d));
                self.visit.overlay = None;
            }
            PickerStage::Prefectures { with_outside } => {
                let prefectures: Vec<DivisionCode> =
                    region::prefectures().map(|d| d.code).collect();
                if let Some(code) = prefectures.get(index) {
                    self.visit.overlay = Some(Overlay::Picker {
                        field,
                        stage: PickerStage::Counties(*code),
                    });
                } else if with_outside && index == prefectures.len() {
                    self.edit(|d| forms::set_place(field, Region::OutsideYunnan, d));
                    self.visit.overlay = None;
                }
            }
            PickerStage::Counties(prefecture) => {
                let code = if index == 0 {
                    Some(prefecture)
                } else {
                    region::counties_of(prefecture)
                        .nth(index - 1)
                        .map(|d| d.code)
                };
                if let Some(code) = code {
                    self.edit(|d| forms::set_place(field, Region::Yunnan(code), d));
                    if field != Field::FinanceBureau {
                        self.suggest_bureau();
                    }
                }
                self.visit.overlay = None;
            }
        }
    }

    /// After a region answer, pick the matching bureau if none is chosen yet.
    pub(super) fn suggest_bureau(&mut self) {
        let data = self.visit.app.data();
        if data.basic.finance_bureau.is_none()
            && let Some(code) = kiosk_domain::jurisdiction::suggested_bureau(&data.work)
        {
            self.edit(|d| d.basic.finance_bureau = Some(code));
        }
    }

    /// "返回上一级" in the two-level picker, or closes it.
    pub fn picker_back(&mut self) {
        self.activity();
        match self.visit.overlay.clone() {
            Some(Overlay::Picker {
                field,
                stage: PickerStage::Counties(_),
            }) => {
                let with_outside = field != Field::FinanceBureau;
                self.visit.overlay = Some(Overlay::Picker {
                    field,
                    stage: PickerStage::Prefectures { with_outside },
                });
            }
            _ => self.visit.overlay = None,
        }
    }

    pub fn close_overlay(&mut self) {
        self.activity();
        self.visit.overlay = None;
    }

    /// "确定" in the date picker. The day is clamped to the month's length.
    pub fn confirm_date(&mut self, year: i32, month: u8, day: u8) {
        self.activity();
        let Some(Overlay::Date { field, .. }) = self.visit.overlay.clone() else {
            return;
        };
        let month = Month::try_from(month.clamp(1, 12)).unwrap_or(Month::January);
        let last = time::util::days_in_month(month, year);
        if let Ok(date) = Date::from_calendar_date(year, month, day.clamp(1, last)) {
            self.visit.touched.insert(field);
            self.edit(|d| forms::set_date(field, date, d));
        }
        self.visit.overlay = None;
    }
}

pub(super) fn default_date(field: Field, today: Date) -> Date {
    let years_back = match field {
        Field::BirthDate => 35,
        Field::WorkStart | Field::Education(..) | Field::QualificationObtained => 10,
        _ => 0,
    };
    Date::from_calendar_date(today.year() - years_back, Month::January, 1).unwrap_or(today)
}
