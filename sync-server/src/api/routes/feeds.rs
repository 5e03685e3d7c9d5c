//! `GET /api/v1/feeds/{feed}?after=CURSOR&limit=N`: one page of the catalogue, of the notices
//! for the signing kiosk's village, or of status changes of its own submissions. Catalogue
//! pages come from [`crate::store::catalog_cache`].

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use sync_protocol::feed::{Feed, FeedQuery, MAX_PAGE};

use crate::api::auth::AuthenticatedKiosk;
use crate::api::error::ApiError;
use crate::state::AppState;

pub async fn feed(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let feed: Feed = name.parse().map_err(|_| {
        ApiError::not_found(format!(
            "no feed named `{name}`: use catalog, notices or statuses"
        ))
    })?;
    let Query(query) = Query::<FeedQuery>::try_from_uri(&uri).map_err(|e| {
        ApiError::invalid_request(format!(
            "the query is not valid ({e}): use ?after=CURSOR&limit=N"
        ))
    })?;
    let limit = query
        .limit
        .unwrap_or(state.settings().default_page)
        .clamp(1, MAX_PAGE);
    let after = query.after.as_deref();
    let store = state.store();
    Ok(match feed {
        // Every booth asks this, nearly always of an unchanged catalogue: the page and its
        // JSON come from the cache while the store's version holds.
        Feed::Catalog => {
            let cached = state.catalog().page(store, after, limit).await?;
            (
                [(header::CONTENT_TYPE, "application/json")],
                cached.json.clone(),
            )
                .into_response()
        }
        Feed::Notices => Json(
            store
                .notices_page(&kiosk.village.village, after, limit)
                .await?,
        )
        .into_response(),
        Feed::Statuses => {
            Json(store.statuses_page(&kiosk.kiosk_id, after, limit).await?).into_response()
        }
    })
}
