//! The console's key bindings: one table that drives input handling, the
//! key-hint line and the help overlay, so the three never disagree.
//!
//! Users override bindings per command in `config.toml`
//! (`[keymap] quit = ["q", "ctrl-q"]`); commands they do not name keep their
//! defaults. Ctrl-C always quits and cannot be rebound away.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tabs::id::{TAB_KEYS, Tab};
use crate::actions::Act;
use crate::actions::kinds::{
    CancelJobs, DeleteJobs, Enqueue, PauseSchedules, Prune, PurgeJobs, RemoveSchedules, Requeue,
    RequeueJobs, ResumeSchedules, RunSchedulesNow, SetDurability, SkipSchedules,
};

/// Where a command applies: everywhere, on one tab's view, or in a modal
/// input (the confirmation dialog, the filter line) that takes the keys
/// while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Global,
    List,
    /// A tab's own keys (its scope title comes from the tab registry).
    Tab(Tab),
    Dialog,
    Filter,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::List => "Lists",
            Scope::Tab(tab) => tab.scope_title(),
            Scope::Dialog => "Confirmation",
            Scope::Filter => "Filter input",
        }
    }

    /// Modal scopes take the keys while open; they are not tabs.
    fn is_modal(self) -> bool {
        matches!(self, Scope::Dialog | Scope::Filter)
    }
}

/// Everything a key can ask the console to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Command {
    Quit,
    Help,
    NextTab,
    PrevTab,
    /// Show this tab (keys from the tab registry).
    ShowTab(Tab),
    SqlLog,
    /// The flash messages of the session, in full.
    Messages,
    /// Pick another config.toml context and reconnect to it.
    Contexts,
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
    Tag,
    Delete,
    DeleteTagged,
    RunNow,
    /// The Schedules tab's moves of next_run (tagged, else selected).
    PauseSchedules,
    ResumeSchedules,
    SkipRun,
    Apply,
    Retention,
    Prune,
    Edit,
    Submit,
    Requeue,
    /// The Jobs tab's cancel of tagged/selected jobs, and its filter-wide actions.
    CancelJobs,
    CancelMatching,
    PurgeMatching,
    /// Held jobs matching the filter back to the queue / deleted, in bulk.
    RequeueMatching,
    DeleteMatching,
    NextPage,
    PrevPage,
    History,
    DialogSwitch,
    DialogPress,
    DialogCancel,
    DialogDown,
    DialogUp,
    /// A long change (a prune, a change by filter) stops after its batch.
    DialogStop,
    /// The same for the changes whose dialog was sent away.
    StopBackground,
    FilterKeep,
    FilterClear,
    FilterErase,
}

#[derive(Clone, Copy)]
struct Spec {
    command: Command,
    /// Name used in `[keymap]` of config.toml.
    name: &'static str,
    scope: Scope,
    /// Short label for the hint line; `None` keeps it out of the hint line.
    hint: Option<&'static str>,
    help: &'static str,
    defaults: &'static [&'static str],
    /// Changes the database (from the action it proposes): hidden from the
    /// hints in read-only mode.
    mutates: bool,
}

/// A spec for a command that only reads or moves around.
const fn spec(
    command: Command,
    name: &'static str,
    scope: Scope,
    hint: Option<&'static str>,
    help: &'static str,
    defaults: &'static [&'static str],
) -> Spec {
    Spec {
        command,
        name,
        scope,
        hint,
        help,
        defaults,
        mutates: false,
    }
}

/// A spec for a command that proposes action `A` (always confirmed first
/// when the action changes the database, which the action itself says).
impl Spec {
    /// Kept out of the hint line (its room goes to `/ filter`, which these
    /// bulk keys depend on); listed in the help overlay.
    const fn help_only(mut self) -> Spec {
        self.hint = None;
        self
    }
}

const fn proposes<A: Act>(
    command: Command,
    name: &'static str,
    scope: Scope,
    hint: &'static str,
    help: &'static str,
    defaults: &'static [&'static str],
) -> Spec {
    Spec {
        command,
        name,
        scope,
        hint: Some(hint),
        help,
        defaults,
        mutates: A::MUTATES,
    }
}

// One line per binding reads best as a table. Within a scope the order is
// the hints' importance, most important first: a hint line too long for
// the terminal drops hints from the end (see `ui::fit::fit_hints`).
#[rustfmt::skip]
const FIRST: &[Spec] = &[
    spec(Command::Quit, "quit", Scope::Global, Some("quit"), "Quit", &["q"]),
    spec(Command::Help, "help", Scope::Global, Some("help"), "Show/hide this help", &["?"]),
];

/// Every binding: quit and help, the tab keys from the tab registry, then
/// the rest in [`REST`]'s order.
static SPECS: LazyLock<Vec<Spec>> = LazyLock::new(|| {
    let tabs = TAB_KEYS.iter().map(|k| {
        let defaults = std::slice::from_ref(&k.default);
        spec(
            Command::ShowTab(k.tab),
            k.name,
            Scope::Global,
            None,
            k.help,
            defaults,
        )
    });
    FIRST
        .iter()
        .copied()
        .chain(tabs)
        .chain(REST.iter().copied())
        .collect()
});

#[rustfmt::skip]
const REST: &[Spec] = &[
    spec(Command::NextTab, "next_tab", Scope::Global, None, "Next tab", &["tab"]),
    spec(Command::PrevTab, "prev_tab", Scope::Global, None, "Previous tab", &["shift-tab"]),
    spec(Command::SqlLog, "sql_log", Scope::Global, Some("changes"), "Changes made, with SQL", &["L"]),
    spec(Command::Refresh, "refresh", Scope::Global, Some("refresh"), "Refresh now", &["r"]),
    spec(Command::Pause, "pause", Scope::Global, Some("pause"), "Pause/resume this tab", &["space"]),
    spec(Command::Back, "back", Scope::Global, None, "Close dialog/filter", &["esc"]),
    spec(Command::Messages, "messages", Scope::Global, None, "Messages, in full", &["m"]),
    spec(Command::StopBackground, "stop_background", Scope::Global, None, "Stop background change", &["x", "X"]),
    spec(Command::Contexts, "contexts", Scope::Global, None, "Switch context", &[":"]),
    spec(Command::Filter, "filter", Scope::List, Some("filter"), "Filter (Enter keeps)", &["/"]),
    spec(Command::Up, "up", Scope::List, None, "Move up", &["k", "up"]),
    spec(Command::Down, "down", Scope::List, None, "Move down", &["j", "down"]),
    spec(Command::Top, "top", Scope::List, None, "First row", &["g", "home"]),
    spec(Command::Bottom, "bottom", Scope::List, None, "Last row", &["G", "end"]),
    spec(Command::PageUp, "page_up", Scope::List, None, "Page up", &["pgup", "ctrl-u"]),
    spec(Command::PageDown, "page_down", Scope::List, None, "Page down", &["pgdn", "ctrl-d"]),
    spec(Command::Window, "window", Scope::Tab(Tab::Stats), Some("window"), "Window 5m/1h/6h/24h", &["w"]),
    spec(Command::Sort, "sort", Scope::Tab(Tab::Stats), Some("sort"), "Next sort column", &["s"]),
    spec(Command::Open, "open_entrypoint", Scope::Tab(Tab::Stats), Some("jobs"), "Jobs of this entrypoint", &["enter"]),
    spec(Command::Open, "open_job", Scope::Tab(Tab::Jobs), Some("detail"), "Job detail (payload, log timeline)", &["enter"]),
    spec(Command::NextPage, "next_page", Scope::Tab(Tab::Jobs), Some("next page"), "Next page (keyset)", &["n", "]"]),
    spec(Command::PrevPage, "prev_page", Scope::Tab(Tab::Jobs), Some("prev page"), "Previous page", &["p", "["]),
    spec(Command::History, "history", Scope::Tab(Tab::Jobs), Some("history"), "Queue ⇄ finished jobs (log)", &["h"]),
    spec(Command::Sort, "order", Scope::Tab(Tab::Jobs), Some("order"), "Newest ⇄ oldest first", &["o"]),
    spec(Command::Copy, "copy_payload", Scope::Tab(Tab::Jobs), None, "Copy the payload", &["y"]),
    spec(Command::Back, "stop_search", Scope::Tab(Tab::Jobs), None, "Stop the running search, else clear the filter", &["esc"]),
    spec(Command::Tag, "tag_job", Scope::Tab(Tab::Jobs), Some("tag"), "Tag/untag the row", &["space"]),
    proposes::<CancelJobs>(Command::CancelJobs, "cancel_jobs", Scope::Tab(Tab::Jobs), "cancel", "Cancel tagged/selected (queued, picked)", &["c"]),
    proposes::<CancelJobs>(Command::CancelMatching, "cancel_matching", Scope::Tab(Tab::Jobs), "cancel all", "Cancel every job matching the filter", &["C"]),
    proposes::<Requeue>(Command::Requeue, "requeue_job", Scope::Tab(Tab::Jobs), "requeue", "Requeue tagged/selected held jobs", &["R"]),
    proposes::<DeleteJobs>(Command::Delete, "delete_job", Scope::Tab(Tab::Jobs), "delete", "Delete tagged/selected held jobs", &["d"]),
    proposes::<PurgeJobs>(Command::PurgeMatching, "purge_matching", Scope::Tab(Tab::Jobs), "purge", "Purge queued jobs matching the filter", &["P"]),
    proposes::<RequeueJobs>(Command::RequeueMatching, "requeue_matching", Scope::Tab(Tab::Jobs), "requeue all", "Requeue every held job matching the filter", &["A"]).help_only(),
    proposes::<DeleteJobs>(Command::DeleteMatching, "delete_matching", Scope::Tab(Tab::Jobs), "delete all", "Delete every held job matching the filter", &["D"]).help_only(),
    spec(Command::Open, "open", Scope::Tab(Tab::Events), Some("open"), "Show the event's JSON (a cancellation: its job)", &["enter"]),
    spec(Command::Clear, "clear", Scope::Tab(Tab::Events), Some("clear"), "Clear the buffer", &["c"]),
    spec(Command::Copy, "copy", Scope::Tab(Tab::Events), Some("copy"), "Copy JSON (OSC 52)", &["y"]),
    spec(Command::Open, "open_schedule", Scope::Tab(Tab::Schedules), Some("details"), "Next 10 fire times", &["enter"]),
    spec(Command::Tag, "tag", Scope::Tab(Tab::Schedules), Some("tag"), "Tag/untag the row", &["space"]),
    proposes::<RunSchedulesNow>(Command::RunNow, "run_now", Scope::Tab(Tab::Schedules), "fire now", "Make it due now", &["t"]),
    proposes::<RemoveSchedules>(Command::Delete, "delete", Scope::Tab(Tab::Schedules), "remove", "Remove the schedule", &["d"]),
    proposes::<RemoveSchedules>(Command::DeleteTagged, "delete_tagged", Scope::Tab(Tab::Schedules), "remove tagged", "Remove tagged ones", &["D"]),
    proposes::<PauseSchedules>(Command::PauseSchedules, "pause_schedules", Scope::Tab(Tab::Schedules), "pause sched", "Pause tagged/selected schedules (until resumed)", &["p"]),
    proposes::<ResumeSchedules>(Command::ResumeSchedules, "resume_schedules", Scope::Tab(Tab::Schedules), "resume sched", "Resume tagged/selected schedules (from the next fire)", &["u"]),
    proposes::<SkipSchedules>(Command::SkipRun, "skip_run", Scope::Tab(Tab::Schedules), "skip next", "Skip the next run of tagged/selected schedules", &["s"]),
    proposes::<SetDurability>(Command::Apply, "apply", Scope::Tab(Tab::Durability), "apply", "Switch to this level", &["enter"]),
    spec(Command::Retention, "retention", Scope::Tab(Tab::Durability), None, "Prune age 1d/7d/30d/90d", &["o"]),
    proposes::<Prune>(Command::Prune, "prune", Scope::Tab(Tab::Durability), "prune", "Delete older log and statistics rows", &["p"]),
    spec(Command::Edit, "edit", Scope::Tab(Tab::Enqueue), Some("edit"), "Edit the form", &["e", "i"]),
    proposes::<Enqueue>(Command::Submit, "submit", Scope::Tab(Tab::Enqueue), "enqueue", "Enqueue the job", &["ctrl-s"]),
    spec(Command::Open, "open_held", Scope::Tab(Tab::Held), Some("detail"), "Job detail (payload, log, traceback)", &["enter"]),
    spec(Command::Tag, "tag_held", Scope::Tab(Tab::Held), Some("tag"), "Tag/untag the row", &["space"]),
    proposes::<Requeue>(Command::Requeue, "requeue", Scope::Tab(Tab::Held), "requeue", "Requeue tagged/selected", &["R"]),
    proposes::<DeleteJobs>(Command::Delete, "delete_held", Scope::Tab(Tab::Held), "delete", "Delete tagged/selected", &["d"]),
    proposes::<RequeueJobs>(Command::RequeueMatching, "requeue_all_held", Scope::Tab(Tab::Held), "requeue all", "Requeue every held job matching (entrypoints the filter names)", &["A"]).help_only(),
    proposes::<DeleteJobs>(Command::DeleteMatching, "delete_all_held", Scope::Tab(Tab::Held), "delete all", "Delete every held job matching (entrypoints the filter names)", &["D"]).help_only(),
    spec(Command::Open, "open_running", Scope::Tab(Tab::Worker), Some("job"), "The selected running job's detail", &["enter"]),
    spec(Command::Open, "open_worker", Scope::Tab(Tab::Workers), Some("jobs"), "The jobs it holds (Jobs tab)", &["enter"]),
    proposes::<CancelJobs>(Command::CancelJobs, "cancel_stale", Scope::Tab(Tab::Workers), "cancel stale", "Cancel what a stale worker holds", &["c"]),
    spec(Command::DialogSwitch, "dialog_switch", Scope::Dialog, Some("switch button"), "Cancel ⇄ Confirm", &["tab", "shift-tab", "left", "right", "h", "l"]),
    spec(Command::DialogPress, "dialog_press", Scope::Dialog, Some("press it"), "Press the focused button", &["enter"]),
    spec(Command::DialogCancel, "dialog_cancel", Scope::Dialog, Some("cancel"), "Cancel, change nothing", &["esc"]),
    spec(Command::DialogDown, "dialog_down", Scope::Dialog, None, "Scroll the preview down", &["j", "down"]),
    spec(Command::DialogUp, "dialog_up", Scope::Dialog, None, "Scroll the preview up", &["k", "up"]),
    spec(Command::DialogStop, "dialog_stop", Scope::Dialog, None, "Stop a running change after its batch", &["x", "X"]),
    spec(Command::FilterKeep, "filter_keep", Scope::Filter, Some("keep"), "Keep the filter", &["enter"]),
    spec(Command::FilterClear, "filter_clear", Scope::Filter, Some("clear"), "Clear the filter", &["esc"]),
    spec(Command::FilterErase, "filter_erase", Scope::Filter, None, "Delete a character", &["backspace"]),
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
    pub help: String,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Keys per binding name (`quit`, `tag_held`, …).
    keys: BTreeMap<&'static str, Vec<Key>>,
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
                (s.name, keys)
            })
            .collect();
        Keymap { keys }
    }
}

/// Tab and modal scopes are live one at a time; Global and List are live
/// on every tab.
fn tab_scope(scope: Scope) -> bool {
    !matches!(scope, Scope::Global | Scope::List)
}

/// Whether bindings in scopes `a` and `b` are live at the same time.
fn clash(a: Scope, b: Scope) -> bool {
    a == b || (!tab_scope(a) && !tab_scope(b))
}

impl Keymap {
    /// Defaults patched with `overrides` (binding name → key list). Errors
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
            map.keys.insert(spec.name, parsed);
        }
        map.defaults_give_way(overrides)?;
        map.check_conflicts()?;
        Ok(map)
    }

    /// A key the user bound on purpose wins over a default of another
    /// command, which keeps its other keys: a binding pgq adds later never
    /// turns a config that worked into an error. Only a default left with
    /// no key at all is an error, naming both.
    fn defaults_give_way(
        &mut self,
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), String> {
        let chosen: Vec<(&'static Spec, Key)> = SPECS
            .iter()
            .filter(|s| overrides.contains_key(s.name))
            .flat_map(|s| self.keys(s).iter().map(move |k| (s, *k)))
            .collect();
        for spec in SPECS.iter().filter(|s| !overrides.contains_key(s.name)) {
            let Some(keys) = self.keys.get_mut(spec.name) else {
                continue;
            };
            let taker = chosen
                .iter()
                .find(|(s, k)| keys.contains(k) && clash(s.scope, spec.scope))
                .map(|(s, _)| s.name);
            keys.retain(|k| {
                !chosen
                    .iter()
                    .any(|(s, taken)| taken == k && clash(s.scope, spec.scope))
            });
            if keys.is_empty() {
                return Err(format!(
                    "keymap.{} takes the only key of keymap.{}; give keymap.{} a key too",
                    taker.unwrap_or("?"),
                    spec.name,
                    spec.name
                ));
            }
        }
        Ok(())
    }

    fn keys(&self, spec: &Spec) -> &[Key] {
        &self.keys[spec.name]
    }

    /// Two bindings live at the same time must not share a key. A tab's
    /// own bindings may deliberately take a Global or List key on that tab
    /// (Space tags on the Schedules tab instead of pausing); the hint line
    /// and help then show the tab's meaning.
    fn check_conflicts(&self) -> Result<(), String> {
        let entries: Vec<(&Spec, &Key)> = SPECS
            .iter()
            .flat_map(|s| self.keys(s).iter().map(move |k| (s, k)))
            .collect();
        for (i, (sa, ka)) in entries.iter().enumerate() {
            if ka.is_ctrl_c() {
                return Err(format!(
                    "keymap.{}: Ctrl-C is reserved for quitting",
                    sa.name
                ));
            }
            for (sb, kb) in &entries[i + 1..] {
                if ka == kb && sa.name != sb.name && clash(sa.scope, sb.scope) {
                    return Err(format!(
                        "keymap.{} and keymap.{} both use {ka}",
                        sa.name, sb.name
                    ));
                }
            }
        }
        Ok(())
    }

    fn live(&self, key: &Key, scopes: &[Scope]) -> Option<&'static Spec> {
        scopes.iter().find_map(|scope| {
            SPECS
                .iter()
                .filter(|s| s.scope == *scope)
                .find(|s| self.keys(s).contains(key))
        })
    }

    /// The command bound to `key` among the active scopes (innermost first).
    pub fn lookup(&self, key: &KeyEvent, scopes: &[Scope]) -> Option<Command> {
        let key = Key::from_event(key)?;
        if key.is_ctrl_c() {
            return Some(Command::Quit);
        }
        self.live(&key, scopes).map(|s| s.command)
    }

    /// Whether `command` changes the database (refused in read-only mode).
    pub fn mutates(command: Command) -> bool {
        SPECS.iter().any(|s| s.command == command && s.mutates)
    }

    /// Whether `scope` holds a command that changes the database (and so
    /// leads to the confirmation dialog).
    pub fn has_mutations(scope: Scope) -> bool {
        SPECS.iter().any(|s| s.scope == scope && s.mutates)
    }

    /// The hint-line label of `command` (its help text if it has none).
    pub fn label(&self, command: Command) -> &'static str {
        let spec = Self::spec_of(command);
        spec.hint.unwrap_or(spec.help)
    }

    fn spec_of(command: Command) -> &'static Spec {
        SPECS
            .iter()
            .find(|s| s.command == command)
            .expect("every command has a binding")
    }

    pub fn keys_of(&self, command: Command) -> String {
        join_keys(self.keys(Self::spec_of(command)))
    }

    /// The first key of `command`, for the hint line.
    pub fn first_key(&self, command: Command) -> String {
        self.keys(Self::spec_of(command))[0].to_string()
    }

    /// Hints for the active scopes, innermost first, as shown in the hint
    /// line: without bindings shadowed by the tab, and without mutations in
    /// read-only mode.
    pub fn hints(&self, scopes: &[Scope], read_only: bool) -> Vec<Binding> {
        let mut out = Vec::new();
        for scope in scopes {
            for s in SPECS.iter().filter(|s| s.scope == *scope) {
                let Some(label) = s.hint else { continue };
                if read_only && s.mutates {
                    continue;
                }
                let first = self.keys(s)[0];
                if self.live(&first, scopes).map(|live| live.name) != Some(s.name) {
                    continue;
                }
                out.push(Binding {
                    scope: s.scope,
                    keys: first.to_string(),
                    label,
                    help: s.help.to_string(),
                });
            }
        }
        out
    }

    /// Every binding of every scope, in the order of the key list, with
    /// this keymap's keys: the console's keys in the manual (`pgq(1)`).
    pub fn all(&self) -> Vec<Binding> {
        SPECS
            .iter()
            .map(|s| Binding {
                scope: s.scope,
                keys: join_keys(self.keys(s)),
                label: s.hint.unwrap_or(""),
                help: s.help.to_string(),
            })
            .collect()
    }

    /// The bindings live in `scopes`, grouped by scope, for the help
    /// overlay (contextual, like gitui: each tab shows its own keys). The
    /// tab keys read as one row built from `tabs`, the tabs on offer in the
    /// bar's order, so it names only tabs that are there.
    pub fn help(&self, scopes: &[Scope], read_only: bool, tabs: &[TabEntry]) -> Vec<Binding> {
        let mut rows: Vec<Binding> = Vec::new();
        let mut tabs_shown = false;
        // The tab's scopes, innermost first: a key they bind shadows the same
        // key further out, as [`Keymap::lookup`] does.
        let tab_scopes: Vec<Scope> = scopes.iter().copied().filter(|s| !s.is_modal()).collect();
        for s in SPECS
            .iter()
            .filter(|s| scopes.contains(&s.scope))
            .filter(|s| !(read_only && s.mutates))
        {
            // Only the keys that reach this binding: on the Schedules tab
            // Space tags, so it is not listed again as pausing.
            let live_in = if s.scope.is_modal() {
                vec![s.scope]
            } else {
                tab_scopes.clone()
            };
            let keys: Vec<Key> = self
                .keys(s)
                .iter()
                .copied()
                .filter(|k| self.live(k, &live_in).map(|l| l.name) == Some(s.name))
                .collect();
            if keys.is_empty() {
                continue;
            }
            if is_tab_key(s) {
                // One row, where the first tab key is listed.
                if !tabs_shown && !tabs.is_empty() {
                    rows.push(self.tabs_row(tabs));
                }
                tabs_shown = true;
                continue;
            }
            rows.push(Binding {
                scope: s.scope,
                keys: if s.command == Command::Quit {
                    format!("{}/Ctrl-C", join_keys(&keys))
                } else {
                    join_keys(&keys)
                },
                label: s.hint.unwrap_or(""),
                help: s.help.to_string(),
            });
        }
        // This tab's own keys first: they are what the user came for; the
        // dialog's and the filter line's last.
        rows.sort_by_key(|b| {
            let rank = if b.scope.is_modal() {
                2
            } else if tab_scope(b.scope) {
                0
            } else {
                1
            };
            (rank, b.scope)
        });
        rows
    }
}

/// The keys that jump to one tab (`tab_stats`, `tab_held`, …), made from
/// the tab registry, so tabs added later join the row.
fn is_tab_key(spec: &Spec) -> bool {
    matches!(spec.command, Command::ShowTab(_))
}

/// A tab on offer, for the help overlay's tab row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabEntry {
    /// The command that shows the tab (its keys come from the keymap).
    pub command: Command,
    pub title: &'static str,
    /// Present only while the console hosts a worker: named in the row.
    pub hosted: bool,
}

impl Keymap {
    /// "1–6  Tabs", or with a hosted worker "1–7  Tabs (7: Worker)":
    /// consecutive single digits read as a range, other keys are listed.
    fn tabs_row(&self, tabs: &[TabEntry]) -> Binding {
        let keys: Vec<String> = tabs.iter().map(|t| self.keys_of(t.command)).collect();
        let digits: Vec<u32> = keys.iter().filter_map(|k| k.parse::<u32>().ok()).collect();
        let consecutive = digits.len() == keys.len()
            && digits.len() > 1
            && digits.windows(2).all(|w| w[1] == w[0] + 1);
        let keys_text = match (consecutive, digits.first(), digits.last()) {
            (true, Some(first), Some(last)) => format!("{first}–{last}"),
            _ => keys.join(" "),
        };
        let hosted: Vec<String> = tabs
            .iter()
            .filter(|t| t.hosted)
            .map(|t| format!("{}: {}", self.first_key(t.command), t.title))
            .collect();
        let help = if hosted.is_empty() {
            "Tabs".to_string()
        } else {
            format!("Tabs ({})", hosted.join(", "))
        };
        Binding {
            scope: Scope::Global,
            keys: keys_text,
            label: "",
            help,
        }
    }
}

fn join_keys(keys: &[Key]) -> String {
    keys.iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join("/")
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
            map.lookup(&w, &[Scope::Tab(Tab::Stats), Scope::List, Scope::Global]),
            Some(Command::Window)
        );
        assert_eq!(
            map.lookup(&w, &[Scope::Tab(Tab::Events), Scope::List, Scope::Global]),
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
        // x was also a default (stop a change in the background): the
        // user's choice wins, the default keeps its other key.
        assert_eq!(map.first_key(Command::StopBackground), "X");

        let mut bad = BTreeMap::new();
        bad.insert("qiut".to_string(), vec!["x".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .starts_with("keymap.qiut: unknown command")
        );
        // A default gives way to a chosen key (down keeps its arrow)...
        let mut taken = BTreeMap::new();
        taken.insert("quit".to_string(), vec!["j".to_string()]);
        let map = Keymap::with_overrides(&taken).unwrap();
        assert_eq!(map.keys_of(Command::Down), "↓");
        // ...unless it would be left with none; two chosen keys still clash.
        let mut only = BTreeMap::new();
        only.insert("quit".to_string(), vec!["?".to_string()]);
        assert_eq!(
            Keymap::with_overrides(&only).unwrap_err(),
            "keymap.quit takes the only key of keymap.help; give keymap.help a key too"
        );
        let mut clash = BTreeMap::new();
        clash.insert("quit".to_string(), vec!["k".to_string()]);
        clash.insert("help".to_string(), vec!["k".to_string()]);
        assert_eq!(
            Keymap::with_overrides(&clash).unwrap_err(),
            "keymap.quit and keymap.help both use k"
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
        let hints = map.hints(&[Scope::Tab(Tab::Stats), Scope::List, Scope::Global], false);
        assert_eq!(hints[0].keys, "W");
        assert_eq!(hints[0].label, "window");
        assert!(
            map.help(&[Scope::Global], false, &[])
                .iter()
                .any(|b| b.keys == "q/Ctrl-C")
        );
    }

    #[test]
    fn the_help_tab_row_names_what_is_there() {
        let entry = |command, title, hosted| TabEntry {
            command,
            title,
            hosted,
        };
        let always = [
            entry(Command::ShowTab(Tab::Stats), "Stats", false),
            entry(Command::ShowTab(Tab::Jobs), "Jobs", false),
            entry(Command::ShowTab(Tab::Events), "Events", false),
            entry(Command::ShowTab(Tab::Schedules), "Schedules", false),
            entry(Command::ShowTab(Tab::Durability), "Durability", false),
            entry(Command::ShowTab(Tab::Enqueue), "Enqueue", false),
            entry(Command::ShowTab(Tab::Held), "Held", false),
            entry(Command::ShowTab(Tab::Workers), "Workers", false),
        ];
        let row = |map: &Keymap, tabs: &[TabEntry]| {
            let help = map.help(&[Scope::Global], false, tabs);
            let row = help.into_iter().find(|b| b.help.starts_with("Tabs"));
            row.map(|b| (b.keys, b.help))
        };
        let map = Keymap::default();
        assert_eq!(row(&map, &always), Some(("1–8".into(), "Tabs".into())));
        let mut hosting = always.to_vec();
        hosting.push(entry(Command::ShowTab(Tab::Worker), "Worker", true));
        assert_eq!(
            row(&map, &hosting),
            Some(("1–9".into(), "Tabs (9: Worker)".into()))
        );
        let mut o = BTreeMap::new();
        o.insert("tab_worker".to_string(), vec!["f7".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            row(&map, &hosting),
            Some(("1 2 3 4 5 6 7 8 F7".into(), "Tabs (F7: Worker)".into()))
        );
    }

    #[test]
    fn tabs_shadow_global_keys_and_read_only_hides_mutations() {
        let map = Keymap::default();
        let scopes = [Scope::Tab(Tab::Schedules), Scope::List, Scope::Global];
        let space = press(KeyCode::Char(' '), KeyModifiers::NONE);
        assert_eq!(map.lookup(&space, &scopes), Some(Command::Tag));
        assert_eq!(
            map.lookup(
                &space,
                &[Scope::Tab(Tab::Stats), Scope::List, Scope::Global]
            ),
            Some(Command::Pause)
        );
        let labels: Vec<&str> = map.hints(&scopes, false).iter().map(|b| b.label).collect();
        assert!(
            labels.contains(&"tag") && labels.contains(&"remove"),
            "{labels:?}"
        );
        assert!(!labels.contains(&"pause"), "shadowed by tag: {labels:?}");
        assert!(
            labels.contains(&"pause sched") && labels.contains(&"skip next"),
            "{labels:?}"
        );
        let p = press(KeyCode::Char('p'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&p, &scopes), Some(Command::PauseSchedules));
        let u = press(KeyCode::Char('u'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&u, &scopes), Some(Command::ResumeSchedules));
        let s = press(KeyCode::Char('s'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&s, &scopes), Some(Command::SkipRun));
        let labels: Vec<&str> = map.hints(&scopes, true).iter().map(|b| b.label).collect();
        assert!(
            !labels.contains(&"remove")
                && !labels.contains(&"fire now")
                && !labels.contains(&"pause sched"),
            "{labels:?}"
        );
        assert!(
            !map.help(&scopes, true, &[])
                .iter()
                .any(|b| b.label == "remove")
        );
        assert!(
            map.help(&scopes, false, &[])
                .iter()
                .any(|b| b.label == "remove")
        );
        assert!(Keymap::mutates(Command::Delete) && !Keymap::mutates(Command::Tag));
    }

    /// Issue 22 §6: the help listed Space twice on the Schedules tab (tag,
    /// and the pause it shadows). Each key is listed once, with the meaning
    /// it has there; modal scopes keep their own keys.
    #[test]
    fn help_lists_each_key_once_with_its_live_meaning() {
        let map = Keymap::default();
        for tab in [Tab::Schedules, Tab::Held, Tab::Jobs, Tab::Stats] {
            let tab = Scope::Tab(tab);
            let scopes = [
                tab,
                Scope::List,
                Scope::Global,
                Scope::Filter,
                Scope::Dialog,
            ];
            let help = map.help(&scopes, false, &[]);
            let mut seen: Vec<(Option<Scope>, String)> = Vec::new();
            for b in &help {
                // (the filter key `/` splits into empty pieces)
                for key in b.keys.split('/').filter(|k| !k.is_empty()) {
                    let modal = Some(b.scope).filter(|s| s.is_modal());
                    let entry = (modal, key.to_string());
                    assert!(!seen.contains(&entry), "{key} twice on {tab:?}: {help:?}");
                    seen.push(entry);
                }
            }
            let space: Vec<&str> = help
                .iter()
                .filter(|b| b.keys.split('/').any(|k| k == "Space"))
                .map(|b| b.help.as_str())
                .collect();
            let want = if tab == Scope::Tab(Tab::Stats) {
                "Pause/resume this tab"
            } else {
                "Tag/untag the row"
            };
            assert_eq!(space, [want], "{tab:?}");
        }
        // The dialog's Enter is listed though the tab binds Enter too.
        let help = map.help(
            &[
                Scope::Tab(Tab::Schedules),
                Scope::List,
                Scope::Global,
                Scope::Dialog,
            ],
            false,
            &[],
        );
        assert!(
            help.iter()
                .any(|b| b.scope == Scope::Dialog && b.keys == "Enter")
        );
    }
}
