//! The on-screen keyboard: which field is typed into, pinyin and handwriting, length limits.

use super::*;

impl Session {
    /// A tap on a field: opens its keyboard, picker or date picker.
    pub fn activate(&mut self, field: Field) {
        self.activity();
        if self.is_read_only(field) {
            self.say(
                Tone::Info,
                Message::new("此项来自注册信息或身份证，不能在此修改"),
            );
            return;
        }
        // What was being composed belongs to the field it was typed for.
        self.commit_composition();
        self.visit.overlay = None;
        match forms::spec_of(field).kind {
            Kind::Text(_) | Kind::Secret(_) => {
                if forms::starts_in_latin(field, self.form_data()) {
                    self.visit.english_input = true;
                }
                self.visit.active = Some(field);
            }
            Kind::Date => {
                self.visit.active = None;
                let today = (self.services.today)();
                let initial = forms::date_value(field, self.form_data())
                    .unwrap_or_else(|| super::choices::default_date(field, today));
                self.visit.overlay = Some(Overlay::Date { field, initial });
            }
            Kind::Pick(list) => {
                self.visit.active = None;
                let stage = match list {
                    PickList::Region => PickerStage::Prefectures { with_outside: true },
                    PickList::Bureau => PickerStage::Prefectures {
                        with_outside: false,
                    },
                    flat => PickerStage::Flat(flat),
                };
                self.visit.overlay = Some(Overlay::Picker { field, stage });
            }
            Kind::Inline { .. } => {}
        }
    }

    pub fn keyboard(&self) -> Option<Keyboard> {
        if matches!(self.visit.overlay, Some(Overlay::StaffPin { .. })) {
            return None;
        }
        forms::keyboard_of(self.visit.active?, self.form_data())
    }

    pub(super) fn secret_slot(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Password => Some(&mut self.visit.account.password),
            Field::PasswordConfirm => Some(&mut self.visit.account.password_confirm),
            Field::SmsCode => Some(&mut self.visit.account.sms_code),
            _ => None,
        }
    }

    pub(super) fn type_into(&mut self, change: impl FnOnce(&mut String)) {
        let Some(field) = self.visit.active else {
            return;
        };
        self.visit.touched.insert(field);
        if let Some(slot) = self.secret_slot(field) {
            change(slot);
            return;
        }
        self.edit(|d| {
            if let Some(slot) = forms::text_slot(field, d) {
                change(slot);
            }
        });
    }

    /// A key of the on-screen keyboard (or a committed Chinese phrase).
    pub fn key(&mut self, text: &str) {
        self.activity();
        if let Some(Overlay::StaffPin { entered, .. }) = &mut self.visit.overlay {
            if entered.len() < 8 && text.bytes().all(|b| b.is_ascii_digit()) {
                entered.push_str(text);
            }
            return;
        }
        if self.pinyin_active() {
            for c in text.chars() {
                let composing = self.composing();
                let out = match self.engine() {
                    // Space picks the first candidate, as on every pinyin keyboard.
                    Some(engine) if c == ' ' && composing => engine.select(0),
                    Some(engine) => engine.type_key(c),
                    None => Some(c.to_string()),
                };
                if let Some(out) = out {
                    self.insert(&out);
                }
            }
            return;
        }
        self.insert(text);
    }

    /// Inserts text into the active field, within the field's length limit.
    pub(super) fn insert(&mut self, text: &str) {
        let limit = match self.visit.active {
            Some(Field::IdNumber) => 18,
            Some(Field::Mobile) => 11,
            Some(Field::SmsCode) => 6,
            Some(Field::Password | Field::PasswordConfirm) => 20,
            _ => validate::TEXT_MAX_CHARS,
        };
        let text = text.to_owned();
        self.type_into(move |s| {
            if s.chars().count() + text.chars().count() <= limit {
                s.push_str(&text);
            }
        });
    }

    /// Whether keys go through the pinyin engine: a Chinese field, in Chinese mode.
    pub fn pinyin_available(&self) -> bool {
        self.services.pinyin.is_some() && self.visit.active.is_some_and(forms::accepts_chinese)
    }

    pub(super) fn pinyin_active(&self) -> bool {
        self.pinyin_available() && !self.visit.english_input
    }

    pub(super) fn engine(&mut self) -> Option<&mut Box<dyn PinyinEngine>> {
        if self.visit.pinyin.is_none() {
            let factory = self.services.pinyin.as_ref()?;
            match factory() {
                Ok(engine) => self.visit.pinyin = Some(engine),
                Err(e) => {
                    tracing::error!(error = %e, "the pinyin engine did not start; typing letters");
                    self.services.pinyin = None;
                    return None;
                }
            }
        }
        self.visit.pinyin.as_mut()
    }

    /// Whether pinyin is being composed.
    pub fn composing(&self) -> bool {
        self.visit
            .pinyin
            .as_ref()
            .is_some_and(|e| !e.composition().is_empty())
    }

    /// The composition and the current page of candidates, for the candidate bar.
    pub fn candidate_bar(&self) -> (String, Vec<String>) {
        if self.handwriting_active() {
            return (String::new(), self.visit.written_candidates.clone());
        }
        match &self.visit.pinyin {
            Some(e) if self.pinyin_active() => (e.composition(), e.candidates()),
            _ => (String::new(), Vec::new()),
        }
    }

    /// A tap on a candidate.
    pub fn select_candidate(&mut self, index: usize) {
        self.activity();
        if self.handwriting_active() {
            if let Some(text) = self.visit.written_candidates.get(index).cloned() {
                self.insert(&text);
                self.clear_pad();
            }
            return;
        }
        if let Some(text) = self.engine().and_then(|e| e.select(index)) {
            self.insert(&text);
        }
    }

    /// "‹" / "›" in the candidate bar.
    pub fn page_candidates(&mut self, forward: bool) {
        self.activity();
        if let Some(e) = self.engine() {
            if forward {
                e.page_next();
            } else {
                e.page_prev();
            }
        }
    }

    /// Ends a composition by committing its letters as typed (the Return key's behaviour).
    pub(super) fn commit_composition(&mut self) {
        if self.composing()
            && let Some(raw) = self.visit.pinyin.as_mut().map(|e| e.commit_raw())
        {
            self.insert(&raw);
        }
    }

    pub fn handwriting_available(&self) -> bool {
        self.services.handwriting.is_some() && self.visit.active.is_some_and(forms::accepts_chinese)
    }

    pub fn handwriting_active(&self) -> bool {
        self.handwriting_available() && self.visit.handwriting
    }

    /// "手写" / "拼音": the writing pad instead of the letter keys, or back.
    pub fn toggle_handwriting(&mut self) {
        self.activity();
        self.commit_composition();
        self.visit.handwriting = !self.visit.handwriting && self.handwriting_available();
        self.clear_pad();
    }

    pub fn clear_pad(&mut self) {
        self.visit.strokes.clear();
        self.visit.written_candidates.clear();
    }

    /// A finger touches the pad (`width`/`height`: the pad's size, for recognition).
    pub fn stroke_start(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.activity();
        self.visit.pad_size = (width.max(1.0), height.max(1.0));
        self.visit.strokes.push(vec![(x as i32, y as i32)]);
    }

    /// The finger moves; points closer than 4 px to the last one are skipped.
    pub fn stroke_point(&mut self, x: f32, y: f32) {
        if let Some(stroke) = self.visit.strokes.last_mut() {
            let (x, y) = (x as i32, y as i32);
            let far = stroke
                .last()
                .is_none_or(|(lx, ly)| (lx - x).abs() + (ly - y).abs() >= 4);
            if far {
                stroke.push((x, y));
            }
        }
    }

    /// The finger lifts: recognise what is written so far.
    pub fn stroke_end(&mut self) {
        self.activity();
        let Some(recognizer) = self.services.handwriting.as_ref() else {
            return;
        };
        let size = self.visit.pad_size.0.max(self.visit.pad_size.1) as u32;
        match recognizer.candidates(&self.visit.strokes, size) {
            Ok(candidates) => self.visit.written_candidates = candidates,
            Err(e) => tracing::warn!(error = %e, "handwriting recognition failed"),
        }
    }

    /// The strokes as SVG path commands, for drawing the ink.
    pub fn ink(&self) -> String {
        let mut path = String::new();
        for stroke in &self.visit.strokes {
            for (i, (x, y)) in stroke.iter().enumerate() {
                let cmd = if i == 0 { 'M' } else { 'L' };
                path.push_str(&format!("{cmd}{x} {y} "));
            }
            if stroke.len() == 1
                && let Some((x, y)) = stroke.first()
            {
                path.push_str(&format!("L{} {} ", x + 1, y + 1));
            }
        }
        path
    }

    /// "中/英".
    pub fn toggle_input_language(&mut self) {
        self.activity();
        self.commit_composition();
        self.visit.english_input = !self.visit.english_input;
    }

    pub fn backspace(&mut self) {
        self.activity();
        if let Some(Overlay::StaffPin { entered, .. }) = &mut self.visit.overlay {
            entered.pop();
            return;
        }
        if self.pinyin_active() && self.visit.pinyin.as_mut().is_some_and(|e| e.backspace()) {
            return;
        }
        self.type_into(|s| {
            s.pop();
        });
    }

    pub fn close_keyboard(&mut self) {
        self.activity();
        if let Some(Overlay::StaffPin { field, entered }) = self.visit.overlay.clone() {
            match field {
                Some(field) => self.check_staff_pin(field, &entered),
                None => self.check_staff_mode_pin(&entered),
            }
            return;
        }
        self.commit_composition();
        if let Some(field) = self.visit.active.take() {
            self.visit.touched.insert(field);
            if field == Field::IdNumber {
                let normalized = idnumber::normalize(&forms::text_value(field, self.form_data()));
                self.edit(|d| d.basic.id_number = normalized);
            }
        }
    }
}
