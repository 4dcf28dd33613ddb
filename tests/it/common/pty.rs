//! The real `pgq` console in a pseudo-terminal, read back through a vt100
//! emulator, for end-to-end console tests.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub struct Console {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub screen: Arc<Mutex<vt100::Parser<Clipboard>>>,
    /// The reader reached the end of the program's output.
    drained: Arc<AtomicBool>,
    _master: Box<dyn MasterPty + Send>,
    _dirs: tempfile::TempDir,
}

impl Console {
    pub fn start(dsn: &str, extra: &[&str]) -> Console {
        Console::start_sized(dsn, extra, 30, 100)
    }

    /// As [`Console::start`], on a terminal of `rows`×`cols`.
    pub fn start_sized(dsn: &str, extra: &[&str], rows: u16, cols: u16) -> Console {
        Console::start_with(dsn, extra, rows, cols, &[])
    }

    /// As [`Console::start_sized`], with `env` set last (overriding the
    /// temporary config, data and state directories).
    pub fn start_with(
        dsn: &str,
        extra: &[&str],
        rows: u16,
        cols: u16,
        env: &[(&str, &str)],
    ) -> Console {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let dirs = tempfile::tempdir().unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pgq"));
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy().to_ascii_uppercase();
            if k.starts_with("PG") || k.starts_with("PGQUEUER_") || k == "NO_COLOR" {
                cmd.env_remove(&key);
            }
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("PGQ_CONFIG_DIR", dirs.path());
        cmd.env("PGQ_DATA_DIR", dirs.path());
        cmd.env("PGQ_STATE_DIR", dirs.path());
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.arg("--dsn");
        cmd.arg(dsn);
        for a in extra {
            cmd.arg(a);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn pgq in the pty");
        drop(pair.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new_with_callbacks(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
            0,
            Clipboard::default(),
        )));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let sink = screen.clone();
        let drained = Arc::new(AtomicBool::new(false));
        let done = drained.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
            done.store(true, Ordering::Release);
        });
        let writer = pair.master.take_writer().unwrap();
        Console {
            child,
            writer,
            screen,
            drained,
            _master: pair.master,
            _dirs: dirs,
        }
    }

    /// Where this console keeps its state (the audit log).
    pub fn state_dir(&self) -> &std::path::Path {
        self._dirs.path()
    }

    /// The console process's id (for reading its CPU time from /proc).
    pub fn pid(&self) -> u32 {
        self.child
            .process_id()
            .expect("the console process has an id")
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    #[track_caller]
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; the screen shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Esc on its own: a key right after it in the same read would arrive
    /// as Alt+key, as in any terminal.
    pub fn press_esc(&mut self) {
        self.press("\x1b");
        std::thread::sleep(Duration::from_millis(150));
    }

    /// The exit status, once the screen also shows everything the program
    /// wrote: its last bytes (leaving the alternate screen, showing the
    /// cursor) may still be in the pty when it exits, and on a busy machine
    /// the reader thread gets to them later.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<u32> {
        let start = Instant::now();
        let mut status = None;
        while start.elapsed() < timeout {
            if status.is_none() {
                status = self.child.try_wait().ok().flatten();
            }
            // A process the program started may hold the terminal open
            // after it exited; then the output is as complete as it gets.
            let drained = self.drained.load(Ordering::Acquire);
            if let Some(status) = &status
                && (drained || start.elapsed() > timeout / 2)
            {
                return Some(status.exit_code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        status.map(|s| s.exit_code())
    }
}

/// What the program asked the terminal to put on the clipboard (OSC 52):
/// selection and base64 text, in order.
#[derive(Default)]
pub struct Clipboard {
    pub copies: Vec<(String, String)>,
}

impl vt100::Callbacks for Clipboard {
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, ty: &[u8], data: &[u8]) {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        self.copies.push((text(ty), text(data)));
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The screen line that starts with `name` (a table row).
pub fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.trim_start().starts_with(name))
}

/// The screen line that contains `text`.
pub fn line_with<'a>(screen: &'a str, text: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(text))
}
