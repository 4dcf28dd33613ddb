//! The enqueue form: fields, validation with inline errors, entrypoint
//! completion, and the jobs this session enqueued.

mod view;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::{Context, Done, Level, Reply, Screen, TabView};
use crate::actions::jobs::enqueue::{Conflict, EnqueueStatus, JobSpec};
use crate::actions::{Action, Outcome, kinds};
use crate::console::keymap::{Command, Keymap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Entrypoint,
    Priority,
    Delay,
    DedupeKey,
    OnConflict,
    Headers,
    Format,
    Payload,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Entrypoint,
        Field::Priority,
        Field::Delay,
        Field::DedupeKey,
        Field::OnConflict,
        Field::Headers,
        Field::Format,
        Field::Payload,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Entrypoint => "Entrypoint",
            Field::Priority => "Priority",
            Field::Delay => "Delay",
            Field::DedupeKey => "Dedupe key",
            Field::OnConflict => "On conflict",
            Field::Headers => "Headers",
            Field::Format => "Payload is",
            Field::Payload => "Payload",
        }
    }

    fn offset(self, by: isize) -> Field {
        let i = Field::ALL.iter().position(|f| *f == self).unwrap_or(0) as isize;
        let n = Field::ALL.len() as isize;
        Field::ALL[(i + by).rem_euclid(n) as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub job_id: i64,
    pub entrypoint: String,
    pub command_line: String,
    pub outcome: String,
}

/// What a key did to the form.
#[derive(Debug, PartialEq, Eq)]
pub enum FormKey {
    Handled,
    /// Esc: stop editing.
    Leave,
}

pub struct EnqueueForm {
    pub entrypoint: TextArea<'static>,
    pub priority: TextArea<'static>,
    pub delay: TextArea<'static>,
    pub dedupe_key: TextArea<'static>,
    pub headers: TextArea<'static>,
    pub payload: TextArea<'static>,
    pub on_conflict: Conflict,
    /// Send the payload as typed, without the JSON check.
    pub raw: bool,
    pub focus: Field,
    pub editing: bool,
    pub submitted: Vec<Submitted>,
    /// Errors from the last submit attempt, shown beside their fields.
    pub errors: Vec<(Field, String)>,
}

impl Default for EnqueueForm {
    fn default() -> Self {
        let line = |placeholder: &str| {
            let mut t = TextArea::default();
            t.set_placeholder_text(placeholder);
            t.set_cursor_line_style(ratatui::style::Style::new());
            t
        };
        let mut payload = TextArea::default();
        payload.set_placeholder_text("{\"hello\": \"world\"}   (empty: no payload)");
        payload.set_cursor_line_style(ratatui::style::Style::new());
        EnqueueForm {
            entrypoint: line("e.g. send_email"),
            priority: line("0"),
            delay: line("0s   (e.g. 90s, 5m, 1h)"),
            dedupe_key: line("(none)"),
            headers: line("{}   (a JSON object)"),
            payload,
            on_conflict: Conflict::Raise,
            raw: false,
            focus: Field::Entrypoint,
            editing: false,
            submitted: Vec::new(),
            errors: Vec::new(),
        }
    }
}

fn text(t: &TextArea<'_>) -> String {
    t.lines().join("\n")
}

pub fn conflict_label(c: Conflict) -> &'static str {
    match c {
        Conflict::Raise => "raise",
        Conflict::Skip => "skip",
        Conflict::UpdatePriority => "update-priority",
    }
}

impl EnqueueForm {
    fn field_area(&mut self, field: Field) -> Option<&mut TextArea<'static>> {
        match field {
            Field::Entrypoint => Some(&mut self.entrypoint),
            Field::Priority => Some(&mut self.priority),
            Field::Delay => Some(&mut self.delay),
            Field::DedupeKey => Some(&mut self.dedupe_key),
            Field::Headers => Some(&mut self.headers),
            Field::Payload => Some(&mut self.payload),
            Field::OnConflict | Field::Format => None,
        }
    }

    /// Known entrypoints that complete what is typed.
    pub fn completions<'a>(&self, known: &'a [String]) -> Vec<&'a str> {
        let typed = text(&self.entrypoint);
        if typed.is_empty() {
            // Tab on an empty field moves on; it does not pick a name.
            return Vec::new();
        }
        known
            .iter()
            .filter(|k| k.starts_with(typed.as_str()) && **k != typed)
            .map(String::as_str)
            .take(5)
            .collect()
    }

    /// A key while editing. Ctrl-C and Ctrl-S never reach here.
    pub fn key(&mut self, key: KeyEvent, known: &[String]) -> FormKey {
        let shift_tab = key.code == KeyCode::BackTab
            || (key.code == KeyCode::Tab && key.modifiers.contains(KeyModifiers::SHIFT));
        match key.code {
            KeyCode::Esc => return FormKey::Leave,
            _ if shift_tab => self.focus = self.focus.offset(-1),
            KeyCode::Tab => {
                let completion = (self.focus == Field::Entrypoint)
                    .then(|| self.completions(known).first().map(|s| s.to_string()))
                    .flatten();
                match completion {
                    Some(name) => {
                        self.entrypoint = replaced(&self.entrypoint, &name);
                    }
                    None => self.focus = self.focus.offset(1),
                }
            }
            KeyCode::Up if self.focus != Field::Payload => self.focus = self.focus.offset(-1),
            KeyCode::Down | KeyCode::Enter if self.focus != Field::Payload => {
                self.focus = self.focus.offset(1)
            }
            KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                if matches!(self.focus, Field::OnConflict | Field::Format) =>
            {
                let back = key.code == KeyCode::Left;
                if self.focus == Field::Format {
                    self.raw = !self.raw;
                } else {
                    self.on_conflict = cycle_conflict(self.on_conflict, back);
                }
            }
            _ => {
                if let Some(area) = self.field_area(self.focus) {
                    area.input(key);
                }
            }
        }
        FormKey::Handled
    }

    /// The JSON error of the payload, with its line and column, if any.
    pub fn payload_error(&self) -> Option<String> {
        if self.raw {
            return None;
        }
        let body = text(&self.payload);
        if body.trim().is_empty() {
            return None;
        }
        serde_json::from_str::<serde_json::Value>(&body)
            .err()
            .map(|e| {
                format!(
                    "line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    json_reason(&e)
                )
            })
    }

    /// Build the job, or say what is wrong with each field (nothing is sent).
    pub fn validate(&self) -> Result<JobSpec, Vec<(Field, String)>> {
        let mut errors = Vec::new();
        let entrypoint = text(&self.entrypoint).trim().to_string();
        if entrypoint.is_empty() {
            errors.push((Field::Entrypoint, "required".to_string()));
        }
        let priority_text = text(&self.priority);
        let priority = match priority_text.trim() {
            "" => 0,
            p => p.parse::<i32>().unwrap_or_else(|_| {
                errors.push((Field::Priority, format!("{p:?} is not a whole number")));
                0
            }),
        };
        let delay_text = text(&self.delay);
        let execute_after = match delay_text.trim() {
            "" => std::time::Duration::ZERO,
            d => crate::settings::duration::parse_duration(d).unwrap_or_else(|e| {
                errors.push((Field::Delay, e));
                std::time::Duration::ZERO
            }),
        };
        let dedupe = text(&self.dedupe_key);
        let dedupe_key = (!dedupe.trim().is_empty()).then(|| dedupe.trim().to_string());
        let headers_text = text(&self.headers);
        let headers = match headers_text.trim() {
            "" => serde_json::Value::Null,
            h => match serde_json::from_str::<serde_json::Value>(h) {
                Ok(v @ serde_json::Value::Object(_)) => v,
                Ok(_) => {
                    errors.push((Field::Headers, "must be a JSON object".into()));
                    serde_json::Value::Null
                }
                Err(e) => {
                    errors.push((
                        Field::Headers,
                        format!("column {}: {}", e.column(), json_reason(&e)),
                    ));
                    serde_json::Value::Null
                }
            },
        };
        if let Some(e) = self.payload_error() {
            errors.push((Field::Payload, e));
        }
        let body = text(&self.payload);
        let payload = (!body.is_empty()).then(|| body.into_bytes());
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(JobSpec {
            entrypoint,
            payload,
            priority,
            execute_after,
            dedupe_key,
            headers,
        })
    }

    pub fn error_of(&self, field: Field) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }
}

fn replaced(_old: &TextArea<'static>, with: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![with.to_string()]);
    t.set_cursor_line_style(ratatui::style::Style::new());
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

impl EnqueueForm {
    /// Validate the form: the job to propose, or its errors shown beside
    /// their fields and nothing sent.
    pub fn submit(&mut self) -> Vec<Reply> {
        match self.validate() {
            Ok(job) => {
                self.errors.clear();
                vec![Reply::Propose(
                    kinds::Enqueue {
                        jobs: vec![job],
                        on_conflict: self.on_conflict,
                    }
                    .into(),
                )]
            }
            Err(errors) => {
                let n = errors.len();
                self.errors = errors;
                vec![Reply::Flash(
                    Level::Error,
                    format!(
                        "fix {n} field{} first; nothing was sent",
                        if n == 1 { "" } else { "s" }
                    ),
                )]
            }
        }
    }
}

impl TabView for EnqueueForm {
    fn title(&self) -> &'static str {
        "Enqueue"
    }

    fn short_title(&self) -> &'static str {
        "Enq"
    }

    fn completes_entrypoints(&self) -> bool {
        true
    }

    fn editing(&self) -> bool {
        self.editing
    }

    fn on_edit_key(&mut self, key: KeyEvent, known: &[String]) {
        if self.key(key, known) == FormKey::Leave {
            self.editing = false;
        }
    }

    fn on_done(&mut self, done: &Done) -> Vec<Reply> {
        if let (Ok(Outcome::Enqueued(r)), Action::Enqueue(kinds::Enqueue { jobs, .. })) =
            (done.result, done.action)
            && let (Some(job), Some(status)) = (jobs.first(), r.statuses.first())
        {
            let job_id = match status {
                EnqueueStatus::Enqueued(id) | EnqueueStatus::Updated(id) => *id,
                EnqueueStatus::Skipped => 0,
            };
            self.submitted.push(Submitted {
                job_id,
                entrypoint: job.entrypoint.clone(),
                command_line: done.command_line.clone(),
                outcome: done.said.clone().unwrap_or_default(),
            });
        }
        Vec::new()
    }

    fn on_command(&mut self, command: Command, _cx: &Context) -> Vec<Reply> {
        match command {
            Command::Edit => self.editing = true,
            Command::Submit => return self.submit(),
            _ => {}
        }
        Vec::new()
    }

    fn hints(&self, keymap: &Keymap) -> Option<Vec<(String, &'static str)>> {
        self.editing.then(|| {
            vec![
                ("Tab/↑↓".to_string(), "next field"),
                ("Space".to_string(), "toggle choice"),
                (keymap.first_key(Command::Submit), "enqueue"),
                ("Esc".to_string(), "stop editing"),
            ]
        })
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }
}

fn cycle_conflict(c: Conflict, back: bool) -> Conflict {
    const ORDER: [Conflict; 3] = [Conflict::Raise, Conflict::Skip, Conflict::UpdatePriority];
    let i = ORDER.iter().position(|x| *x == c).unwrap_or(0);
    let step = if back { ORDER.len() - 1 } else { 1 };
    ORDER[(i + step) % ORDER.len()]
}

/// serde_json's message without its trailing " at line L column C".
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(form: &mut EnqueueForm, field: Field, text: &str) {
        form.focus = field;
        for c in text.chars() {
            let key = if c == '\n' {
                KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
            } else {
                KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
            };
            form.key(key, &[]);
        }
    }

    #[test]
    fn a_valid_form_builds_the_job() {
        let mut f = EnqueueForm::default();
        typed(&mut f, Field::Entrypoint, "send_email");
        typed(&mut f, Field::Priority, "5");
        typed(&mut f, Field::Delay, "90s");
        typed(&mut f, Field::Headers, "{\"trace\":\"abc\"}");
        typed(&mut f, Field::Payload, "{\n \"to\": \"a@b\"\n}");
        let job = f.validate().unwrap();
        assert_eq!(job.entrypoint, "send_email");
        assert_eq!(job.priority, 5);
        assert_eq!(job.execute_after, std::time::Duration::from_secs(90));
        assert_eq!(job.headers["trace"], "abc");
        assert_eq!(job.payload.as_deref(), Some(&b"{\n \"to\": \"a@b\"\n}"[..]));
    }

    #[test]
    fn errors_point_at_their_fields_and_json_positions() {
        let mut f = EnqueueForm::default();
        typed(&mut f, Field::Priority, "high");
        typed(&mut f, Field::Delay, "-5m");
        typed(&mut f, Field::Headers, "[1]");
        typed(&mut f, Field::Payload, "{\n  \"a\": 1,\n  \"b\": }");
        let errors = f.validate().unwrap_err();
        let fields: Vec<Field> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                Field::Entrypoint,
                Field::Priority,
                Field::Delay,
                Field::Headers,
                Field::Payload
            ]
        );
        let payload = &errors[4].1;
        assert!(
            payload.starts_with("line 3, column 8: expected value"),
            "{payload}"
        );
        // Raw mode sends the text as is.
        f.raw = true;
        assert!(f.payload_error().is_none());
    }

    #[test]
    fn tab_completes_the_entrypoint_then_moves_on() {
        let mut f = EnqueueForm::default();
        let known = vec!["send_email".to_string(), "sync_crm".to_string()];
        typed(&mut f, Field::Entrypoint, "se");
        assert_eq!(f.completions(&known), ["send_email"]);
        f.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE), &known);
        assert_eq!(text(&f.entrypoint), "send_email");
        assert_eq!(f.focus, Field::Entrypoint);
        f.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE), &known);
        assert_eq!(f.focus, Field::Priority);
        f.focus = Field::OnConflict;
        f.key(
            KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE),
            &known,
        );
        assert_eq!(f.on_conflict, Conflict::Skip);
        assert_eq!(
            f.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), &known),
            FormKey::Leave
        );
    }
}
