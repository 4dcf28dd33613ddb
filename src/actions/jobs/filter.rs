//! Which jobs an operator means: the filter of `pgq jobs` and the Jobs tab,
//! a plain data struct that any action selecting jobs can reuse.
//!
//! The WHERE clause is composed from fixed fragments, one per filter that is
//! set, each constant text with a numbered bind parameter: no user value is
//! ever spliced into SQL, and the planner sees only the conditions that apply
//! (a catch-all `($1 IS NULL OR …)` would make one plan for every filter and
//! lose the partial indexes).

use serde::Serialize;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};
use uuid::Uuid;

/// A job status as PGQueuer's enum spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Picked,
    Failed,
    Successful,
    Exception,
    Canceled,
    Deleted,
}

impl JobStatus {
    pub const QUEUE: [JobStatus; 3] = [JobStatus::Queued, JobStatus::Picked, JobStatus::Failed];
    /// The statuses a finished job is logged with (the rows the queue no longer has).
    pub const FINISHED: [JobStatus; 4] = [
        JobStatus::Successful,
        JobStatus::Exception,
        JobStatus::Canceled,
        JobStatus::Deleted,
    ];

    pub fn label(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Picked => "picked",
            JobStatus::Failed => "failed",
            JobStatus::Successful => "successful",
            JobStatus::Exception => "exception",
            JobStatus::Canceled => "canceled",
            JobStatus::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        [JobStatus::QUEUE.as_slice(), JobStatus::FINISHED.as_slice()]
            .concat()
            .into_iter()
            .find(|s| s.label() == text)
    }

    /// Whether a job in this status is a row of the queue table (else only of the log).
    pub fn in_queue(self) -> bool {
        JobStatus::QUEUE.contains(&self)
    }
}

/// What `search` looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// A substring of the payload bytes (text as UTF-8) or of the headers' JSON text.
    Text(String),
    /// A top-level key of a JSON payload or of the headers with this value
    /// (a string equal to it, or a number/boolean/null spelled so).
    KeyValue { key: String, value: String },
}

impl Search {
    /// A text search for nothing (empty or only whitespace): it would
    /// select every job, so it is refused wherever a filter is read.
    pub fn is_blank(&self) -> bool {
        matches!(self, Search::Text(t) if t.trim().is_empty())
    }

    /// `key=value` when the text has an `=` after a non-empty key without
    /// spaces; anything else is a substring.
    pub fn parse(text: &str) -> Search {
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() && !key.contains(char::is_whitespace) => {
                Search::KeyValue {
                    key: key.to_string(),
                    value: value.to_string(),
                }
            }
            _ => Search::Text(text.to_string()),
        }
    }
}

/// Jobs to list, act on or count. Every field narrows; the default is "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub entrypoints: Vec<String>,
    pub priority_min: Option<i32>,
    pub priority_max: Option<i32>,
    pub id: Option<i64>,
    pub dedupe_key: Option<String>,
    /// The queue manager holding the job (`queue_manager_id`).
    pub worker: Option<Uuid>,
    pub search: Option<Search>,
    /// Only jobs created longer ago than this.
    pub older_than: Option<std::time::Duration>,
}

/// Why a filter cannot select anything from a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("status {0} is only in the log of finished jobs; add --history")]
    FinishedStatus(&'static str),
    #[error("status {0} is a job still in the queue; drop --history")]
    QueueStatus(&'static str),
    #[error(
        "the log of finished jobs has no {0} (PGQueuer keeps only id, status, priority, entrypoint and traceback there); drop --history or the {0} filter"
    )]
    NotInLog(&'static str),
    #[error("the priority range is empty ({min} > {max})")]
    EmptyPriorityRange { min: i32, max: i32 },
    #[error(
        "refusing an empty search: it would match every job; give the text to look for, or drop the search"
    )]
    BlankSearch,
}

/// One bind parameter of a composed WHERE clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Status(JobStatus),
    Text(String),
    Texts(Vec<String>),
    Int(i32),
    BigInt(i64),
    Uuid(Uuid),
    Bytes(Vec<u8>),
    Float(f64),
}

impl Param {
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Float(f) => f,
            Param::Status(s) => s,
            Param::Text(t) => t,
            Param::Texts(t) => t,
            Param::Int(i) => i,
            Param::BigInt(i) => i,
            Param::Uuid(u) => u,
            Param::Bytes(b) => b,
        }
    }
}

/// A status goes out as the enum's label, so `status = $1` compares with
/// the column's own type: a custom plan then proves the partial indexes'
/// `status = 'queued'` predicates, which a `status::text = $1` would hide.
impl ToSql for JobStatus {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.label().as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Enum(_))
    }

    to_sql_checked!();
}

/// A composed WHERE clause (without the keyword) and its parameters, `$first…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Where {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Where {
    fn new(first: usize) -> Where {
        Where {
            sql: String::new(),
            params: Vec::with_capacity(first.saturating_sub(1)),
        }
    }

    /// Add `fragment`, whose `$?` marks (in order) take `params`.
    fn and(&mut self, first: usize, fragment: &str, params: Vec<Param>) {
        let mut text = String::with_capacity(fragment.len() + 4);
        let mut pieces = fragment.split("$?");
        text.push_str(pieces.next().unwrap_or_default());
        for (piece, param) in pieces.zip(params) {
            self.params.push(param);
            text.push_str(&format!("${}", first + self.params.len() - 1));
            text.push_str(piece);
        }
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&text);
    }

    fn finish(mut self) -> Where {
        if self.sql.is_empty() {
            self.sql.push_str("true");
        }
        self
    }

    pub fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(Param::as_sql).collect()
    }
}

impl Param {
    /// The value as a preview shows it.
    pub fn describe(&self) -> String {
        let array = |items: Vec<String>| format!("{{{}}}", items.join(","));
        match self {
            Param::Status(s) => s.label().into(),
            Param::Text(t) => format!("{t:?}"),
            Param::Texts(t) => array(t.iter().map(|t| format!("{t:?}")).collect()),
            Param::Int(i) => i.to_string(),
            Param::BigInt(i) => i.to_string(),
            Param::Uuid(u) => u.to_string(),
            Param::Bytes(b) => format!("bytes {:?}", String::from_utf8_lossy(b)),
            Param::Float(f) => f.to_string(),
        }
    }
}

impl Where {
    /// `$n = …` lines for a preview, parameters numbered from `first`.
    pub fn describe(&self, first: usize) -> Vec<String> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| format!("${} = {}", first + i, p.describe()))
            .collect()
    }
}

impl JobFilter {
    /// The filter in the Jobs tab's `/` line syntax (which parses back to it).
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        if let Some(s) = self.status {
            words.push(format!("status:{}", s.label()));
        }
        words.extend(self.entrypoints.iter().map(|e| format!("ep:{e}")));
        match (self.priority_min, self.priority_max) {
            (Some(min), Some(max)) if min == max => words.push(format!("prio:{min}")),
            (None, None) => {}
            (min, max) => words.push(format!(
                "prio:{}..{}",
                min.map(|n| n.to_string()).unwrap_or_default(),
                max.map(|n| n.to_string()).unwrap_or_default()
            )),
        }
        if let Some(id) = self.id {
            words.push(format!("id:{id}"));
        }
        if let Some(k) = &self.dedupe_key {
            words.push(format!("key:{k}"));
        }
        if let Some(w) = self.worker {
            words.push(format!("worker:{w}"));
        }
        if let Some(d) = self.older_than {
            words.push(format!("older:{}", seconds(d)));
        }
        match &self.search {
            Some(Search::Text(t)) => words.push(t.clone()),
            Some(Search::KeyValue { key, value }) => words.push(format!("{key}={value}")),
            None => {}
        }
        words.join(" ")
    }

    /// The filter as the flags of `pgq jobs`, `cancel`, `delete`, `purge`
    /// and `requeue` (one spelling for all of them), shell-quoted.
    pub fn flags(&self) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        let mut flag = |name: &str, value: String| {
            args.push(format!(
                "--{name} {}",
                crate::actions::jobs::enqueue::shell_quote(&value)
            ))
        };
        if let Some(status) = self.status {
            flag("status", status.label().into());
        }
        for e in &self.entrypoints {
            flag("entrypoint", e.clone());
        }
        if let Some(n) = self.priority_min {
            flag("priority-min", n.to_string());
        }
        if let Some(n) = self.priority_max {
            flag("priority-max", n.to_string());
        }
        if let Some(id) = self.id {
            flag("id", id.to_string());
        }
        if let Some(k) = &self.dedupe_key {
            flag("dedupe-key", k.clone());
        }
        if let Some(w) = self.worker {
            flag("worker", w.to_string());
        }
        if let Some(d) = self.older_than {
            flag("older-than", seconds(d));
        }
        match &self.search {
            Some(Search::Text(t)) => flag("search", t.clone()),
            Some(Search::KeyValue { key, value }) => flag("search", format!("{key}={value}")),
            None => {}
        }
        args
    }

    /// Nothing narrows: every job.
    pub fn is_empty(&self) -> bool {
        *self == JobFilter::default()
    }

    /// The search's key=value part, which SQL only narrows down (a payload is
    /// bytes; PostgreSQL 15 cannot parse bytes as JSON without failing on a
    /// row that is not): the rows it returns are checked by [`Search::matches`].
    pub fn needs_payload_check(&self) -> bool {
        matches!(self.search, Some(Search::KeyValue { .. }))
    }

    fn check_range(&self) -> Result<(), FilterError> {
        match (self.priority_min, self.priority_max) {
            (Some(min), Some(max)) if min > max => {
                Err(FilterError::EmptyPriorityRange { min, max })
            }
            _ => Ok(()),
        }
    }

    /// The WHERE clause over the queue table's columns; parameters from `$first`.
    pub fn queue_where(&self, first: usize) -> Result<Where, FilterError> {
        self.check_range()?;
        if self.search.as_ref().is_some_and(Search::is_blank) {
            return Err(FilterError::BlankSearch);
        }
        let mut w = Where::new(first);
        if let Some(status) = self.status {
            if !status.in_queue() {
                return Err(FilterError::FinishedStatus(status.label()));
            }
            w.and(first, "status = $?", vec![Param::Status(status)]);
        }
        self.common(&mut w, first, "id");
        if let Some(key) = &self.dedupe_key {
            w.and(first, "dedupe_key = $?", vec![Param::Text(key.clone())]);
        }
        if let Some(worker) = self.worker {
            w.and(first, "queue_manager_id = $?", vec![Param::Uuid(worker)]);
        }
        match &self.search {
            None => {}
            // Bytes, so a binary payload is searched without a decoding error.
            // Headers by their keys and decoded values, not their JSON text
            // (where `x"y` is spelled `x\"y` and `\` starts every escape).
            Some(Search::Text(text)) => w.and(
                first,
                "(position($? IN payload) > 0 OR EXISTS (SELECT 1 FROM jsonb_each_text(\
                 CASE jsonb_typeof(headers) WHEN 'object' THEN headers ELSE '{}'::jsonb END) h \
                 WHERE strpos(h.key, $?) > 0 OR strpos(h.value, $?) > 0))",
                vec![
                    Param::Bytes(text.as_bytes().to_vec()),
                    Param::Text(text.clone()),
                    Param::Text(text.clone()),
                ],
            ),
            // Narrowed here, decided by `Search::matches` on the rows returned.
            Some(Search::KeyValue { key, value }) => w.and(
                first,
                "(headers ->> $? = $? OR (position($? IN payload) > 0 AND position($? IN payload) > 0))",
                vec![
                    Param::Text(key.clone()),
                    Param::Text(value.clone()),
                    Param::Bytes(serde_json::to_string(key).unwrap_or_default().into_bytes()),
                    Param::Bytes(value.as_bytes().to_vec()),
                ],
            ),
        }
        Ok(w.finish())
    }

    /// The WHERE clause over the log table's columns, for finished jobs
    /// (terminal log rows); parameters from `$first`. Filters on columns the
    /// log does not have are refused rather than silently dropped.
    pub fn log_where(&self, first: usize) -> Result<Where, FilterError> {
        self.check_range()?;
        if self.dedupe_key.is_some() {
            return Err(FilterError::NotInLog("dedupe key"));
        }
        if self.worker.is_some() {
            return Err(FilterError::NotInLog("worker (queue manager)"));
        }
        if self.search.is_some() {
            return Err(FilterError::NotInLog("payload or headers to search"));
        }
        let mut w = Where::new(first);
        match self.status {
            Some(status) if status.in_queue() => {
                return Err(FilterError::QueueStatus(status.label()));
            }
            Some(status) => w.and(first, "status = $?", vec![Param::Status(status)]),
            // One parameter per status rather than an enum array: an array
            // needs the enum's OID, which an unnamed statement (behind a
            // transaction pooler) does not learn; single enum values the
            // server infers.
            None => {
                let marks = vec!["$?"; JobStatus::FINISHED.len()].join(", ");
                let params = JobStatus::FINISHED.iter().map(|s| Param::Status(*s));
                w.and(first, &format!("status IN ({marks})"), params.collect())
            }
        }
        self.common(&mut w, first, "job_id");
        Ok(w.finish())
    }

    /// The filters both tables share.
    fn common(&self, w: &mut Where, first: usize, id_column: &str) {
        if let Some(d) = self.older_than {
            w.and(
                first,
                "created < now() - make_interval(secs => $?)",
                vec![Param::Float(d.as_secs_f64())],
            );
        }
        if !self.entrypoints.is_empty() {
            w.and(
                first,
                "entrypoint = ANY($?)",
                vec![Param::Texts(self.entrypoints.clone())],
            );
        }
        if let Some(min) = self.priority_min {
            w.and(first, "priority >= $?", vec![Param::Int(min)]);
        }
        if let Some(max) = self.priority_max {
            w.and(first, "priority <= $?", vec![Param::Int(max)]);
        }
        if let Some(id) = self.id {
            w.and(first, &format!("{id_column} = $?"), vec![Param::BigInt(id)]);
        }
    }
}

impl Search {
    /// Whether a row the SQL narrowing returned really matches (key=value
    /// needs the payload parsed as JSON, which only the client can do safely).
    pub fn matches(&self, payload: Option<&[u8]>, headers: Option<&serde_json::Value>) -> bool {
        match self {
            Search::Text(text) => {
                let bytes = text.as_bytes();
                let in_headers = |h: &serde_json::Value| {
                    h.as_object().is_some_and(|map| {
                        map.iter().any(|(key, value)| {
                            key.contains(text.as_str())
                                || match value {
                                    serde_json::Value::String(s) => s.contains(text.as_str()),
                                    other => other.to_string().contains(text.as_str()),
                                }
                        })
                    })
                };
                payload.is_some_and(|p| p.windows(bytes.len().max(1)).any(|w| w == bytes))
                    || headers.is_some_and(in_headers)
            }
            Search::KeyValue { key, value } => {
                let top_level = |json: &serde_json::Value| {
                    json.get(key).is_some_and(|found| match found {
                        serde_json::Value::String(s) => s == value,
                        serde_json::Value::Array(_) | serde_json::Value::Object(_) => false,
                        scalar => value.as_str() == scalar.to_string().as_str(),
                    })
                };
                headers.is_some_and(top_level)
                    || payload
                        .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
                        .is_some_and(|json| top_level(&json))
            }
        }
    }
}

/// A duration as the filter spells it: whole seconds as `90s`, else exact.
fn seconds(d: std::time::Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_filter_selects_everything() {
        let w = JobFilter::default().queue_where(1).unwrap();
        assert_eq!(w.sql, "true");
        assert!(w.params.is_empty());
        let log = JobFilter::default().log_where(3).unwrap();
        assert_eq!(log.sql, "status IN ($3, $4, $5, $6)");
    }

    #[test]
    fn fragments_number_their_binds_from_first() {
        let filter = JobFilter {
            status: Some(JobStatus::Queued),
            entrypoints: vec!["a".into(), "b".into()],
            priority_min: Some(1),
            priority_max: Some(5),
            id: Some(7),
            dedupe_key: Some("k".into()),
            worker: Some(Uuid::nil()),
            search: Some(Search::Text("x".into())),
            older_than: None,
        };
        let w = filter.queue_where(3).unwrap();
        assert_eq!(
            w.sql,
            "status = $3 AND entrypoint = ANY($4) AND priority >= $5 AND priority <= $6 \
             AND id = $7 AND dedupe_key = $8 AND queue_manager_id = $9 \
             AND (position($10 IN payload) > 0 OR EXISTS (SELECT 1 FROM jsonb_each_text(\
             CASE jsonb_typeof(headers) WHEN 'object' THEN headers ELSE '{}'::jsonb END) h \
             WHERE strpos(h.key, $11) > 0 OR strpos(h.value, $12) > 0))"
        );
        assert_eq!(w.params.len(), 10);
    }

    #[test]
    fn user_text_never_reaches_the_sql() {
        let evil = "'; DROP TABLE pgqueuer; --";
        let filter = JobFilter {
            entrypoints: vec![evil.into()],
            dedupe_key: Some(evil.into()),
            search: Some(Search::parse(&format!("{evil}={evil}"))),
            ..JobFilter::default()
        };
        let w = filter.queue_where(1).unwrap();
        assert!(!w.sql.contains("DROP"), "{}", w.sql);
    }

    #[test]
    fn history_refuses_what_the_log_does_not_have() {
        let search = JobFilter {
            search: Some(Search::Text("x".into())),
            ..JobFilter::default()
        };
        assert!(matches!(search.log_where(1), Err(FilterError::NotInLog(_))));
        let queued = JobFilter {
            status: Some(JobStatus::Queued),
            ..JobFilter::default()
        };
        assert_eq!(queued.log_where(1), Err(FilterError::QueueStatus("queued")));
        let done = JobFilter {
            status: Some(JobStatus::Successful),
            ..JobFilter::default()
        };
        assert_eq!(
            done.queue_where(1),
            Err(FilterError::FinishedStatus("successful"))
        );
    }

    #[test]
    fn search_parses_key_value_or_text() {
        assert_eq!(
            Search::parse("user=42"),
            Search::KeyValue {
                key: "user".into(),
                value: "42".into()
            }
        );
        assert_eq!(Search::parse("a b=c"), Search::Text("a b=c".into()));
        assert_eq!(Search::parse("=x"), Search::Text("=x".into()));
    }

    #[test]
    fn key_value_matches_top_level_json_only() {
        let s = Search::parse("user=42");
        assert!(s.matches(Some(br#"{"user": 42}"#), None));
        assert!(s.matches(Some(br#"{"user": "42"}"#), None));
        assert!(!s.matches(Some(br#"{"inner": {"user": 42}}"#), None));
        assert!(!s.matches(Some(b"\xff\xfe user 42"), None));
        let headers = serde_json::json!({"user": "42"});
        assert!(s.matches(None, Some(&headers)));
    }
}
