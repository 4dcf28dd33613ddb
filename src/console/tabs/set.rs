//! Every tab of the console in one struct, made from the registry's lines:
//! the app holds one [`Tabs`] and reaches a tab by its id, so no code but
//! the tab's own names its type.

use super::id::Tab;
use super::registry::with_tabs;
use super::{TabView, durability, enqueue, events, held, jobs, schedules, stats, worker, workers};

/// What tabs start from.
pub struct TabOptions {
    /// Events the Events tab keeps.
    pub events_buffer: usize,
}

/// A field holding a tab: the tab itself, or a hosted tab that may be
/// absent.
pub trait Slot {
    fn get(&self) -> Option<&dyn TabView>;
    fn get_mut(&mut self) -> Option<&mut dyn TabView>;
}

impl<T: TabView> Slot for T {
    fn get(&self) -> Option<&dyn TabView> {
        Some(self)
    }

    fn get_mut(&mut self) -> Option<&mut dyn TabView> {
        Some(self)
    }
}

impl<T: TabView> Slot for Option<T> {
    fn get(&self) -> Option<&dyn TabView> {
        self.as_ref().map(|t| t as &dyn TabView)
    }

    fn get_mut(&mut self) -> Option<&mut dyn TabView> {
        self.as_mut().map(|t| t as &mut dyn TabView)
    }
}

macro_rules! tab_set {
    ($( $(#[$doc:meta])* $id:ident $field:ident : $ty:ty = $start:expr,
        $value:literal, $key:literal, $help:literal, $scope:literal, $hosted:literal; )*) => {
        /// The console's tabs, one field each.
        pub struct Tabs {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Tabs {
            pub fn new(o: &TabOptions) -> Tabs {
                Tabs { $( $field: { let start: fn(&TabOptions) -> $ty = $start; start(o) }, )* }
            }

            /// The tab behind an id; `None` for a hosted tab not there.
            pub fn get(&self, tab: Tab) -> Option<&dyn TabView> {
                match tab { $(Tab::$id => Slot::get(&self.$field),)* }
            }

            pub fn get_mut(&mut self, tab: Tab) -> Option<&mut dyn TabView> {
                match tab { $(Tab::$id => Slot::get_mut(&mut self.$field),)* }
            }
        }
    };
}

with_tabs!(tab_set);
