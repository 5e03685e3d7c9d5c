//! The demo's terminal: one command per line places a card, scans a code, runs the printer
//! out of paper, lays a page under the camera, changes a status at the county, or saves a
//! screenshot of the window.

use std::path::PathBuf;

/// One line typed at the demo's terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Put a sample card (resident, permit, foreign, foreign-2023) on the reader.
    Place(String),
    Remove,
    /// Scan a code; `None`: the last receipt printed.
    Scan(Option<String>),
    /// `true`: paper out; `false`: a new roll.
    PaperOut(bool),
    /// Lay page N of the sample document under the document camera.
    Page(u32),
    Status {
        receipt: String,
        status: String,
        note: Option<String>,
    },
    Shot(Option<PathBuf>),
    Help,
    Quit,
}

pub const HELP: &str = concat!(
    "  place [resident|permit|foreign|foreign-2023]   put an ID card on the reader (resident by default)\n",
    "  remove                                         take the card off the reader\n",
    "  scan CODE                                      the scanner reads CODE; `scan` alone reads the last receipt printed\n",
    "  paper out | paper in                           the printer runs out of paper / gets a new roll\n",
    "  page N                                         lay page N (1-99) of a sample document under the document camera\n",
    "  status RECEIPT STATUS [NOTE]                   set a status directly, bypassing the review chain (audited as `cli`):\n",
    "                                                 received, accepted, in_review, needs_correction, approved, rejected;\n",
    "                                                 county staff do it properly in the staff pages (URL above)\n",
    "  shot [FILE.png]                                save a picture of the booth window\n",
    "  help | quit",
);

/// Reads one line; `Ok(None)` for an empty line.
pub fn parse(line: &str) -> Result<Option<Control>, String> {
    let line = line.trim();
    let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let control = match verb {
        "" => return Ok(None),
        "place" => Control::Place(if rest.is_empty() { "resident" } else { rest }.to_owned()),
        "remove" => Control::Remove,
        "scan" => Control::Scan((!rest.is_empty()).then(|| rest.to_owned())),
        "paper" => match rest {
            "out" => Control::PaperOut(true),
            "in" => Control::PaperOut(false),
            _ => return Err("say `paper out` or `paper in`".to_owned()),
        },
        "page" => match rest.parse::<u32>() {
            Ok(number @ 1..=99) => Control::Page(number),
            _ => return Err("say `page N` with N from 1 to 99, e.g. `page 2`".to_owned()),
        },
        "status" => {
            let mut words = rest.splitn(3, char::is_whitespace);
            let (Some(receipt), Some(status)) = (words.next(), words.next()) else {
                return Err("say `status RECEIPT STATUS [NOTE]`, e.g. `status 0001-000001-7 needs_correction 请带户口簿`".to_owned());
            };
            if receipt.is_empty() || status.is_empty() {
                return Err("say `status RECEIPT STATUS [NOTE]`".to_owned());
            }
            Control::Status {
                receipt: receipt.to_owned(),
                status: status.to_owned(),
                note: words
                    .next()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            }
        }
        "shot" | "screenshot" => Control::Shot((!rest.is_empty()).then(|| PathBuf::from(rest))),
        "help" | "?" => Control::Help,
        "quit" | "exit" => Control::Quit,
        other => return Err(format!("unknown command `{other}`: type help")),
    };
    Ok(Some(control))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_typed() {
        assert_eq!(parse("  "), Ok(None));
        assert_eq!(parse("place"), Ok(Some(Control::Place("resident".into()))));
        assert_eq!(
            parse("place permit"),
            Ok(Some(Control::Place("permit".into())))
        );
        assert_eq!(parse("scan"), Ok(Some(Control::Scan(None))));
        assert_eq!(
            parse("scan 0001-000002-K"),
            Ok(Some(Control::Scan(Some("0001-000002-K".into()))))
        );
        assert_eq!(parse("paper out"), Ok(Some(Control::PaperOut(true))));
        assert_eq!(parse("paper in"), Ok(Some(Control::PaperOut(false))));
        assert_eq!(parse("page 2"), Ok(Some(Control::Page(2))));
        assert_eq!(
            parse("status 0001-000001-7 needs_correction 请带 户口簿"),
            Ok(Some(Control::Status {
                receipt: "0001-000001-7".into(),
                status: "needs_correction".into(),
                note: Some("请带 户口簿".into()),
            }))
        );
        assert_eq!(
            parse("status R approved"),
            Ok(Some(Control::Status {
                receipt: "R".into(),
                status: "approved".into(),
                note: None,
            }))
        );
        assert_eq!(
            parse("shot a.png"),
            Ok(Some(Control::Shot(Some("a.png".into()))))
        );
        assert_eq!(parse("quit"), Ok(Some(Control::Quit)));
    }

    #[test]
    fn mistakes_say_what_to_type() {
        assert!(parse("paper").unwrap_err().contains("paper out"));
        assert!(parse("page 0").unwrap_err().contains("page N"));
        assert!(parse("page two").unwrap_err().contains("page N"));
        assert!(parse("status R").unwrap_err().contains("STATUS"));
        assert!(parse("dance").unwrap_err().contains("help"));
    }
}
