//! The pages villagers photographed for an application (申请材料), on its submission page:
//! each material of the item with its pages (a thumbnail each, a page to turn and enlarge
//! one), the pages supplements (补正材料) brought for it after, newest first and dated, and
//! the materials with no page marked missing. Pages the villager's phone uploaded through the
//! application's one-time link (`crate::phone_upload`) are the application's own files,
//! shown apart under their material, marked 手机上传 and dated. A picture or thumbnail is served only inside
//! the account's scope, for a file the submission or one of its supplements lists and the
//! server holds whole, and every fetch is audit-logged ("page.view", "page.thumbnail") before
//! it is served. A supplement's pages are reached only through its original's address, so
//! the original's scope is the one checked.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use sync_protocol::attachment::is_sha256_hex;
use sync_protocol::submission::Submission;

use super::session::Staff;
use super::{Frame, PageResult, StaffError, render};
use crate::domain::county_time;
use crate::files::{page_place, thumbnail_place};
use crate::state::AppState;
use crate::store::attachments::ListedFile;
use crate::store::{SubmissionRecord, SubmissionRef};

/// The most supplements a submission page shows (and serves pages of), newest first.
pub const SUPPLEMENTS_SHOWN: u32 = 20;

/// A supplement that joined a case, with the files it lists.
#[derive(Debug)]
pub struct Supplement {
    pub record: SubmissionRecord,
    pub files: Vec<ListedFile>,
}

/// One material on the submission page.
#[derive(Debug)]
pub struct MaterialRow {
    pub name: String,
    /// 原件 or 复印件 and how many, as the guide says; empty for a material the
    /// item's list does not have.
    pub asked: String,
    pub pages: Vec<PageLink>,
    /// Pages supplements brought for it, newest supplement first.
    pub supplied: Vec<SuppliedPages>,
    /// Named by the correction request the villager has not answered yet.
    pub requested: bool,
    pub missing: bool,
}

/// The pages one supplement, or the application's phone upload, brought for a material.
#[derive(Debug)]
pub struct SuppliedPages {
    /// When the server received them, China time.
    pub at: String,
    /// The supplement's receipt; empty for a phone upload.
    pub receipt: String,
    /// Uploaded from the villager's phone (手机上传) rather than by a supplement.
    pub by_phone: bool,
    pub pages: Vec<PageLink>,
}

#[derive(Debug)]
pub struct PageLink {
    pub page: u16,
    /// Held whole by the server; otherwise still arriving from the booth.
    pub arrived: bool,
    pub thumbnail: String,
    pub view: String,
}

/// The item's materials in the guide's order (`listed`: the item's list at the submission's
/// catalogue version), each with the pages the submission lists for it and those its
/// supplements brought, then any page listed under a material the list does not have.
/// `requested`: the indexes the open correction request names.
pub fn materials(
    receipt: &str,
    listed: &[sync_protocol::feed::Material],
    submission: &Submission,
    files: &[ListedFile],
    supplements: &[Supplement],
    requested: &[u16],
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
    let pages_in = |files: &[ListedFile], material: u16| -> Vec<PageLink> {
        let mut listed: Vec<&ListedFile> =
            files.iter().filter(|f| f.material == material).collect();
        listed.sort_by_key(|f| f.page);
        listed.into_iter().map(link).collect()
    };
    // The application's own pages are the booth's; those its phone upload brought are shown
    // apart, marked and dated, like a supplement's.
    let (phoned, files): (Vec<ListedFile>, Vec<ListedFile>) =
        files.iter().cloned().partition(|f| f.phone_at.is_some());
    let files = files.as_slice();
    let mut uploads: Vec<_> = phoned.iter().filter_map(|f| f.phone_at).collect();
    uploads.sort_unstable_by(|a, b| b.cmp(a));
    uploads.dedup();
    let supplied_for = |material: u16| -> Vec<SuppliedPages> {
        let by_phone = uploads.iter().filter_map(|at| {
            let these: Vec<ListedFile> = phoned
                .iter()
                .filter(|f| f.phone_at == Some(*at))
                .cloned()
                .collect();
            let pages = pages_in(&these, material);
            (!pages.is_empty()).then(|| SuppliedPages {
                at: county_time::shown(*at),
                receipt: String::new(),
                by_phone: true,
                pages,
            })
        });
        let by_supplements = supplements.iter().filter_map(|supplement| {
            let pages = pages_in(&supplement.files, material);
            (!pages.is_empty()).then(|| SuppliedPages {
                at: county_time::shown(supplement.record.received_at),
                receipt: supplement.record.submission.receipt_number.clone(),
                by_phone: false,
                pages,
            })
        });
        by_phone.chain(by_supplements).collect()
    };
    let mut rows = Vec::new();
    for (index, material) in listed.iter().enumerate() {
        let index = index as u16;
        let pages = pages_in(files, index);
        let supplied = supplied_for(index);
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
            missing: pages.is_empty() && supplied.is_empty(),
            requested: requested.contains(&index),
            pages,
            supplied,
        });
    }
    let every_file = files
        .iter()
        .chain(&phoned)
        .chain(supplements.iter().flat_map(|s| s.files.iter()));
    let mut others: Vec<u16> = every_file
        .map(|f| f.material)
        .filter(|m| usize::from(*m) >= listed.len())
        .collect();
    others.sort_unstable();
    others.dedup();
    for material in others {
        let name = std::iter::once(submission)
            .chain(supplements.iter().map(|s| &s.record.submission))
            .flat_map(|s| s.attachments.iter())
            .find(|a| a.material == material)
            .map(|a| a.material_name.clone())
            .unwrap_or_default();
        rows.push(MaterialRow {
            name,
            asked: String::new(),
            missing: false,
            requested: requested.contains(&material),
            pages: pages_in(files, material),
            supplied: supplied_for(material),
        });
    }
    if submission.attachments.is_empty()
        && phoned.is_empty()
        && supplements.iter().all(|s| s.files.is_empty())
        && requested.is_empty()
        && rows.iter().all(|r| r.missing)
    {
        // Sent before the booth took pictures, or by a booth without a camera: nothing to
        // mark missing that the villager could have given here.
        return Vec::new();
    }
    rows
}

/// The supplements shown with `original`'s case, each with its files.
pub async fn supplements_of(
    state: &AppState,
    original: uuid::Uuid,
) -> Result<Vec<Supplement>, StaffError> {
    let store = state.store();
    let mut supplements = Vec::new();
    for record in store.supplements(original, SUPPLEMENTS_SHOWN).await? {
        let files = store.submission_files(record.submission.id).await?;
        supplements.push(Supplement { record, files });
    }
    Ok(supplements)
}

/// A file of a case: its own, or one a supplement brought (with that supplement's receipt).
struct CaseFile {
    file: ListedFile,
    supplement: Option<String>,
}

/// The file `sha256` of submission `receipt` or of one of its supplements, if the account
/// may see the submission and the server holds the file whole.
async fn file_in_scope(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
    sha256: &str,
) -> Result<(String, CaseFile), StaffError> {
    if !is_sha256_hex(sha256) {
        return Err(StaffError::NotFound);
    }
    // `review_item` answers only for a case in scope: a supplement's own receipt finds nothing.
    let item = state
        .store()
        .review_item(
            &SubmissionRef::Receipt(receipt.to_owned()),
            &staff.user.scope,
        )
        .await?
        .ok_or(StaffError::NotFound)?;
    let submission = &item.record.submission;
    let held = |f: &ListedFile| f.sha256 == sha256 && f.complete_at.is_some();
    let own = state
        .store()
        .submission_files(submission.id)
        .await?
        .into_iter()
        .find(held);
    let found = match own {
        Some(file) => CaseFile {
            file,
            supplement: None,
        },
        None => supplements_of(state, submission.id)
            .await?
            .into_iter()
            .find_map(|s| {
                let receipt = s.record.submission.receipt_number;
                s.files.into_iter().find(held).map(|file| CaseFile {
                    file,
                    supplement: Some(receipt),
                })
            })
            .ok_or(StaffError::NotFound)?,
    };
    Ok((submission.receipt_number.clone(), found))
}

fn which(found: &CaseFile) -> String {
    let file = &found.file;
    let page = format!("material {} page {}", file.material + 1, file.page);
    match &found.supplement {
        Some(receipt) => format!("{page} of supplement {receipt}"),
        None if file.phone_at.is_some() => format!("{page} uploaded from a phone"),
        None => page,
    }
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
    let title = format!("{} · {} {}", receipt, frame.t("pages.page"), file.file.page);
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
