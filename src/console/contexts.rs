//! Switching between config.toml's `[contexts]` from inside the console
//! (k9s's `:ctx`): the picker's state and keys. The command layer resolves
//! each context into connection settings before the console starts; the
//! event loop rebuilds the db task and the app on a switch, so nothing of
//! the old database (rows, tags, a pending confirmation) carries over.

use super::keymap::Command;
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

/// One context, resolved as `pgq --context NAME` would resolve it.
#[derive(Debug, Clone)]
pub struct Switchable {
    pub name: String,
    /// Why it cannot be used (a DSN that does not parse), instead of settings.
    pub resolved: Result<Resolved, String>,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub settings: ConnectionSettings,
    /// Where to LISTEN (`None`: nowhere, behind a transaction pooler).
    pub listen: Option<ConnectionSettings>,
    pub names: ObjectNames,
    pub read_only: bool,
}

/// What the picker shows of a context.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub name: String,
    /// `user@host:port/db`, or why the context cannot be used.
    pub target: Result<String, String>,
    pub read_only: bool,
}

impl From<&Switchable> for Choice {
    fn from(s: &Switchable) -> Choice {
        Choice {
            name: s.name.clone(),
            target: s
                .resolved
                .as_ref()
                .map(|r| r.settings.target())
                .map_err(Clone::clone),
            read_only: s.resolved.as_ref().is_ok_and(|r| r.read_only),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ContextPicker {
    pub choices: Vec<Choice>,
    /// The context the console is connected through (`None`: flags or the
    /// environment, no context).
    pub current: Option<usize>,
    pub open: bool,
    pub selected: usize,
}

/// What a key in the open picker asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Picked {
    Nothing,
    /// Connect to this context.
    Switch(usize),
    /// Say this in the status bar (why the pick does nothing).
    Say(String),
}

impl ContextPicker {
    pub fn new(choices: Vec<Choice>, current: Option<&str>) -> ContextPicker {
        let current = current.and_then(|name| choices.iter().position(|c| c.name == name));
        ContextPicker {
            choices,
            current,
            open: false,
            selected: current.unwrap_or(0),
        }
    }

    /// The current context's name, for the status bar.
    pub fn current_name(&self) -> Option<&str> {
        self.current.map(|i| self.choices[i].name.as_str())
    }

    pub fn show(&mut self) {
        self.open = true;
        self.selected = self.current.unwrap_or(0);
    }

    pub fn on_command(&mut self, command: Command) -> Picked {
        let last = self.choices.len().saturating_sub(1);
        match command {
            Command::Contexts | Command::DialogCancel | Command::Help => self.open = false,
            Command::DialogDown | Command::Down => self.selected = (self.selected + 1).min(last),
            Command::DialogUp | Command::Up => self.selected = self.selected.saturating_sub(1),
            Command::Top | Command::PageUp => self.selected = 0,
            Command::Bottom | Command::PageDown => self.selected = last,
            Command::DialogPress => {
                let Some(choice) = self.choices.get(self.selected) else {
                    return Picked::Nothing;
                };
                if let Err(why) = &choice.target {
                    return Picked::Say(format!("context {}: {why}", choice.name));
                }
                self.open = false;
                if self.current == Some(self.selected) {
                    return Picked::Say(format!("already on context {}", choice.name));
                }
                return Picked::Switch(self.selected);
            }
            _ => {}
        }
        Picked::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(name: &str, ok: bool) -> Choice {
        Choice {
            name: name.into(),
            target: if ok {
                Ok(format!("postgres@db:5432/{name}"))
            } else {
                Err("dsn: not a DSN".into())
            },
            read_only: false,
        }
    }

    #[test]
    fn picks_another_context_and_says_why_not_otherwise() {
        let mut p = ContextPicker::new(
            vec![
                choice("dev", true),
                choice("broken", false),
                choice("prod", true),
            ],
            Some("dev"),
        );
        assert_eq!(p.current_name(), Some("dev"));
        p.show();
        assert_eq!(
            p.on_command(Command::DialogPress),
            Picked::Say("already on context dev".into())
        );
        p.show();
        p.on_command(Command::Down);
        assert!(
            matches!(p.on_command(Command::DialogPress), Picked::Say(s) if s.contains("not a DSN"))
        );
        assert!(p.open);
        p.on_command(Command::Down);
        p.on_command(Command::Down);
        assert_eq!(p.on_command(Command::DialogPress), Picked::Switch(2));
        assert!(!p.open);
    }
}
