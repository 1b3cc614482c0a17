//! The extension lists of [`is_binary`](super::is_binary) as a compile-time perfect hash
//! table, and the word-at-a-time lookup of a path's extension in it.

use super::{BINARY_EXTENSIONS, TEXT_EXTENSIONS};

/// Bit of an [`ExtensionTable`] slot set for binary extensions (free in every key: a key's
/// top byte holds only its length, at most [`MAX_TABLE_LEN`]).
const BINARY_BIT: u64 = 1 << 63;

/// The longest extension in [`EXTENSIONS`] (`sqlite`); every listed extension is either at
/// most this long or one of the two long text extensions (9 and 13 bytes).
const MAX_TABLE_LEN: usize = 6;

/// log2 of the number of slots of [`EXTENSIONS`].
const TABLE_BITS: u32 = 9;

/// `0x0101_0101_0101_0101`: one in every byte, for per-byte (SWAR) arithmetic on a `u64`.
const ONES: u64 = u64::MAX / 0xff;

/// The extension lists as a perfect hash table, built at compile time: slot
/// `(key * multiplier) >> (64 - TABLE_BITS)` holds the key ([`pack`]) of the one extension
/// that hashes there, with [`BINARY_BIT`] set for binary ones; empty slots are 0.
/// Extensions longer than [`MAX_TABLE_LEN`] (`gitignore`, `gitattributes`) are not in it.
pub(super) struct ExtensionTable {
    multiplier: u64,
    pub(super) slots: [u64; 1 << TABLE_BITS],
}

/// The key of a lower-case ASCII extension of at most [`MAX_TABLE_LEN`] bytes: its bytes,
/// little-endian, and its length in the top byte (so `png` and `png\0` differ).
const fn pack(ext: &[u8]) -> u64 {
    let mut key = 0u64;
    let mut i = 0;
    while i < ext.len() {
        key |= (ext[i] as u64) << (8 * i);
        i += 1;
    }
    key | (ext.len() as u64) << 56
}

const fn slot(key: u64, multiplier: u64) -> usize {
    (key.wrapping_mul(multiplier) >> (64 - TABLE_BITS)) as usize
}

/// Places every short extension of both lists; `None` when two share a slot.
const fn try_table(multiplier: u64) -> Option<ExtensionTable> {
    let mut slots = [0u64; 1 << TABLE_BITS];
    let lists: [(&[&str], u64); 2] = [(TEXT_EXTENSIONS, 0), (BINARY_EXTENSIONS, BINARY_BIT)];
    let mut l = 0;
    while l < lists.len() {
        let (list, bit) = lists[l];
        let mut i = 0;
        while i < list.len() {
            let ext = list[i].as_bytes();
            if ext.len() <= MAX_TABLE_LEN {
                let key = pack(ext);
                let at = slot(key, multiplier);
                if slots[at] != 0 {
                    return None;
                }
                slots[at] = key | bit;
            } else if ext.len() <= 8 {
                // Such an extension would be missed by both lookups.
                panic!("a listed extension of 7 or 8 bytes: raise MAX_TABLE_LEN");
            }
            i += 1;
        }
        l += 1;
    }
    Some(ExtensionTable { multiplier, slots })
}

/// The first odd multiplier of a fixed sequence that hashes both lists without a collision.
const fn build_table() -> ExtensionTable {
    let mut seed = 1u64;
    while seed < 100_000 {
        let multiplier = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        if let Some(table) = try_table(multiplier) {
            return table;
        }
        seed += 1;
    }
    panic!("no collision-free multiplier for the extension lists")
}

/// Both extension lists, looked up in O(1) by [`listed_extension`] and [`listed_tail`].
pub(super) static EXTENSIONS: ExtensionTable = build_table();

/// Looks up a key built like [`pack`]: `Some(binary)` when it is in [`EXTENSIONS`].
#[inline]
fn probe(key: u64) -> Option<bool> {
    let entry = EXTENSIONS.slots[slot(key, EXTENSIONS.multiplier)];
    // Equal up to the binary bit (a key never has it): the difference shifted out is zero.
    ((entry ^ key) << 1 == 0).then_some(entry & BINARY_BIT != 0)
}

/// `w` with the ASCII upper-case letters among its 8 bytes made lower-case; every other byte
/// (digits, punctuation, bytes `>= 0x80`) unchanged.
///
/// Per byte, without carries between bytes: the low 7 bits plus `0x80 - b'A'` set bit 7 from
/// `A` up, plus `0x80 - b'Z' - 1` from past `Z`; bytes with bit 7 set are left out.
#[inline]
const fn fold_ascii(w: u64) -> u64 {
    let low7 = w & (ONES * 0x7f);
    let from_a = low7 + ONES * (0x80 - b'A' as u64);
    let past_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = from_a & !past_z & !w & (ONES * 0x80);
    w | upper >> 2
}

/// Bit 7 of each byte of `w` that is 0 (exact: no false positives from borrows).
#[inline]
const fn zero_bytes(w: u64) -> u64 {
    let low7 = ONES * 0x7f;
    !(((w & low7) + low7) | w | low7)
}

/// The extension lookup on the last 8 bytes of a path of at least 8 bytes, as one word.
///
/// `Some(answer)` is what `extension(path).and_then(listed_extension)` answers; `None` means
/// "undecided here": the last 8 bytes hold no `.` or `/` (the extension, if any, is longer
/// than 7 bytes), so the caller falls back to the byte-wise path.
#[inline]
pub(super) fn listed_tail(tail: [u8; 8]) -> Option<Option<bool>> {
    let w = u64::from_le_bytes(tail);
    let dots = zero_bytes(w ^ (ONES * u64::from(b'.')));
    let slashes = zero_bytes(w ^ (ONES * u64::from(b'/')));
    if dots | slashes == 0 {
        return None;
    }
    // Folded beside the search rather than after it: the two are independent.
    let folded = fold_ascii(w);
    // The last mark is bit 7 of byte `at`, so `lz = 56 - 8 * at`: the extension is the
    // `lz / 8` bytes after it, and shifting right by `64 - lz` moves it to the bottom.
    let lz = (dots | slashes).leading_zeros();
    let len = lz / 8;
    // The sets are disjoint, so the one holding the last mark is the larger number.
    if slashes > dots || len.wrapping_sub(1) >= MAX_TABLE_LEN as u32 {
        return Some(None);
    }
    Some(probe(folded >> (64 - lz) | u64::from(len) << 56))
}

/// `Some(false)` for an extension in [`TEXT_EXTENSIONS`], `Some(true)` for one in
/// [`BINARY_EXTENSIONS`], `None` otherwise; ASCII case is ignored.
///
/// Cost: no allocation; at most 6 bytes packed into a word, one multiply and one table load
/// (the two longer text extensions are compared directly).
pub(super) fn listed_extension(ext: &str) -> Option<bool> {
    let bytes = ext.as_bytes();
    if bytes.len() > MAX_TABLE_LEN {
        let long = ["gitignore", "gitattributes"];
        return long
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
            .then_some(false);
    }
    if bytes.is_empty() {
        return None;
    }
    let mut tail = [0u8; 8];
    tail[8 - bytes.len()..].copy_from_slice(bytes);
    let w = u64::from_le_bytes(tail) >> (8 * (8 - bytes.len()));
    probe(fold_ascii(w) | (bytes.len() as u64) << 56)
}
