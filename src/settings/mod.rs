//! Settings: object names, durability levels and connection parameters.

pub mod audit;
pub mod check;
pub mod config;
pub mod conn;
pub mod durability;
pub mod duration;
pub mod keywords;
pub mod names;
pub mod pooler;

use std::collections::HashMap;

/// The process environment with case-insensitive lookup, as PGQueuer's
/// settings (pydantic-settings) match variable names.
pub struct CaseInsensitiveEnv {
    vars: HashMap<String, String>,
}

impl CaseInsensitiveEnv {
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some((
                    k.into_string().ok()?.to_ascii_uppercase(),
                    v.into_string().ok()?,
                ))
            })
            .collect();
        Self { vars }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(&name.to_ascii_uppercase()).cloned()
    }
}
