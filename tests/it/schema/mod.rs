//! The schema: install, upgrade, durability, newer (2.x) databases,
//! catalog inspection, the statements pgq runs, and Python's installs.

mod inspect;
mod lifecycle;
mod newer;
mod python_compat;
mod sql_statements;
mod upgrade_releases;
