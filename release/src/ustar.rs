//! The bundle's archive format: POSIX ustar, exactly the subset `pack` writes, read strictly.
//!
//! Our own few lines rather than the `tar` crate's reader, because the reader is where a
//! hostile bundle gets its say, and a general reader accepts far more than a bundle needs:
//! PAX and GNU headers that rename the next entry, sparse files, old-style headers, padding
//! and end blocks it never looks at. This one accepts regular-file entries whose 512-byte
//! header is byte for byte the one `header` writes (so every header byte is either checked
//! against the signed manifest or fixed), zero padding, the two zero end blocks and then
//! nothing. Any changed byte anywhere in a bundle is therefore refused: the manifest by its
//! signature, file data by the manifest's hashes, everything else by this module. It stays
//! a plain ustar file that `tar tvf` lists and `tar xf` unpacks.

use std::io::{self, Read};

pub(crate) const BLOCK: usize = 512;

const NAME: std::ops::Range<usize> = 0..100;
const MODE: std::ops::Range<usize> = 100..108;
const UID: std::ops::Range<usize> = 108..116;
const GID: std::ops::Range<usize> = 116..124;
const SIZE: std::ops::Range<usize> = 124..136;
const MTIME: std::ops::Range<usize> = 136..148;
const CHECKSUM: std::ops::Range<usize> = 148..156;
const TYPEFLAG: usize = 156;
const MAGIC: std::ops::Range<usize> = 257..265;
const DEVMAJOR: std::ops::Range<usize> = 329..337;
const DEVMINOR: std::ops::Range<usize> = 337..345;
const PREFIX: std::ops::Range<usize> = 345..500;

const REGULAR: u8 = b'0';
/// `ustar\0` and version `00`: POSIX, not the old GNU magic.
const USTAR_MAGIC: &[u8; 8] = b"ustar\x0000";

/// Splits `path` into ustar's prefix (up to 155 bytes) and name (up to 100 bytes) fields, at
/// the first `/` that leaves the name short enough; `None` when no split fits.
pub(crate) fn split_path(path: &str) -> Option<(&str, &str)> {
    if path.len() <= NAME.len() {
        return Some(("", path));
    }
    path.match_indices('/')
        .map(|(at, _)| (&path[..at], &path[at + 1..]))
        .find(|(prefix, name)| {
            prefix.len() <= PREFIX.len() && !name.is_empty() && name.len() <= NAME.len()
        })
}

/// The header `pack` writes for a regular file: uid, gid and mtime 0, no user or group
/// names. `None` when the path does not fit ustar's fields or the size its 11 octal digits.
pub(crate) fn header(path: &str, size: u64, mode: u32) -> Option<[u8; BLOCK]> {
    let (prefix, name) = split_path(path)?;
    let mut block = [0u8; BLOCK];
    block[NAME][..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut block[MODE], u64::from(mode))?;
    octal(&mut block[UID], 0)?;
    octal(&mut block[GID], 0)?;
    octal(&mut block[SIZE], size)?;
    octal(&mut block[MTIME], 0)?;
    block[TYPEFLAG] = REGULAR;
    block[MAGIC].copy_from_slice(USTAR_MAGIC);
    octal(&mut block[DEVMAJOR], 0)?;
    octal(&mut block[DEVMINOR], 0)?;
    block[PREFIX][..prefix.len()].copy_from_slice(prefix.as_bytes());
    let sum = checksum(&block);
    // Six digits, NUL, space: what GNU tar and the tar crate write.
    let field = format!("{sum:06o}\0 ");
    block[CHECKSUM].copy_from_slice(field.as_bytes());
    Some(block)
}

/// Zero bytes after `size` bytes of data, up to the next block.
pub(crate) fn padding(size: u64) -> usize {
    // The remainder of a division by 512 is below 512, so it fits.
    let rest = (size % BLOCK as u64) as usize;
    if rest == 0 { 0 } else { BLOCK - rest }
}

/// The end of an archive: two zero blocks.
pub(crate) const END: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// `value` in octal, zero-filled to the field's width less one, then NUL.
fn octal(field: &mut [u8], value: u64) -> Option<()> {
    let digits = format!("{value:0width$o}", width = field.len() - 1);
    if digits.len() != field.len() - 1 {
        return None;
    }
    field[..digits.len()].copy_from_slice(digits.as_bytes());
    field[digits.len()] = 0;
    Some(())
}

/// The header's checksum: the sum of its bytes with the checksum field taken as spaces.
fn checksum(block: &[u8; BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| if CHECKSUM.contains(&i) { b' ' } else { b })
        .map(u32::from)
        .sum()
}

/// Leading octal digits up to a NUL or space; `None` for anything else.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let end = field
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(field.len());
    let digits = &field[..end];
    // 21 octal digits are 63 bits: no field we read can overflow a u64.
    if digits.is_empty() || digits.len() > 21 || !digits.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0, |value, &digit| value * 8 + u64::from(digit - b'0')),
    )
}

fn text_field(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Why the archive around the signed parts is refused. Each says where, and that the bundle
/// must be fetched again: a bundle is never repaired.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read the bundle at byte {offset}: {source}")]
    Read {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "the bundle ends at byte {offset}, inside {within}: it was cut short; download it again"
    )]
    Truncated { offset: u64, within: String },
    #[error(
        "the file does not start with a tar header: it is not a booth release bundle, or it was damaged; download it again"
    )]
    NotAnArchive,
    #[error(
        "the tar header at byte {offset} does not match its checksum: the bundle was altered or damaged; download it again"
    )]
    Checksum { offset: u64 },
    #[error(
        "the bundle's entry `{path}` is a {kind}: a bundle holds regular files only; this one was not made by `booth-release sign`"
    )]
    Unsupported { path: String, kind: &'static str },
    #[error(
        "the tar header of `{path}` at byte {offset} is not the one `booth-release sign` writes: the bundle was altered; download it again"
    )]
    NonCanonical { path: String, offset: u64 },
    #[error("the padding after `{path}` is not zeros: the bundle was altered; download it again")]
    Padding { path: String },
    #[error(
        "the bundle's end marker at byte {offset} is not two zero blocks: the bundle was altered; download it again"
    )]
    BadEnd { offset: u64 },
    #[error(
        "the bundle goes on after its end marker (byte {offset}): it was altered; download it again"
    )]
    TrailingData { offset: u64 },
}

/// What a regular-file header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryHeader {
    pub path: String,
    pub size: u64,
    pub mode: u32,
    /// Where the header starts in the archive.
    pub offset: u64,
}

/// Reads a bundle's archive front to back; nothing is skipped unread.
pub(crate) struct Reader<R> {
    inner: R,
    offset: u64,
    buffer: Vec<u8>,
}

impl<R> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Reader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            buffer: vec![0; 64 * 1024],
        }
    }

    /// Reads into `buf` until it is full or the archive ends; how many bytes came.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, ArchiveError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    self.offset += n as u64;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ArchiveError::Read {
                        offset: self.offset,
                        source,
                    });
                }
            }
        }
        Ok(filled)
    }

    fn fill_exactly(&mut self, buf: &mut [u8], within: &str) -> Result<(), ArchiveError> {
        if self.fill(buf)? < buf.len() {
            return Err(ArchiveError::Truncated {
                offset: self.offset,
                within: within.to_owned(),
            });
        }
        Ok(())
    }

    /// The next entry's header, or `None` at a well-formed end: two zero blocks and then the
    /// end of the input.
    pub(crate) fn next_header(&mut self) -> Result<Option<EntryHeader>, ArchiveError> {
        let offset = self.offset;
        let mut block = [0u8; BLOCK];
        self.fill_exactly(&mut block, "the next entry's header")?;
        if block.iter().all(|&b| b == 0) {
            self.fill_exactly(&mut block, "the end marker")?;
            if block.iter().any(|&b| b != 0) {
                return Err(ArchiveError::BadEnd { offset });
            }
            let end = self.offset;
            if self.fill(&mut [0u8; 1])? != 0 {
                return Err(ArchiveError::TrailingData { offset: end });
            }
            return Ok(None);
        }
        if parse_octal(&block[CHECKSUM]) != Some(u64::from(checksum(&block))) {
            return Err(if offset == 0 && block[MAGIC] != *USTAR_MAGIC {
                ArchiveError::NotAnArchive
            } else {
                ArchiveError::Checksum { offset }
            });
        }
        let name = text_field(&block[NAME]);
        let prefix = text_field(&block[PREFIX]);
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if let Some(kind) = unsupported_kind(block[TYPEFLAG]) {
            return Err(ArchiveError::Unsupported { path, kind });
        }
        let non_canonical = || ArchiveError::NonCanonical {
            path: path.clone(),
            offset,
        };
        let size = parse_octal(&block[SIZE]).ok_or_else(non_canonical)?;
        let mode = parse_octal(&block[MODE])
            .and_then(|mode| u32::try_from(mode).ok())
            .ok_or_else(non_canonical)?;
        if header(&path, size, mode).as_ref() != Some(&block) {
            return Err(non_canonical());
        }
        Ok(Some(EntryHeader {
            path,
            size,
            mode,
            offset,
        }))
    }

    /// Reads the entry's data, handing it to `take` a piece at a time, then its padding.
    pub(crate) fn read_data<E: From<ArchiveError>>(
        &mut self,
        entry: &EntryHeader,
        mut take: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = self.read_data_with(entry, &mut buffer, &mut take);
        self.buffer = buffer;
        result
    }

    fn read_data_with<E: From<ArchiveError>>(
        &mut self,
        entry: &EntryHeader,
        buffer: &mut [u8],
        take: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut left = entry.size;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            self.fill_exactly(&mut buffer[..want], &entry.path)?;
            take(&buffer[..want])?;
            left -= want as u64;
        }
        let mut pad = [0u8; BLOCK];
        let pad = &mut pad[..padding(entry.size)];
        self.fill_exactly(pad, &entry.path)?;
        if pad.iter().any(|&b| b != 0) {
            return Err(ArchiveError::Padding {
                path: entry.path.clone(),
            }
            .into());
        }
        Ok(())
    }
}

fn unsupported_kind(typeflag: u8) -> Option<&'static str> {
    Some(match typeflag {
        REGULAR => return None,
        0 => "regular file in the pre-POSIX form",
        b'1' => "hard link",
        b'2' => "symbolic link",
        b'3' => "character device",
        b'4' => "block device",
        b'5' => "directory",
        b'6' => "named pipe",
        b'7' => "contiguous file",
        b'x' | b'g' => "PAX extended header",
        b'L' | b'K' => "GNU long-name header",
        b'S' => "GNU sparse file",
        _ => "entry of an unknown type",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, data, mode) in entries {
            out.extend_from_slice(&header(path, data.len() as u64, *mode).unwrap());
            out.extend_from_slice(data);
            out.resize(out.len() + padding(data.len() as u64), 0);
        }
        out.extend_from_slice(&END);
        out
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(EntryHeader, Vec<u8>)>, ArchiveError> {
        let mut reader = Reader::new(bytes);
        let mut entries = Vec::new();
        while let Some(entry) = reader.next_header()? {
            let mut data = Vec::new();
            reader.read_data::<ArchiveError>(&entry, |piece| {
                data.extend_from_slice(piece);
                Ok(())
            })?;
            entries.push((entry, data));
        }
        Ok(entries)
    }

    #[test]
    fn what_is_written_reads_back() {
        let long = format!("files/{}/{}", "d".repeat(120), "f".repeat(90));
        let bytes = archive(&[
            ("manifest.json", b"{}", 0o644),
            ("files/empty", b"", 0o644),
            (&long, &[7u8; 1000], 0o755),
        ]);
        assert_eq!(bytes.len() % BLOCK, 0);
        let entries = read_all(&bytes).unwrap();
        let summary: Vec<(&str, u64, u32, usize)> = entries
            .iter()
            .map(|(h, d)| (h.path.as_str(), h.size, h.mode, d.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("manifest.json", 2, 0o644, 2),
                ("files/empty", 0, 0o644, 0),
                (long.as_str(), 1000, 0o755, 1000)
            ]
        );
        assert_eq!(entries[1].0.offset, 1024);
    }

    #[test]
    fn paths_split_into_prefix_and_name_or_do_not_fit() {
        assert_eq!(split_path("a/b"), Some(("", "a/b")));
        let at_100 = "x".repeat(100);
        assert_eq!(split_path(&at_100), Some(("", at_100.as_str())));
        assert_eq!(split_path(&"x".repeat(101)), None);
        let deep = format!("{}/{}", "p".repeat(155), "n".repeat(100));
        assert_eq!(
            split_path(&deep).map(|(p, n)| (p.len(), n.len())),
            Some((155, 100))
        );
        assert_eq!(split_path(&format!("{}/{}", "p".repeat(156), "n")), None);
        assert_eq!(split_path(&format!("{}/", "p".repeat(120))), None);
        assert!(header("big", 8u64.pow(11), 0o644).is_none());
        assert!(header("big", 8u64.pow(11) - 1, 0o644).is_some());
    }

    #[test]
    fn headers_are_what_gnu_tar_writes_for_ustar() {
        let block = header("files/bin/kiosk", 5, 0o755).unwrap();
        assert_eq!(&block[0..15], b"files/bin/kiosk");
        assert_eq!(&block[MODE], b"0000755\0");
        assert_eq!(&block[SIZE], b"00000000005\0");
        assert_eq!(&block[MTIME], b"00000000000\0");
        assert_eq!(&block[257..265], b"ustar\x0000");
        assert_eq!(block[CHECKSUM.end - 1], b' ');
        assert_eq!(
            parse_octal(&block[CHECKSUM]),
            Some(u64::from(checksum(&block)))
        );
    }

    #[test]
    fn every_single_byte_change_outside_the_data_is_refused() {
        let bytes = archive(&[("a", b"hello", 0o644), ("b", b"", 0o755)]);
        let data = BLOCK..BLOCK + 5;
        for at in (0..bytes.len()).filter(|at| !data.contains(at)) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                let result = read_all(&changed);
                // Renaming "a" to "c" keeps a valid header only if its checksum changed too,
                // which one byte cannot do.
                assert!(result.is_err(), "byte {at} ^ {flip:#x} was accepted");
            }
        }
    }

    #[test]
    fn special_entries_are_named_and_refused() {
        for (flag, kind) in [
            (b'1', "hard link"),
            (b'2', "symbolic link"),
            (b'3', "character device"),
            (b'4', "block device"),
            (b'5', "directory"),
            (b'x', "PAX extended header"),
            (b'L', "GNU long-name header"),
        ] {
            let mut block = header("files/evil", 0, 0o644).unwrap();
            block[TYPEFLAG] = flag;
            let sum = format!("{:06o}\0 ", checksum(&block));
            block[CHECKSUM].copy_from_slice(sum.as_bytes());
            let mut bytes = block.to_vec();
            bytes.extend_from_slice(&END);
            match read_all(&bytes) {
                Err(ArchiveError::Unsupported { path, kind: found }) => {
                    assert_eq!((path.as_str(), found), ("files/evil", kind));
                }
                other => panic!("{flag}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_rewritten_header_with_a_fixed_checksum_is_still_refused() {
        // mtime set and the checksum recomputed: well-formed tar, not what `pack` writes.
        let mut block = header("files/a", 0, 0o644).unwrap();
        block[MTIME].copy_from_slice(b"14000000000\0");
        let sum = format!("{:06o}\0 ", checksum(&block));
        block[CHECKSUM].copy_from_slice(sum.as_bytes());
        let mut bytes = block.to_vec();
        bytes.extend_from_slice(&END);
        assert!(matches!(
            read_all(&bytes),
            Err(ArchiveError::NonCanonical { offset: 0, .. })
        ));
    }

    #[test]
    fn cut_short_and_trailing_archives_are_refused() {
        let bytes = archive(&[("a", &[1u8; 700], 0o644)]);
        for len in [
            0,
            100,
            BLOCK,
            BLOCK + 699,
            2 * BLOCK,
            bytes.len() - BLOCK,
            bytes.len() - 1,
        ] {
            assert!(
                matches!(read_all(&bytes[..len]), Err(ArchiveError::Truncated { .. })),
                "{len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            read_all(&longer),
            Err(ArchiveError::TrailingData { offset }) if offset == bytes.len() as u64
        ));
    }

    #[test]
    fn something_else_than_a_tar_is_told_apart_from_a_damaged_one() {
        let mut other = b"!<arch>\ndebian-binary   ".to_vec();
        other.resize(2048, b' ');
        assert!(matches!(read_all(&other), Err(ArchiveError::NotAnArchive)));
        let mut damaged = archive(&[("a", b"x", 0o644)]);
        damaged[0] ^= 1;
        assert!(matches!(
            read_all(&damaged),
            Err(ArchiveError::Checksum { offset: 0 })
        ));
    }

    #[test]
    fn read_errors_keep_their_source() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = Reader::new(Broken).next_header().unwrap_err();
        assert!(matches!(err, ArchiveError::Read { offset: 0, .. }));
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "disk on fire"
        );
    }
}
