//! The pages villagers photographed for an application (申请材料), on its submission page:
//! each material of the item with its pages (a thumbnail each, a page to turn and enlarge
//! one), and the materials with no page marked missing. A picture or thumbnail is served only
//! inside the account's scope, for a file the submission lists and the server holds whole, and
//! every fetch is audit-logged ("page.view", "page.thumbnail") before it is served.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use sync_protocol::attachment::is_sha256_hex;
use sync_protocol::feed::CatalogItem;
use sync_protocol::submission::Submission;

use super::session::Staff;
use super::{Frame, PageResult, StaffError, render};
use crate::files::{page_place, thumbnail_place};
use crate::state::AppState;
use crate::store::SubmissionRef;
use crate::store::attachments::ListedFile;

/// One material on the submission page.
#[derive(Debug)]
pub struct MaterialRow {
    pub name: String,
    /// 原件 or 复印件 and how many, as the guide says; empty for a material the current
    /// catalogue no longer lists.
    pub asked: String,
    pub pages: Vec<PageLink>,
    pub missing: bool,
}

#[derive(Debug)]
pub struct PageLink {
    pub page: u16,
    /// Held whole by the server; otherwise still arriving from the booth.
    pub arrived: bool,
    pub thumbnail: String,
    pub view: String,
}

/// The item's materials in the guide's order, each with the pages the submission lists for
/// it, then any page listed under a material the catalogue no longer has.
pub fn materials(
    receipt: &str,
    item: Option<&CatalogItem>,
    submission: &Submission,
    files: &[ListedFile],
) -> Vec<MaterialRow> {
    let link = |file: &ListedFile| {
        let base = format!("/staff/submissions/{receipt}/pages/{}", file.sha256);
        PageLink {
            page: file.page,
            arrived: file.complete_at.is_some(),
            thumbnail: format!("{base}/thumbnail"),
            view: format!("{base}/view"),
        }
    };
    let pages_of = |material: u16| -> Vec<PageLink> {
        let mut listed: Vec<&ListedFile> =
            files.iter().filter(|f| f.material == material).collect();
        listed.sort_by_key(|f| f.page);
        listed.into_iter().map(link).collect()
    };
    let mut rows = Vec::new();
    let asked = item.map(|i| i.materials.as_slice()).unwrap_or_default();
    for (index, material) in asked.iter().enumerate() {
        let pages = pages_of(index as u16);
        rows.push(MaterialRow {
            name: material.name.clone(),
            asked: format!(
                "{} ×{}{}",
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
            missing: pages.is_empty(),
            pages,
        });
    }
    let mut others: Vec<u16> = files
        .iter()
        .map(|f| f.material)
        .filter(|m| usize::from(*m) >= asked.len())
        .collect();
    others.sort_unstable();
    others.dedup();
    for material in others {
        let name = submission
            .attachments
            .iter()
            .find(|a| a.material == material)
            .map(|a| a.material_name.clone())
            .unwrap_or_default();
        rows.push(MaterialRow {
            name,
            asked: String::new(),
            missing: false,
            pages: pages_of(material),
        });
    }
    if submission.attachments.is_empty() && rows.iter().all(|r| r.missing) {
        // Sent before the booth took pictures, or by a booth without a camera: nothing to
        // mark missing that the villager could have given here.
        return Vec::new();
    }
    rows
}

/// The file `sha256` of submission `receipt`, if the account may see it and the server holds
/// it whole.
async fn file_in_scope(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
    sha256: &str,
) -> Result<(String, ListedFile), StaffError> {
    if !is_sha256_hex(sha256) {
        return Err(StaffError::NotFound);
    }
    let item = state
        .store()
        .review_item(
            &SubmissionRef::Receipt(receipt.to_owned()),
            &staff.user.scope,
        )
        .await?
        .ok_or(StaffError::NotFound)?;
    let submission = &item.record.submission;
    let file = state
        .store()
        .submission_files(submission.id)
        .await?
        .into_iter()
        .find(|f| f.sha256 == sha256 && f.complete_at.is_some())
        .ok_or(StaffError::NotFound)?;
    Ok((submission.receipt_number.clone(), file))
}

fn which(file: &ListedFile) -> String {
    format!("material {} page {}", file.material + 1, file.page)
}

/// The picture itself.
pub async fn picture(
    State(state): State<AppState>,
    staff: Staff,
    Path((receipt, sha256)): Path<(String, String)>,
) -> PageResult {
    serve(&state, &staff, &receipt, &sha256, false)
        .await
        .map_err(|e| staff.fail(e))
}

/// Its thumbnail (240 pixels).
pub async fn thumbnail(
    State(state): State<AppState>,
    staff: Staff,
    Path((receipt, sha256)): Path<(String, String)>,
) -> PageResult {
    serve(&state, &staff, &receipt, &sha256, true)
        .await
        .map_err(|e| staff.fail(e))
}

async fn serve(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
    sha256: &str,
    small: bool,
) -> Result<axum::response::Response, StaffError> {
    let (receipt, file) = file_in_scope(state, staff, receipt, sha256).await?;
    let shelf = state.files();
    let stored = if small {
        shelf.read_thumbnail(sha256).await
    } else {
        shelf.read(sha256).await
    }
    .map_err(|e| {
        tracing::error!(error = %e, "a page could not be read");
        StaffError::Internal
    })?
    .ok_or(StaffError::NotFound)?;
    let place = if small {
        thumbnail_place(sha256)
    } else {
        page_place(sha256)
    };
    let keys = state.store().at_rest_keys();
    let picture = keys.open_bytes(place, &stored).map_err(|e| {
        tracing::error!(error = %e, "a kept page does not open");
        StaffError::Internal
    })?;
    // Logged before the picture leaves the server.
    state
        .store()
        .append_audit(
            staff
                .audit(if small { "page.thumbnail" } else { "page.view" })
                .target(&receipt)
                .detail(which(&file)),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            // A villager's document: the browser may keep it for this session's page, no
            // shared cache ever.
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        picture,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "staff/page_view.html")]
struct PageView {
    frame: Frame,
    receipt: String,
    title: String,
    src: String,
}

/// A page to turn (90° steps) and enlarge the picture; CSS only, no script.
pub async fn view(
    State(state): State<AppState>,
    staff: Staff,
    Path((receipt, sha256)): Path<(String, String)>,
) -> PageResult {
    let (receipt, file) = file_in_scope(&state, &staff, &receipt, &sha256)
        .await
        .map_err(|e| staff.fail(e))?;
    let frame = staff.frame("inbox");
    let title = format!("{} · {} {}", receipt, frame.t("pages.page"), file.page);
    Ok(render(
        &PageView {
            src: format!("/staff/submissions/{receipt}/pages/{sha256}"),
            receipt,
            title,
            frame,
        },
        staff.lang,
    ))
}
