//! The tabs' ids and their facts, made from the registry's lines: the
//! [`Tab`] enum (also the `--tab` values), the tabs on offer, the key
//! scope titles and the tab keys' bindings.

use std::sync::LazyLock;

use super::registry::with_tabs;

/// What the keymap needs to bind a tab's key.
pub struct TabKey {
    pub tab: Tab,
    /// The binding's name in `[keymap]` of config.toml (`tab_stats`).
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

macro_rules! tab_ids {
    ($( $(#[$doc:meta])* $id:ident $field:ident : $ty:ty = $start:expr,
        $value:literal, $key:literal, $help:literal, $scope:literal, $hosted:literal; )*) => {
        /// A tab of the console, in the tab bar's order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Tab {
            $( $(#[$doc])* $id, )*
        }

        impl Tab {
            /// Every tab, hosted ones included, in the bar's order.
            pub const EVERY: &[Tab] = &[$(Tab::$id),*];

            /// Present only while the console hosts a worker.
            pub fn hosted(self) -> bool {
                match self { $(Tab::$id => $hosted,)* }
            }

            /// The `--tab` value.
            pub fn name(self) -> &'static str {
                match self { $(Tab::$id => $value,)* }
            }

            /// The heading of this tab's keys in the help overlay.
            pub fn scope_title(self) -> &'static str {
                match self { $(Tab::$id => $scope,)* }
            }
        }

        /// The keys that show each tab.
        pub const TAB_KEYS: &[TabKey] = &[
            $(TabKey { tab: Tab::$id, name: concat!("tab_", $value), default: $key, help: $help },)*
        ];
    };
}

with_tabs!(tab_ids);

/// The tabs the console can open at: every tab but the hosted ones.
static OPENABLE: LazyLock<Vec<Tab>> =
    LazyLock::new(|| Tab::EVERY.iter().copied().filter(|t| !t.hosted()).collect());

/// `--tab` takes every tab but the hosted ones (clap wants exactly the
/// variants that have a value).
impl clap::ValueEnum for Tab {
    fn value_variants<'a>() -> &'a [Self] {
        &OPENABLE
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        (!self.hosted()).then(|| clap::builder::PossibleValue::new(self.name()))
    }
}
