//! The audit log's hash chain (数据信息溯源): every line carries the hash of the line before
//! it, and its own hash covers its content and that link. A line changed, removed or slipped
//! in after the fact breaks the chain at the first line it touches, however the database was
//! reached (the append-only triggers stop mistakes, not someone with the file).
//!
//! What a chain alone cannot show is a cut tail: drop the newest lines and what is left is a
//! shorter, intact chain. So the head (last seq and hash) is exported and kept away from the
//! server, and a walk can be told to expect it ([`KeptHead`]).
//!
//! The encoding and hash are defined here, once, so that every backend chains the same way and
//! a log moved between backends still verifies: a backend stores what [`link`] computes and
//! hands the lines back through [`StaffStore::audit_chain_page`], and [`verify`] does the walk.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::StoreResult;
use super::staff::{AuditEntry, AuditRecord, StaffStore};

/// Separates this hash from any other SHA-256 the server computes, and names the encoding's
/// version: a new encoding gets a new label.
const DOMAIN: &[u8] = b"booth-audit-chain/v1\0";

/// A link of the chain: SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// What the first line follows.
    pub const GENESIS: Self = Self([0; 32]);

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `None` unless `bytes` is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Lower-case hex, 64 characters.
impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl FromStr for ChainHash {
    type Err = ();

    /// 64 hex digits, either case.
    fn from_str(text: &str) -> Result<Self, ()> {
        if text.len() != 64 || !text.is_ascii() {
            return Err(());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| ())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| ())?;
        }
        Ok(Self(bytes))
    }
}

/// The hash of line `seq` holding `entry`, following the line whose hash is `prev`.
///
/// The encoding is unambiguous: a label, then seq and time (Unix milliseconds, as stored) as
/// 8-byte big-endian integers, then each text as its byte length (8 bytes, big-endian) and
/// UTF-8 bytes, an optional text behind a 0 (absent) or 1 (present) byte, then `prev`. No two
/// different lines encode alike, so none can be passed off as another.
pub fn link(seq: i64, entry: &AuditEntry, prev: &ChainHash) -> ChainHash {
    fn text(hasher: &mut Sha256, text: &str) {
        hasher.update((text.len() as u64).to_be_bytes());
        hasher.update(text.as_bytes());
    }
    fn optional(hasher: &mut Sha256, value: Option<&str>) {
        match value {
            None => hasher.update([0]),
            Some(value) => {
                hasher.update([1]);
                text(hasher, value);
            }
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    hasher.update(seq.to_be_bytes());
    hasher.update(entry.at.timestamp_millis().to_be_bytes());
    text(&mut hasher, &entry.actor);
    text(&mut hasher, &entry.action);
    optional(&mut hasher, entry.target.as_deref());
    optional(&mut hasher, entry.detail.as_deref());
    optional(&mut hasher, entry.remote.as_deref());
    hasher.update(prev.0);
    ChainHash(hasher.finalize().into())
}

/// A written line with its place in the chain, as the backend stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedAudit {
    pub record: AuditRecord,
    /// The hash of the line before (the one this line says it follows).
    pub prev_hash: ChainHash,
    /// This line's own hash, as stored.
    pub hash: ChainHash,
}

/// The newest line's place: what is kept away from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: ChainHash,
    pub at: DateTime<Utc>,
}

/// A head kept from an earlier export, to check the log still reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptHead {
    pub seq: i64,
    pub hash: ChainHash,
}

impl fmt::Display for KeptHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// A kept head that is not `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a kept audit head: write it as SEQ:HASH (a line number, a colon and 64 hex \
     digits), as `sync-server audit export` prints it"
)]
pub struct BadKeptHead(String);

impl FromStr for KeptHead {
    type Err = BadKeptHead;

    fn from_str(text: &str) -> Result<Self, BadKeptHead> {
        let bad = || BadKeptHead(text.chars().take(80).collect());
        let (seq, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        Ok(Self {
            seq: seq
                .trim()
                .parse()
                .ok()
                .filter(|seq| *seq > 0)
                .ok_or_else(bad)?,
            hash: hash.trim().parse().map_err(|()| bad())?,
        })
    }
}

/// Why the chain breaks at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakReason {
    /// The line's content (or the link it stores) no longer gives its hash.
    Altered,
    /// The line's content matches its hash, but it does not follow the line before it.
    Unlinked {
        /// The seq of the line before; `None` when it is the first line left.
        previous: Option<i64>,
    },
    /// The kept head's line is there but holds another hash.
    NotTheKeptHead { kept: ChainHash },
    /// The kept head's line is gone.
    KeptHeadMissing { last: Option<i64> },
}

/// The first line at which the chain fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: BreakReason,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit chain broken at seq {}: ", self.seq)?;
        match &self.reason {
            BreakReason::Altered => write!(
                f,
                "its content does not match its hash: the line was changed after it was written"
            ),
            BreakReason::Unlinked {
                previous: Some(previous),
            } => write!(
                f,
                "it does not follow seq {previous}: lines between them were removed, or seq \
                 {previous} was rewritten"
            ),
            BreakReason::Unlinked { previous: None } => write!(
                f,
                "it is the first line but does not start the chain: the lines before it were \
                 removed"
            ),
            BreakReason::NotTheKeptHead { kept } => write!(
                f,
                "the kept head says its hash is {kept}: the log was rewritten up to this line"
            ),
            BreakReason::KeptHeadMissing { last: Some(last) } => write!(
                f,
                "the kept head's line is missing and the log ends at seq {last}: lines were \
                 removed from its end"
            ),
            BreakReason::KeptHeadMissing { last: None } => write!(
                f,
                "the kept head's line is missing and the log is empty: every line was removed"
            ),
        }
    }
}

/// What a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    Intact {
        rows: u64,
        /// `None` for an empty log.
        head: Option<AuditHead>,
        /// Whether a kept head was given (and found, since the verdict is intact).
        reaches_kept_head: bool,
    },
    Broken(ChainBreak),
}

/// A walk over the chain, one line at a time, oldest first: memory does not grow with the log.
#[derive(Debug)]
pub struct ChainWalk {
    kept: Option<KeptHead>,
    kept_found: bool,
    rows: u64,
    last: Option<AuditHead>,
}

impl ChainWalk {
    pub fn new(kept: Option<KeptHead>) -> Self {
        Self {
            kept,
            kept_found: false,
            rows: 0,
            last: None,
        }
    }

    /// Checks the next line; the first `Err` is where the chain breaks.
    pub fn check(&mut self, line: &ChainedAudit) -> Result<(), ChainBreak> {
        let seq = line.record.seq;
        let broken = |reason| ChainBreak { seq, reason };
        if link(seq, &line.record.entry, &line.prev_hash) != line.hash {
            return Err(broken(BreakReason::Altered));
        }
        let expected = self.last.map_or(ChainHash::GENESIS, |last| last.hash);
        if line.prev_hash != expected {
            return Err(broken(BreakReason::Unlinked {
                previous: self.last.map(|last| last.seq),
            }));
        }
        if let Some(kept) = self.kept.filter(|kept| kept.seq == seq) {
            if kept.hash != line.hash {
                return Err(broken(BreakReason::NotTheKeptHead { kept: kept.hash }));
            }
            self.kept_found = true;
        }
        self.rows += 1;
        self.last = Some(AuditHead {
            seq,
            hash: line.hash,
            at: line.record.entry.at,
        });
        Ok(())
    }

    /// After the last line: intact, unless a kept head was never reached.
    pub fn finish(self) -> ChainVerdict {
        match self.kept {
            Some(kept) if !self.kept_found => ChainVerdict::Broken(ChainBreak {
                seq: kept.seq,
                reason: BreakReason::KeptHeadMissing {
                    last: self.last.map(|last| last.seq),
                },
            }),
            kept => ChainVerdict::Intact {
                rows: self.rows,
                head: self.last,
                reaches_kept_head: kept.is_some(),
            },
        }
    }
}

/// How many lines a walk reads at a time.
const PAGE: u32 = 500;

/// Walks `store`'s whole chain, a page at a time, and names the first broken link; with
/// `kept`, also checks that the log still reaches that head.
pub async fn verify<S: StaffStore + ?Sized>(
    store: &S,
    kept: Option<KeptHead>,
) -> StoreResult<ChainVerdict> {
    verify_each(store, kept, |_| ()).await
}

/// [`verify`], handing `each` every line that checked out, in order (an export writes them).
pub async fn verify_each<S: StaffStore + ?Sized>(
    store: &S,
    kept: Option<KeptHead>,
    mut each: impl FnMut(&ChainedAudit) + Send,
) -> StoreResult<ChainVerdict> {
    let mut walk = ChainWalk::new(kept);
    let mut after = None;
    loop {
        let page = store.audit_chain_page(after, PAGE).await?;
        for line in &page {
            if let Err(broken) = walk.check(line) {
                return Ok(ChainVerdict::Broken(broken));
            }
            each(line);
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.record.seq),
            _ => return Ok(walk.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> AuditEntry {
        let at = "2026-03-01T08:00:00.123Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::Duration::seconds(i64::from(n));
        AuditEntry::new(at, "wang", "review.accept")
            .target(format!("001-0000{n}-X"))
            .remote(Some("10.0.0.7".into()))
    }

    /// Lines 1..=n chained as a backend must chain them.
    fn chain(n: u32) -> Vec<ChainedAudit> {
        let mut prev = ChainHash::GENESIS;
        (1..=n)
            .map(|seq| {
                let record = AuditRecord {
                    seq: i64::from(seq),
                    entry: entry(seq),
                };
                let hash = link(record.seq, &record.entry, &prev);
                let line = ChainedAudit {
                    record,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                line
            })
            .collect()
    }

    fn walk(lines: &[ChainedAudit], kept: Option<KeptHead>) -> ChainVerdict {
        let mut walk = ChainWalk::new(kept);
        for line in lines {
            if let Err(broken) = walk.check(line) {
                return ChainVerdict::Broken(broken);
            }
        }
        walk.finish()
    }

    fn broken_at(verdict: ChainVerdict) -> (i64, BreakReason) {
        match verdict {
            ChainVerdict::Broken(broken) => (broken.seq, broken.reason),
            intact => panic!("expected a break, got {intact:?}"),
        }
    }

    /// The encoding is a contract between backends and with every head kept on paper: this
    /// value must never change (a new encoding gets a new label). It was computed apart from
    /// this code, with Python's hashlib over the encoding as documented on [`link`].
    #[test]
    fn the_encoding_is_fixed() {
        let entry = AuditEntry::new(
            "2026-03-01T08:00:00.123Z".parse().unwrap(),
            "wang",
            "identity.view",
        )
        .target("001-00001-X")
        .detail("审核时查看")
        .remote(None);
        assert_eq!(
            link(7, &entry, &ChainHash::GENESIS).to_string(),
            "acc4735d208afd6090dadd60d14f36e6b626fb6a3ced576df8d99f0af954fa5b"
        );
    }

    #[test]
    fn every_field_and_the_link_count() {
        let base = entry(1);
        let hash = link(1, &base, &ChainHash::GENESIS);
        let changed = [
            AuditEntry {
                at: base.at + chrono::Duration::milliseconds(1),
                ..base.clone()
            },
            AuditEntry {
                actor: "wan".into(),
                ..base.clone()
            },
            AuditEntry {
                action: "review.acceptx".into(),
                ..base.clone()
            },
            AuditEntry {
                target: None,
                ..base.clone()
            },
            AuditEntry {
                detail: Some(String::new()),
                ..base.clone()
            },
            AuditEntry {
                remote: None,
                ..base.clone()
            },
        ];
        for other in &changed {
            assert_ne!(link(1, other, &ChainHash::GENESIS), hash, "{other:?}");
        }
        assert_ne!(link(2, &base, &ChainHash::GENESIS), hash);
        assert_ne!(link(1, &base, &ChainHash::from_bytes([1; 32])), hash);
        // Text moved from one field to the next does not give the same encoding.
        let split = |actor: &str, action: &str| {
            link(
                1,
                &AuditEntry::new(base.at, actor, action),
                &ChainHash::GENESIS,
            )
        };
        assert_ne!(split("ab", "c"), split("a", "bc"));
    }

    #[test]
    fn an_untouched_chain_is_intact_up_to_its_head() {
        let lines = chain(5);
        let head = AuditHead {
            seq: 5,
            hash: lines[4].hash,
            at: entry(5).at,
        };
        assert_eq!(
            walk(&lines, None),
            ChainVerdict::Intact {
                rows: 5,
                head: Some(head),
                reaches_kept_head: false
            }
        );
        let kept = KeptHead {
            seq: 3,
            hash: lines[2].hash,
        };
        assert_eq!(
            walk(&lines, Some(kept)),
            ChainVerdict::Intact {
                rows: 5,
                head: Some(head),
                reaches_kept_head: true
            }
        );
        assert_eq!(
            walk(&[], None),
            ChainVerdict::Intact {
                rows: 0,
                head: None,
                reaches_kept_head: false
            }
        );
    }

    #[test]
    fn a_changed_line_breaks_there() {
        let mut lines = chain(5);
        lines[2].record.entry.detail = Some("nothing to see".into());
        assert_eq!(broken_at(walk(&lines, None)), (3, BreakReason::Altered));
    }

    #[test]
    fn a_line_rewritten_with_a_fresh_hash_breaks_the_next() {
        let mut lines = chain(5);
        lines[2].record.entry.actor = "li".into();
        lines[2].hash = link(3, &lines[2].record.entry, &lines[2].prev_hash);
        assert_eq!(
            broken_at(walk(&lines, None)),
            (4, BreakReason::Unlinked { previous: Some(3) })
        );
    }

    #[test]
    fn a_removed_line_breaks_the_one_after() {
        let mut lines = chain(5);
        lines.remove(2);
        assert_eq!(
            broken_at(walk(&lines, None)),
            (4, BreakReason::Unlinked { previous: Some(2) })
        );
        let mut lines = chain(5);
        lines.remove(0);
        assert_eq!(
            broken_at(walk(&lines, None)),
            (2, BreakReason::Unlinked { previous: None })
        );
    }

    #[test]
    fn a_cut_tail_shows_only_against_a_kept_head() {
        let lines = chain(5);
        let kept = KeptHead {
            seq: 5,
            hash: lines[4].hash,
        };
        assert!(matches!(
            walk(&lines[..3], None),
            ChainVerdict::Intact { rows: 3, .. }
        ));
        assert_eq!(
            broken_at(walk(&lines[..3], Some(kept))),
            (5, BreakReason::KeptHeadMissing { last: Some(3) })
        );
        assert_eq!(
            broken_at(walk(&[], Some(kept))),
            (5, BreakReason::KeptHeadMissing { last: None })
        );
        // Cut and regrown to the same length: the kept hash tells.
        let mut regrown = chain(3);
        let mut other = entry(4);
        other.actor = "li".into();
        let hash = link(4, &other, &regrown[2].hash);
        regrown.push(ChainedAudit {
            record: AuditRecord {
                seq: 4,
                entry: other,
            },
            prev_hash: regrown[2].hash,
            hash,
        });
        let kept = KeptHead {
            seq: 4,
            hash: lines[3].hash,
        };
        assert_eq!(
            broken_at(walk(&regrown, Some(kept))),
            (
                4,
                BreakReason::NotTheKeptHead {
                    kept: lines[3].hash
                }
            )
        );
    }

    #[test]
    fn a_kept_head_reads_as_printed() {
        let hash = link(1, &entry(1), &ChainHash::GENESIS);
        let kept = KeptHead { seq: 42, hash };
        assert_eq!(kept.to_string().parse::<KeptHead>(), Ok(kept));
        assert_eq!(
            format!("42:{}", hash.to_string().to_uppercase()).parse::<KeptHead>(),
            Ok(kept)
        );
        for bad in ["", "42", "42:", ":abc", "x:00", "0:00", "42:zz", "-1:00"] {
            assert!(bad.parse::<KeptHead>().is_err(), "{bad}");
        }
        let message = "42:abc".parse::<KeptHead>().unwrap_err().to_string();
        assert!(message.contains("SEQ:HASH"), "{message}");
    }
}
