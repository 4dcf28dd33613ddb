//! The console's key bindings: one table that drives input handling, the
//! key-hint line and the help overlay, so the three never disagree.
//!
//! Users override bindings per command in `config.toml`
//! (`[keymap] quit = ["q", "ctrl-q"]`); commands they do not name keep their
//! defaults. Ctrl-C always quits and cannot be rebound away.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a command applies: everywhere, or on one tab's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Global,
    List,
    Stats,
    Events,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::List => "Lists",
            Scope::Stats => "Stats tab",
            Scope::Events => "Events tab",
        }
    }
}

/// Everything a key can ask the console to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Command {
    Quit,
    Help,
    NextTab,
    PrevTab,
    TabStats,
    TabEvents,
    Refresh,
    Pause,
    Filter,
    Back,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Window,
    Sort,
    Clear,
    Copy,
}

struct Spec {
    command: Command,
    /// Name used in `[keymap]` of config.toml.
    name: &'static str,
    scope: Scope,
    /// Short label for the hint line; `None` keeps it out of the hint line.
    hint: Option<&'static str>,
    help: &'static str,
    defaults: &'static [&'static str],
}

const SPECS: &[Spec] = &[
    Spec {
        command: Command::Quit,
        name: "quit",
        scope: Scope::Global,
        hint: Some("quit"),
        help: "Quit",
        defaults: &["q"],
    },
    Spec {
        command: Command::Help,
        name: "help",
        scope: Scope::Global,
        hint: Some("help"),
        help: "Show/hide this help",
        defaults: &["?"],
    },
    Spec {
        command: Command::TabStats,
        name: "tab_stats",
        scope: Scope::Global,
        hint: None,
        help: "Stats tab",
        defaults: &["1"],
    },
    Spec {
        command: Command::TabEvents,
        name: "tab_events",
        scope: Scope::Global,
        hint: None,
        help: "Events tab",
        defaults: &["2"],
    },
    Spec {
        command: Command::NextTab,
        name: "next_tab",
        scope: Scope::Global,
        hint: None,
        help: "Next tab",
        defaults: &["tab"],
    },
    Spec {
        command: Command::PrevTab,
        name: "prev_tab",
        scope: Scope::Global,
        hint: None,
        help: "Previous tab",
        defaults: &["shift-tab"],
    },
    Spec {
        command: Command::Refresh,
        name: "refresh",
        scope: Scope::Global,
        hint: Some("refresh"),
        help: "Refresh now",
        defaults: &["r"],
    },
    Spec {
        command: Command::Pause,
        name: "pause",
        scope: Scope::Global,
        hint: Some("pause"),
        help: "Pause/resume this tab",
        defaults: &["space"],
    },
    Spec {
        command: Command::Filter,
        name: "filter",
        scope: Scope::List,
        hint: Some("filter"),
        help: "Filter (Enter keeps)",
        defaults: &["/"],
    },
    Spec {
        command: Command::Back,
        name: "back",
        scope: Scope::Global,
        hint: None,
        help: "Close dialog/filter",
        defaults: &["esc"],
    },
    Spec {
        command: Command::Up,
        name: "up",
        scope: Scope::List,
        hint: None,
        help: "Move up",
        defaults: &["k", "up"],
    },
    Spec {
        command: Command::Down,
        name: "down",
        scope: Scope::List,
        hint: None,
        help: "Move down",
        defaults: &["j", "down"],
    },
    Spec {
        command: Command::Top,
        name: "top",
        scope: Scope::List,
        hint: None,
        help: "First row",
        defaults: &["g", "home"],
    },
    Spec {
        command: Command::Bottom,
        name: "bottom",
        scope: Scope::List,
        hint: None,
        help: "Last row",
        defaults: &["G", "end"],
    },
    Spec {
        command: Command::PageUp,
        name: "page_up",
        scope: Scope::List,
        hint: None,
        help: "Page up",
        defaults: &["pgup", "ctrl-u"],
    },
    Spec {
        command: Command::PageDown,
        name: "page_down",
        scope: Scope::List,
        hint: None,
        help: "Page down",
        defaults: &["pgdn", "ctrl-d"],
    },
    Spec {
        command: Command::Window,
        name: "window",
        scope: Scope::Stats,
        hint: Some("window"),
        help: "Window 5m/1h/6h/24h",
        defaults: &["w"],
    },
    Spec {
        command: Command::Sort,
        name: "sort",
        scope: Scope::Stats,
        hint: Some("sort"),
        help: "Next sort column",
        defaults: &["s"],
    },
    Spec {
        command: Command::Open,
        name: "open",
        scope: Scope::Events,
        hint: Some("json"),
        help: "Show the JSON",
        defaults: &["enter"],
    },
    Spec {
        command: Command::Clear,
        name: "clear",
        scope: Scope::Events,
        hint: Some("clear"),
        help: "Clear the buffer",
        defaults: &["c"],
    },
    Spec {
        command: Command::Copy,
        name: "copy",
        scope: Scope::Events,
        hint: Some("copy"),
        help: "Copy JSON (OSC 52)",
        defaults: &["y"],
    },
];

/// One key chord: a key code plus Ctrl/Alt (Shift is part of the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    code: KeyName,
    ctrl: bool,
    alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum KeyName {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

const NAMED: &[(&str, KeyName)] = &[
    ("enter", KeyName::Enter),
    ("esc", KeyName::Esc),
    ("tab", KeyName::Tab),
    ("shift-tab", KeyName::BackTab),
    ("backtab", KeyName::BackTab),
    ("backspace", KeyName::Backspace),
    ("space", KeyName::Char(' ')),
    ("up", KeyName::Up),
    ("down", KeyName::Down),
    ("left", KeyName::Left),
    ("right", KeyName::Right),
    ("home", KeyName::Home),
    ("end", KeyName::End),
    ("pgup", KeyName::PageUp),
    ("pageup", KeyName::PageUp),
    ("pgdn", KeyName::PageDown),
    ("pagedown", KeyName::PageDown),
];

impl Key {
    /// Parse `q`, `G`, `?`, `space`, `enter`, `shift-tab`, `ctrl-u`, `alt-x`, `f1`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                ctrl = true;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = if let Some((_, name)) = NAMED.iter().find(|(n, _)| *n == lower) {
            *name
        } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            if !(1..=12).contains(&n) {
                return Err(format!("{text:?}: function keys are f1 to f12"));
            }
            KeyName::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => {
                    KeyName::Char(if ctrl { c.to_ascii_lowercase() } else { c })
                }
                _ => {
                    return Err(format!(
                        "{text:?} is not a key (use a single character, or enter, esc, tab, shift-tab, space, up, down, left, right, home, end, pgup, pgdn, f1-f12, with optional ctrl- or alt-)"
                    ));
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) => KeyName::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::Enter => KeyName::Enter,
            KeyCode::Esc => KeyName::Esc,
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyName::BackTab,
            KeyCode::Tab => KeyName::Tab,
            KeyCode::BackTab => KeyName::BackTab,
            KeyCode::Backspace => KeyName::Backspace,
            KeyCode::Up => KeyName::Up,
            KeyCode::Down => KeyName::Down,
            KeyCode::Left => KeyName::Left,
            KeyCode::Right => KeyName::Right,
            KeyCode::Home => KeyName::Home,
            KeyCode::End => KeyName::End,
            KeyCode::PageUp => KeyName::PageUp,
            KeyCode::PageDown => KeyName::PageDown,
            KeyCode::F(n) => KeyName::F(n),
            _ => return None,
        };
        Some(Key { code, ctrl, alt })
    }

    fn is_ctrl_c(&self) -> bool {
        self.ctrl && self.code == KeyName::Char('c')
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyName::Char(' ') => f.write_str("Space"),
            KeyName::Char(c) => write!(f, "{c}"),
            KeyName::Enter => f.write_str("Enter"),
            KeyName::Esc => f.write_str("Esc"),
            KeyName::Tab => f.write_str("Tab"),
            KeyName::BackTab => f.write_str("Shift-Tab"),
            KeyName::Backspace => f.write_str("Backspace"),
            KeyName::Up => f.write_str("↑"),
            KeyName::Down => f.write_str("↓"),
            KeyName::Left => f.write_str("←"),
            KeyName::Right => f.write_str("→"),
            KeyName::Home => f.write_str("Home"),
            KeyName::End => f.write_str("End"),
            KeyName::PageUp => f.write_str("PgUp"),
            KeyName::PageDown => f.write_str("PgDn"),
            KeyName::F(n) => write!(f, "F{n}"),
        }
    }
}

/// A hint for the key-hint line or a row of the help overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub scope: Scope,
    pub keys: String,
    pub label: &'static str,
    pub help: &'static str,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    keys: BTreeMap<Command, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = SPECS
            .iter()
            .map(|s| {
                let keys = s
                    .defaults
                    .iter()
                    .map(|k| Key::parse(k).expect("default keys parse"))
                    .collect();
                (s.command, keys)
            })
            .collect();
        Keymap { keys }
    }
}

impl Keymap {
    /// Defaults patched with `overrides` (command name → key list). Errors
    /// name the offending entry, e.g. `keymap.quit: "ctrl-" is not a key`.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let Some(spec) = SPECS.iter().find(|s| s.name == name) else {
                let known: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
                return Err(format!(
                    "keymap.{name}: unknown command (known: {})",
                    known.join(", ")
                ));
            };
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("keymap.{name}: {e}")))
                .collect::<Result<Vec<Key>, String>>()?;
            if parsed.is_empty() {
                return Err(format!(
                    "keymap.{name}: give at least one key (a command cannot be unbound)"
                ));
            }
            map.keys.insert(spec.command, parsed);
        }
        map.check_conflicts()?;
        Ok(map)
    }

    /// Two commands that can be active at once must not share a key.
    fn check_conflicts(&self) -> Result<(), String> {
        // Global and List keys are live on every tab; two tabs never are.
        let tab_only = |s: Scope| matches!(s, Scope::Stats | Scope::Events);
        let overlaps = |a: Scope, b: Scope| a == b || !tab_only(a) || !tab_only(b);
        let entries: Vec<(&Spec, &Key)> = SPECS
            .iter()
            .flat_map(|s| self.keys[&s.command].iter().map(move |k| (s, k)))
            .collect();
        for (i, (sa, ka)) in entries.iter().enumerate() {
            if ka.is_ctrl_c() {
                return Err(format!(
                    "keymap.{}: Ctrl-C is reserved for quitting",
                    sa.name
                ));
            }
            for (sb, kb) in &entries[i + 1..] {
                if ka == kb && sa.command != sb.command && overlaps(sa.scope, sb.scope) {
                    return Err(format!(
                        "keymap.{} and keymap.{} both use {ka}",
                        sa.name, sb.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The command bound to `key` among the active scopes (innermost first).
    pub fn lookup(&self, key: &KeyEvent, scopes: &[Scope]) -> Option<Command> {
        let key = Key::from_event(key)?;
        if key.is_ctrl_c() {
            return Some(Command::Quit);
        }
        scopes.iter().find_map(|scope| {
            SPECS
                .iter()
                .filter(|s| s.scope == *scope)
                .find(|s| self.keys[&s.command].contains(&key))
                .map(|s| s.command)
        })
    }

    pub fn keys_of(&self, command: Command) -> String {
        self.keys[&command]
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key of `command`, for the hint line.
    pub fn first_key(&self, command: Command) -> String {
        self.keys[&command][0].to_string()
    }

    /// Hints for the active scopes, innermost first, as shown in the hint line.
    pub fn hints(&self, scopes: &[Scope]) -> Vec<Binding> {
        let mut out = Vec::new();
        for scope in scopes.iter().rev() {
            for s in SPECS.iter().filter(|s| s.scope == *scope) {
                if let Some(label) = s.hint {
                    out.push(Binding {
                        scope: s.scope,
                        keys: self.first_key(s.command),
                        label,
                        help: s.help,
                    });
                }
            }
        }
        // Innermost scope's commands first: they matter most on this tab.
        out.sort_by_key(|b| std::cmp::Reverse(b.scope));
        out
    }

    /// Every binding, grouped by scope, for the help overlay.
    pub fn help(&self) -> Vec<Binding> {
        let mut rows: Vec<Binding> = SPECS
            .iter()
            .map(|s| Binding {
                scope: s.scope,
                keys: if s.command == Command::Quit {
                    format!("{}/Ctrl-C", self.keys_of(s.command))
                } else {
                    self.keys_of(s.command)
                },
                label: s.hint.unwrap_or(""),
                help: s.help,
            })
            .collect();
        rows.sort_by_key(|b| b.scope);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, modifiers, KeyEventKind::Press)
    }

    #[test]
    fn parses_names_chars_and_modifiers() {
        assert_eq!(Key::parse("q").unwrap().to_string(), "q");
        assert_eq!(Key::parse("G").unwrap().to_string(), "G");
        assert_eq!(Key::parse("ctrl-U").unwrap().to_string(), "Ctrl-u");
        assert_eq!(Key::parse("shift-tab").unwrap().to_string(), "Shift-Tab");
        assert_eq!(Key::parse("f5").unwrap().to_string(), "F5");
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("qq").is_err());
    }

    #[test]
    fn lookup_respects_scope_and_ctrl_c() {
        let map = Keymap::default();
        let w = press(KeyCode::Char('w'), KeyModifiers::NONE);
        assert_eq!(
            map.lookup(&w, &[Scope::Stats, Scope::List, Scope::Global]),
            Some(Command::Window)
        );
        assert_eq!(
            map.lookup(&w, &[Scope::Events, Scope::List, Scope::Global]),
            None
        );
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(&ctrl_c, &[Scope::Global]), Some(Command::Quit));
        let shift_g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(&shift_g, &[Scope::List]), Some(Command::Bottom));
        let backtab = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            map.lookup(&backtab, &[Scope::Global]),
            Some(Command::PrevTab)
        );
    }

    #[test]
    fn overrides_are_partial_and_checked() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["x".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        let x = press(KeyCode::Char('x'), KeyModifiers::NONE);
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&x, &[Scope::Global]), Some(Command::Quit));
        assert_eq!(map.lookup(&q, &[Scope::Global]), None);
        assert_eq!(map.keys_of(Command::Help), "?");

        let mut bad = BTreeMap::new();
        bad.insert("qiut".to_string(), vec!["x".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .starts_with("keymap.qiut: unknown command")
        );
        let mut clash = BTreeMap::new();
        clash.insert("quit".to_string(), vec!["j".to_string()]);
        assert_eq!(
            Keymap::with_overrides(&clash).unwrap_err(),
            "keymap.quit and keymap.down both use j"
        );
        let mut reserved = BTreeMap::new();
        reserved.insert("help".to_string(), vec!["ctrl-c".to_string()]);
        assert!(
            Keymap::with_overrides(&reserved)
                .unwrap_err()
                .contains("reserved")
        );
    }

    #[test]
    fn hints_and_help_follow_overrides() {
        let mut o = BTreeMap::new();
        o.insert("window".to_string(), vec!["W".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        let hints = map.hints(&[Scope::Stats, Scope::List, Scope::Global]);
        assert_eq!(hints[0].keys, "W");
        assert_eq!(hints[0].label, "window");
        assert!(map.help().iter().any(|b| b.keys == "q/Ctrl-C"));
    }
}
