//! The classifier's automaton as the walk reads it: Aho-Corasick's DFA over
//! the patterns, copied into a table folded for ASCII case, with the
//! matching states' rows apart from the others.
//!
//! The library's case-insensitive DFA keeps `A` and `a` as byte classes of
//! their own (74 classes, rows padded to 128 transitions: 1.50 MB for this
//! classifier's patterns), and its walk re-reads where the special states
//! end at every byte. Folding the case into the class map, and giving every
//! byte no pattern has one class, makes the rows as wide as the bytes the
//! patterns have: about 0.6 MB of rows in use, which stays in a core's L2
//! cache (1 MB here). A lane tells a match by one `|` of the four states (see
//! [`MATCHING`]) instead of four comparisons.

use aho_corasick::automaton::{Automaton as _, StateID};
use aho_corasick::dfa::DFA as Built;
use aho_corasick::{Anchored, MatchKind, PatternID};

/// How many stretches of a long message the walk reads at once. One walk is
/// bound by the latency of its table reads (each needs the state the
/// previous one produced); four independent walks keep the core busy
/// (measured: 2.0 ns/byte for one, 0.8 for four, and eight were slower).
const LANES: usize = 4;

/// Messages shorter than this are walked in one lane: a lane's quarter
/// would be hardly longer than the few bytes it may run past its end.
const SHORT: usize = 64;

/// A power of two above the offset of every state that does not match; the
/// matching states' rows are kept from here on, so a walk tells a match in
/// any of its lanes by one `|` of the lanes' states and one comparison.
/// Today's other states need about 133 000 (3 236 rows of 41), just over
/// 1 << 17; only the rows in use are ever read, so the unused rest of the
/// table costs address space, not cache.
const MATCHING: u32 = 1 << 18;

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
    stride: u32,
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
    /// Each pattern's length, by pattern id.
    lengths: Box<[u8]>,
    /// The depth of each state that does not match, by row (its offset over
    /// `stride`): the length of the longest suffix read that is a prefix of
    /// some pattern, which is what an Aho-Corasick state stands for. No
    /// occurrence still to end began more than this many bytes back.
    depth: Box<[u8]>,
    /// The depth of each matching state, by state number.
    matching_depth: Box<[u8]>,
    /// The longest pattern's length.
    #[cfg(test)]
    longest: usize,
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
        // Breadth first, so that a state's distance from the start is its
        // depth: the shortest text that leads to the state of prefix `w` is
        // `w` itself.
        let mut reached = vec![start];
        let mut distance = std::collections::HashMap::from([(start, 0u8)]);
        let mut number = std::collections::HashMap::from([(start, 0usize)]);
        let mut i = 0;
        while let Some(&sid) = reached.get(i) {
            for &byte in &representative {
                let next = built.next_state(Anchored::No, sid, byte);
                if let std::collections::hash_map::Entry::Vacant(e) = number.entry(next) {
                    e.insert(reached.len());
                    reached.push(next);
                    distance.insert(next, distance[&sid] + 1);
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
        let depth_of = |sids: &[StateID]| sids.iter().map(|sid| distance[sid]).collect();
        Dfa {
            classes,
            trans,
            stride: u32::try_from(stride).expect("at most 256 classes"),
            pitch_shift: pitch.trailing_zeros(),
            #[cfg(test)]
            others,
            start: offset(start),
            pattern_at: pattern_at.into(),
            patterns: patterns.into(),
            lengths: lower
                .iter()
                .map(|p| u8::try_from(p.len()).expect("patterns under 256 bytes"))
                .collect(),
            depth: depth_of(&reached[matching..]),
            matching_depth: depth_of(&reached[..matching]),
            #[cfg(test)]
            longest: built.max_pattern_len(),
        }
    }

    /// The longest pattern's length.
    #[cfg(test)]
    pub(super) fn longest(&self) -> usize {
        self.longest
    }

    /// The size of the rows a walk reads, in bytes.
    #[cfg(test)]
    pub(super) fn table_bytes(&self) -> usize {
        let matching = self.pattern_at.len() - 1;
        (self.others + matching) * self.stride as usize * size_of::<u32>()
    }

    /// The state after reading `byte` in state `sid`.
    #[inline(always)]
    fn step(&self, sid: u32, byte: u8) -> u32 {
        // In `u32`: an index of `usize` would take one more instruction per
        // byte to widen the state.
        self.trans[(sid + u32::from(self.classes[usize::from(byte)])) as usize]
    }

    /// The depth of state `sid`: an occurrence that has not ended yet began
    /// at most this many bytes back.
    fn depth(&self, sid: u32) -> usize {
        let depth = if sid >= MATCHING {
            self.matching_depth[((sid - MATCHING) >> self.pitch_shift) as usize]
        } else {
            self.depth[(sid / self.stride) as usize]
        };
        usize::from(depth)
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

    /// Walks the four lanes in lock step from states `sid` until a step
    /// leaves any of them in a matching state or the lanes end; returns how
    /// many steps it took. Apart from [`Dfa::walk`], so that reporting (a
    /// call) does not make the loop keep its lanes on the stack.
    #[inline(always)]
    fn run_to_match(&self, sid: &mut [u32; LANES], lanes: [&[u8]; LANES]) -> usize {
        let [l0, l1, l2, l3] = lanes;
        let mut s = *sid;
        let mut steps = 0;
        // Written out for four lanes: indexing an array of lanes costs a
        // bounds check per byte that the zipped iterators do not.
        for (((&b0, &b1), &b2), &b3) in l0.iter().zip(l1).zip(l2).zip(l3) {
            s = [
                self.step(s[0], b0),
                self.step(s[1], b1),
                self.step(s[2], b2),
                self.step(s[3], b3),
            ];
            steps += 1;
            if any_matching(s) {
                break;
            }
        }
        *sid = s;
        steps
    }

    /// Calls `found(pattern, end)` for every occurrence of every pattern in
    /// `hay`, in no particular order. A long message is cut into [`LANES`]
    /// stretches walked in lock step, each from the start state at its own
    /// first byte, so each finds every occurrence that begins in it; then
    /// each lane runs on past its end only while an occurrence begun in its
    /// stretch can still end (the state's depth reaches back into it), and
    /// reports only those, so every occurrence is reported exactly once.
    pub(super) fn walk(&self, hay: &[u8], mut found: impl FnMut(PatternID, usize)) {
        let n = hay.len();
        if n < SHORT {
            let mut sid = self.start;
            for (at, &byte) in hay.iter().enumerate() {
                sid = self.step(sid, byte);
                if sid >= MATCHING {
                    self.report(sid, at + 1, &mut found);
                }
            }
            return;
        }
        let quarter = n / LANES;
        let own: [usize; LANES] = std::array::from_fn(|k| k * quarter);
        let lane = |k: usize, i: usize| &hay[own[k] + i..own[k] + quarter];
        let mut sid = [self.start; LANES];
        let mut i = 0;
        while i < quarter {
            i += self.run_to_match(&mut sid, [lane(0, i), lane(1, i), lane(2, i), lane(3, i)]);
            if any_matching(sid) {
                // The step that matched read the bytes at `own[k] + i - 1`.
                for k in 0..LANES {
                    if sid[k] >= MATCHING {
                        self.report(sid[k], own[k] + i, &mut found);
                    }
                }
            }
        }
        // The last lane owns the bytes the division left over.
        let mut s = sid[LANES - 1];
        for (at, &byte) in hay.iter().enumerate().skip(own[LANES - 1] + quarter) {
            s = self.step(s, byte);
            if s >= MATCHING {
                self.report(s, at + 1, &mut found);
            }
        }
        // The other lanes finish the occurrences begun in their stretch.
        for k in 0..LANES - 1 {
            let seam = own[k + 1];
            let mut s = sid[k];
            let mut at = seam;
            while at < n && self.depth(s) > at - seam {
                s = self.step(s, hay[at]);
                at += 1;
                if s >= MATCHING {
                    self.report(s, at, &mut |pattern: PatternID, end| {
                        if end - usize::from(self.lengths[pattern.as_usize()]) < seam {
                            found(pattern, end);
                        }
                    });
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
    fn a_states_depth_is_the_longest_prefix_it_has_read() {
        let dfa = Dfa::new([&b"abcd"[..], b"bcx"]);
        let mut sid = dfa.start;
        assert_eq!(dfa.depth(sid), 0);
        // "abcx": "abc" of the first pattern, then all of the second.
        for (&byte, depth) in b"abcxq".iter().zip([1, 2, 3, 3, 0]) {
            sid = dfa.step(sid, byte);
            assert_eq!(dfa.depth(sid), depth, "after {:?}", byte as char);
        }
    }

    #[test]
    fn an_occurrence_across_a_seam_is_found_once() {
        let dfa = Dfa::new([&b"abcdefgh"[..], b"cdef", b"h"]);
        for len in [SHORT, SHORT + 1, SHORT + 3, 200] {
            for at in 0..=len - 8 {
                let mut hay = vec![b'.'; len];
                hay[at..at + 8].copy_from_slice(b"abcdefgh");
                assert_eq!(
                    found(&dfa, std::str::from_utf8(&hay).unwrap()),
                    vec![(0, at + 8), (1, at + 6), (2, at + 8)],
                    "len {len}, at {at}"
                );
            }
        }
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
