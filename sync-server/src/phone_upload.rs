//! The one-time phone upload page (手机上传材料), `GET` and `POST /m/{token}`: a booth without
//! a document camera prints on an application's receipt a QR code of this page
//! (`sync_protocol::phone_upload`); the villager's phone opens it and uploads photographs of
//! the application's materials, once.
//!
//! The token in the address is the only credential: 128 random bits, of which the server
//! keeps only the hash the booth sent with the application. The page is public (no login),
//! counted per client address like enrollment attempts, and never logs the token or its hash.
//! It tells a villager one thing per state, in one line, and shows nothing personal (no name,
//! ID number or phone): the item, the receipt number, the link's deadline and the materials.
//! An unknown token answers exactly like an application that has not reached the county yet
//! (a booth may still be offline), so tokens cannot be probed.
//!
//! An upload is all or nothing: every photograph is checked (size, JPEG or PNG, decodes within
//! limits) and re-encoded as a page before anything is kept; then the pages are kept in the
//! file shelf, sealed at rest, and the store uses the token and lists them in one transaction.
//!
//! The pages become files of the application itself (rows of `attachments`, marked with the
//! time the phone uploaded them), not a submission of their own as a supplement is: there is
//! no booth, receipt or sequence number to give one, and the staff page already shows, serves
//! (through the case's address, in its scope) and audits an application's own files under
//! their material. The mark is all the staff page needs to show them as 手机上传.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest as _, Multipart, Path, Request, State,
};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use sync_protocol::attachment::{MAX_ATTACHMENTS, sha256_hex};
use sync_protocol::feed::Material;
use sync_protocol::phone_upload::{is_token, token_hash};
use sync_protocol::submission::SubmissionKind;

use crate::api::rate_limit::{EnrollLimiter, EnrollLimits};
use crate::domain::county_time;
use crate::files::{NotAPhoto, page_place, phone_page_of, thumbnail_place};
use crate::state::AppState;
use crate::store::attachments::{PhonePage, PhoneUploadOutcome, PhoneUploadSlot};
use crate::store::{SubmissionRecord, SubmissionRef};

/// The page's route, in axum's syntax.
pub const PATH: &str = "/m/{token}";

/// A link lasts this long after the later of the application's making at the booth and its
/// arrival at the county: a week is time enough to photograph papers at home, and short
/// enough that a receipt found later by someone else opens nothing. The arrival counts
/// because a booth may be offline for days; the making because the booth's clock may be
/// behind.
pub const EXPIRES_AFTER: chrono::Duration = chrono::Duration::days(7);
/// The largest photograph taken: a phone's full-resolution JPEG is 2–8 MB.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// The largest upload (the whole form): the link is used once, so every photograph goes in
/// one request; ten full-size photographs fit, and the body is read photograph by
/// photograph, never held whole.
pub const MAX_BODY_BYTES: usize = 100 * 1024 * 1024;
/// The most pages an application lists, the booth's and the phone's together: the wire's
/// cap on a submission's files.
pub const MAX_PAGES: u32 = MAX_ATTACHMENTS as u32;
/// Uploads read at once across the server; past it, 503 with `Retry-After` (an upload holds
/// a photograph of up to [`MAX_PHOTO_BYTES`] in memory while it is checked).
pub const UPLOADS_AT_ONCE: usize = 4;
/// How long an upload may take: a phone on a slow rural link sends 100 MB in minutes.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// Photographs decoded and re-encoded at once across the server (each takes a fraction of a
/// second of a core and up to [`crate::files::MAX_PHOTO_ALLOC`] of memory), off the async
/// workers.
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
/// Views and uploads per client address and server-wide, per minute: a villager opens the
/// page a few times; the token cannot be guessed at any rate, so the limit bounds the work a
/// flood makes, not guessing. The global limit is far above a county's villagers.
pub const DEFAULT_LIMITS: EnrollLimits = EnrollLimits {
    per_address: 30,
    global: 1200,
    window: Duration::from_secs(60),
};
/// The longest file name a refusal quotes, in characters.
const SHOWN_NAME_CHARS: usize = 40;

/// The page's rate limit and upload places, one per server process.
#[derive(Debug)]
pub struct PhoneGuards {
    limiter: EnrollLimiter,
    uploads: Arc<tokio::sync::Semaphore>,
}

impl PhoneGuards {
    pub fn new(limits: EnrollLimits) -> Self {
        Self {
            limiter: EnrollLimiter::new(limits),
            uploads: Arc::new(tokio::sync::Semaphore::new(UPLOADS_AT_ONCE)),
        }
    }
}

/// Whether `request` is an upload to the page: its body is read by the handler under
/// [`MAX_BODY_BYTES`], not buffered by the router's body limit, and its deadline is
/// [`UPLOAD_TIMEOUT`].
pub fn is_upload(request: &Request) -> bool {
    request.method() == axum::http::Method::POST && request.uri().path().starts_with("/m/")
}

pub fn routes() -> Router<AppState> {
    Router::new().route(
        PATH,
        get(show)
            .post(upload)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}

static STYLE: &str = include_str!("../templates/phone/phone.css");

/// The page's own style is inline (one request on a slow link), allowed by its hash alone.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
});

#[derive(Template)]
#[template(path = "phone/upload.html")]
struct Page {
    style: &'static str,
    token: String,
    form: Option<Form>,
    problem: Option<String>,
    /// For a page without the form: `waiting`, `refused` or `done`.
    kind: &'static str,
    line: String,
}

struct Form {
    item: String,
    receipt: String,
    deadline: String,
    materials: Vec<MaterialInput>,
    limits: String,
}

struct MaterialInput {
    index: u16,
    name: String,
    asked: String,
}

/// One line for a villager, without the form.
fn line(status: StatusCode, kind: &'static str, line: String) -> Response {
    respond(
        status,
        &Page {
            style: STYLE,
            token: String::new(),
            form: None,
            problem: None,
            kind,
            line,
        },
    )
}

fn respond(status: StatusCode, page: &Page) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(error = %error, "the phone upload page failed to render");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: HeaderValue| {
        headers.insert(name, value);
    };
    set(
        headers,
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&CSP) {
        set(headers, header::CONTENT_SECURITY_POLICY, csp);
    }
    set(
        headers,
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The address holds the token: no other site learns it from a link or a reload.
    set(
        headers,
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    set(
        headers,
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
    set(
        headers,
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    set(
        headers,
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
}

/// Not yet at the county, or no such token: the same words, so a token cannot be probed.
fn waiting() -> Response {
    line(
        StatusCode::NOT_FOUND,
        "waiting",
        "这份申请还没有传到县里（服务亭可能暂时没有联网），请稍后再打开这个网页。".into(),
    )
}

fn expired(deadline: DateTime<Utc>) -> Response {
    line(
        StatusCode::GONE,
        "refused",
        format!(
            "这个上传链接已经过期（有效期到 {}），请把材料带到便民服务中心。",
            county_time::shown(deadline)
        ),
    )
}

/// Used: gone for good, to a view and to another upload alike.
fn used(at: DateTime<Utc>, pages: u16) -> Response {
    line(
        StatusCode::GONE,
        "refused",
        format!(
            "这个链接已经用过了：{} 已收到 {pages} 页材料。如需补充材料，请联系便民服务中心。",
            county_time::shown(at)
        ),
    )
}

fn busy() -> Response {
    let mut response = line(
        StatusCode::SERVICE_UNAVAILABLE,
        "refused",
        "现在上传的人比较多，请过一两分钟再试。".into(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

fn internal() -> Response {
    line(
        StatusCode::INTERNAL_SERVER_ERROR,
        "refused",
        "服务器出了问题，请稍后再试。".into(),
    )
}

fn peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Counts the request against its address; the answer when it is over the limit.
fn over_limit(state: &AppState, request: &Request) -> Option<Response> {
    let wait = state.phone_uploads().limiter.admit(peer(request)).err()?;
    let mut response = line(
        StatusCode::TOO_MANY_REQUESTS,
        "refused",
        format!("打开得太频繁了，请 {wait} 秒后再试。"),
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// The application the token opens and where its link stands.
struct Opened {
    slot: PhoneUploadSlot,
    record: SubmissionRecord,
    deadline: DateTime<Utc>,
}

/// What the token opens, or the page that says why it opens nothing now.
async fn open(state: &AppState, token: &str) -> Result<Opened, Response> {
    if !is_token(token) {
        return Err(waiting());
    }
    let store = state.store();
    let Some(slot) = store
        .phone_upload_slot(&token_hash(token))
        .await
        .map_err(|e| failed(&e))?
    else {
        return Err(waiting());
    };
    let record = store
        .find_submission(&SubmissionRef::Id(slot.submission_id))
        .await
        .map_err(|e| failed(&e))?
        .ok_or_else(waiting)?;
    // The store refuses a hash on anything else at ingest; checked again, it costs nothing.
    if record.submission.kind != SubmissionKind::Application || record.supplement_to.is_some() {
        return Err(waiting());
    }
    let deadline = record.submission.created_at.max(record.received_at) + EXPIRES_AFTER;
    if let Some((at, pages)) = slot.used {
        return Err(used(at, pages));
    }
    if Utc::now() > deadline {
        return Err(expired(deadline));
    }
    Ok(Opened {
        slot,
        record,
        deadline,
    })
}

fn failed(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %error, "the phone upload page failed");
    internal()
}

/// The item's name and its materials at the application's catalogue version (the list the
/// page's material numbers count in, as the booth's pages do), else as the catalogue has it
/// now.
async fn item_of(
    state: &AppState,
    record: &SubmissionRecord,
) -> Result<(String, Vec<Material>), Response> {
    let submission = &record.submission;
    let Some(code) = submission.item_code.as_deref() else {
        return Ok((String::new(), Vec::new()));
    };
    if let Some(version) = submission.catalog_version
        && let Some(then) = state
            .store()
            .guide_version(code, version)
            .await
            .map_err(|e| failed(&e))?
    {
        return Ok((then.item.name_zh, then.item.materials));
    }
    let catalog = crate::staff::web::review::catalog_by_code(state)
        .await
        .map_err(|e| failed(&e))?;
    Ok(catalog.get(code).map_or_else(
        || (code.to_owned(), Vec::new()),
        |item| (item.name_zh.clone(), item.materials.clone()),
    ))
}

/// The inputs: one per material; an item without a list gets one for all its papers.
fn inputs(materials: &[Material]) -> Vec<MaterialInput> {
    if materials.is_empty() {
        return vec![MaterialInput {
            index: 0,
            name: "申请材料".into(),
            asked: String::new(),
        }];
    }
    materials
        .iter()
        .enumerate()
        .map(|(index, material)| MaterialInput {
            index: index as u16,
            name: material.name.clone(),
            asked: format!(
                "{} {} 份{}",
                if material.original {
                    "原件"
                } else {
                    "复印件"
                },
                material.count,
                material
                    .note
                    .as_deref()
                    .map(|n| format!("（{n}）"))
                    .unwrap_or_default()
            ),
        })
        .collect()
}

fn form_page(
    token: &str,
    opened: &Opened,
    item: String,
    materials: &[Material],
    problem: Option<String>,
) -> Page {
    let room = MAX_PAGES.saturating_sub(opened.slot.pages);
    Page {
        style: STYLE,
        token: token.to_owned(),
        form: Some(Form {
            item,
            receipt: opened.record.submission.receipt_number.clone(),
            deadline: county_time::shown(opened.deadline),
            materials: inputs(materials),
            limits: format!(
                "只收 JPEG 或 PNG 照片，每张不超过 {} MB；所有照片一次传完，合计不超过 {} MB，最多还能传 {room} 页。这个链接只能上传一次。",
                MAX_PHOTO_BYTES / (1024 * 1024),
                MAX_BODY_BYTES / (1024 * 1024),
            ),
        }),
        problem,
        kind: "",
        line: String::new(),
    }
}

/// `GET /m/{token}`: the form, or the one line that says why there is none.
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    if let Some(refused) = over_limit(&state, &request) {
        return refused;
    }
    let opened = match open(&state, &token).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let (item, materials) = match item_of(&state, &opened.record).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    respond(
        StatusCode::OK,
        &form_page(&token, &opened, item, &materials, None),
    )
}

/// Why an upload was refused: the form again, with this line; nothing was kept.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("还没有选择照片，请先为材料拍照或选择照片，再按上传。")]
    Nothing,
    #[error("「{0}」超过 {max} MB，这次没有保存任何照片，请换一张小一些的照片再上传。", max = MAX_PHOTO_BYTES / (1024 * 1024))]
    PhotoTooLarge(String),
    #[error("「{0}」不是 JPEG 或 PNG 照片，这次没有保存任何照片，请重新选择后再上传。")]
    NotAPhoto(String),
    #[error("「{0}」的尺寸太大（超过 {side} 像素），这次没有保存任何照片，请换一张照片再上传。", side = crate::files::MAX_PHOTO_SIDE)]
    PhotoTooManyPixels(String),
    #[error(
        "这份申请最多 {MAX_PAGES} 页材料（已有 {held} 页），这次选了 {chosen} 页，没有保存，请少选一些再上传。"
    )]
    TooManyPages { held: u32, chosen: usize },
    #[error("这次选的照片合计超过 {max} MB，没有保存，请少选一些再上传。", max = MAX_BODY_BYTES / (1024 * 1024))]
    BodyTooLarge,
    #[error("上传中断了，没有保存任何照片，请再上传一次。")]
    Broken,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::PhotoTooLarge(_) | Self::TooManyPages { .. } | Self::BodyTooLarge => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::Nothing | Self::NotAPhoto(_) | Self::PhotoTooManyPixels(_) | Self::Broken => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// Which kind, for the log (never the file's name: it may name the villager).
    fn kind(&self) -> &'static str {
        match self {
            Self::Nothing => "nothing chosen",
            Self::PhotoTooLarge(_) => "photo too large",
            Self::NotAPhoto(_) => "not a photo",
            Self::PhotoTooManyPixels(_) => "photo too many pixels",
            Self::TooManyPages { .. } => "too many pages",
            Self::BodyTooLarge => "body too large",
            Self::Broken => "body broke off",
        }
    }
}

/// A file's name as a refusal quotes it: its last path part, cut short.
fn shown_name(name: Option<&str>) -> String {
    let name = name.unwrap_or_default();
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut shown: String = last.chars().take(SHOWN_NAME_CHARS).collect();
    if last.chars().count() > SHOWN_NAME_CHARS {
        shown.push('…');
    }
    if shown.is_empty() {
        "照片".into()
    } else {
        shown
    }
}

/// A photograph made into a page, for material `material`.
struct Made {
    material: u16,
    jpeg: Vec<u8>,
    thumbnail: Vec<u8>,
}

/// Reads the form photograph by photograph, each checked and made into a page as it
/// arrives; the first refusal ends it.
async fn read_photos(
    multipart: &mut Multipart,
    materials: usize,
    held: u32,
) -> Result<Vec<Made>, Refusal> {
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::BodyTooLarge
        } else {
            Refusal::Broken
        }
    };
    let mut made: Vec<Made> = Vec::new();
    let mut chosen = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let material = field
            .name()
            .and_then(|name| name.strip_prefix('m'))
            .and_then(|index| index.parse::<u16>().ok())
            .filter(|index| usize::from(*index) < materials.max(1));
        let name = shown_name(field.file_name());
        let mut photo = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            if photo.len() + chunk.len() > MAX_PHOTO_BYTES {
                return Err(Refusal::PhotoTooLarge(name));
            }
            photo.extend_from_slice(&chunk);
        }
        // An input left empty sends an empty part; a part of no material is not ours.
        let Some(material) = material else { continue };
        if photo.is_empty() {
            continue;
        }
        chosen += 1;
        if held as usize + chosen > MAX_PAGES as usize {
            // Read no further photographs: the answer is the same whatever they are.
            return Err(Refusal::TooManyPages { held, chosen });
        }
        let page = {
            let _turn = DECODES.acquire().await.map_err(|_| Refusal::Broken)?;
            tokio::task::spawn_blocking(move || phone_page_of(&photo))
                .await
                .map_err(|_| Refusal::Broken)?
        };
        match page {
            Ok(page) => made.push(Made {
                material,
                jpeg: page.jpeg,
                thumbnail: page.thumbnail,
            }),
            Err(NotAPhoto::TooLarge) => return Err(Refusal::PhotoTooManyPixels(name)),
            Err(NotAPhoto::NotAPicture | NotAPhoto::Broken(_)) => {
                return Err(Refusal::NotAPhoto(name));
            }
        }
    }
    if made.is_empty() {
        return Err(Refusal::Nothing);
    }
    Ok(made)
}

/// `POST /m/{token}`: the photographs, all or nothing.
pub async fn upload(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    if let Some(refused) = over_limit(&state, &request) {
        return refused;
    }
    let opened = match open(&state, &token).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let Ok(_place) = Arc::clone(&state.phone_uploads().uploads).try_acquire_owned() else {
        return busy();
    };
    let (item, materials) = match item_of(&state, &opened.record).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let submission_id = opened.record.submission.id;
    let mut multipart = match Multipart::from_request(request, &state).await {
        Ok(multipart) => multipart,
        Err(_) => {
            let refusal = Refusal::Broken;
            return respond(
                refusal.status(),
                &form_page(&token, &opened, item, &materials, Some(refusal.to_string())),
            );
        }
    };
    let made = match read_photos(&mut multipart, materials.len(), opened.slot.pages).await {
        Ok(made) => made,
        Err(refusal) => {
            tracing::info!(submission = %submission_id, why = refusal.kind(), "phone upload refused");
            return respond(
                refusal.status(),
                &form_page(&token, &opened, item, &materials, Some(refusal.to_string())),
            );
        }
    };
    let keys = state.store().at_rest_keys();
    let mut pages: Vec<PhonePage> = Vec::with_capacity(made.len());
    for page in made {
        let sha256 = sha256_hex(&page.jpeg);
        // The same photograph chosen twice is one page.
        if pages.iter().any(|p| p.sha256 == sha256) {
            continue;
        }
        let sealed = keys.seal_bytes(page_place(&sha256), &page.jpeg);
        let sealed_thumbnail = keys.seal_bytes(thumbnail_place(&sha256), &page.thumbnail);
        // Kept before the store lists them: a listed page is always there to serve. A page
        // kept by an upload that then loses the race for the token is listed nowhere, so
        // nothing serves it.
        if let Err(error) = state.files().keep(&sha256, sealed, sealed_thumbnail).await {
            return failed(&error);
        }
        pages.push(PhonePage {
            bytes: page.jpeg.len() as u64,
            material: page.material,
            material_name: materials
                .get(usize::from(page.material))
                .map_or_else(|| "申请材料".into(), |m| m.name.clone()),
            sealed_with: keys.newest(),
            sha256,
        });
    }
    let chosen = pages.len();
    let outcome = state
        .store()
        .record_phone_upload(&token_hash(&token), pages, MAX_PAGES, Utc::now())
        .await;
    match outcome {
        Ok(PhoneUploadOutcome::Recorded {
            submission_id,
            pages,
        }) => {
            tracing::info!(
                submission = %submission_id,
                receipt = %opened.record.submission.receipt_number,
                pages,
                "phone upload recorded"
            );
            line(
                StatusCode::OK,
                "done",
                format!(
                    "已收到 {pages} 页材料，工作人员会尽快查看。这个链接已经用过，不能再上传。"
                ),
            )
        }
        Ok(PhoneUploadOutcome::AlreadyUsed { at, pages }) => used(at, pages),
        Ok(PhoneUploadOutcome::TooManyPages { held }) => {
            let refusal = Refusal::TooManyPages { held, chosen };
            respond(
                refusal.status(),
                &form_page(&token, &opened, item, &materials, Some(refusal.to_string())),
            )
        }
        Ok(PhoneUploadOutcome::Unknown) => waiting(),
        Err(error) => failed(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_quotes_the_file_by_its_last_name_cut_short() {
        assert_eq!(
            shown_name(Some("C:\\Users\\li\\IMG_0012.HEIC")),
            "IMG_0012.HEIC"
        );
        assert_eq!(shown_name(Some("")), "照片");
        let long = "长".repeat(60);
        assert_eq!(
            shown_name(Some(&long)).chars().count(),
            SHOWN_NAME_CHARS + 1
        );
        assert!(
            Refusal::NotAPhoto("a.pdf".into())
                .to_string()
                .contains("「a.pdf」"),
        );
    }
}
