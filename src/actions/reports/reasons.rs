//! The answers of `pgq why`: a kind, a sentence and its numbers. Apart
//! from the reasoning (`why`) so the job detail can carry them.

use serde::Serialize;
use serde_json::{Map, Value};

/// What kind of answer a sentence gives (`reason` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    NotDue,
    WaitingTurn,
    NoWorker,
    AtCapacity,
    Running,
    StaleHeartbeat,
    Held,
    DedupeBlocked,
    Finished,
    ScheduleWaiting,
    ScheduleRunning,
    ScheduleStale,
    NoScheduler,
}

/// One answer: its kind, the sentence, and the numbers it was made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub reason: ReasonKind,
    pub text: String,
    #[serde(flatten)]
    pub numbers: Map<String, Value>,
}

impl Reason {
    pub(in crate::actions) fn new(reason: ReasonKind, text: String, numbers: Value) -> Reason {
        let numbers = match numbers {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Reason {
            reason,
            text,
            numbers,
        }
    }
}
