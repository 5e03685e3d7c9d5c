//! QEMU's machine protocol (QMP) over its Unix socket: JSON objects, one per line. The tests
//! use it for what a person does to a booth: look at the screen, touch it, plug and unplug a
//! USB device, pull the plug.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Asynchronous events (DEVICE_DELETED, SHUTDOWN, …) read while waiting for answers.
    pub events: Vec<Value>,
}

impl Qmp {
    /// Connects to QEMU's `-qmp unix:PATH,server=on,wait=off` socket, retrying until QEMU has
    /// made it, and leaves capabilities negotiation mode.
    pub fn connect(path: &Path, limit: Duration) -> Result<Self, String> {
        let deadline = Instant::now() + limit;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(format!("cannot connect to QMP at {}: {e}", path.display())),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut qmp = Self {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        // QEMU can broadcast an event (RESUME as the guest starts) to a client that connected
        // while it was still starting, before the greeting; such events are kept, not errors.
        let mut greeting = qmp.read_message()?;
        while greeting.get("QMP").is_none() {
            if greeting.get("event").is_none() || qmp.events.len() >= 16 {
                return Err(format!("QMP greeting expected, got {greeting}"));
            }
            qmp.events.push(greeting);
            greeting = qmp.read_message()?;
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    fn read_message(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        let read = self
            .reader
            .read_line(&mut line)
            .map_err(|e| format!("reading QMP: {e}"))?;
        if read == 0 {
            return Err("QMP closed (QEMU exited)".into());
        }
        serde_json::from_str(&line).map_err(|e| format!("QMP sent {line:?}: {e}"))
    }

    /// Runs one command and returns its `return` value, or its error as text.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, String> {
        let mut request = serde_json::Map::new();
        request.insert("execute".into(), Value::from(command));
        request.insert("arguments".into(), arguments);
        let request = Value::Object(request);
        writeln!(self.writer, "{request}").map_err(|e| format!("writing QMP: {e}"))?;
        loop {
            let message = self.read_message()?;
            if message.get("event").is_some() {
                self.events.push(message);
                continue;
            }
            if let Some(value) = message.get("return") {
                return Ok(value.clone());
            }
            if let Some(error) = message.get("error") {
                return Err(format!("QMP {command} failed: {error}"));
            }
        }
    }

    /// Writes the display to `path` as PNG.
    pub fn screendump(&mut self, path: &Path) -> Result<(), String> {
        self.execute(
            "screendump",
            json!({ "filename": path.to_str().expect("UTF-8 path"), "format": "png" }),
        )
        .map(drop)
    }

    /// A finger down and up at (x, y) on a display of `size`, through the absolute pointer
    /// (`usb-tablet`): the events a touch panel's controller sends.
    pub fn tap(&mut self, (x, y): (u32, u32), size: (u32, u32)) -> Result<(), String> {
        let scale = |v: u32, max: u32| (u64::from(v) * 0x7fff / u64::from(max.max(1))) as i64;
        let at = json!([
            { "type": "abs", "data": { "axis": "x", "value": scale(x, size.0) } },
            { "type": "abs", "data": { "axis": "y", "value": scale(y, size.1) } },
        ]);
        self.execute("input-send-event", json!({ "events": at }))?;
        self.execute(
            "input-send-event",
            json!({ "events": [{ "type": "btn", "data": { "button": "left", "down": true } }] }),
        )?;
        std::thread::sleep(Duration::from_millis(120));
        self.execute(
            "input-send-event",
            json!({ "events": [{ "type": "btn", "data": { "button": "left", "down": false } }] }),
        )
        .map(drop)
    }

    /// Presses and releases `keys` (QEMU key names: "a", "1", "ret", "shift", …) one after
    /// another on the keyboards bound to the display `device` (a `usb-kbd` with
    /// `display=DEVICE`).
    pub fn type_keys(&mut self, device: &str, keys: &[&str]) -> Result<(), String> {
        for key in keys {
            for down in [true, false] {
                std::thread::sleep(KEY_PACE);
                self.execute(
                    "input-send-event",
                    json!({
                        "device": device,
                        "events": [{ "type": "key", "data": { "down": down, "key": { "type": "qcode", "data": key } } }],
                    }),
                )?;
            }
        }
        Ok(())
    }

    /// Types `text` on the keyboards bound to the display `device` as a US-layout keyboard-mode
    /// scanner sends it
    /// (shift held for capitals and symbols), then Enter.
    pub fn type_line(&mut self, device: &str, text: &str) -> Result<(), String> {
        for c in text.chars() {
            let (key, shift) = qcode(c).ok_or_else(|| format!("no US key for {c:?}"))?;
            let mut events = Vec::new();
            if shift {
                events.push(key_event("shift", true));
            }
            events.push(key_event(key, true));
            events.push(key_event(key, false));
            if shift {
                events.push(key_event("shift", false));
            }
            for event in events {
                // QEMU's USB keyboard queues 16 key events and drops the rest; the guest takes
                // one per poll (8 ms), so unpaced events lose most of a line.
                std::thread::sleep(KEY_PACE);
                self.execute(
                    "input-send-event",
                    json!({ "device": device, "events": [event] }),
                )?;
            }
        }
        self.type_keys(device, &["ret"])
    }

    /// Waits for an event named `name` (already seen, or arriving within `limit`).
    pub fn wait_event(&mut self, name: &str, limit: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(index) = self.events.iter().position(|e| e["event"] == name) {
                return Ok(self.events.remove(index));
            }
            if Instant::now() > deadline {
                return Err(format!("no QMP event {name} within {limit:?}"));
            }
            // `query-status` is cheap and makes QEMU flush pending events to us.
            self.execute("query-status", json!({}))?;
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Time between two key events, so the USB keyboard's queue never fills.
const KEY_PACE: Duration = Duration::from_millis(25);

fn key_event(key: &str, down: bool) -> Value {
    json!({ "type": "key", "data": { "down": down, "key": { "type": "qcode", "data": key } } })
}

/// The QEMU key code of `c` on a US keyboard, and whether shift is held for it.
fn qcode(c: char) -> Option<(&'static str, bool)> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    Some(match c {
        'a'..='z' => (LETTERS[(c as u8 - b'a') as usize], false),
        'A'..='Z' => (LETTERS[(c as u8 - b'A') as usize], true),
        '0'..='9' => (DIGITS[(c as u8 - b'0') as usize], false),
        '-' => ("minus", false),
        '_' => ("minus", true),
        '=' => ("equal", false),
        '.' => ("dot", false),
        '/' => ("slash", false),
        '?' => ("slash", true),
        ':' => ("semicolon", true),
        '%' => ("5", true),
        '&' => ("7", true),
        ' ' => ("spc", false),
        _ => return None,
    })
}
