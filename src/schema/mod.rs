//! The PGQueuer 1.6.0 schema: declaration, DDL rendering, upgrade planning.

pub mod converge;
pub mod declare;
pub mod generations;
pub mod model;
pub mod plan;
pub mod render;
