//! The HTTP executor: a job is POSTed to the entrypoint's `url`.
//!
//! The request body is the payload, byte for byte. Its headers, later ones
//! replacing earlier ones of the same name:
//! 1. `Content-Type: application/octet-stream` (the payload is opaque bytes);
//! 2. the job's own `headers` (PGQueuer's jsonb object: string values as
//!    they are, other JSON values as JSON text), so a producer can say
//!    `content-type: application/json`; names that are not valid HTTP, or
//!    that the worker or the client owns, are skipped with a warning;
//! 3. the manifest's `headers` (`${VAR}` already filled in), so a job cannot
//!    replace the credentials the operator configured;
//! 4. `PGQ-Job-Id`, `PGQ-Entrypoint`, `PGQ-Attempts`, `PGQ-Queue-Manager-Id`.
//!
//! The answer decides the job: 2xx is success. A connection failure, the
//! timeout, a 5xx, 408 (Request Timeout) or 429 (Too Many Requests) fail the
//! job like a failing command: the entrypoint's database retries apply.
//! Any other status (4xx, and 3xx, as redirects are not followed) says the
//! request itself is wrong, which no retry fixes: the job fails at once,
//! with the status and the first 4 KiB of the body as its traceback.
//!
//! A stop request (a `cancellation_event` naming the job, or a forced
//! shutdown) drops the request future, which closes the connection.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;

use super::http_setup::{self, HttpClients};
use super::manifest::HttpSpec;
use super::{Handler, Job, JobContext, JobError, log};

/// Bytes of an error response's body kept for the traceback.
const BODY_PREFIX: usize = 4 * 1024;

/// Bytes of a successful response's body read (and dropped) so the
/// connection can serve the next job; a longer body costs a new connection
/// rather than unbounded reading.
const DRAIN_LIMIT: usize = 64 * 1024;

/// One HTTP entrypoint, ready to send jobs.
struct Endpoint {
    client: Client,
    url: Url,
    /// The URL as messages show it: a password in it (reqwest sends it as
    /// Basic auth) is masked, since messages reach logs and the log table.
    shown_url: String,
    timeout: Option<Duration>,
    /// The manifest's headers, values marked sensitive.
    headers: HeaderMap,
}

/// The handler of an HTTP entrypoint; fails (naming the header and the
/// variable, never a value) when a `${VAR}` is not set or the `ca_file`
/// cannot be used.
pub(crate) fn entrypoint_handler(
    name: &str,
    spec: &HttpSpec,
    clients: &mut HttpClients,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Handler, String> {
    let headers = http_setup::resolve_headers(name, &spec.headers, env)?;
    let client = clients
        .client(spec.ca_file.as_deref())
        .map_err(|e| format!("entrypoint {name:?}: {e}"))?;
    let endpoint = Arc::new(Endpoint {
        client,
        url: spec.url.clone(),
        shown_url: masked(&spec.url),
        timeout: spec.timeout,
        headers,
    });
    Ok(Arc::new(move |job, ctx| {
        let endpoint = endpoint.clone();
        Box::pin(async move { endpoint.call(job, ctx).await })
    }))
}

impl Endpoint {
    async fn call(&self, job: Job, mut ctx: JobContext) -> Result<(), JobError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .headers(self.request_headers(&job));
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        let request = request.body(job.payload.unwrap_or_default());
        tokio::select! {
            result = self.exchange(request) => result,
            // Dropping the exchange closes its connection; the worker logs
            // the job as canceled (or returns it, on shutdown).
            _ = ctx.stopped() => Err(JobError::new("CancelledError", "the request was aborted")),
        }
    }

    fn request_headers(&self, job: &Job) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if let Some(Value::Object(map)) = &job.headers {
            for (name, value) in map {
                match job_header(name, value) {
                    Ok((name, value)) => {
                        headers.insert(name, value);
                    }
                    Err(why) => log::warning(
                        &format!("Job header {name:?} not sent: {why}"),
                        &[
                            ("job_id", Value::from(job.id)),
                            ("entrypoint", Value::from(job.entrypoint.as_str())),
                        ],
                    ),
                }
            }
        }
        for (name, value) in &self.headers {
            headers.insert(name, value.clone());
        }
        let worker = [
            ("pgq-job-id", job.id.to_string()),
            ("pgq-entrypoint", job.entrypoint.clone()),
            ("pgq-attempts", job.attempts.to_string()),
            ("pgq-queue-manager-id", job.queue_manager_id.to_string()),
        ];
        for (name, value) in worker {
            // An entrypoint name is free text; one a header cannot carry is
            // left out rather than failing the job.
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        headers
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<(), JobError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            // Reading the body lets the connection serve the next job.
            let _ = read_prefix(response, DRAIN_LIMIT).await;
            return Ok(());
        }
        let (body, cut) = read_prefix(response, BODY_PREFIX)
            .await
            .map_err(|e| self.transport_error(e))?;
        let retryable = status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS;
        let kind = if status.is_server_error() {
            "HTTPServerError"
        } else if status.is_client_error() {
            "HTTPClientError"
        } else {
            "HTTPUnexpectedStatus"
        };
        let mut detail = format!("POST {}\nstatus: {status}\n", self.shown_url);
        if body.is_empty() {
            detail.push_str("(empty body)");
        } else {
            detail.push_str(&format!(
                "body{}:\n{}",
                if cut { " (first 4 KiB)" } else { "" },
                String::from_utf8_lossy(&body)
            ));
        }
        let error = JobError::new(kind, format!("{} answered {status}", self.shown_url))
            .with_detail(detail);
        Err(if retryable { error } else { error.permanent() })
    }

    /// A failure before a complete answer. reqwest's own text carries the
    /// URL; it is rebuilt from the causes so the message has the URL once.
    fn transport_error(&self, e: reqwest::Error) -> JobError {
        let e = e.without_url();
        let mut causes = vec![e.to_string()];
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        causes.dedup();
        let why = causes.join(": ");
        // reqwest's fixed connect timeout also counts as a timeout: a host
        // that never accepts is a connection error, not the job's timeout.
        if e.is_connect() {
            JobError::new("ConnectionError", format!("{}: {why}", self.shown_url))
        } else if e.is_timeout() {
            JobError::new(
                "TimeoutError",
                format!(
                    "{} did not answer within the timeout of {}s",
                    self.shown_url,
                    self.timeout.unwrap_or_default().as_secs_f64()
                ),
            )
        } else {
            JobError::new("HTTPError", format!("{}: {why}", self.shown_url))
        }
    }
}

/// `url` with any password replaced by `***`.
fn masked(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// A job header as an HTTP header, or why it cannot be one (the message
/// names no value: a producer may put tokens in its headers).
fn job_header(name: &str, value: &Value) -> Result<(HeaderName, HeaderValue), &'static str> {
    let name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| "not a valid HTTP header name")?;
    if let Some(why) = http_setup::reserved(&name) {
        return Err(why);
    }
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let value = HeaderValue::from_str(&text)
        .map_err(|_| "its value has characters a header cannot carry")?;
    Ok((name, value))
}

/// Up to `limit` bytes of the body, and whether there was more.
async fn read_prefix(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_masked_in_messages() {
        let url = Url::parse("https://mailer:s3cret@mail.internal/jobs?x=1").unwrap();
        assert_eq!(masked(&url), "https://mailer:***@mail.internal/jobs?x=1");
        let plain = Url::parse("http://127.0.0.1:8080/jobs").unwrap();
        assert_eq!(masked(&plain), "http://127.0.0.1:8080/jobs");
    }
}
