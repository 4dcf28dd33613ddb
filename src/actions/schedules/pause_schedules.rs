//! `pgq schedules --pause`: stop schedules firing (next_run to the far-future sentinel) until resumed.

schedule_retiming!(PauseSchedules, Timing::Pause);
