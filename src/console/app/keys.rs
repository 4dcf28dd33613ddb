//! Keys in: the modal layers (dialog, filter line, help, SQL log, detail
//! pane, an edited form) take a key first; otherwise it becomes a command
//! for the app or for the tab on screen, whose replies the app carries out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Effect, Level, STANDBY_REFUSAL, Tab};
use crate::console::contexts::Picked;
use crate::console::db::Request;
use crate::console::dialog::{Background, Phase};
use crate::console::keymap::{Command, Keymap, Scope};

/// A switch would drop the hosted worker's tab or a change still running.
const SWITCH_REFUSAL: &str =
    "cannot switch contexts while a worker is hosted or a change runs in the background";

impl App {
    /// The context picker is modal like the dialog: Enter and Esc mean the
    /// same on every tab (the Durability tab's own Enter applies).
    fn contexts_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let scopes = [Scope::Dialog, Scope::List, Scope::Global];
        match self.keymap.lookup(&key, &scopes) {
            Some(Command::Quit) => self.quit(effects),
            Some(command) => match self.contexts.on_command(command) {
                Picked::Switch(_)
                    if self.tabs.get(Tab::Worker).is_some() || !self.background.is_empty() =>
                {
                    self.flash(Level::Error, SWITCH_REFUSAL)
                }
                Picked::Switch(i) => effects.push(Effect::SwitchContext(i)),
                Picked::Say(text) => self.flash(Level::Info, text),
                Picked::Nothing => {}
            },
            None => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        if key.kind == KeyEventKind::Release {
            return effects;
        }
        let is_ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'C'));
        if is_ctrl_c {
            self.quit(&mut effects);
            return effects;
        }
        if self.confirm.is_some() {
            self.confirm_key(key, &mut effects);
            return effects;
        }
        if self.editing_filter {
            self.edit_filter(key, &mut effects);
            return effects;
        }
        // A form takes every key while edited; its entrypoint completion
        // draws on the other tabs' data, so the app hands the keys over.
        if self.current().is_some_and(|t| t.editing()) {
            match self.keymap.lookup(&key, &[Scope::Tab(self.tab)]) {
                Some(command) if Keymap::mutates(command) => self.submit(command, &mut effects),
                _ => {
                    let known = self.known_entrypoints();
                    if let Some(tab) = self.current_mut() {
                        tab.on_edit_key(key, &known);
                    }
                }
            }
            return effects;
        }
        if self.contexts.open {
            self.contexts_key(key, &mut effects);
            return effects;
        }
        let Some(command) = self.keymap.lookup(&key, &self.scopes()) else {
            return effects;
        };
        if self.help {
            // Help is modal: it closes with help or Esc; quit still quits.
            match command {
                Command::Help | Command::Back => self.help = false,
                Command::Quit => self.quit(&mut effects),
                _ => {}
            }
            return effects;
        }
        if self.messages.open {
            let max = crate::console::ui::messages::max_scroll(
                &self.messages,
                &self.theme,
                self.viewport,
            );
            match command {
                Command::Quit => self.quit(&mut effects),
                _ => self.messages.on_command(command, max),
            }
            return effects;
        }
        if self.sql_log.open {
            match command {
                Command::SqlLog | Command::Back => self.sql_log.open = false,
                Command::Quit => self.quit(&mut effects),
                Command::Down | Command::PageDown => self.sql_log.scroll += 3,
                Command::Up | Command::PageUp => {
                    self.sql_log.scroll = self.sql_log.scroll.saturating_sub(3)
                }
                _ => {}
            }
            return effects;
        }
        if let Some(tab) = self.current().filter(|t| t.detail_open()) {
            let for_tab = tab.detail_commands().contains(&command);
            match command {
                Command::Back | Command::Open => {
                    if let Some(tab) = self.current_mut() {
                        tab.close_detail();
                    }
                    if self.tab == Tab::Jobs
                        && let Some(back) = self.detail_return.take()
                    {
                        self.show_tab(back, &mut effects);
                    }
                }
                Command::Quit => self.quit(&mut effects),
                Command::Help => self.help = true,
                _ if for_tab => self.tab_command(command, &mut effects),
                _ => {}
            }
            return effects;
        }
        if Keymap::mutates(command) && self.conn.read_only {
            self.flash(Level::Error, "refused: this session is read-only");
            return effects;
        }
        if Keymap::mutates(command) && self.conn.standby {
            self.flash(Level::Error, STANDBY_REFUSAL);
            return effects;
        }
        self.run_command(command, &mut effects);
        effects
    }

    pub(super) fn confirm_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.keymap.lookup(&key, &[Scope::Dialog, Scope::Global]);
        let Some(c) = self.confirm.as_mut() else {
            return;
        };
        match (&c.phase, command) {
            (Phase::Running, Some(Command::DialogCancel)) if c.action.runs_alone() => {
                // It runs on a connection of its own: the tabs go on meanwhile.
                self.background.push(Background {
                    id: c.id,
                    action: c.action.clone(),
                    watch: c.watch.clone(),
                });
                self.confirm = None;
                self.flash(
                    Level::Info,
                    "still running in the background; its outcome will show here",
                );
            }
            (Phase::Running, Some(Command::DialogStop)) if c.action.runs_alone() => {
                // Between two batches: what is done stays done.
                c.watch.stop();
                self.flash(Level::Info, "stopping after the current batch…");
            }
            (Phase::Running, _) => {}
            (
                Phase::Done { .. },
                Some(Command::DialogPress | Command::DialogCancel | Command::Quit),
            ) => {
                self.confirm = None;
            }
            (Phase::Done { .. }, _) => {}
            (Phase::Asking, Some(Command::DialogCancel)) => {
                self.confirm = None;
                self.flash(Level::Info, "cancelled; nothing was changed");
            }
            (Phase::Asking, Some(Command::DialogSwitch)) if !c.preview.nothing_to_do => {
                c.confirm_focused = !c.confirm_focused
            }
            (Phase::Asking, Some(Command::DialogDown)) => {
                // Up goes up at once: never further than the last line.
                let body = crate::console::ui::widgets::body_area(self.viewport);
                let text =
                    crate::console::ui::confirm::text(c, &self.conn.target, &self.theme, body);
                let max = crate::console::ui::confirm::Shape::of(body, &text).max_scroll;
                c.scroll = (c.scroll + 1).min(max);
            }
            (Phase::Asking, Some(Command::DialogUp)) => c.scroll = c.scroll.saturating_sub(1),
            (Phase::Asking, Some(Command::DialogPress)) => {
                if c.confirm_focused && !c.preview.nothing_to_do {
                    c.phase = Phase::Running;
                    effects.push(Effect::Request(Request::Execute {
                        id: c.id,
                        action: c.action.clone(),
                        watch: c.watch.clone(),
                    }));
                } else {
                    self.confirm = None;
                    self.flash(Level::Info, "cancelled; nothing was changed");
                }
            }
            _ => {}
        }
    }

    pub(super) fn run_command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        match command {
            Command::Quit => self.quit(effects),
            Command::Help => self.help = true,
            Command::SqlLog => self.sql_log.open = true,
            Command::Messages => self.messages.show(),
            Command::StopBackground => self.stop_background(),
            Command::Contexts if self.contexts.choices.is_empty() => self.flash(
                Level::Info,
                "config.toml defines no [contexts] to switch to",
            ),
            Command::Contexts => self.contexts.show(),
            // A hosted tab's key does nothing while it is not there.
            Command::ShowTab(tab) => {
                if self.tab_view(tab).is_some() {
                    self.switch_to(tab, effects)
                }
            }
            Command::NextTab => self.switch_to(self.tab_offset(1), effects),
            Command::PrevTab => self.switch_to(self.tab_offset(-1), effects),
            Command::Refresh => {
                if self.connected() {
                    self.refresh_current(effects);
                    self.flash(Level::Info, "refreshing");
                } else {
                    effects.push(Effect::Request(Request::Reconnect));
                    self.flash(Level::Info, "reconnecting now");
                }
            }
            Command::Filter => {
                if self.has_filter() {
                    self.editing_filter = true;
                }
            }
            // Esc while a search runs stops it, keeping the filter.
            Command::Back if self.tab == Tab::Jobs && self.tabs.jobs.searching() => {
                effects.push(Effect::Request(Request::CancelSearch));
                self.flash(Level::Info, "search canceled");
            }
            Command::Back => {
                if let Some(tab) = self.current_mut()
                    && let Some(filter) = tab.filter_mut()
                    && !filter.is_empty()
                {
                    filter.clear();
                    tab.reset_selection();
                    let replies = tab.filter_applied();
                    self.apply(self.tab, replies, effects);
                }
            }
            // Everything else belongs to the tab whose scope it came from
            // (or to every list, for moving around).
            _ => self.tab_command(command, effects),
        }
    }

    /// Hand `command` to the tab on screen and carry out what it asks.
    pub(super) fn tab_command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        let cx = self.context();
        let Some(tab) = self.current_mut() else {
            return;
        };
        let replies = tab.on_command(command, &cx);
        self.apply(self.tab, replies, effects);
    }

    /// A form's command that changes the database (submitting), refused
    /// in read-only mode and on a standby like any other mutating key.
    pub(super) fn submit(&mut self, command: Command, effects: &mut Vec<Effect>) {
        if self.conn.read_only {
            self.flash(Level::Error, "refused: this session is read-only");
            return;
        }
        if self.conn.standby {
            self.flash(Level::Error, STANDBY_REFUSAL);
            return;
        }
        self.tab_command(command, effects);
    }

    /// Whether the current tab has a `/` filter.
    pub fn has_filter(&self) -> bool {
        self.current().is_some_and(|t| t.filter().is_some())
    }

    pub fn filter(&self) -> &str {
        self.current().and_then(|t| t.filter()).unwrap_or("")
    }

    pub(super) fn edit_filter(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.keymap.lookup(&key, &[Scope::Filter]);
        let Some(tab) = self.current_mut() else {
            self.editing_filter = false;
            return;
        };
        let mut keep_editing = true;
        match (command, key.code) {
            (Some(Command::FilterKeep), _) => keep_editing = false,
            (Some(Command::FilterClear), _) => {
                keep_editing = false;
                if let Some(f) = tab.filter_mut() {
                    f.clear();
                }
            }
            (Some(Command::FilterErase), _) => {
                if let Some(f) = tab.filter_mut() {
                    f.pop();
                }
            }
            (_, KeyCode::Char(c)) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(f) = tab.filter_mut() {
                    f.push(c);
                }
            }
            _ => return,
        }
        tab.reset_selection();
        let replies = if keep_editing {
            Vec::new()
        } else {
            tab.filter_applied()
        };
        self.editing_filter = keep_editing;
        self.apply(self.tab, replies, effects);
    }

    pub(super) fn tab_offset(&self, by: isize) -> Tab {
        let tabs = self.tabs();
        let i = tabs.iter().position(|t| *t == self.tab).unwrap_or(0) as isize;
        tabs[(i + by).rem_euclid(tabs.len() as isize) as usize]
    }

    /// The scopes whose keys are live, innermost first.
    pub fn scopes(&self) -> Vec<Scope> {
        let tab = self.current().map(|_| Scope::Tab(self.tab));
        tab.into_iter()
            .chain([Scope::List, Scope::Global])
            .collect()
    }

    /// The scopes the `?` overlay explains: the live ones, and the filter
    /// line and confirmation dialog this tab can open.
    pub fn help_scopes(&self) -> Vec<Scope> {
        let mut scopes = self.scopes();
        if self.has_filter() {
            scopes.push(Scope::Filter);
        }
        let mutates = Keymap::has_mutations(Scope::Tab(self.tab));
        if mutates && !self.conn.refuses_changes() {
            scopes.push(Scope::Dialog);
        }
        scopes
    }
}
