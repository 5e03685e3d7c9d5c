//! The OpenAPI 3.1 document of the kiosk API, written by hand next to the types it describes
//! (`sync_protocol`). Tests keep it honest: its operations must equal the route table, and
//! sample values of every wire type must fit their schemas.

// `json!` serialises interpolated values by reference, so the small builders below look
// like they could borrow; taking values keeps the document readable.
#![allow(clippy::needless_pass_by_value)]

use std::sync::OnceLock;

use serde_json::{Value, json};
use sync_protocol::paths;

use crate::api::routes::attachments::PATH as ATTACHMENT_PATH;
use crate::api::routes::{FEED_PATH, RELEASE_PATH};

/// Every error code the server sends, from the protocol's one list.
pub fn error_codes() -> Vec<&'static str> {
    sync_protocol::ErrorCode::SENT
        .iter()
        .map(|code| code.as_str())
        .collect()
}

/// The county's X25519 public key booths seal personal data to.
fn county_key() -> Value {
    json!({ "type": "string", "contentEncoding": "base64", "description": "The county's X25519 public key (32 bytes): the booth seals the personal part of each submission to it (see `SealedPersonal`)." })
}

/// A submission's personal part sealed on the booth (`sync_protocol::personal`).
fn sealed_personal() -> Value {
    object(
        &["suite", "enc", "ciphertext"],
        json!({
            "suite": { "const": "hpke-x25519-sha256-chacha20poly1305", "description": "RFC 9180 HPKE, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305; info `convenience-booth/personal/v1`, associated data the submission id's 16 bytes." },
            "enc": { "type": "string", "contentEncoding": "base64", "description": "The encapsulated key (32 bytes)." },
            "ciphertext": { "type": "string", "contentEncoding": "base64", "description": "JSON `{applicant, contact_phone, fields, text}` sealed to `county_key`; the submission then carries none of those in the clear. The server opens it before anything else and answers `invalid` when it does not open." },
        }),
    )
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "headers": { "Date": { "$ref": "#/components/headers/Date" } },
        "content": json_content(schema),
    })
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "headers": { "Date": { "$ref": "#/components/headers/Date" } },
        "content": json_content(schema_ref("ErrorBody")),
    })
}

/// The refusals every signed operation can answer with.
fn signed_errors() -> Value {
    json!({
        "400": error("`malformed_json` (the body is not the expected JSON) or `invalid_request`."),
        "401": error("`unsigned`, `malformed_signature`, `unknown_kiosk`, `bad_digest`, `bad_signature`, `stale_timestamp` (the booth corrects its clock from `Date`) or `replayed_nonce`."),
        "403": error("`kiosk_revoked`: staff revoked this kiosk; enroll again."),
        "408": error("`internal`: the server took too long; retry."),
        "413": error("`body_too_large`: the body is over 2 MiB."),
        "500": error("`internal`: retry later."),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

fn string() -> Value {
    json!({ "type": "string" })
}

/// Read as `u32`.
fn uint32() -> Value {
    json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX })
}

/// Read as `i64`.
fn int64() -> Value {
    json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX })
}

/// A count or size, read as `u64`.
fn uint() -> Value {
    json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn date_time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// An object schema. A property left out of `required` is an `Option` in the protocol crate,
/// which serde also reads from an explicit `null`, so the schema says so; the exceptions are
/// [`NOT_NULLABLE`]. No other properties: the server refuses them in what booths send
/// (`deny_unknown_fields`), and sends none it does not document.
fn object(required: &[&str], properties: Value) -> Value {
    object_with_defaults(required, &[], properties)
}

/// [`object`] whose optional `defaults` (serde defaults, not `Option`s) refuse `null` too, for
/// a name another schema uses as an `Option` (`AttachmentRef.sealed` beside
/// `Submission.sealed`).
fn object_with_defaults(required: &[&str], defaults: &[&str], mut properties: Value) -> Value {
    if let Some(map) = properties.as_object_mut() {
        for (name, schema) in map.iter_mut() {
            let name = name.as_str();
            if !required.contains(&name)
                && !NOT_NULLABLE.contains(&name)
                && !defaults.contains(&name)
            {
                *schema = json!({ "anyOf": [schema.take(), { "type": "null" }] });
            }
        }
    }
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// Optional properties that are not an `Option` (a serde default instead): `null` is refused.
const NOT_NULLABLE: &[&str] = &[
    "fields",
    "choices",
    "review_levels",
    "withdrawn",
    "attachments",
    "materials",
];

fn page(item: &str) -> Value {
    object(
        &["items", "cursor", "more"],
        json!({
            "items": array(schema_ref(item)),
            "cursor": { "type": "string", "description": "Opaque; the `after` of the next request. Unchanged when `items` is empty." },
            "more": { "type": "boolean", "description": "Ask again at once while true." },
        }),
    )
}

fn schemas() -> Value {
    let mut schemas = json!({
        "ErrorBody": object(&["code", "message"], json!({
            "code": schema_ref("ErrorCode"),
            "message": { "type": "string", "description": "One line for people: what went wrong and what to do." },
        })),
        "ErrorCode": { "type": "string", "enum": error_codes() },
        "Village": object(&["county", "township", "village"], json!({
            "county": string(), "township": string(), "village": string(),
        })),
        "EnrollRequest": object(&["code", "public_key", "proof", "app_version"], json!({
            "code": { "type": "string", "description": "The one-time code as typed (`ABCD-EFGH`; case, dashes, O/0 and I/L/1 confusions are forgiven)." },
            "public_key": { "type": "string", "contentEncoding": "base64", "description": "The booth's new ed25519 public key (32 bytes)." },
            "proof": { "type": "string", "contentEncoding": "base64", "description": "ed25519 signature of `booth-enroll-v1\\n{normalized code}\\n{public_key}` with the new key." },
            "app_version": string(),
            "replaces": schema_ref("Replaces"),
        })),
        "Replaces": object(&["kiosk_id", "proof"], json!({
            "kiosk_id": { "type": "string", "description": "The booth's previous kiosk id. When its proof verifies and that kiosk is active, the new kiosk keeps its kiosk number, submissions and status feed, and the old one is revoked. An unknown or staff-revoked previous kiosk gives a plain enrollment (a new number)." },
            "proof": { "type": "string", "contentEncoding": "base64", "description": "ed25519 signature of the same `booth-enroll-v1\\n{normalized code}\\n{public_key}` (the NEW key) with the PREVIOUS key." },
        })),
        "EnrollResponse": object(&["kiosk_id", "kiosk_number", "village", "server_id", "server_time"], json!({
            "kiosk_id": { "type": "string", "description": "The `keyid` of every later request." },
            "kiosk_number": { "type": "integer", "minimum": 1, "maximum": 1048575, "description": "Prefix of this booth's receipt numbers; never reused." },
            "village": schema_ref("Village"),
            "server_id": { "type": "string", "description": "Identifies this server install." },
            "server_time": date_time(),
            "county_key": county_key(),
        })),
        "SubmissionKind": { "type": "string", "enum": ["application", "complaint", "evaluation", "consultation"] },
        "Applicant": object(&[], json!({
            "name": string(),
            "id_number": { "type": "string", "pattern": "^[0-9]{17}[0-9X]$" },
            "address": string(),
        })),
        "Submission": object(&["id", "kiosk_seq", "receipt_number", "kind", "created_at"], json!({
            "id": { "type": "string", "format": "uuid", "description": "UUIDv7 made on the booth; the idempotency key." },
            "kiosk_seq": uint(),
            "receipt_number": { "type": "string", "description": "`KKK-SSSSS-C` in its printed (canonical) form; KKK must be the signing kiosk's number." },
            "kind": schema_ref("SubmissionKind"),
            "item_code": string(),
            "catalog_version": uint32(),
            "fields": { "type": "object", "additionalProperties": { "type": "string" }, "maxProperties": 64 },
            "text": { "type": "string", "maxLength": 4000 },
            "rating": { "type": "integer", "minimum": 1, "maximum": 5 },
            "applicant": schema_ref("Applicant"),
            "contact_phone": string(),
            "created_at": date_time(),
            "sealed": schema_ref("SealedPersonal"),
            "attachments": merge(array(schema_ref("AttachmentRef")), json!({ "maxItems": 40, "description": "The files (photographed pages) it carries, uploaded after it with `PUT /api/v1/attachments/{sha256}`; applications only." })),
            "supplement_to": { "type": "string", "format": "uuid", "description": "A supplement (补正材料): the id of the application it completes, of the same item, carrying the pages photographed again. It joins that case instead of opening one; a supplement whose original the server does not hold is `invalid` with code `unknown_original`. Applications only; absent otherwise (a submission without it digests as before)." },
            "phone_upload": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "For an application handed in at a booth without a document camera: the lowercase hex SHA-256 of the one-time token its receipt's QR code carries (`<public URL>/m/<token>`, 16 random bytes as 22 characters of unpadded base64url), with which the villager's phone uploads the materials once. Applications that are not supplements only, else `invalid` with code `invalid_phone_upload`; absent otherwise (a submission without it digests as before)." },
        })),
        "BatchRequest": object(&["submissions"], json!({
            "submissions": merge(array(schema_ref("Submission")), json!({ "maxItems": 100 })),
        })),
        "Outcome": { "type": "string", "enum": ["accepted", "duplicate", "conflict", "invalid"] },
        "ItemResult": object(&["id", "outcome"], json!({
            "id": { "type": "string", "format": "uuid" },
            "outcome": schema_ref("Outcome"),
            "message": { "type": "string", "description": "Why, for conflict and invalid." },
            "received_at": merge(date_time(), json!({ "description": "When the server first stored it (accepted, duplicate)." })),
            "code": merge(schema_ref("ErrorCode"), json!({ "description": "For programs, where a refusal has a code of its own: `unknown_original` for a supplement whose original the server does not hold, `invalid_phone_upload` for a malformed or misplaced `phone_upload`." })),
        })),
        "BatchResponse": object(&["results"], json!({
            "results": merge(array(schema_ref("ItemResult")), json!({ "description": "One per submission, in request order." })),
        })),
        "TimeLimit": {
            "oneOf": [
                object(&["kind"], json!({ "kind": { "const": "on_the_spot" } })),
                object(&["kind", "days"], json!({ "kind": { "const": "working_days" }, "days": uint() })),
            ],
        },
        "Material": object(&["name", "original", "count"], json!({
            "name": string(),
            "original": { "type": "boolean", "description": "true: the original is shown; false: a copy is handed in." },
            "count": { "type": "integer", "minimum": 1 },
            "note": string(),
        })),
        "Fee": object(&["name", "amount_fen", "basis"], json!({
            "name": string(), "amount_fen": uint(), "basis": string(),
        })),
        "Office": object(&["name", "address", "phone"], json!({
            "name": string(), "address": string(), "phone": string(),
        })),
        "FieldKind": { "type": "string", "enum": ["text", "number", "date", "phone", "choice"] },
        "FormField": object(&["key", "label_zh", "kind", "required"], json!({
            "key": string(), "label_zh": string(), "kind": schema_ref("FieldKind"),
            "required": boolean(), "choices": array(string()),
        })),
        "IdentityNeed": { "type": "string", "enum": ["none", "id_number", "full"] },
        "CatalogItem": object(
            &["code", "version", "name_zh", "name_en", "category", "legal_basis", "conditions",
              "materials", "steps", "time_limit", "fees", "office", "complaint_phone", "identity", "form"],
            json!({
                "code": string(),
                "version": uint(),
                "name_zh": string(),
                "name_en": string(),
                "category": string(),
                "legal_basis": string(),
                "conditions": array(string()),
                "materials": array(schema_ref("Material")),
                "steps": array(string()),
                "time_limit": schema_ref("TimeLimit"),
                "fees": merge(array(schema_ref("Fee")), json!({ "description": "Empty for a free item." })),
                "office": schema_ref("Office"),
                "complaint_phone": string(),
                "identity": schema_ref("IdentityNeed"),
                "form": array(schema_ref("FormField")),
                "review_levels": review_levels(),
                "withdrawn": merge(boolean(), json!({ "description": "Drop the item from the booth." })),
            }),
        ),
        "Notice": object(&["id", "title", "body", "published_on"], json!({
            "id": { "type": "string", "format": "uuid" },
            "title": string(),
            "body": string(),
            "published_on": { "type": "string", "format": "date" },
            "expires_on": { "type": "string", "format": "date" },
            "villages": merge(array(string()), json!({ "description": "Empty: every village." })),
            "withdrawn": boolean(),
        })),
        "SubmissionStatus": { "type": "string", "enum": ["received", "accepted", "in_review", "needs_correction", "approved", "rejected"] },
        "StatusChange": object(&["submission_id", "receipt_number", "status", "changed_at"], json!({
            "submission_id": { "type": "string", "format": "uuid" },
            "receipt_number": string(),
            "status": schema_ref("SubmissionStatus"),
            "note": string(),
            "changed_at": date_time(),
            "materials": merge(array(schema_ref("CorrectionMaterial")), json!({ "maxItems": 40, "description": "For `needs_correction`: the materials staff asked to be photographed or brought again, in the guide's order. Absent otherwise." })),
        })),
        "CatalogPage": page("CatalogItem"),
        "NoticePage": page("Notice"),
        "StatusPage": page("StatusChange"),
        "PrinterHealth": object(&["online", "paper_end", "paper_near_end", "cover_open"], json!({
            "online": boolean(), "paper_end": boolean(), "paper_near_end": boolean(), "cover_open": boolean(),
        })),
        "DeviceHealth": object(&["reader_present", "scanner_present"], json!({
            "printer": schema_ref("PrinterHealth"),
            "reader_present": boolean(),
            "scanner_present": boolean(),
        })),
        "Heartbeat": object(
            &["queue_depth", "quarantined", "devices", "app_version", "disk_free_bytes", "uptime_s", "clock_offset_ms"],
            json!({
                "queue_depth": uint(),
                "oldest_pending_age_s": uint(),
                "quarantined": uint(),
                "devices": schema_ref("DeviceHealth"),
                "app_version": string(),
                "disk_free_bytes": uint(),
                "uptime_s": uint(),
                "clock_offset_ms": merge(int64(), json!({ "description": "Server time minus booth time." })),
                "update": schema_ref("UpdateReport"),
            }),
        ),
        "Health": object(&["status"], json!({ "status": { "const": "ok" } })),
    });
    // Outside the one `json!` above, which is at the macro's recursion limit.
    schemas["SealedPersonal"] = sealed_personal();
    schemas["AttachmentRef"] = object_with_defaults(
        &["sha256", "bytes", "material", "material_name", "page"],
        &["sealed"],
        json!({
            "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the bytes uploaded (the sealed envelope when `sealed`)." },
            "bytes": { "type": "integer", "minimum": 1, "maximum": sync_protocol::attachment::MAX_ATTACHMENT_BYTES },
            "material": { "type": "integer", "minimum": 0, "maximum": 65535, "description": "The material's index in the catalogue item at the submission's `catalog_version`." },
            "material_name": { "type": "string", "minLength": 1, "maxLength": 100 },
            "page": { "type": "integer", "minimum": 1, "maximum": 65535 },
            "sealed": merge(boolean(), json!({ "description": "`CBF1`, the 32-byte HPKE encapsulated key, the ciphertext: the page sealed to `county_key` with the submission id as associated data." })),
        }),
    );
    schemas["AttachmentStatus"] = object(
        &["sha256", "bytes", "received", "complete"],
        json!({
            "sha256": string(),
            "bytes": uint(),
            "received": merge(uint(), json!({ "description": "Bytes held: the offset of the next chunk." })),
            "complete": merge(boolean(), json!({ "description": "Held whole, its hash checked: never send it again." })),
        }),
    );
    schemas["HeartbeatResponse"] = object(
        &["server_time"],
        json!({
            "server_time": date_time(),
            "county_key": county_key(),
            "release": merge(schema_ref("ReleaseTarget"), json!({ "description": "The release the county wants this booth to run; absent when no rollout includes it." })),
        }),
    );
    // Beside the literal above, which is as deep as `json!` expands.
    schemas["CorrectionMaterial"] = object(
        &["index", "name"],
        json!({
            "index": { "type": "integer", "minimum": 0, "maximum": 65535, "description": "Its index in the item's `materials` at the submission's `catalog_version`, as `AttachmentRef.material` counts." },
            "name": { "type": "string", "description": "Its name in the catalogue." },
        }),
    );
    release_schemas(&mut schemas);
    schemas
}

/// A release version, `MAJOR.MINOR.PATCH` without leading zeros (`booth_release::Version`).
fn version() -> Value {
    // Nine digits a part at most, as `booth_release::Version` accepts (`MAX_PART`).
    json!({ "type": "string", "pattern": "^(0|[1-9][0-9]{0,8})\\.(0|[1-9][0-9]{0,8})\\.(0|[1-9][0-9]{0,8})$" })
}

/// The schemas of over-the-air releases (`sync_protocol::release`).
fn release_schemas(schemas: &mut Value) {
    use sync_protocol::release::{FailureStage, MAX_FAILURE_REASON, UpdateState};
    let states: Vec<&str> = UpdateState::ALL.iter().map(|s| s.as_str()).collect();
    let stages: Vec<&str> = FailureStage::ALL.iter().map(|s| s.as_str()).collect();
    schemas["ReleaseTarget"] = object(
        &["version", "bundle", "size"],
        json!({
            "version": version(),
            "bundle": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the whole bundle file, lowercase hex: download it from `/api/v1/releases/{bundle}` and check the bytes against it." },
            "size": uint(),
        }),
    );
    schemas["UpdateState"] = json!({ "type": "string", "enum": states });
    schemas["FailureStage"] = json!({ "type": "string", "enum": stages });
    schemas["UpdateFailure"] = object(
        &["version", "stage", "reason"],
        json!({
            "version": version(),
            "stage": schema_ref("FailureStage"),
            "reason": { "type": "string", "description": format!("One line without personal data; the server keeps its first {MAX_FAILURE_REASON} characters (a longer one is cut, the heartbeat is not refused for it).") },
        }),
    );
    schemas["UpdateReport"] = object(
        &["running", "highest_installed", "state"],
        json!({
            "running": version(),
            "highest_installed": version(),
            "target": version(),
            "state": schema_ref("UpdateState"),
            "downloaded_bytes": uint(),
            "last_failure": schema_ref("UpdateFailure"),
        }),
    );
}

fn build() -> Value {
    let signed = json!([{ "signature": [], "signatureInput": [], "contentDigest": [] }]);
    let unsigned = json!([]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Convenience booth sync API",
            "version": "1",
            "description": "What a village booth (kiosk) calls on the county sync server. Every response carries a `Date` header; booths learn their clock offset from it. Errors are `ErrorBody` JSON. Signed operations need the three RFC 9421/9530 headers described in the security schemes: `Signature-Input: sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=UNIX;keyid=\"KIOSK_ID\";nonce=\"RANDOM\";alg=\"ed25519\"`, `Signature: sig1=:BASE64:` over the RFC 9421 signature base, and `Content-Digest: sha-256=:BASE64:` of the body (empty body included). `created` must be within 300 s of server time and each nonce is accepted once.",
        },
        "paths": {
            (paths::ENROLL): { "post": {
                "operationId": "enroll",
                "summary": "Trade a one-time code for a kiosk identity bound to the booth's new key.",
                "security": unsigned,
                "requestBody": { "required": true, "content": json_content(schema_ref("EnrollRequest")) },
                "responses": {
                    "200": ok("Enrolled; a retry with the same code and public key gets the original answer again.", schema_ref("EnrollResponse")),
                    "400": error("`malformed_json`, or `invalid_request` when the proof (or the `replaces` proof) does not verify."),
                    "403": error("`enroll_code_invalid`, `enroll_code_expired` or `enroll_code_used` (by another key); `kiosk_revoked` when a retry's kiosk was revoked since."),
                    "409": error("`invalid_request`: this public key is already enrolled."),
                    "413": error("`body_too_large`."),
                    "429": {
                        "description": "`rate_limited`: too many failed attempts from this address or in total.",
                        "headers": {
                            "Date": { "$ref": "#/components/headers/Date" },
                            "Retry-After": { "description": "Seconds to wait.", "schema": { "type": "integer" } },
                        },
                        "content": json_content(schema_ref("ErrorBody")),
                    },
                    "500": error("`internal`."),
                    "503": error("`internal`: every kiosk number is taken."),
                },
            }},
            (paths::SUBMISSIONS): { "post": {
                "operationId": "submitBatch",
                "summary": "Upload up to 100 submissions; one result per item, in order. Idempotent by submission id.",
                "security": signed,
                "requestBody": { "required": true, "content": json_content(schema_ref("BatchRequest")) },
                "responses": merge(signed_errors(), json!({
                    "200": ok("Per-item results: `accepted` and `duplicate` (with the original `received_at`) are delivered; `conflict` (the id holds other content) and `invalid` never will be.", schema_ref("BatchResponse")),
                })),
            }},
            (FEED_PATH): { "get": {
                "operationId": "readFeed",
                "summary": "One page of a feed after a cursor: the catalogue, the notices for this kiosk's village, or status changes of this kiosk's submissions.",
                "security": signed,
                "parameters": [
                    { "name": "feed", "in": "path", "required": true, "schema": { "type": "string", "enum": ["catalog", "notices", "statuses"] } },
                    { "name": "after", "in": "query", "required": false, "schema": { "type": "string", "pattern": "^[0-9]{1,18}$" }, "description": "The `cursor` of the last page applied; omit to start over." },
                    { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "maximum": 4_294_967_295_u32, "default": 100 }, "description": "Items per page, clamped to 1 to 500." },
                ],
                "responses": merge(signed_errors(), json!({
                    // anyOf, not oneOf: the path names the feed, and an empty page fits all three.
                    "200": ok("A page; apply `items` and store `cursor` in one transaction.", json!({ "anyOf": [
                        schema_ref("CatalogPage"), schema_ref("NoticePage"), schema_ref("StatusPage"),
                    ]})),
                    "404": error("`not_found`: no such feed."),
                })),
            }},
            (paths::HEARTBEAT): { "post": {
                "operationId": "heartbeat",
                "summary": "Report the booth's health; the server keeps the latest per kiosk.",
                "security": signed,
                "requestBody": { "required": true, "content": json_content(schema_ref("Heartbeat")) },
                "responses": merge(signed_errors(), json!({
                    "200": ok("Recorded.", schema_ref("HeartbeatResponse")),
                })),
            }},
            (RELEASE_PATH): { "get": release_download(signed.clone()) },
            (ATTACHMENT_PATH): attachment_operations(signed),
            (paths::HEALTH): { "get": {
                "operationId": "health",
                "summary": "Liveness: the server answers and its store reads.",
                "security": unsigned,
                "responses": {
                    "200": ok("Healthy.", schema_ref("Health")),
                    "500": error("`internal`: the store does not answer."),
                },
            }},
            (paths::METRICS): { "get": {
                "operationId": "metrics",
                "summary": "Prometheus text exposition, for the scraper holding the token of `serve --metrics-token-file`.",
                "security": [{ "scraperToken": [] }],
                "responses": {
                    "200": {
                        "description": "Metrics.",
                        "content": { "text/plain": { "schema": { "type": "string" } } },
                    },
                    "401": error("`unsigned`: no token configured, or the request's bearer token is missing or wrong."),
                },
            }},
            (paths::OPENAPI): { "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": unsigned,
                "responses": {
                    "200": ok("OpenAPI 3.1.", json!({ "type": "object" })),
                },
            }},
        },
        "components": {
            "securitySchemes": {
                "signature": { "type": "apiKey", "in": "header", "name": "Signature", "description": "`sig1=:BASE64:`: ed25519 over the RFC 9421 signature base of `@method`, `@path`, `@query`, `content-digest` and the signature parameters." },
                "signatureInput": { "type": "apiKey", "in": "header", "name": "Signature-Input", "description": "`sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=UNIX;keyid=\"KIOSK_ID\";nonce=\"RANDOM\";alg=\"ed25519\"`." },
                "contentDigest": { "type": "apiKey", "in": "header", "name": "Content-Digest", "description": "`sha-256=:BASE64:` of the body (RFC 9530)." },
                "scraperToken": { "type": "http", "scheme": "bearer", "description": "The token in the file `serve --metrics-token-file` names." },
            },
            "headers": {
                "Date": { "description": "Server time (HTTP date); booths derive their clock offset from it.", "schema": { "type": "string" } },
            },
            "schemas": schemas(),
        },
    })
}

/// `GET` and `PUT /api/v1/attachments/{sha256}`.
fn attachment_operations(security: Value) -> Value {
    let name = json!({ "name": "sha256", "in": "path", "required": true, "schema": { "type": "string" }, "description": "The file's name as a submission of this booth lists it." });
    json!({
        "get": {
            "operationId": "attachmentStatus",
            "summary": "How much of a listed file the server holds.",
            "security": security,
            "parameters": [name],
            "responses": merge(signed_errors(), json!({
                "200": ok("The upload's state.", schema_ref("AttachmentStatus")),
                "404": error("`attachment_not_listed`: no submission of this booth lists the file (the same for any other name)."),
            })),
        },
        "put": {
            "operationId": "uploadAttachmentChunk",
            "summary": "The file's bytes from `offset` on (at most 65536). A complete file answers its status whatever is sent.",
            "security": security,
            "parameters": [name, { "name": "offset", "in": "query", "required": true, "schema": { "type": "integer", "minimum": 0, "maximum": sync_protocol::attachment::MAX_ATTACHMENT_BYTES }, "description": "Where the chunk starts: the `received` of the last status." }],
            "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "contentEncoding": "binary" } } } },
            "responses": merge(signed_errors(), json!({
                "200": ok("Taken; with the last byte, the file was checked and kept (`complete`).", schema_ref("AttachmentStatus")),
                "400": error("`invalid_request`: an empty chunk, or a whole file that is not a JPEG page (dropped; the upload starts over)."),
                "404": error("`attachment_not_listed`."),
                "409": error("`attachment_offset`: the chunk does not start where the server's copy ends; ask for the status and continue from `received`."),
                "413": error("`attachment_too_large`: the chunk is over 65536 bytes, or would run past the listed size."),
                "422": error("`attachment_hash_mismatch`: the whole file does not hash to its name, or a sealed file does not open with the county's key; dropped, the upload starts over."),
            })),
        },
    })
}

/// `GET /api/v1/releases/{bundle}`.
fn release_download(security: Value) -> Value {
    let date = json!({ "Date": { "$ref": "#/components/headers/Date" } });
    let bytes = json!({ "application/octet-stream": { "schema": { "type": "string", "contentEncoding": "binary" } } });
    json!({
        "operationId": "downloadRelease",
        "summary": "The bytes of the release bundle this booth's heartbeat names (its target, or one it started in a rollout still running). Streamed at the server's pace; resumable with `Range`.",
        "security": security,
        "parameters": [
            { "name": "bundle", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" }, "description": "The `bundle` of the heartbeat's `release`: the SHA-256 of the whole file." },
            { "name": "Range", "in": "header", "required": false, "schema": { "type": "string" }, "description": "`bytes=N-` to resume after N bytes (also `bytes=N-M`, `bytes=-K`); one range only." },
        ],
        "responses": merge(signed_errors(), json!({
            "200": { "description": "The whole bundle; `ETag` is its quoted SHA-256.", "headers": date, "content": bytes },
            "206": { "description": "The range asked for, with `Content-Range: bytes N-M/SIZE`.", "headers": date, "content": bytes },
            "404": error("`not_found`: no such bundle for this booth (the same answer whatever other releases exist)."),
            "416": error("`invalid_request`: the range is not within the bundle; `Content-Range: bytes */SIZE`."),
            "503": error("`rate_limited`: the server sends as many bundles as it may at once; ask again after `Retry-After` seconds."),
        })),
    })
}

/// The document, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

/// Kept apart: inline, the catalogue item's schema outgrows `json!`'s recursion limit.
fn review_levels() -> Value {
    json!({
        "type": "integer", "minimum": 1, "maximum": 3, "default": 3,
        "description": "How many levels review an application (the county's business).",
    })
}
