//! Which objects one repository's own object directory holds, answered in process.
//!
//! An object is in a repository's own store when its loose file exists
//! (`objects/<2 hex>/<38 hex>`, gitformat-loose(5)) or its id is listed in the index of one of
//! its packs (`objects/pack/pack-*.idx`, version 2: gitformat-pack(5), "Version 2 pack-*.idx
//! files"). Alternates (`objects/info/alternates`) are not followed: the question is what this
//! directory holds, not what the repository can read.
//!
//! What this says is that an object is *listed*, not that its bytes are intact: a pack whose
//! data is damaged but whose index is whole still lists its ids, as git's own
//! `has_object` does.

use std::path::{Path, PathBuf};

use crate::loose::loose_object_path;
use crate::{Error, ObjectId, Result};

/// First four bytes of a version 2 (or later) pack index: `\377tOc`.
const IDX_MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];

/// Bytes before the id table of a version 2 index: magic, version, 256 fan-out counts.
const IDX_TABLE_AT: usize = 8 + 256 * 4;

/// The ids listed by a repository's own object directory; see the module docs.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    objects_dir: PathBuf,
    /// The sorted id table of each pack index (20 bytes per id).
    packs: Vec<Vec<u8>>,
}

impl ObjectStore {
    /// Reads the index of every pack in `objects_dir/pack` (each file whole: ~48 bytes per
    /// object). A directory without packs is a store of loose objects only.
    ///
    /// # Errors
    /// [`Error::Io`] when a pack index cannot be read; [`Error::Parse`] for an index that is
    /// not version 2 (version 1 has no magic, version 3 is for other hash functions) or is cut
    /// short. A caller that cannot tell should ask git instead.
    pub fn open(objects_dir: &Path) -> Result<ObjectStore> {
        let pack_dir = objects_dir.join("pack");
        let mut packs = Vec::new();
        let entries = match std::fs::read_dir(&pack_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ObjectStore {
                    objects_dir: objects_dir.to_owned(),
                    packs,
                });
            }
            Err(source) => {
                return Err(Error::Io {
                    path: pack_dir,
                    source,
                });
            }
        };
        for entry in entries {
            let path = entry
                .map_err(|source| Error::Io {
                    path: pack_dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_none_or(|e| e != "idx") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            packs.push(id_table(&bytes)?.to_vec());
        }
        Ok(ObjectStore {
            objects_dir: objects_dir.to_owned(),
            packs,
        })
    }

    /// Whether `oid` has a loose file here or is listed by one of the pack indexes read by
    /// [`ObjectStore::open`] (a pack written since is not seen).
    pub fn contains(&self, oid: ObjectId) -> bool {
        self.packs.iter().any(|table| table_contains(table, oid))
            || loose_object_path(&self.objects_dir, oid).is_file()
    }
}

/// The id table of a version 2 index, checked against the length the fan-out promises.
fn id_table(idx: &[u8]) -> Result<&[u8]> {
    if idx.len() < IDX_TABLE_AT || idx[..4] != IDX_MAGIC || idx[4..8] != [0, 0, 0, 2] {
        return Err(Error::parse("pack index header", &idx[..idx.len().min(8)]));
    }
    let last = &idx[IDX_TABLE_AT - 4..IDX_TABLE_AT];
    let count = u32::from_be_bytes([last[0], last[1], last[2], last[3]]) as usize;
    idx.get(IDX_TABLE_AT..IDX_TABLE_AT + count * 20)
        .ok_or_else(|| Error::parse("pack index length", &idx[IDX_TABLE_AT - 4..IDX_TABLE_AT]))
}

/// Binary search of a sorted table of 20-byte ids.
fn table_contains(table: &[u8], oid: ObjectId) -> bool {
    let want = oid.as_bytes();
    let (mut lo, mut hi) = (0, table.len() / 20);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match table[mid * 20..mid * 20 + 20].cmp(want.as_slice()) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(ids: &[[u8; 20]]) -> Vec<u8> {
        let mut out = IDX_MAGIC.to_vec();
        out.extend_from_slice(&2u32.to_be_bytes());
        for b in 0..=255u8 {
            let n = ids.iter().filter(|id| id[0] <= b).count() as u32;
            out.extend_from_slice(&n.to_be_bytes());
        }
        for id in ids {
            out.extend_from_slice(id);
        }
        out
    }

    #[test]
    fn version_2_tables_are_searched_and_other_versions_refused() {
        let ids = [[0x01; 20], [0x7f; 20], [0xfe; 20]];
        let bytes = idx(&ids);
        let table = id_table(&bytes).expect("version 2");
        for id in ids {
            assert!(table_contains(table, ObjectId::from_bytes(id)));
        }
        for id in [[0x00; 20], [0x02; 20], [0xff; 20]] {
            assert!(!table_contains(table, ObjectId::from_bytes(id)));
        }
        assert!(!table_contains(&[], ObjectId::from_bytes([0x01; 20])));
        // Version 1 (no magic), version 3, cut short.
        assert!(id_table(&bytes[8..]).is_err());
        let mut v3 = bytes.clone();
        v3[7] = 3;
        assert!(id_table(&v3).is_err());
        assert!(id_table(&bytes[..bytes.len() - 1]).is_err());
        assert!(id_table(&bytes[..100]).is_err());
    }
}
