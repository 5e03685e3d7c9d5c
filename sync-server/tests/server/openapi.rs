//! The OpenAPI document against the router and the wire types: every route documented, every
//! documented operation routed, and real values of every body type fitting their schemas.

use std::collections::BTreeSet;
use std::str::FromStr as _;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};
use sync_protocol::feed::{FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat, HeartbeatResponse, PrinterHealth};
use sync_protocol::release::{
    FailureStage, ReleaseTarget, UpdateFailure, UpdateReport, UpdateState,
};
use sync_protocol::submission::{Applicant, BatchRequest, BatchResponse, ItemResult, Outcome};
use sync_protocol::{ErrorBody, ErrorCode};
use sync_server::api::openapi::{document, error_codes};
use sync_server::api::routes;
use tower::ServiceExt as _;

use crate::common::{TestServer, submission, village};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let doc = document();
    let routed: BTreeSet<(String, String)> = routes::table()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(routed, documented_operations(doc));

    let server = TestServer::start().await;
    for (method, path) in documented_operations(doc) {
        let concrete = path.replace("{feed}", "catalog");
        let response = sync_server::app::app(server.state.clone())
            .oneshot(
                Request::builder()
                    .method(Method::from_str(&method).unwrap())
                    .uri(&concrete)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let routed = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => error.code != ErrorCode::NotFound,
            Err(_) => true,
        };
        assert!(
            routed && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete} is documented but not routed ({status})"
        );
    }
}

#[tokio::test]
async fn the_served_document_is_the_document() {
    let server = TestServer::start().await;
    let served: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&served, document());
    assert_eq!(served["openapi"], "3.1.0");
    let schemes = served["components"]["securitySchemes"].as_object().unwrap();
    let headers: BTreeSet<&str> = schemes
        .values()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        headers,
        BTreeSet::from(["Signature", "Signature-Input", "Content-Digest"])
    );
    for (path, item) in served["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            let security = operation["security"].as_array().expect("security stated");
            let guarded = routes::table()
                .iter()
                .any(|r| r.path == path && r.access != routes::Access::Public);
            assert_eq!(
                !security.is_empty(),
                guarded,
                "{path}: security matches the route"
            );
        }
    }
}

#[test]
fn the_error_codes_are_the_protocols() {
    for text in error_codes() {
        let code: ErrorCode = serde_json::from_value(json!(text)).unwrap();
        assert_ne!(code, ErrorCode::Other, "{text}");
        assert_eq!(code.as_str(), text);
    }
    let documented = document()["components"]["schemas"]["ErrorCode"]["enum"].clone();
    assert_eq!(documented, json!(error_codes()));
    // Every code a route answers is one the document lists (attachment codes included).
    for code in [
        "attachment_not_listed",
        "attachment_offset",
        "attachment_hash_mismatch",
        "attachment_too_large",
    ] {
        assert!(error_codes().contains(&code), "{code}");
    }
}

// ── a small validator for the subset of JSON Schema the document uses ──

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .expect("local schema reference");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    assert!(!schema.is_null(), "dangling schema at {at}");
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = options
            .iter()
            .filter(|option| check(doc, option, value, at).is_ok())
            .count();
        return if fits >= 1 {
            Ok(())
        } else {
            Err(format!("{at}: fits none of oneOf: {value}"))
        };
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at}: {value} is not {constant}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    match schema.get("type").and_then(Value::as_str) {
        None => {}
        Some("object") => {
            let object = value
                .as_object()
                .ok_or_else(|| format!("{at}: not an object: {value}"))?;
            let properties = schema["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap_or_default();
                if !object.contains_key(key) {
                    return Err(format!("{at}: required `{key}` missing"));
                }
            }
            for (key, inner) in object {
                match properties.get(key) {
                    Some(property) => check(doc, property, inner, &format!("{at}.{key}"))?,
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            return Err(format!("{at}: `{key}` is not in the schema"));
                        }
                        Some(extra) if extra.is_object() => {
                            check(doc, extra, inner, &format!("{at}.{key}"))?
                        }
                        _ => {}
                    },
                }
            }
        }
        Some("array") => {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{at}: not an array: {value}"))?;
            if number("maxItems").is_some_and(|max| items.len() as f64 > max) {
                return Err(format!("{at}: too many items"));
            }
            for (index, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{index}]"))?;
            }
        }
        Some("string") => {
            let text = value
                .as_str()
                .ok_or_else(|| format!("{at}: not a string: {value}"))?;
            let ok = match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
                Some("date") => chrono::NaiveDate::from_str(text).is_ok(),
                Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
                _ => true,
            };
            if !ok {
                return Err(format!("{at}: `{text}` does not have the format"));
            }
        }
        Some("integer") => {
            let n = value
                .as_f64()
                .filter(|_| value.is_i64() || value.is_u64())
                .ok_or_else(|| format!("{at}: not an integer: {value}"))?;
            if number("minimum").is_some_and(|min| n < min)
                || number("maximum").is_some_and(|max| n > max)
            {
                return Err(format!("{at}: {n} out of range"));
            }
        }
        Some("boolean") if !value.is_boolean() => {
            return Err(format!("{at}: not a boolean: {value}"));
        }
        Some("boolean") => {}
        Some(other) => panic!("the validator does not know type {other}"),
    }
    Ok(())
}

fn fits(name: &str, value: &impl serde::Serialize) {
    let doc = document();
    let value = serde_json::to_value(value).unwrap();
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    if let Err(problem) = check(doc, &schema, &value, name) {
        panic!("{problem}");
    }
}

#[test]
fn the_validator_catches_a_wrong_value() {
    let doc = document();
    let schema = json!({ "$ref": "#/components/schemas/Village" });
    assert!(check(doc, &schema, &json!({ "county": "x" }), "v").is_err());
    assert!(
        check(
            doc,
            &schema,
            &json!({ "county": "x", "township": "y", "village": "z", "extra": 1 }),
            "v"
        )
        .is_err()
    );
    let heartbeat = json!({ "$ref": "#/components/schemas/Heartbeat" });
    assert!(check(doc, &heartbeat, &json!({ "queue_depth": "3" }), "h").is_err());
}

#[test]
fn the_wire_types_fit_their_schemas() {
    let key = SigningKey::from_bytes(&[9; 32]);
    fits(
        "EnrollRequest",
        &EnrollRequest::new("ABCD-EFGH", &key, "0.1.0"),
    );
    fits(
        "EnrollRequest",
        &EnrollRequest::replacing(
            "ABCD-EFGH",
            &key,
            "kiosk-before",
            &SigningKey::from_bytes(&[8; 32]),
            "0.1.0",
        ),
    );
    fits(
        "EnrollResponse",
        &EnrollResponse {
            kiosk_id: uuid::Uuid::now_v7().to_string(),
            kiosk_number: 7,
            village: village("石门村"),
            server_id: uuid::Uuid::now_v7().to_string(),
            server_time: Utc::now(),
            county_key: Some(
                sync_protocol::personal::CountySecret::from_seed(&[3; 32])
                    .public_key()
                    .clone(),
            ),
        },
    );
    let mut full = submission(7, 42);
    full.text = Some("路灯坏了".into());
    full.rating = Some(4);
    full.applicant = Some(Applicant {
        name: Some("李秀英".into()),
        id_number: Some("45090219620815002X".into()),
        address: Some("石门村3组".into()),
    });
    let mut bare = submission(7, 43);
    bare.applicant = None;
    bare.item_code = None;
    bare.catalog_version = None;
    bare.contact_phone = None;
    full.attachments = vec![sync_protocol::attachment::AttachmentRef {
        sha256: sync_protocol::attachment::sha256_hex(b"page"),
        bytes: 412_000,
        material: 1,
        material_name: "居民户口簿".into(),
        page: 2,
        sealed: true,
    }];
    fits(
        "AttachmentStatus",
        &sync_protocol::attachment::AttachmentStatus {
            sha256: sync_protocol::attachment::sha256_hex(b"page"),
            bytes: 412_000,
            received: 65_536,
            complete: false,
        },
    );
    let mut supplement = submission(7, 44);
    supplement.applicant = None;
    supplement.contact_phone = None;
    supplement.supplement_to = Some(full.id);
    let mut phoned = submission(7, 45);
    phoned.phone_upload = Some(sync_protocol::phone_upload::token_hash(
        "AAAAAAAAAAAAAAAAAAAAAA",
    ));
    let mut sealed = full.clone();
    sealed.id = uuid::Uuid::now_v7();
    sealed.seal_personal(sync_protocol::personal::CountySecret::from_seed(&[3; 32]).public_key());
    fits(
        "BatchRequest",
        &BatchRequest {
            submissions: vec![full, bare, sealed, supplement, phoned],
        },
    );
    fits(
        "BatchResponse",
        &BatchResponse {
            results: vec![
                ItemResult {
                    id: uuid::Uuid::now_v7(),
                    outcome: Outcome::Duplicate,
                    message: None,
                    code: None,
                    received_at: Some(Utc::now()),
                },
                ItemResult {
                    id: uuid::Uuid::now_v7(),
                    outcome: Outcome::Invalid,
                    message: Some("why".into()),
                    code: None,
                    received_at: None,
                },
                ItemResult {
                    id: uuid::Uuid::now_v7(),
                    outcome: Outcome::Invalid,
                    message: Some("no such original".into()),
                    code: Some(sync_protocol::ErrorCode::UnknownOriginal),
                    received_at: None,
                },
            ],
        },
    );
    let catalog = sync_server::domain::catalog::read_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/catalog.json"),
    )
    .unwrap();
    let mut withdrawn = catalog[0].clone();
    withdrawn.withdrawn = true;
    let mut items = catalog;
    items.push(withdrawn);
    fits(
        "CatalogPage",
        &FeedPage {
            items,
            cursor: "12".into(),
            more: false,
        },
    );
    fits(
        "NoticePage",
        &FeedPage {
            items: vec![Notice {
                id: uuid::Uuid::now_v7(),
                title: "停电通知".into(),
                body: "明天停电".into(),
                published_on: Utc::now().date_naive(),
                expires_on: Some(Utc::now().date_naive()),
                villages: vec!["石门村".into()],
                withdrawn: false,
            }],
            cursor: "3".into(),
            more: true,
        },
    );
    fits(
        "StatusPage",
        &FeedPage {
            items: vec![StatusChange {
                submission_id: uuid::Uuid::now_v7(),
                receipt_number: "007-0001A-X".into(),
                status: SubmissionStatus::NeedsCorrection,
                note: Some("请补交".into()),
                changed_at: Utc::now(),
                materials: vec![sync_protocol::feed::CorrectionMaterial {
                    index: 0,
                    name: "居民户口簿".into(),
                }],
            }],
            cursor: "1".into(),
            more: false,
        },
    );
    fits(
        "Heartbeat",
        &Heartbeat {
            queue_depth: 1,
            oldest_pending_age_s: Some(5),
            quarantined: 0,
            devices: DeviceHealth {
                printer: Some(PrinterHealth::default()),
                reader_present: true,
                scanner_present: true,
            },
            app_version: "0.1.0".into(),
            disk_free_bytes: 10,
            uptime_s: 10,
            clock_offset_ms: -300,
            update: None,
        },
    );
    let version = |text: &str| text.parse::<booth_release::Version>().unwrap();
    fits(
        "Heartbeat",
        &Heartbeat {
            queue_depth: 0,
            oldest_pending_age_s: None,
            quarantined: 0,
            devices: DeviceHealth::default(),
            app_version: "1.2.0".into(),
            disk_free_bytes: 10,
            uptime_s: 10,
            clock_offset_ms: 0,
            update: Some(UpdateReport {
                running: version("1.2.0"),
                highest_installed: version("1.3.0"),
                target: Some(version("1.3.0")),
                state: UpdateState::RolledBack,
                downloaded_bytes: Some(4096),
                last_failure: Some(UpdateFailure {
                    version: version("1.3.0"),
                    stage: FailureStage::Ready,
                    reason: "not ready within 120 s".into(),
                }),
            }),
        },
    );
    fits(
        "HeartbeatResponse",
        &HeartbeatResponse {
            server_time: Utc::now(),
            county_key: None,
            release: Some(ReleaseTarget {
                version: version("1.3.0"),
                bundle: "0f".repeat(32),
                size: 20 << 20,
            }),
        },
    );
    fits(
        "HeartbeatResponse",
        &HeartbeatResponse {
            server_time: Utc::now(),
            county_key: Some(
                sync_protocol::personal::CountySecret::from_seed(&[3; 32])
                    .public_key()
                    .clone(),
            ),
            release: None,
        },
    );
    for code in error_codes() {
        let code: ErrorCode = serde_json::from_value(json!(code)).unwrap();
        fits("ErrorBody", &ErrorBody::new(code, "message"));
    }
    fits("Health", &json!({ "status": "ok" }));
}
