//! Fitting the tab bar and the key-hint line into the terminal's width:
//! pure functions of the labels and the width, so any number of tabs and
//! any binding works, and nothing is ever cut in the middle of a word.

/// One tab as the bar can show it.
#[derive(Debug, Clone, PartialEq)]
pub struct TabLabel {
    /// The key that shows the tab ("1", or a rebound key).
    pub key: String,
    pub title: &'static str,
    /// A shorter title for narrow terminals (may equal `title`).
    pub short: &'static str,
}

/// The fitted bar: whether the " pgq " brand shows, the gap between cells,
/// and one cell per tab (" 1 Stats ", " 1 Sched " or " 1 ").
#[derive(Debug, Clone, PartialEq)]
pub struct TabBar {
    pub brand: bool,
    pub gap: usize,
    pub cells: Vec<String>,
}

pub const BRAND: &str = " pgq ";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Naming {
    Full,
    Short,
    KeyOnly,
}

impl TabBar {
    pub fn width(&self) -> usize {
        let brand = if self.brand { BRAND.chars().count() } else { 0 };
        brand
            + self
                .cells
                .iter()
                .map(|c| self.gap + c.chars().count())
                .sum::<usize>()
    }
}

fn cell(tab: &TabLabel, naming: Naming) -> String {
    match naming {
        Naming::Full => format!(" {} {} ", tab.key, tab.title),
        Naming::Short => format!(" {} {} ", tab.key, tab.short),
        Naming::KeyOnly => format!(" {} ", tab.key),
    }
}

/// The most telling bar that fits `width` columns: full titles; then short
/// titles for the other tabs; then the brand and the gaps go, so every tab
/// keeps a name (nine tabs are named at 80 columns); only then keys alone,
/// the current tab still named. If even the last does not fit, it is
/// returned anyway (the caller clips).
pub fn fit_tabs(tabs: &[TabLabel], current: usize, width: usize) -> TabBar {
    // (other tabs, current tab, brand, gap), most telling first.
    const STEPS: [(Naming, Naming, bool, usize); 11] = [
        (Naming::Full, Naming::Full, true, 1),
        (Naming::Short, Naming::Full, true, 1),
        (Naming::Short, Naming::Full, false, 1),
        (Naming::Short, Naming::Full, false, 0),
        (Naming::Short, Naming::Short, true, 1),
        (Naming::Short, Naming::Short, false, 1),
        (Naming::Short, Naming::Short, false, 0),
        (Naming::KeyOnly, Naming::Full, true, 1),
        (Naming::KeyOnly, Naming::Short, true, 1),
        (Naming::KeyOnly, Naming::Short, true, 0),
        (Naming::KeyOnly, Naming::Short, false, 0),
    ];
    let bar = |(others, this, brand, gap): (Naming, Naming, bool, usize)| TabBar {
        brand,
        gap,
        cells: tabs
            .iter()
            .enumerate()
            .map(|(i, t)| cell(t, if i == current { this } else { others }))
            .collect(),
    };
    let mut fitted = bar(STEPS[STEPS.len() - 1]);
    for step in STEPS {
        let candidate = bar(step);
        if candidate.width() <= width {
            fitted = candidate;
            break;
        }
    }
    fitted
}

/// Columns between two hints.
pub const HINT_GAP: usize = 2;
/// What ends a shortened hint line, after the help key.
pub const MORE: &str = "more";

fn hints_width(hints: &[(String, String)]) -> usize {
    let each: usize = hints
        .iter()
        .map(|(k, l)| k.chars().count() + 1 + l.chars().count())
        .sum();
    each + HINT_GAP * hints.len().saturating_sub(1)
}

/// The hints that fit `width` columns. `hints` come most important first
/// (the keymap's order); when they do not all fit, the least important are
/// dropped whole, the help hint among them, and the line ends with
/// "`help_key` more" so the rest stays one key away. Hints on a key in
/// `pinned` (quit) are never dropped.
pub fn fit_hints(
    hints: &[(String, &str)],
    width: usize,
    help_key: &str,
    pinned: &[String],
) -> Vec<(String, String)> {
    let all: Vec<(String, String)> = hints
        .iter()
        .map(|(k, l)| (k.clone(), l.to_string()))
        .collect();
    if hints_width(&all) <= width {
        return all;
    }
    let mut kept: Vec<(String, String)> = all.into_iter().filter(|(k, _)| k != help_key).collect();
    kept.push((help_key.to_string(), MORE.to_string()));
    while hints_width(&kept) > width {
        // The last droppable one before "more".
        let Some(i) = kept[..kept.len() - 1]
            .iter()
            .rposition(|(k, _)| !pinned.contains(k))
        else {
            break;
        };
        kept.remove(i);
    }
    kept
}

/// Which of a line's parts to keep in `width` columns: parts go whole,
/// the lowest `rank` first (the rightmost among equals), until the rest
/// fits; order is kept. What still does not fit is the caller's to cut
/// (with "…").
pub fn keep_parts(widths: &[usize], ranks: &[u8], width: usize) -> Vec<bool> {
    let mut keep = vec![true; widths.len()];
    let total = |keep: &[bool]| -> usize {
        widths
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(w, _)| w)
            .sum()
    };
    while total(&keep) > width {
        let Some(drop) = (0..widths.len())
            .filter(|&i| keep[i])
            .min_by_key(|&i| (ranks[i], std::cmp::Reverse(i)))
        else {
            break;
        };
        if keep.iter().filter(|k| **k).count() == 1 {
            break;
        }
        keep[drop] = false;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nine tabs: the console's own, the two list tabs, and a hosted worker.
    fn nine() -> Vec<TabLabel> {
        [
            ("Stats", "Stats"),
            ("Jobs", "Jobs"),
            ("Events", "Events"),
            ("Schedules", "Sched"),
            ("Durability", "Durab"),
            ("Enqueue", "Enq"),
            ("Held", "Held"),
            ("Workers", "Wkrs"),
            ("Worker", "Run"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (title, short))| TabLabel {
            key: (i + 1).to_string(),
            title,
            short,
        })
        .collect()
    }

    fn text(bar: &TabBar) -> String {
        let gap = " ".repeat(bar.gap);
        let mut s = if bar.brand {
            BRAND.to_string()
        } else {
            String::new()
        };
        for c in &bar.cells {
            s.push_str(&gap);
            s.push_str(c);
        }
        s
    }

    #[test]
    fn parts_go_whole_least_needed_first() {
        let widths = [11, 17, 27, 10];
        let ranks = [9, 2, 5, 1];
        assert_eq!(keep_parts(&widths, &ranks, 80), [true; 4]);
        assert_eq!(keep_parts(&widths, &ranks, 60), [true, true, true, false]);
        assert_eq!(keep_parts(&widths, &ranks, 40), [true, false, true, false]);
        assert_eq!(keep_parts(&widths, &ranks, 5), [true, false, false, false]);
    }

    #[test]
    fn wide_terminals_show_every_full_title() {
        let bar = fit_tabs(&nine(), 0, 160);
        assert_eq!(
            text(&bar),
            " pgq   1 Stats   2 Jobs   3 Events   4 Schedules   5 Durability   6 Enqueue   7 Held   8 Workers   9 Worker "
        );
    }

    #[test]
    fn short_titles_come_before_keys_only() {
        let bar = fit_tabs(&nine(), 3, 100);
        assert_eq!(
            text(&bar),
            " pgq   1 Stats   2 Jobs   3 Events   4 Schedules   5 Durab   6 Enq   7 Held   8 Wkrs   9 Run "
        );
        assert!(bar.width() <= 100);
    }

    /// The audit: at 80×24 the bar read `1 Stats 2 3 4 5 6 7 8 9`. Every
    /// tab keeps a name at 80 columns, the current one in full.
    #[test]
    fn nine_tabs_are_all_named_at_80_columns() {
        for current in 0..9 {
            let tabs = nine();
            let bar = fit_tabs(&tabs, current, 80);
            let shown = text(&bar);
            assert!(bar.width() <= 80, "{shown}");
            assert!(
                shown.contains(&format!(" {} {} ", current + 1, tabs[current].title)),
                "{shown}"
            );
            for (i, t) in tabs.iter().enumerate() {
                assert!(
                    shown.contains(&format!(" {} {} ", i + 1, t.short))
                        || shown.contains(&format!(" {} {} ", i + 1, t.title)),
                    "{shown}"
                );
            }
        }
        assert_eq!(
            text(&fit_tabs(&nine(), 4, 80)),
            " 1 Stats  2 Jobs  3 Events  4 Sched  5 Durability  6 Enq  7 Held  8 Wkrs  9 Run "
        );
    }

    #[test]
    fn nine_tabs_fit_60_and_40_columns() {
        for current in 0..9 {
            let bar = fit_tabs(&nine(), current, 60);
            assert!(bar.width() <= 60, "{}", text(&bar));
            let bar = fit_tabs(&nine(), current, 40);
            assert!(bar.width() <= 40, "{}", text(&bar));
            assert!(text(&bar).contains(nine()[current].short));
        }
        assert_eq!(
            text(&fit_tabs(&nine(), 4, 40)),
            " pgq  1  2  3  4  5 Durab  6  7  8  9 "
        );
    }

    #[test]
    fn few_tabs_keep_full_titles_at_80() {
        let six: Vec<TabLabel> = nine()
            .into_iter()
            .filter(|t| t.title != "Jobs")
            .take(6)
            .collect();
        let bar = fit_tabs(&six, 0, 80);
        assert!(text(&bar).contains("4 Schedules"), "{}", text(&bar));
    }

    fn hints(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(k, l)| (k.to_string(), *l)).collect()
    }

    #[test]
    fn hints_that_fit_are_kept_as_they_are() {
        let h = hints(&[("q", "quit"), ("?", "help")]);
        let fitted = fit_hints(&h, 80, "?", &[]);
        assert_eq!(
            fitted,
            vec![("q".into(), "quit".into()), ("?".into(), "help".into())]
        );
    }

    #[test]
    fn too_many_hints_drop_the_last_whole_and_end_with_more() {
        let h = hints(&[
            ("Enter", "traceback"),
            ("Space", "tag"),
            ("R", "requeue"),
            ("/", "filter"),
            ("q", "quit"),
            ("?", "help"),
            ("L", "changes"),
            ("r", "refresh"),
            ("Space", "pause"),
        ]);
        for width in [40, 60, 80] {
            let fitted = fit_hints(&h, width, "?", &[]);
            assert!(hints_width(&fitted) <= width, "{width}: {fitted:?}");
            assert_eq!(fitted.last(), Some(&("?".to_string(), "more".to_string())));
            assert!(!fitted.iter().any(|(_, l)| l == "help"));
            // A prefix of the list, in order: the first ones are the most important.
            for (got, want) in fitted.iter().zip(h.iter().filter(|(k, _)| k != "?")) {
                if got.1 != "more" {
                    assert_eq!((got.0.as_str(), got.1.as_str()), (want.0.as_str(), want.1));
                }
            }
        }
        assert_eq!(
            line(&fit_hints(&h, 80, "?", &[])),
            "Enter traceback  Space tag  R requeue  / filter  q quit  L changes  ? more"
        );
    }

    fn line(fitted: &[(String, String)]) -> String {
        let hints: Vec<String> = fitted.iter().map(|(k, l)| format!("{k} {l}")).collect();
        hints.join("  ")
    }

    #[test]
    fn pinned_hints_stay_while_others_go() {
        let h = hints(&[
            ("Enter", "details"),
            ("Space", "tag"),
            ("t", "fire now"),
            ("d", "remove"),
            ("D", "remove tagged"),
            ("/", "filter"),
            ("q", "quit"),
            ("?", "help"),
            ("L", "changes"),
            ("r", "refresh"),
        ]);
        let pinned = ["q".to_string()];
        assert_eq!(
            line(&fit_hints(&h, 80, "?", &pinned)),
            "Enter details  Space tag  t fire now  d remove  D remove tagged  q quit  ? more"
        );
        assert_eq!(
            line(&fit_hints(&h, 40, "?", &pinned)),
            "Enter details  Space tag  q quit  ? more"
        );
    }
}
