//! `pgq workers --watch D`: listen for D and count the workers whose
//! `health_check_event` arrived, idle ones included (the queue table only
//! shows workers holding picked jobs).

use std::time::Duration;

use super::CommandError;
use crate::actions::reports::live_workers::HealthSenders;
use crate::commands::CommandContext;
use crate::db::listener::{Backoff, Heard, ListenSpec, Listener};
use crate::db::signal::Signals;
use crate::events::Received;
use crate::settings::names::ObjectNames;

/// The health-check senders heard within `watch` (less when SIGINT or
/// SIGTERM ends the watch early: what was heard so far is still reported).
pub(super) async fn health_senders(
    ctx: &CommandContext,
    names: &ObjectNames,
    watch: Duration,
) -> Result<HealthSenders, CommandError> {
    let Some(settings) = super::listen_connection(ctx, || super::connection_settings(ctx))? else {
        return Err(CommandError::Other(
            "--watch needs live events: --pooler transaction carries no LISTEN; give --listen-dsn a direct connection to PostgreSQL".into(),
        ));
    };
    let spec = ListenSpec {
        settings,
        channel: names.channel.clone(),
        read_only: super::read_only(ctx)?,
    };
    let mut stop =
        Signals::interrupt_and_terminate().map_err(|e| CommandError::Other(e.to_string()))?;
    let mut senders = HealthSenders::default();
    let Some(listener) = stop
        .or_signal(Listener::open(spec, Backoff::RECONNECT))
        .await
    else {
        return Ok(senders);
    };
    let mut listener = listener.map_err(super::listen::command_error)?;
    let until = tokio::time::Instant::now() + watch;
    loop {
        let heard = tokio::select! {
            heard = stop.or_signal(listener.next()) => heard,
            _ = tokio::time::sleep_until(until) => break,
        };
        match heard {
            None => break,
            Some(Heard::Notification(n)) => {
                let received =
                    Received::new(n.payload(), chrono::Utc::now()).from_backend(n.process_id());
                senders.heard_within(&received, watch);
            }
            Some(_) => {}
        }
    }
    Ok(senders)
}
