//! Input the server checks or defuses on its way in and out: a contact phone in the wrong
//! format is refused at upload with a clear message (the same rule the booth applies), and no
//! text from a booth reaches a spreadsheet as a formula through the CSV export.

use reqwest::StatusCode;
use sync_protocol::paths;
use sync_protocol::submission::{Applicant, BatchRequest, BatchResponse, Outcome, Submission};
use sync_server::domain::access::Role;
use sync_server::store::SubmissionRef;

use crate::common::{TestKiosk, TestServer, submission};
use crate::staff_client::{StaffClient, add_account};

async fn county() -> (TestServer, TestKiosk) {
    let server = TestServer::with_seed_catalog().await;
    let kiosk = server.enroll("石门村").await;
    add_account(server.store(), "handler", Role::Handler, "示范县/凤岭乡").await;
    (server, kiosk)
}

async fn upload(kiosk: &TestKiosk, submissions: Vec<Submission>) -> BatchResponse {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("batch response")
}

#[tokio::test]
async fn a_contact_phone_in_the_wrong_format_is_refused_with_a_clear_message() {
    let (server, kiosk) = county().await;
    let mut batch = Vec::new();
    for (seq, phone) in [
        "\t=HYPERLINK(\"http://x\")",
        "12345",
        "+86 138 0013 8000",
        "13800138000 ",
        "0775-1234567",
        "138 0013 8000",
    ]
    .into_iter()
    .enumerate()
    {
        let mut item = submission(kiosk.number(), seq as u64 + 1);
        item.contact_phone = Some(phone.to_owned());
        batch.push(item);
    }
    let answer = upload(&kiosk, batch.clone()).await;
    let outcomes: Vec<Outcome> = answer.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Accepted,
            Outcome::Accepted
        ]
    );
    let message = answer.results[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains("contact phone") && message.contains("0775-1234567"),
        "{message}"
    );
    assert!(
        !message.contains("HYPERLINK"),
        "the value is not echoed: {message}"
    );
    for refused in &batch[..4] {
        let stored = server
            .store()
            .find_submission(&SubmissionRef::Id(refused.id))
            .await
            .unwrap();
        assert!(stored.is_none(), "an invalid item is not stored");
    }
}

#[tokio::test]
async fn no_cell_of_the_export_starts_like_a_formula() {
    let (server, kiosk) = county().await;
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"点击\")",
        "\t=1+1",
        "\r=1+1",
        "\n+1",
        " @SUM(A1)",
        "\u{3000}-1",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
        "李秀英",
    ];
    let batch: Vec<Submission> = names
        .iter()
        .enumerate()
        .map(|(seq, name)| Submission {
            applicant: Some(Applicant {
                name: Some((*name).to_owned()),
                ..submission(kiosk.number(), 1).applicant.unwrap()
            }),
            ..submission(kiosk.number(), seq as u64 + 1)
        })
        .collect();
    let answer = upload(&kiosk, batch).await;
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.outcome == Outcome::Accepted),
        "{answer:?}"
    );
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let export = handler.get("/staff/export.csv?status=all&mine=0").await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    let cells = csv_cells(export.body.trim_start_matches('\u{feff}'));
    for name in names {
        assert!(
            cells.iter().any(|cell| cell == &format!("'{name}")) || name == "李秀英",
            "{name:?} is not defused in {cells:?}"
        );
    }
    assert!(
        cells.iter().any(|cell| cell == "李秀英"),
        "plain names stay plain"
    );
    let formula_start = ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'];
    for cell in &cells {
        let start = cell
            .trim_start_matches(|c: char| c.is_whitespace() && !matches!(c, '\t' | '\r' | '\n'));
        assert!(
            !cell.starts_with(formula_start) && !start.starts_with(formula_start),
            "{cell:?}"
        );
    }
}

/// The cells of a CSV text (RFC 4180 quoting, CRLF rows).
fn csv_cells(text: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => cells.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                cells.push(std::mem::take(&mut cell));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() {
        cells.push(cell);
    }
    cells
}
