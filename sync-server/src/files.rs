//! Where the server keeps the files submissions list (photographed pages): an object store
//! (`object_store`), today a folder (`<data dir>/files`, or `serve --files FOLDER`; several
//! instances on one PostgreSQL store share one network-mounted folder). Its S3 client is not
//! built yet (see the workspace's Cargo.toml): everything here goes through the
//! `ObjectStore` trait, so adding it touches [`FileShelf::open`] alone.
//!
//! Two kinds of object:
//! - `parts/<kiosk>/<sha256>/<offset>`: the chunks of an upload in progress, as they came;
//!   the store holds how far the upload is, so any instance takes the next chunk.
//! - `files/<sha256>`: a whole file, its hash checked, sealed at rest under the store's
//!   at-rest key ([`crate::store::sealing`], place `attachments/file/<sha256>`).
//!
//! Nothing here decides what a kiosk may upload: that is the store's list
//! ([`crate::store::AttachmentStore`]) and the route's checks.

use std::os::unix::fs::DirBuilderExt as _;
use std::sync::Arc;

use futures_util::TryStreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use crate::store::sealing::Place;

/// The folder in the data directory.
pub const DIR: &str = "files";

/// Why the file shelf failed.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("the file store {location} cannot {doing}")]
    Store {
        location: String,
        doing: &'static str,
        #[source]
        source: object_store::Error,
    },
    #[error(
        "`{0}` is not a folder: give a folder for the files (object storage by URL is not built into this server)"
    )]
    BadLocation(String),
    #[error("the parts of {sha256} do not join up at byte {at}: the upload starts over")]
    Gap { sha256: String, at: u64 },
}

/// The file shelf.
#[derive(Clone)]
pub struct FileShelf {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl std::fmt::Debug for FileShelf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileShelf")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl FileShelf {
    /// Opens the shelf at `location`, a folder (created, 0700).
    pub fn open(location: &str) -> Result<FileShelf, FilesError> {
        if location.contains("://") {
            return Err(FilesError::BadLocation(location.to_owned()));
        }
        let store_error = |source| FilesError::Store {
            location: location.to_owned(),
            doing: "be opened",
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(location)
            .map_err(|e| {
                store_error(object_store::Error::Generic {
                    store: "folder",
                    source: Box::new(e),
                })
            })?;
        let folder =
            object_store::local::LocalFileSystem::new_with_prefix(location).map_err(store_error)?;
        Ok(FileShelf {
            store: Arc::new(folder),
            location: location.to_owned(),
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    fn error(&self, doing: &'static str) -> impl FnOnce(object_store::Error) -> FilesError + '_ {
        move |source| FilesError::Store {
            location: self.location.clone(),
            doing,
            source,
        }
    }

    fn parts_of(kiosk_id: &str, sha256: &str) -> ObjectPath {
        ObjectPath::from(format!("parts/{kiosk_id}/{sha256}"))
    }

    /// Keeps the chunk that starts at `offset`.
    pub async fn put_part(
        &self,
        kiosk_id: &str,
        sha256: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<(), FilesError> {
        let path = ObjectPath::from(format!("parts/{kiosk_id}/{sha256}/{offset:012}"));
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(self.error("keep a chunk"))?;
        Ok(())
    }

    /// The first `total` bytes of an upload, joined from its parts in order.
    pub async fn join_parts(
        &self,
        kiosk_id: &str,
        sha256: &str,
        total: u64,
    ) -> Result<Vec<u8>, FilesError> {
        let mut parts: Vec<(u64, ObjectPath)> = self
            .store
            .list(Some(&Self::parts_of(kiosk_id, sha256)))
            .map_ok(|meta| {
                let offset = meta.location.filename().and_then(|n| n.parse().ok());
                (offset, meta.location)
            })
            .try_filter_map(|(offset, path)| async move { Ok(offset.map(|o| (o, path))) })
            .try_collect()
            .await
            .map_err(self.error("list an upload's chunks"))?;
        parts.sort_by_key(|(offset, _)| *offset);
        let mut joined = Vec::with_capacity(total as usize);
        for (offset, path) in parts {
            // A part from an abandoned attempt that does not start where the file has got to
            // is skipped; the hash check settles whether what was joined is the file.
            if offset != joined.len() as u64 {
                continue;
            }
            let bytes = self
                .store
                .get(&path)
                .await
                .map_err(self.error("read a chunk"))?
                .bytes()
                .await
                .map_err(self.error("read a chunk"))?;
            joined.extend_from_slice(&bytes);
            if joined.len() as u64 >= total {
                break;
            }
        }
        if (joined.len() as u64) < total {
            return Err(FilesError::Gap {
                sha256: sha256.to_owned(),
                at: joined.len() as u64,
            });
        }
        joined.truncate(total as usize);
        Ok(joined)
    }

    /// Drops every chunk of an upload.
    pub async fn drop_parts(&self, kiosk_id: &str, sha256: &str) -> Result<(), FilesError> {
        let paths: Vec<ObjectPath> = self
            .store
            .list(Some(&Self::parts_of(kiosk_id, sha256)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(self.error("list an upload's chunks"))?;
        for path in paths {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(self.error("drop a chunk")(source)),
            }
        }
        Ok(())
    }

    /// Keeps a whole file (already sealed at rest) under its name, its thumbnail first (a
    /// kept file always has one).
    pub async fn keep(
        &self,
        sha256: &str,
        sealed: Vec<u8>,
        sealed_thumbnail: Vec<u8>,
    ) -> Result<(), FilesError> {
        self.store
            .put(
                &ObjectPath::from(format!("thumbs/{sha256}")),
                PutPayload::from(sealed_thumbnail),
            )
            .await
            .map_err(self.error("keep a thumbnail"))?;
        self.store
            .put(
                &ObjectPath::from(format!("files/{sha256}")),
                PutPayload::from(sealed),
            )
            .await
            .map_err(self.error("keep a file"))?;
        Ok(())
    }

    /// A file's thumbnail as kept (sealed at rest); `None` if it is not held.
    pub async fn read_thumbnail(&self, sha256: &str) -> Result<Option<Vec<u8>>, FilesError> {
        self.read_object(format!("thumbs/{sha256}")).await
    }

    /// Whether a whole file is kept under the name.
    pub async fn holds(&self, sha256: &str) -> Result<bool, FilesError> {
        match self
            .store
            .head(&ObjectPath::from(format!("files/{sha256}")))
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(self.error("look for a file")(source)),
        }
    }

    /// A whole file as kept (sealed at rest); `None` if it is not held.
    pub async fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, FilesError> {
        self.read_object(format!("files/{sha256}")).await
    }

    async fn read_object(&self, path: String) -> Result<Option<Vec<u8>>, FilesError> {
        match self.store.get(&ObjectPath::from(path)).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .map_err(self.error("read a file"))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error("read a file")(source)),
        }
    }
}

/// Where the kept file's thumbnail is sealed at rest.
pub fn thumbnail_place(sha256: &str) -> Place<'_> {
    Place {
        table: "attachments",
        column: "thumbnail",
        row: sha256,
    }
}

/// Where the kept file is sealed at rest: bound to its name.
pub fn page_place(sha256: &str) -> Place<'_> {
    Place {
        table: "attachments",
        column: "file",
        row: sha256,
    }
}

/// The longest side of a page the server decodes: beyond any document camera's, and a bound
/// on the memory a forged header could ask for.
pub const MAX_PAGE_SIDE: u32 = 8192;
/// The thumbnail's longer side on the staff page.
pub const THUMBNAIL_SIDE: u32 = 240;

/// Why a file is not a page.
#[derive(Debug, thiserror::Error)]
#[error("the file is not a JPEG picture of at most {MAX_PAGE_SIDE} pixels a side")]
pub struct NotAPage(#[source] Option<image::ImageError>);

/// Decodes a page (a JPEG within [`MAX_PAGE_SIDE`]) and makes its thumbnail, a small JPEG.
/// CPU work of tens of milliseconds: callers run it off the async workers, under a bound.
pub fn thumbnail_of(page: &[u8]) -> Result<Vec<u8>, NotAPage> {
    use image::ImageDecoder as _;
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(page))
        .map_err(|e| NotAPage(Some(e)))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 || width > MAX_PAGE_SIDE || height > MAX_PAGE_SIDE {
        return Err(NotAPage(None));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PAGE_SIDE);
    limits.max_image_height = Some(MAX_PAGE_SIDE);
    decoder.set_limits(limits).map_err(|e| NotAPage(Some(e)))?;
    let picture = image::DynamicImage::from_decoder(decoder).map_err(|e| NotAPage(Some(e)))?;
    let small = picture
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
        .encode_image(&small)
        .map_err(|e| NotAPage(Some(e)))?;
    Ok(out)
}

/// The longest side of a photograph a phone uploads that the server decodes: a 50-megapixel
/// camera's full picture fits, and with [`MAX_PHOTO_ALLOC`] it bounds what a forged header
/// can make the decoder ask for.
pub const MAX_PHOTO_SIDE: u32 = 8192;
/// The most memory one photograph's decoding may take (a 50-megapixel RGB picture is about
/// 150 MB); callers decode at most two at once.
pub const MAX_PHOTO_ALLOC: u64 = 192 * 1024 * 1024;
/// A phone's page is kept with its longer side at most this many pixels: an A4 page at
/// 200 dpi, as the booth's document camera keeps its pages.
pub const PHONE_PAGE_SIDE: u32 = 2339;
/// The size a kept phone page aims at: the quality steps down until it fits (or the lowest
/// is used), as the booth's pages are kept within 500 KB.
pub const PHONE_PAGE_TARGET_BYTES: usize = 500 * 1000;
/// The JPEG qualities tried, best first.
const PHONE_PAGE_QUALITIES: [u8; 4] = [82, 70, 58, 45];

/// A phone's photograph made into a page: a JPEG of at most [`PHONE_PAGE_SIDE`] pixels a side
/// turned upright, and its thumbnail.
#[derive(Debug)]
pub struct PhonePage {
    pub jpeg: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// Why a phone's photograph is not a page.
#[derive(Debug, thiserror::Error)]
pub enum NotAPhoto {
    #[error("the file is neither a JPEG nor a PNG picture")]
    NotAPicture,
    #[error("the picture is larger than {MAX_PHOTO_SIDE} pixels a side")]
    TooLarge,
    #[error("the picture does not decode: {0}")]
    Broken(#[source] image::ImageError),
}

/// Decodes a phone's photograph (JPEG or PNG, told by its first bytes, not by what the
/// phone called it) within [`MAX_PHOTO_SIDE`] and [`MAX_PHOTO_ALLOC`], turns it upright as
/// its EXIF orientation says, and re-encodes it as a page and a thumbnail. Nothing of the
/// photograph's own file is kept (its metadata — place, time, device — goes with it).
/// CPU work of a fraction of a second: callers run it off the async workers, under a bound.
pub fn phone_page_of(photo: &[u8]) -> Result<PhonePage, NotAPhoto> {
    use image::ImageDecoder as _;
    let format = if photo.starts_with(&[0xFF, 0xD8, 0xFF]) {
        image::ImageFormat::Jpeg
    } else if photo.starts_with(b"\x89PNG\r\n\x1a\n") {
        image::ImageFormat::Png
    } else {
        return Err(NotAPhoto::NotAPicture);
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PHOTO_SIDE);
    limits.max_image_height = Some(MAX_PHOTO_SIDE);
    limits.max_alloc = Some(MAX_PHOTO_ALLOC);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(photo), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(too_large_or_broken)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = image::DynamicImage::from_decoder(decoder).map_err(too_large_or_broken)?;
    picture.apply_orientation(orientation);
    let (width, height) = (picture.width(), picture.height());
    if width == 0 || height == 0 {
        return Err(NotAPhoto::NotAPicture);
    }
    let picture = if width.max(height) > PHONE_PAGE_SIDE {
        picture.resize(
            PHONE_PAGE_SIDE,
            PHONE_PAGE_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        picture
    };
    let page = picture.into_rgb8();
    let mut jpeg = Vec::new();
    for quality in PHONE_PAGE_QUALITIES {
        jpeg.clear();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode_image(&page)
            .map_err(NotAPhoto::Broken)?;
        if jpeg.len() <= PHONE_PAGE_TARGET_BYTES {
            break;
        }
    }
    let small = image::DynamicImage::ImageRgb8(page)
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgb8();
    let mut thumbnail = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, 75)
        .encode_image(&small)
        .map_err(NotAPhoto::Broken)?;
    Ok(PhonePage { jpeg, thumbnail })
}

fn too_large_or_broken(error: image::ImageError) -> NotAPhoto {
    match error {
        image::ImageError::Limits(_) => NotAPhoto::TooLarge,
        other => NotAPhoto::Broken(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_join_in_order_skip_strays_and_say_where_a_gap_is() {
        let dir = tempfile::tempdir().unwrap();
        let shelf = FileShelf::open(dir.path().to_str().unwrap()).unwrap();
        shelf
            .put_part("k1", "abc", 4, b"5678".to_vec())
            .await
            .unwrap();
        shelf
            .put_part("k1", "abc", 0, b"1234".to_vec())
            .await
            .unwrap();
        // A stray part of an abandoned attempt with another chunk size.
        shelf
            .put_part("k1", "abc", 2, b"xx".to_vec())
            .await
            .unwrap();
        assert_eq!(shelf.join_parts("k1", "abc", 8).await.unwrap(), b"12345678");
        assert!(matches!(
            shelf.join_parts("k1", "abc", 12).await,
            Err(FilesError::Gap { at: 8, .. })
        ));
        shelf.drop_parts("k1", "abc").await.unwrap();
        assert!(matches!(
            shelf.join_parts("k1", "abc", 1).await,
            Err(FilesError::Gap { at: 0, .. })
        ));
        assert_eq!(shelf.read("abc").await.unwrap(), None);
        shelf
            .keep("abc", b"sealed".to_vec(), b"thumb".to_vec())
            .await
            .unwrap();
        assert_eq!(
            shelf.read_thumbnail("abc").await.unwrap().as_deref(),
            Some(&b"thumb"[..])
        );
        assert_eq!(
            shelf.read("abc").await.unwrap().as_deref(),
            Some(&b"sealed"[..])
        );
    }

    fn encoded(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_phone_photo_becomes_a_page_within_its_side_and_size() {
        let big = phone_page_of(&encoded(image::ImageFormat::Jpeg, 4000, 3000)).unwrap();
        let page = image::load_from_memory(&big.jpeg).unwrap();
        assert_eq!((page.width(), page.height()), (PHONE_PAGE_SIDE, 1754));
        assert!(
            big.jpeg.len() <= PHONE_PAGE_TARGET_BYTES,
            "{}",
            big.jpeg.len()
        );
        let thumb = image::load_from_memory(&big.thumbnail).unwrap();
        assert_eq!(thumb.width(), THUMBNAIL_SIDE);

        let png = phone_page_of(&encoded(image::ImageFormat::Png, 300, 500)).unwrap();
        let page = image::load_from_memory(&png.jpeg).unwrap();
        assert_eq!(
            (page.width(), page.height()),
            (300, 500),
            "small stays as it is"
        );
        assert!(png.jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "kept as a JPEG");
    }

    #[test]
    fn what_is_not_a_photo_is_told_apart() {
        assert!(matches!(
            phone_page_of(b"%PDF-1.7 not a picture"),
            Err(NotAPhoto::NotAPicture)
        ));
        let mut cut = encoded(image::ImageFormat::Jpeg, 64, 64);
        cut.truncate(40);
        assert!(matches!(phone_page_of(&cut), Err(NotAPhoto::Broken(_))));
        // A PNG header claiming 9000 × 9000 pixels is refused before any pixel is decoded.
        let mut header = encoded(image::ImageFormat::Png, 1, 1);
        header[16..20].copy_from_slice(&9000u32.to_be_bytes());
        header[20..24].copy_from_slice(&9000u32.to_be_bytes());
        assert!(
            matches!(
                phone_page_of(&header),
                Err(NotAPhoto::TooLarge | NotAPhoto::Broken(_))
            ),
            "refused"
        );
    }

    #[test]
    fn a_location_of_an_unknown_kind_is_named() {
        let error = FileShelf::open("ftp://county/files").unwrap_err();
        assert!(error.to_string().contains("ftp://county/files"), "{error}");
    }
}
