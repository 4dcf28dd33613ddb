//! `pgq schedules --skip`: skip the pending run: next_run to the fire after it.

schedule_retiming!(SkipSchedules, Timing::Skip);
