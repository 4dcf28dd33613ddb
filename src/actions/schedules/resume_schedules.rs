//! `pgq schedules --resume`: next_run back to the next fire of the expression from now.

schedule_retiming!(ResumeSchedules, Timing::Resume);
