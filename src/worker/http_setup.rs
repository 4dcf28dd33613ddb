//! What the HTTP executor settles before the worker connects: the manifest's
//! header templates (`${VAR}` from the worker's environment), which header
//! names a manifest or a job may set, and the HTTP clients (one connection
//! pool per set of trusted roots, shared by every entrypoint using it).
//!
//! Header values are secrets as far as this module is concerned: every
//! error names the entrypoint, the header and the variable, never a value.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Headers the worker sets itself on every request: `PGQ-Job-Id`,
/// `PGQ-Entrypoint`, `PGQ-Attempts`, `PGQ-Queue-Manager-Id`. Neither a
/// manifest nor a job may set a name with this prefix.
pub(crate) const WORKER_PREFIX: &str = "pgq-";

/// Names that describe the connection or the framing of the body, which the
/// HTTP client owns; a value from elsewhere would corrupt the request.
const CONNECTION_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How long establishing a connection (TCP and TLS) may take, apart from the
/// entrypoint's `timeout`: a service that does not answer SYNs should fail
/// the job soon even when no timeout is configured.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a header name may not be used, if it may not.
pub(crate) fn reserved(name: &HeaderName) -> Option<&'static str> {
    let name = name.as_str();
    if name.starts_with(WORKER_PREFIX) {
        Some("PGQ-* headers are set by the worker")
    } else if CONNECTION_HEADERS.contains(&name) {
        Some("the HTTP client sets this header")
    } else {
        None
    }
}

/// Check a manifest header when the manifest is read: a valid, unreserved
/// name and a well-formed template. Values are not quoted in errors.
pub(crate) fn check_manifest_header(name: &str, template: &str) -> Result<(), String> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid HTTP header name"))?;
    if let Some(why) = reserved(&parsed) {
        return Err(format!("{name:?} cannot be set here: {why}"));
    }
    pieces(template).map_err(|e| format!("header {name:?}: {e}"))?;
    Ok(())
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Split a template into literal text and `${NAME}` references. A `$` not
/// followed by `{` is literal.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "a ${ has no closing }".to_string())?;
        let name = &after[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "${{{name}}} is not a variable reference (letters, digits and _)"
            ));
        }
        out.push(Piece::Var(name));
        rest = &after[end + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Fill a checked template from `env`; the error names the missing variable.
fn expand(template: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut value = String::new();
    for piece in pieces(template)? {
        match piece {
            Piece::Text(text) => value.push_str(text),
            Piece::Var(name) => match env(name) {
                Some(v) => value.push_str(&v),
                None => {
                    return Err(format!(
                        "${{{name}}} is not set in the worker's environment"
                    ));
                }
            },
        }
    }
    Ok(value)
}

/// The manifest's headers with `${VAR}` filled in, marked sensitive (an
/// HTTP/2 encoder never indexes them and their `Debug` hides them).
pub(crate) fn resolve_headers(
    entrypoint: &str,
    templates: &std::collections::BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (name, template) in templates {
        let problem = |e: String| format!("entrypoint {entrypoint:?}, header {name:?}: {e}");
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| problem("not a valid HTTP header name".into()))?;
        let text = expand(template, env).map_err(problem)?;
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            problem(
                "the value (after ${VAR} expansion) has characters a header cannot carry".into(),
            )
        })?;
        value.set_sensitive(true);
        headers.insert(header, value);
    }
    Ok(headers)
}

/// One HTTP client per set of trusted roots: the built-in webpki roots, or a
/// `ca_file`. Each client is one connection pool, shared by every
/// entrypoint with the same roots; a `ca_file` never widens what another
/// entrypoint trusts.
#[derive(Default)]
pub(crate) struct HttpClients {
    by_roots: HashMap<Option<PathBuf>, reqwest::Client>,
}

impl HttpClients {
    pub(crate) fn client(&mut self, ca_file: Option<&Path>) -> Result<reqwest::Client, String> {
        let key = ca_file.map(Path::to_path_buf);
        if let Some(client) = self.by_roots.get(&key) {
            return Ok(client.clone());
        }
        let roots = match ca_file {
            None => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
            Some(path) => load_roots(path)?,
        };
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            // A redirect would turn the POST into a GET and may carry the
            // manifest's headers to another host: 3xx is an answer.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pgq/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        self.by_roots.insert(key, client.clone());
        Ok(client)
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let unusable = |why: String| format!("ca_file {}: {why}", path.display());
    let pem = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unusable(format!("not a PEM bundle ({e})")))?;
        store.add(cert).map_err(|e| unusable(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(unusable("no certificates found".into()));
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_string())
    }

    #[test]
    fn templates_expand_from_the_environment() {
        let mut t = BTreeMap::new();
        t.insert("Authorization".to_string(), "Bearer ${TOKEN}".to_string());
        t.insert("X-Price".to_string(), "$5 ${TOKEN}${TOKEN}".to_string());
        let h = resolve_headers("send", &t, &env).unwrap();
        assert_eq!(h["authorization"], "Bearer s3cret");
        assert!(h["authorization"].is_sensitive());
        assert_eq!(h["x-price"], "$5 s3crets3cret");
    }

    #[test]
    fn errors_name_the_variable_never_the_value() {
        let mut t = BTreeMap::new();
        t.insert("Authorization".to_string(), "Bearer ${MISSING}".to_string());
        let e = resolve_headers("send", &t, &env).unwrap_err();
        assert!(
            e.contains("\"send\"") && e.contains("\"Authorization\""),
            "{e}"
        );
        assert!(e.contains("${MISSING} is not set"), "{e}");
        let mut t = BTreeMap::new();
        t.insert("X".to_string(), "${TOKEN}\n".to_string());
        let e = resolve_headers("send", &t, &env).unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn manifest_headers_are_checked() {
        assert!(check_manifest_header("Authorization", "Bearer ${A_1}").is_ok());
        for (name, template, needle) in [
            ("Bad Name", "x", "not a valid HTTP header name"),
            ("PGQ-Job-Id", "1", "set by the worker"),
            ("Content-Length", "1", "HTTP client"),
            ("X", "${OPEN", "no closing"),
            ("X", "${1X}", "not a variable reference"),
            ("X", "${}", "not a variable reference"),
        ] {
            let e = check_manifest_header(name, template).unwrap_err();
            assert!(e.contains(needle), "{name} {template}: {e}");
        }
    }
}
