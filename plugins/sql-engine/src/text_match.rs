//! Matching a text column against a few text literals (`x = 'a'`,
//! `x IN ('a', 'b')`), one pass over the column.
//!
//! Compared the plain way, each row costs a `memcmp` call per literal of
//! its length; inside Wasm, which has no vectorized `memcmp`, those calls
//! were the expectations plugin's largest cost. Here a row whose length no
//! literal has is rejected by one bit test, and a row of at most 16 bytes
//! is read as two words and compared as integers with the literals' words.

use arrow_array::{Array, BooleanArray, StringArray};
use arrow_buffer::BooleanBuffer;

/// Literals as the row test wants them.
pub struct TextSet<'a> {
    /// Literals of at most 16 bytes: (length, bytes as two little-endian
    /// words, the second zero for 8 bytes or fewer).
    words: Vec<(usize, u64, u64)>,
    /// Longer literals, compared as bytes.
    long: Vec<&'a [u8]>,
    /// Bit n set: a literal of n bytes exists (n < 64); bit 63 also stands
    /// for every length of 63 bytes or more.
    lengths: u64,
}

/// The first `n` (≤ 8) bytes of a word, the rest zero.
const fn mask(n: usize) -> u64 {
    match n {
        0 => 0,
        8.. => u64::MAX,
        _ => (1u64 << (8 * n)) - 1,
    }
}

/// `bytes` (at most 8) as a little-endian word.
fn word(bytes: &[u8]) -> u64 {
    let mut padded = [0u8; 8];
    let n = bytes.len().min(8);
    padded[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(padded)
}

/// `bytes` (at most 16) as two little-endian words.
fn words(bytes: &[u8]) -> (u64, u64) {
    let split = bytes.len().min(8);
    (word(&bytes[..split]), word(&bytes[split..]))
}

fn length_bit(n: usize) -> u64 {
    1u64 << n.min(63)
}

/// Per length up to 16, the masks that keep that many bytes of two words.
const MASKS: [(u64, u64); 17] = {
    let mut masks = [(0, 0); 17];
    let mut n = 0;
    while n <= 16 {
        masks[n] = (mask(n), mask(n.saturating_sub(8)));
        n += 1;
    }
    masks
};

/// The masks that keep the first `n` (at most 16) bytes of two words.
fn masks(n: usize) -> (u64, u64) {
    MASKS[n.min(16)]
}

/// Several short literals, each in the slot of a table that a
/// multiplicative hash of its length and words picks, no two in one slot:
/// a row costs one probe whatever the number of literals. Compared in
/// fixed slots instead, each row read every literal anew (inside Wasm, the
/// compiled loop keeps none of them in registers).
struct Table {
    /// (length, first word, second word); `usize::MAX` marks an empty slot.
    slots: Vec<(usize, u64, u64)>,
    multiplier: u64,
    shift: u32,
}

/// Odd constants with well-spread bits (from the golden ratio and the
/// SplitMix and xxHash primes): the first that leaves no two literals in
/// one slot is kept.
const MULTIPLIERS: [u64; 4] = [
    0x9e37_79b9_7f4a_7c15,
    0xbf58_476d_1ce4_e5b9,
    0x94d0_49bb_1331_11eb,
    0xc2b2_ae3d_27d4_eb4f,
];

impl Table {
    /// A table for `words` with at least four slots a literal, or `None`
    /// when no multiplier separates them all in up to 64k slots (a few
    /// hundred literals still fit: a sparser table is likelier to hold them
    /// apart).
    fn build(words: &[(usize, u64, u64)]) -> Option<Table> {
        const MOST_BITS: u32 = 16;
        let least = words
            .len()
            .saturating_mul(4)
            .next_power_of_two()
            .trailing_zeros();
        for bits in least..=MOST_BITS {
            for multiplier in MULTIPLIERS {
                let mut table = Table {
                    slots: vec![(usize::MAX, 0, 0); 1 << bits],
                    multiplier,
                    shift: 64 - bits,
                };
                let placed = words.iter().all(|&(n, a, b)| {
                    let slot = table.slot(n, a, b);
                    match table.slots.get_mut(slot) {
                        Some(free) if free.0 == usize::MAX => {
                            *free = (n, a, b);
                            true
                        }
                        // The same literal twice (`IN ('a', 'a')`).
                        Some(taken) => *taken == (n, a, b),
                        None => false,
                    }
                });
                if placed {
                    return Some(table);
                }
            }
        }
        None
    }

    fn slot(&self, n: usize, first: u64, second: u64) -> usize {
        let key = first ^ second.rotate_left(29) ^ (n as u64).rotate_right(7);
        (key.wrapping_mul(self.multiplier) >> self.shift) as usize
    }

    /// Whether the value of `n` bytes (at most 16) whose first 16 bytes
    /// are `first` and `second` is one of the literals.
    fn contains(&self, n: usize, first: u64, second: u64) -> bool {
        let (first_mask, second_mask) = masks(n);
        let (first, second) = (first & first_mask, second & second_mask);
        self.slots
            .get(self.slot(n, first, second))
            .is_some_and(|&slot| slot == (n, first, second))
    }
}

impl<'a> TextSet<'a> {
    pub fn new(literals: &[&'a [u8]]) -> TextSet<'a> {
        let mut set = TextSet {
            words: Vec::new(),
            long: Vec::new(),
            lengths: 0,
        };
        for literal in literals {
            set.lengths |= length_bit(literal.len());
            if literal.len() <= 16 {
                let (first, second) = words(literal);
                set.words.push((literal.len(), first, second));
            } else {
                set.long.push(literal);
            }
        }
        set
    }

    /// Per row of `column`: whether it equals a literal (`!=` that when
    /// `negated`); NULL rows stay NULL.
    pub fn matches(&self, column: &StringArray, negated: bool) -> BooleanArray {
        let hits = if self.words.len() <= 1 {
            self.hits(column, negated, self.single())
        } else if let Some(table) = Table::build(&self.words) {
            self.hits(column, negated, |n, first, second| {
                table.contains(n, first, second)
            })
        } else {
            self.hits(column, negated, |n, first, second| {
                self.any(n, first, second)
            })
        };
        BooleanArray::new(hits, column.nulls().cloned())
    }

    /// The short literals compared one by one.
    fn any(&self, n: usize, first: u64, second: u64) -> bool {
        let (first_mask, second_mask) = masks(n);
        self.words
            .iter()
            .any(|&(len, a, b)| len == n && first & first_mask == a && second & second_mask == b)
    }

    /// The test of at most one short literal (for none, one whose length
    /// no value of 16 bytes or fewer has), its mask set for its length:
    /// a value of another length never matches it.
    fn single(&self) -> impl Fn(usize, u64, u64) -> bool + use<> {
        let (len, a, b) = self.words.first().copied().unwrap_or((usize::MAX, 0, 0));
        let (first_mask, second_mask) = masks(len);
        move |n, first, second| (len == n) & (first & first_mask == a) & (second & second_mask == b)
    }

    /// Per row: `short(length, first word, second word)` decides values of
    /// at most 16 bytes whose length some literal has. The words hold the
    /// 16 bytes from the value's start, which may run into the next values:
    /// `short` masks them to the length it compares.
    fn hits(
        &self,
        column: &StringArray,
        negated: bool,
        short: impl Fn(usize, u64, u64) -> bool,
    ) -> BooleanBuffer {
        let offsets = column.value_offsets();
        let data = column.value_data();
        let lengths = self.lengths;
        BooleanBuffer::collect_bool(column.len(), |row| {
            // Offsets of a valid array are non-negative and ascending.
            let start = offsets[row] as usize;
            let end = offsets[row + 1] as usize;
            let n = end.saturating_sub(start);
            let hit = lengths & length_bit(n) != 0
                && if n <= 16 {
                    // Reading 16 bytes past a short value stays inside the
                    // buffer except at its very end.
                    let (first, second) = match data.get(start..start + 16) {
                        Some(sixteen) => {
                            let mut bytes = [0u8; 16];
                            bytes.copy_from_slice(sixteen);
                            let value = u128::from_le_bytes(bytes);
                            (value as u64, (value >> 64) as u64)
                        }
                        None => data.get(start..end).map_or((0, 0), words),
                    };
                    short(n, first, second)
                } else {
                    let value = data.get(start..end).unwrap_or_default();
                    self.long.contains(&value)
                };
            hit != negated
        })
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::StringArray;

    use super::{Table, TextSet};

    /// Every row against the plain comparison, for sets of 0 to 10 short
    /// literals (one literal, and the table for several), literals
    /// short, 8 bytes, long and empty, values at the buffer's end and sliced
    /// arrays.
    #[test]
    fn matches_agree_with_comparing_bytes() {
        let values = vec![
            Some("DELETE"),
            Some("INSERT"),
            None,
            Some(""),
            Some("DELETED"),
            Some("CANCELLED"),
            Some("ÉTÉ"),
            Some("12345678"),
            Some("1234567"),
            Some("a much longer value than eight bytes"),
            Some("sixteen bytes!!!"),
            Some("sixteen bytes!!?"),
            Some("fifteen bytes!!"),
            Some("DELETE"),
        ];
        let column = StringArray::from(values.clone());
        let literal_sets: Vec<Vec<&str>> = vec![
            vec!["DELETE"],
            vec!["INSERT", "UPDATE", "DELETE"],
            vec!["", "12345678", "CANCELLED"],
            vec!["ÉTÉ", "a much longer value than eight bytes"],
            vec!["1234567"],
            vec!["sixteen bytes!!!", "fifteen bytes!!", "DELETED"],
            vec!["sixteen bytes!!?", "seventeen bytes!!"],
            vec!["INSERT", "DELETE"],
            vec!["a", "b", "DELETED", "12345678"],
            vec!["a", "b", "DELETED", "x", "12345678"],
            vec!["a", "b", "c", "DELETED", "x", "12345678"],
            vec!["a", "b", "c", "d", "DELETED", "x", "12345678"],
            vec!["a", "b", "c", "d", "e", "DELETED", "x", "1234567"],
            // More short literals than the largest fixed set of slots.
            vec![
                "a",
                "b",
                "c",
                "d",
                "e",
                "f",
                "g",
                "h",
                "fifteen bytes!!",
                "DELETE",
            ],
            vec![],
        ];
        for literals in &literal_sets {
            let bytes: Vec<&[u8]> = literals.iter().map(|l| l.as_bytes()).collect();
            let set = TextSet::new(&bytes);
            for negated in [false, true] {
                for (offset, len) in [(0, values.len()), (3, 5), (values.len() - 1, 1)] {
                    let sliced = column.slice(offset, len);
                    let got = set.matches(&sliced, negated);
                    let want: Vec<Option<bool>> = values[offset..offset + len]
                        .iter()
                        .map(|v| v.map(|v| literals.contains(&v) != negated))
                        .collect();
                    let got: Vec<Option<bool>> = got.iter().collect();
                    assert_eq!(got, want, "{literals:?} negated {negated} at {offset}");
                }
            }
        }
    }

    /// The probe of the hashed table and the one-by-one loop (the path
    /// taken when no multiplier separates the literals) against comparing
    /// bytes, for values followed by other bytes in their 16-byte window.
    #[test]
    fn table_and_loop_agree_with_comparing_bytes() {
        // Three hundred three-letter codes, as in `country IN (...)`.
        let codes: Vec<String> = (0..300)
            .map(|i| {
                let letter = |k: usize| char::from(b'A' + (k % 26) as u8);
                [letter(i / 26 / 26), letter(i / 26), letter(i)]
                    .iter()
                    .collect()
            })
            .collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let literal_sets: [&[&str]; 5] = [
            &["INSERT", "UPDATE", "DELETE"],
            &["PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"],
            &[
                "",
                "a",
                "ab",
                "12345678",
                "123456789",
                "sixteen bytes!!!",
                "ab",
            ],
            &["x", "y", "z", "w", "v", "u", "t", "s", "r", "q", "p", "o"],
            &codes,
        ];
        let candidates = [
            "",
            "a",
            "ab",
            "abc",
            "x",
            "q",
            "DELETE",
            "DELETED",
            "DELET",
            "PLACED",
            "PLACEd",
            "12345678",
            "123456789",
            "12345678!",
            "sixteen bytes!!!",
            "sixteen bytes!!?",
            "CANCELLED",
            "RETURNED",
            "RETURNEE",
            // Codes of the 300 (the first, the last, one between) and near misses.
            "AAA",
            "ALN",
            "ALO",
            "ALP",
            "AAB",
            "AAa",
            "AAAA",
        ];
        for literals in literal_sets {
            let bytes: Vec<&[u8]> = literals.iter().map(|l| l.as_bytes()).collect();
            let set = TextSet::new(&bytes);
            let table = Table::build(&set.words).expect("a table for a few literals");
            for candidate in candidates {
                for filler in [0u8, b'E', 0xff] {
                    let mut window = [filler; 16];
                    window[..candidate.len()].copy_from_slice(candidate.as_bytes());
                    let value = u128::from_le_bytes(window);
                    let (first, second) = (value as u64, (value >> 64) as u64);
                    let n = candidate.len();
                    let want = literals.contains(&candidate);
                    assert_eq!(
                        table.contains(n, first, second),
                        want,
                        "{candidate:?} in {literals:?}"
                    );
                    assert_eq!(
                        set.any(n, first, second),
                        want,
                        "{candidate:?} in {literals:?}"
                    );
                }
            }
        }
    }
}
