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
fn mask(n: usize) -> u64 {
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
        let hits = match self.words.len() {
            0..=1 => self.hits(column, negated, self.slots::<1>()),
            2 => self.hits(column, negated, self.slots::<2>()),
            3 => self.hits(column, negated, self.slots::<3>()),
            4 => self.hits(column, negated, self.slots::<4>()),
            5 => self.hits(column, negated, self.slots::<5>()),
            6 => self.hits(column, negated, self.slots::<6>()),
            7 => self.hits(column, negated, self.slots::<7>()),
            8 => self.hits(column, negated, self.slots::<8>()),
            _ => self.hits(column, negated, |n, first, second| {
                self.words
                    .iter()
                    .any(|&(len, a, b)| len == n && a == first && b == second)
            }),
        };
        BooleanArray::new(hits, column.nulls().cloned())
    }

    /// The short literals as a test of N fixed slots (for no literal, one
    /// whose length no value of 16 bytes or fewer has): N comparisons
    /// without a loop or a branch. Inside Wasm each iteration of a loop over
    /// the literals cost an interruption check, per literal and row.
    fn slots<const N: usize>(&self) -> impl Fn(usize, u64, u64) -> bool + use<N> {
        let (mut lens, mut firsts, mut seconds) = ([usize::MAX; N], [0u64; N], [0u64; N]);
        for (i, &(len, a, b)) in self.words.iter().take(N).enumerate() {
            (lens[i], firsts[i], seconds[i]) = (len, a, b);
        }
        move |n, first, second| {
            let mut hit = false;
            for i in 0..N {
                hit |= (lens[i] == n) & (firsts[i] == first) & (seconds[i] == second);
            }
            hit
        }
    }

    /// Per row: `short(length, first word, second word)` decides values of
    /// at most 16 bytes whose length some literal has.
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
                            let first = value as u64 & mask(n);
                            let second = (value >> 64) as u64 & mask(n.saturating_sub(8));
                            (first, second)
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

    use super::TextSet;

    /// Every row against the plain comparison, for sets of 0 to 10 short
    /// literals (each count of fixed slots and the loop beyond), literals
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
}
