//! The classifier's automaton as the walk reads it: Aho-Corasick's DFA over
//! the patterns, copied into a table folded for ASCII case, with the
//! matching states' rows apart from the others.
//!
//! The library's case-insensitive DFA keeps `A` and `a` as byte classes of
//! their own (74 classes, rows padded to 128 transitions: 1.50 MB for this
//! classifier's patterns), and its walk re-reads where the special states
//! end at every byte. Folding the case into the class map, and giving every
//! byte no pattern has one class, makes the rows as wide as the bytes the
//! patterns have: about 1.2 MB of rows in use, of which a walk over
//! ordinary text reads the few near the start state, which stay in a
//! core's L2 cache (1 MB here). The lanes' loop reads only the other
//! states' rows, so the check that keeps each read inside them also tells
//! a match (see [`MATCHING`]): no test of its own per byte.

use aho_corasick::automaton::{Automaton as _, StateID};
use aho_corasick::dfa::DFA as Built;
use aho_corasick::{Anchored, MatchKind, PatternID};

/// How many stretches of a long message the walk reads at once. One walk is
/// bound by the latency of its table reads (each needs the state the
/// previous one produced); four independent walks keep the core busy
/// (measured: 2.0 ns/byte for one, 0.8 for four, and eight were slower).
const LANES: usize = 4;

/// A power of two above the offset of every state that does not match; the
/// matching states' rows are kept from here on, so a step from a matching
/// state reads past the other states' rows, which is how the lanes' loop
/// tells a match, and a walk tells one in any of its lanes by one `|` of
/// the lanes' states and one comparison.
/// Today's other states need about 276 000 (5 625 rows of 49), just over
/// 1 << 18; only the rows in use are ever read, so the unused rest of the
/// table costs address space, not cache.
const MATCHING: u32 = 1 << 19;

/// The size of the transition table: the other states' rows, then from
/// [`MATCHING`] on the matching states' rows. Fixed, like [`MATCHING`], so that the
/// walk compares with constants and keeps its registers for the lanes.
const TABLE: usize = 2 * MATCHING as usize;

/// Whether any of the lanes' states matches: one `|` and one comparison,
/// since every matching state's offset is at or above [`MATCHING`], a power
/// of two above every other state's.
#[inline(always)]
fn any_matching(sid: [u32; LANES]) -> bool {
    sid[0] | sid[1] | sid[2] | sid[3] >= MATCHING
}

/// An unanchored Aho-Corasick DFA over lower-case patterns that reads text
/// in any ASCII case.
pub(super) struct Dfa {
    /// The class of each byte: `0` for a byte no pattern has, then one per
    /// byte the patterns have; an upper-case letter is its lower case.
    classes: [u8; 256],
    /// The transitions, a row of `stride` per state: the other states' rows
    /// from 0, the matching states' from [`MATCHING`]. A state is the offset
    /// of its row, so a step is one read.
    trans: Box<[u32; TABLE]>,
    /// The number of classes: the width of a row.
    #[cfg(test)]
    stride: usize,
    /// Matching state `n`'s row is at `MATCHING + (n << pitch_shift)`.
    pitch_shift: u32,
    /// The number of states that do not match, for the size the tests
    /// report.
    #[cfg(test)]
    others: usize,
    /// The start state (where a walk is before it has read anything).
    start: u32,
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
        // first: those are numbered apart from the others below.
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
        let flag = MATCHING as usize;
        // The copies are a power of two apart, so that a match finds its
        // state's number by a shift rather than a division.
        let pitch = stride.next_power_of_two();
        let others = reached.len() - matching;
        assert!(
            others * stride <= flag && flag + matching * pitch <= TABLE,
            "the classifier's automaton outgrew its table ({} states of {stride}): raise MATCHING",
            reached.len()
        );
        let offset = |sid: StateID| {
            let n = number[&sid];
            let at = if n < matching {
                flag + n * pitch
            } else {
                (n - matching) * stride
            };
            u32::try_from(at).expect("the table fits u32 offsets")
        };
        let (dfa, representative) = (&built, &representative);
        let row = move |sid: StateID| {
            representative
                .iter()
                .map(move |&byte| offset(dfa.next_state(Anchored::No, sid, byte)))
        };
        let mut trans: Vec<u32> = reached[matching..]
            .iter()
            .flat_map(|&sid| row(sid))
            .collect();
        trans.resize(TABLE, 0);
        for (n, &sid) in reached[..matching].iter().enumerate() {
            let at = flag + n * pitch;
            for (to, from) in trans[at..at + stride].iter_mut().zip(row(sid)) {
                *to = from;
            }
        }
        let trans: Box<[u32; TABLE]> = trans.into_boxed_slice().try_into().expect("sized above");
        let mut pattern_at = vec![0u32];
        let mut patterns = Vec::new();
        for &sid in &reached[..matching] {
            patterns.extend((0..built.match_len(sid)).map(|k| built.match_pattern(sid, k)));
            pattern_at.push(u32::try_from(patterns.len()).expect("few patterns"));
        }
        Dfa {
            classes,
            trans,
            #[cfg(test)]
            stride,
            pitch_shift: pitch.trailing_zeros(),
            #[cfg(test)]
            others,
            start: offset(start),
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

    /// The size of the rows a walk reads, in bytes.
    #[cfg(test)]
    pub(super) fn table_bytes(&self) -> usize {
        let matching = self.pattern_at.len() - 1;
        (self.others + matching) * self.stride * size_of::<u32>()
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
        let state = ((sid - MATCHING) >> self.pitch_shift) as usize;
        let (from, to) = (self.pattern_at[state], self.pattern_at[state + 1]);
        for &pattern in &self.patterns[from as usize..to as usize] {
            found(pattern, end);
        }
    }

    /// Walks the four lanes in lock step from states `sid` until any of them
    /// is in a matching state or the lanes end; returns how many steps it
    /// took. A step reads only the other states' rows, so the check that
    /// keeps its read inside them is also the test for a match: a matching
    /// state's offset is past them all, and the lanes stop there, before
    /// stepping on from it. Apart from [`Dfa::walk`], so that reporting (a
    /// call) does not make the loop keep its lanes on the stack.
    #[inline(always)]
    fn run_to_match(&self, sid: &mut [u32; LANES], lanes: [&[u8]; LANES]) -> usize {
        let others: &[u32; MATCHING as usize] = self.trans[..MATCHING as usize]
            .try_into()
            .expect("the other states' rows come first");
        let next = |s: u32, byte: u8| {
            others
                .get((s + u32::from(self.classes[usize::from(byte)])) as usize)
                .copied()
        };
        let [l0, l1, l2, l3] = lanes;
        let mut s = *sid;
        let mut steps = 0;
        // Written out for four lanes: indexing an array of lanes costs a
        // bounds check per byte that the zipped iterators do not.
        for (((&b0, &b1), &b2), &b3) in l0.iter().zip(l1).zip(l2).zip(l3) {
            let Some(n0) = next(s[0], b0) else { break };
            let Some(n1) = next(s[1], b1) else { break };
            let Some(n2) = next(s[2], b2) else { break };
            let Some(n3) = next(s[3], b3) else { break };
            s = [n0, n1, n2, n3];
            steps += 1;
        }
        *sid = s;
        steps
    }

    /// Calls `found(pattern, end)` for every occurrence of every pattern in
    /// `hay`, in no particular order. A long message is cut into [`LANES`]
    /// stretches walked in lock step, each from [`Dfa::warm`] bytes before
    /// its own stretch and reporting only matches that end inside it, so
    /// every occurrence is reported exactly once.
    pub(super) fn walk(&self, hay: &[u8], mut found: impl FnMut(PatternID, usize)) {
        let n = hay.len();
        // Below this the early starts cost more than the lanes save (and the
        // first lane must own at least `warm` bytes).
        if n < 3 * self.warm {
            let mut sid = self.start;
            for (at, &byte) in hay.iter().enumerate() {
                sid = self.step(sid, byte);
                if sid >= MATCHING {
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
        let lane = |k: usize, i: usize| &hay[from[k] + i..from[k] + common];
        let mut sid = [self.start; LANES];
        let mut i = 0;
        loop {
            i += self.run_to_match(&mut sid, [lane(0, i), lane(1, i), lane(2, i), lane(3, i)]);
            if !any_matching(sid) {
                // The lanes ran to their end.
                break;
            }
            // The step that matched read the bytes at `from[k] + i - 1`.
            for k in 0..LANES {
                if sid[k] >= MATCHING && from[k] + i > own[k] {
                    self.report(sid[k], from[k] + i, &mut found);
                }
            }
            if i == common {
                break;
            }
            // On from the matching states, whose rows the lanes' loop does
            // not read.
            sid = std::array::from_fn(|k| self.step(sid[k], hay[from[k] + i]));
            i += 1;
        }
        for k in 0..LANES {
            let mut s = sid[k];
            for (at, &byte) in hay.iter().enumerate().take(to[k]).skip(from[k] + common) {
                s = self.step(s, byte);
                if s >= MATCHING && at >= own[k] {
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
    fn matches_on_every_byte_are_all_reported() {
        // Every step of every lane ends in a matching state, so the lanes'
        // loop stops at each byte and the walk steps on from the match.
        let dfa = Dfa::new([&b"a"[..], b"aa"]);
        let hay = "a".repeat(200);
        let matches = found(&dfa, &hay);
        assert_eq!(matches.iter().filter(|(p, _)| *p == 0).count(), 200);
        assert_eq!(matches.iter().filter(|(p, _)| *p == 1).count(), 199);
        assert_eq!(matches.last(), Some(&(1, 200)));
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
