//! Jobs: the one filter and selection, listing and detail (browse), enqueue and
//! requeue, cancel/delete/purge by selection (removal), payload display.

pub mod browse;
pub mod enqueue;
pub mod filter;
pub mod json_indent;
pub mod payload;
pub mod queue_row;
pub mod removal;
pub mod selection;
