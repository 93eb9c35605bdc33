//! The classifier's automaton as the walk reads it: Aho-Corasick's DFA over
//! the patterns, copied into a table folded for ASCII case, with the
//! matching states first.
//!
//! The library's case-insensitive DFA keeps `A` and `a` as byte classes of
//! their own (74 classes, rows padded to 128 transitions: 1.50 MB for this
//! classifier's patterns), and its walk re-reads where the special states
//! end at every byte. Folding the case into the class map, and giving every
//! byte no pattern has one class, makes the rows as wide as the bytes the
//! patterns have: 0.57 MB, which stays in a core's L2 cache with room to
//! spare. A lane tells a match by one `|` of the four states (see
//! [`Dfa::matching`]) instead of four comparisons.

use aho_corasick::automaton::{Automaton as _, StateID};
use aho_corasick::dfa::DFA as Built;
use aho_corasick::{Anchored, MatchKind, PatternID};

/// How many stretches of a long message the walk reads at once. One walk is
/// bound by the latency of its table reads (each needs the state the
/// previous one produced); four independent walks keep the core busy
/// (measured: 2.0 ns/byte for one, 0.8 for four, and eight were slower).
const LANES: usize = 4;

/// An unanchored Aho-Corasick DFA over lower-case patterns that reads text
/// in any ASCII case.
pub(super) struct Dfa {
    /// The class of each byte: `0` for a byte no pattern has, then one per
    /// byte the patterns have; an upper-case letter is its lower case.
    classes: [u8; 256],
    /// The transitions, a row of `stride` per state; a state is the offset
    /// of its row, so a step is one read.
    trans: Box<[u32]>,
    /// The number of classes.
    stride: usize,
    /// The start state (where a walk is before it has read anything).
    start: u32,
    /// A power of two above every state's offset: a transition into a
    /// matching state reads `matching + offset`, where a copy of that
    /// state's row is kept, so a walk tells a match in any of its lanes by
    /// one `|` of the lanes' states and one comparison.
    matching: u32,
    /// Where each matching state's patterns begin in `patterns`, by state
    /// number, with one more entry for the end.
    pattern_at: Box<[u32]>,
    /// The patterns each matching state reports, state after state.
    patterns: Box<[PatternID]>,
    /// The longest pattern: a walk started this many bytes early is in the
    /// same state as one started at the beginning, since an Aho-Corasick
    /// state is the longest suffix read that is a prefix of some pattern.
    warm: usize,
}

impl Dfa {
    /// Builds the automaton of `patterns` (any case; matched in any ASCII
    /// case). Panics if the patterns cannot build one (they are the
    /// classifier's own, fixed at compile time).
    pub(super) fn new<'p>(patterns: impl IntoIterator<Item = &'p [u8]>) -> Dfa {
        let lower: Vec<Vec<u8>> = patterns
            .into_iter()
            .map(|p| p.to_ascii_lowercase())
            .collect();
        let built = Built::builder()
            .match_kind(MatchKind::Standard)
            // No prefilter: with this many patterns there is no rare byte to
            // skip to, and the walk does not use one.
            .prefilter(false)
            .build(&lower)
            .expect("the classifier's patterns build a DFA");

        // Classes: one per byte the patterns have. A byte none has always
        // leads back to the start state (no pattern prefix ends in it), so
        // all of them can share class 0.
        let mut classes = [0u8; 256];
        let mut stride = 1;
        for byte in 0..=255u8 {
            if lower.iter().any(|p| p.contains(&byte)) {
                classes[usize::from(byte)] = u8::try_from(stride).expect("at most 256 classes");
                stride += 1;
            }
        }
        for upper in b'A'..=b'Z' {
            classes[usize::from(upper)] = classes[usize::from(upper.to_ascii_lowercase())];
        }
        let mut representative = vec![0u8; stride];
        for byte in (0..=255u8).rev() {
            if !byte.is_ascii_uppercase() {
                representative[usize::from(classes[usize::from(byte)])] = byte;
            }
        }

        // Every state the walk can reach, numbered with the matching ones
        // first.
        let start = built
            .start_state(Anchored::No)
            .expect("the DFA supports unanchored searches");
        let mut reached = vec![start];
        let mut number = std::collections::HashMap::from([(start, 0usize)]);
        let mut i = 0;
        while let Some(&sid) = reached.get(i) {
            for &byte in &representative {
                let next = built.next_state(Anchored::No, sid, byte);
                if let std::collections::hash_map::Entry::Vacant(e) = number.entry(next) {
                    e.insert(reached.len());
                    reached.push(next);
                }
            }
            i += 1;
        }
        reached.sort_by_key(|&sid| !built.is_match(sid));
        for (n, &sid) in reached.iter().enumerate() {
            number.insert(sid, n);
        }
        let matching = reached
            .iter()
            .take_while(|&&sid| built.is_match(sid))
            .count();
        let flag = (reached.len() * stride).next_power_of_two();
        let offset = |sid: StateID| {
            let n = number[&sid];
            let at = if n < matching {
                flag + n * stride
            } else {
                n * stride
            };
            u32::try_from(at).expect("the table fits u32 offsets")
        };
        let (dfa, representative) = (&built, &representative);
        let row = move |sid: StateID| {
            representative
                .iter()
                .map(move |&byte| offset(dfa.next_state(Anchored::No, sid, byte)))
        };
        let mut trans: Vec<u32> = reached.iter().flat_map(|&sid| row(sid)).collect();
        trans.resize(flag, 0);
        trans.extend(reached[..matching].iter().flat_map(|&sid| row(sid)));
        let mut pattern_at = vec![0u32];
        let mut patterns = Vec::new();
        for &sid in &reached[..matching] {
            patterns.extend((0..built.match_len(sid)).map(|k| built.match_pattern(sid, k)));
            pattern_at.push(u32::try_from(patterns.len()).expect("few patterns"));
        }
        Dfa {
            classes,
            trans: trans.into(),
            stride,
            start: offset(start),
            matching: u32::try_from(flag).expect("the table fits u32 offsets"),
            pattern_at: pattern_at.into(),
            patterns: patterns.into(),
            warm: built.max_pattern_len(),
        }
    }

    /// The longest pattern's length.
    #[cfg(test)]
    pub(super) fn warm(&self) -> usize {
        self.warm
    }

    /// The size of the table, in bytes.
    #[cfg(test)]
    pub(super) fn table_bytes(&self) -> usize {
        self.trans.len() * size_of::<u32>()
    }

    /// The state after reading `byte` in state `sid`.
    #[inline(always)]
    fn step(&self, sid: u32, byte: u8) -> u32 {
        // In `u32`: an index of `usize` would take one more instruction per
        // byte to widen the state.
        self.trans[(sid + u32::from(self.classes[usize::from(byte)])) as usize]
    }

    /// Calls `found(pattern, end)` for every pattern that matching state
    /// `sid` reports, the match ending at `end`.
    fn report(&self, sid: u32, end: usize, found: &mut impl FnMut(PatternID, usize)) {
        let state = (sid - self.matching) as usize / self.stride;
        let (from, to) = (self.pattern_at[state], self.pattern_at[state + 1]);
        for &pattern in &self.patterns[from as usize..to as usize] {
            found(pattern, end);
        }
    }

    /// Calls `found(pattern, end)` for every occurrence of every pattern in
    /// `hay`, in no particular order. A long message is cut into [`LANES`]
    /// stretches walked in lock step, each from [`Dfa::warm`] bytes before
    /// its own stretch and reporting only matches that end inside it, so
    /// every occurrence is reported exactly once.
    pub(super) fn walk(&self, hay: &[u8], mut found: impl FnMut(PatternID, usize)) {
        let matching = self.matching;
        let n = hay.len();
        // Below this the early starts cost more than the lanes save (and the
        // first lane must own at least `warm` bytes).
        if n < 3 * self.warm {
            let mut sid = self.start;
            for (at, &byte) in hay.iter().enumerate() {
                sid = self.step(sid, byte);
                if sid >= matching {
                    self.report(sid, at + 1, &mut found);
                }
            }
            return;
        }
        // Equal walks: the first lane needs no early start, so it owns
        // `warm` bytes more than the others; only rounding is left over.
        let walk = (n + (LANES - 1) * self.warm).div_ceil(LANES);
        let own: [usize; LANES] = std::array::from_fn(|k| {
            if k == 0 {
                0
            } else {
                walk + (k - 1) * (walk - self.warm)
            }
        });
        let from = own.map(|o| o.saturating_sub(self.warm));
        let to: [usize; LANES] = std::array::from_fn(|k| own.get(k + 1).map_or(n, |&o| o.min(n)));
        let common = (0..LANES).map(|k| to[k] - from[k]).min().unwrap_or(0);
        let lane = |k: usize| &hay[from[k]..from[k] + common];
        let mut sid = [self.start; LANES];
        // Written out for four lanes: indexing an array of lanes costs a
        // bounds check per byte that the zipped iterators do not.
        let bytes = lane(0).iter().zip(lane(1)).zip(lane(2)).zip(lane(3));
        for (i, (((&b0, &b1), &b2), &b3)) in bytes.enumerate() {
            sid = [
                self.step(sid[0], b0),
                self.step(sid[1], b1),
                self.step(sid[2], b2),
                self.step(sid[3], b3),
            ];
            if sid[0] | sid[1] | sid[2] | sid[3] >= matching {
                for k in 0..LANES {
                    if sid[k] >= matching && from[k] + i >= own[k] {
                        self.report(sid[k], from[k] + i + 1, &mut found);
                    }
                }
            }
        }
        for k in 0..LANES {
            let mut s = sid[k];
            for (at, &byte) in hay.iter().enumerate().take(to[k]).skip(from[k] + common) {
                s = self.step(s, byte);
                if s >= matching && at >= own[k] {
                    self.report(s, at + 1, &mut found);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(dfa: &Dfa, hay: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        dfa.walk(hay.as_bytes(), |p, end| out.push((p.as_usize(), end)));
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_every_occurrence_in_any_case_in_every_lane() {
        let dfa = Dfa::new([&b"Row Lock"[..], b"lock", b"x_y"]);
        assert_eq!(
            found(&dfa, "a ROW lock, x_Y"),
            vec![(0, 10), (1, 10), (2, 15)]
        );
        // Long enough for four lanes, with a match across each lane's start.
        let long = format!("{}row lock{}", "-".repeat(40), " row lock".repeat(30));
        let expected = 31;
        let matches = found(&dfa, &long);
        assert_eq!(matches.iter().filter(|(p, _)| *p == 0).count(), expected);
        assert_eq!(matches.iter().filter(|(p, _)| *p == 1).count(), expected);
    }

    #[test]
    fn bytes_no_pattern_has_share_one_class_and_lead_back_to_the_start() {
        let dfa = Dfa::new([&b"ab"[..], b"b:"]);
        // Classes: the rest, `:`, `a`, `b`.
        assert_eq!(dfa.stride, 4);
        assert_eq!(
            dfa.classes[usize::from(b'A')],
            dfa.classes[usize::from(b'a')]
        );
        assert_eq!(dfa.classes[usize::from(b'z')], 0);
        assert_eq!(dfa.classes[0xe3], 0);
        // "a" then a byte no pattern has: "b" no longer completes "ab".
        assert_eq!(found(&dfa, "a\u{3042}b:"), vec![(1, 6)]);
        assert_eq!(found(&dfa, "AB:"), vec![(0, 2), (1, 3)]);
    }
}
