//! String and name similarity: Jaro-Winkler (own implementation, to avoid a
//! dependency), order-insensitive token alignment, and script-aware name
//! comparison (Latin, Han, Han vs pinyin).

use crate::names::{NameForm, parse_org_name, parse_person_name};

/// Similarity given to an initial that agrees with a full token ("J" vs
/// "John"): compatible, but weaker evidence than a full match.
pub const INITIAL_SIM: f64 = 0.85;
/// Score for two Han names that differ in characters but share a reading
/// (homophone typos are what pinyin input methods produce).
pub const HOMOPHONE_SIM: f64 = 0.9;
/// Score for a Han name whose pinyin equals the Latin name exactly. Below
/// 1.0 because one romanisation covers many different character names.
pub const PINYIN_SIM: f64 = 0.95;
/// Score for Latin names that are equal once spaces are ignored
/// ("Jean Pierre" / "Jeanpierre").
pub const CONCAT_SIM: f64 = 0.98;
const MAX_TOKENS: usize = 6;

/// Jaro similarity over arbitrary symbol slices.
pub fn jaro<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    // Standard window, but at least 1: with the textbook formula 3-letter
    // tokens ("wei"/"wie") get window 0 and a transposition counts as two
    // mismatches, which is too harsh for short name parts.
    let window = (a.len().max(b.len()) / 2).saturating_sub(1).max(1);
    // Names are short; a fixed stack buffer avoids allocation per call.
    let mut b_used_stack = [false; 64];
    let mut b_used_heap;
    let b_used: &mut [bool] = if b.len() <= 64 {
        &mut b_used_stack[..b.len()]
    } else {
        b_used_heap = vec![false; b.len()];
        &mut b_used_heap
    };
    let mut a_match_stack = [false; 64];
    let mut a_match_heap;
    let a_match: &mut [bool] = if a.len() <= 64 {
        &mut a_match_stack[..a.len()]
    } else {
        a_match_heap = vec![false; a.len()];
        &mut a_match_heap
    };
    let mut matches = 0usize;
    for (i, x) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_used[j] && b[j] == *x {
                b_used[j] = true;
                a_match[i] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (i, x) in a.iter().enumerate() {
        if !a_match[i] {
            continue;
        }
        while !b_used[k] {
            k += 1;
        }
        if *x != b[k] {
            transpositions += 1;
        }
        k += 1;
    }
    let m = matches as f64;
    let t = (transpositions / 2) as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0
}

/// Jaro-Winkler over symbol slices: prefix scale 0.1, prefix up to 4, and
/// the boost only above Jaro 0.7 (Winkler's original threshold) so that
/// unrelated names sharing a first letter are not pulled up.
pub fn jaro_winkler_slice<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    let j = jaro(a, b);
    if j <= 0.7 {
        return j;
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    j + prefix as f64 * 0.1 * (1.0 - j)
}

/// Jaro-Winkler over strings; byte-wise for ASCII (the common case after
/// folding), char-wise otherwise.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        jaro_winkler_slice(a.as_bytes(), b.as_bytes())
    } else {
        // Stack buffers: Han names are short, this runs inside the scan loop.
        let (mut ba, mut bb) = (['\0'; 32], ['\0'; 32]);
        match (fill(&mut ba, a), fill(&mut bb, b)) {
            (Some(x), Some(y)) => jaro_winkler_slice(&ba[..x], &bb[..y]),
            _ => {
                let a: Vec<char> = a.chars().collect();
                let b: Vec<char> = b.chars().collect();
                jaro_winkler_slice(&a, &b)
            }
        }
    }
}

/// Copies the chars of `s` into `buf`; `None` if they do not fit.
fn fill(buf: &mut [char; 32], s: &str) -> Option<usize> {
    let mut n = 0;
    for c in s.chars() {
        *buf.get_mut(n)? = c;
        n += 1;
    }
    Some(n)
}

fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Similarity of two tokens and whether it was an initial-vs-name match.
fn token_sim(a: &str, b: &str) -> (f64, bool) {
    if a == b {
        return (1.0, false);
    }
    let (la, lb) = (char_len(a), char_len(b));
    if la == 1 || lb == 1 {
        let agree = a.chars().next() == b.chars().next();
        return if agree {
            (INITIAL_SIM, true)
        } else {
            (0.0, false)
        };
    }
    (jaro_winkler(a, b), false)
}

/// Order-insensitive similarity of two token lists.
///
/// Tokens of the shorter list are assigned one-to-one to tokens of the
/// longer list maximising the summed Jaro-Winkler (exhaustive search; lists
/// are capped at 6 tokens). Then:
/// * unmatched extra tokens (middle names) cost 0.25 each, 0.1 if an initial;
/// * the worst full-token pair scales the result down to half, so a clearly
///   different first name ("John" vs "Mary") cannot be averaged away by an
///   identical surname;
/// * a single token against several, or only initials matching, is capped
///   at 0.75: too little to identify a person.
pub fn token_set_similarity(a: &[String], b: &[String]) -> f64 {
    let a = &a[..a.len().min(MAX_TOKENS)];
    let b = &b[..b.len().min(MAX_TOKENS)];
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0.0;
    }
    let mut sims = [[(0.0, false); MAX_TOKENS]; MAX_TOKENS];
    for (i, s) in short.iter().enumerate() {
        for (j, l) in long.iter().enumerate() {
            sims[i][j] = token_sim(s, l);
        }
    }
    let mut best = (f64::NEG_INFINITY, [0usize; MAX_TOKENS]);
    let mut current = [0usize; MAX_TOKENS];
    assign(
        &sims,
        short.len(),
        long.len(),
        0,
        0,
        0.0,
        &mut current,
        &mut best,
    );
    let chosen = &best.1[..short.len()];

    let mut sum = 0.0;
    let mut worst: f64 = 1.0;
    let mut full_match = false;
    let mut used = [false; MAX_TOKENS];
    for (i, &j) in chosen.iter().enumerate() {
        let (s, initial) = sims[i][j];
        used[j] = true;
        sum += s;
        if !initial {
            worst = worst.min(s);
            full_match |= s > 0.0;
        }
    }
    let penalty: f64 = long
        .iter()
        .enumerate()
        .filter(|(j, _)| !used[*j])
        .map(|(_, t)| if char_len(t) == 1 { 0.1 } else { 0.25 })
        .sum();
    let mean = sum / (short.len() as f64 + penalty);
    let factor = 0.5 + 0.5 * ((worst - 0.6) / 0.3).clamp(0.0, 1.0);
    let mut score = mean * factor;
    if (short.len() == 1 && long.len() >= 2) || !full_match {
        score = score.min(0.75);
    }
    score
}

#[allow(clippy::too_many_arguments)]
fn assign(
    sims: &[[(f64, bool); MAX_TOKENS]; MAX_TOKENS],
    n: usize,
    m: usize,
    i: usize,
    used: u32,
    acc: f64,
    current: &mut [usize; MAX_TOKENS],
    best: &mut (f64, [usize; MAX_TOKENS]),
) {
    if i == n {
        // Strict '>' keeps the first optimum found: deterministic.
        if acc > best.0 {
            *best = (acc, *current);
        }
        return;
    }
    for j in 0..m {
        if used & (1 << j) == 0 {
            current[i] = j;
            assign(
                sims,
                n,
                m,
                i + 1,
                used | (1 << j),
                acc + sims[i][j].0,
                current,
                best,
            );
        }
    }
}

/// Result of comparing two names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameScore {
    /// 0..=1.
    pub score: f64,
    /// The best evidence came from matching Han characters via pinyin.
    pub via_pinyin: bool,
}

impl NameScore {
    const ZERO: NameScore = NameScore {
        score: 0.0,
        via_pinyin: false,
    };

    fn max(self, other: NameScore) -> NameScore {
        if other.score > self.score {
            other
        } else {
            self
        }
    }
}

/// Whether two ascending slices share an element.
fn intersects(a: &[u64], b: &[u64]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

fn han_vs_han(a: &NameForm, b: &NameForm, org: bool) -> NameScore {
    if a.han == b.han {
        return NameScore {
            score: 1.0,
            via_pinyin: false,
        };
    }
    if intersects(&a.pinyin_hashes, &b.pinyin_hashes) {
        return NameScore {
            score: HOMOPHONE_SIM,
            via_pinyin: true,
        };
    }
    let contained = a.han.contains(&b.han) || b.han.contains(&a.han);
    let shorter = a.han.chars().count().min(b.han.chars().count());
    if org && contained && shorter >= 2 {
        // "北京华信科技" vs "华信科技": a regional prefix on the same firm.
        return NameScore {
            score: 0.85,
            via_pinyin: false,
        };
    }
    // Non-homophone character differences usually mean different people
    // (张伟 / 张伟明), hence the discount.
    NameScore {
        score: jaro_winkler(&a.han, &b.han) * 0.8,
        via_pinyin: false,
    }
}

fn han_vs_latin(han: &NameForm, latin: &NameForm) -> NameScore {
    let tokens = if latin.py_tokens.is_empty() {
        &latin.tokens
    } else {
        &latin.py_tokens
    };
    if intersects(&latin.py_concat_hashes, &han.pinyin_hashes) {
        return NameScore {
            score: PINYIN_SIM,
            via_pinyin: true,
        };
    }
    // Fuzzy: token-level so that "Zhang Wen" does not pass for 张伟.
    let best = han
        .pinyin_tokens
        .iter()
        .map(|pt| token_set_similarity(pt, tokens))
        .fold(0.0, f64::max);
    NameScore {
        score: best * PINYIN_SIM,
        via_pinyin: true,
    }
}

fn latin_vs_latin(a: &NameForm, b: &NameForm) -> f64 {
    let mut s = token_set_similarity(&a.tokens, &b.tokens);
    if a.tokens.len() != b.tokens.len() && s < CONCAT_SIM {
        let joined_b = b.tokens.concat();
        let joined_a = a.tokens.concat();
        if a.concats.contains(&joined_b) || b.concats.contains(&joined_a) {
            s = CONCAT_SIM;
        }
    }
    s
}

/// Compares two parsed names across scripts: Latin/Latin by token
/// alignment, Han/Han by characters (homophones via pinyin), Han/Latin via
/// pinyin. The best of the available pairings wins. `org` enables the
/// organisation rule that a Han name contained in the other is close.
pub fn name_similarity(a: &NameForm, b: &NameForm, org: bool) -> NameScore {
    let mut best = NameScore::ZERO;
    if !a.han.is_empty() && !b.han.is_empty() {
        best = best.max(han_vs_han(a, b, org));
    }
    if !a.tokens.is_empty() && !b.tokens.is_empty() {
        best = best.max(NameScore {
            score: latin_vs_latin(a, b),
            via_pinyin: false,
        });
    }
    if !org {
        if !a.han.is_empty() && !b.tokens.is_empty() {
            best = best.max(han_vs_latin(a, b));
        }
        if !b.han.is_empty() && !a.tokens.is_empty() {
            best = best.max(han_vs_latin(b, a));
        }
    }
    best
}

/// Similarity of two raw person names (0..=1).
pub fn person_name_similarity(a: &str, b: &str) -> f64 {
    name_similarity(&parse_person_name(a), &parse_person_name(b), false).score
}

/// Similarity of two raw organisation names after legal-form cleaning.
pub fn org_name_similarity(a: &str, b: &str) -> f64 {
    name_similarity(&parse_org_name(a), &parse_org_name(b), true).score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn jaro_winkler_reference_values() {
        // Classic values from Winkler's papers.
        assert!(close(jaro_winkler("martha", "marhta"), 0.961));
        assert!(close(jaro_winkler("dwayne", "duane"), 0.840));
        assert!(close(jaro_winkler("dixon", "dicksonx"), 0.813));
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("abc", ""), 0.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
        assert!(close(
            jaro_winkler("müller", "muller"),
            jaro_winkler("mxller", "muller")
        ));
    }

    #[test]
    fn typo_scores_high() {
        let s = person_name_similarity("Jonh Smith", "John Smith");
        assert!(s > 0.9 && s < 1.0, "{s}");
    }

    #[test]
    fn swapped_and_comma() {
        assert_eq!(person_name_similarity("Smith, John", "John Smith"), 1.0);
        assert_eq!(person_name_similarity("Wei Zhang", "Zhang Wei"), 1.0);
    }

    #[test]
    fn initials_lower_than_full() {
        let init = person_name_similarity("J. Smith", "John Smith");
        assert!(init > 0.85 && init < 0.95, "{init}");
        let middle = person_name_similarity("John M. Smith", "John Smith");
        assert!(middle > 0.9, "{middle}");
        let only_initials = person_name_similarity("J. S.", "John Smith");
        assert!(only_initials <= 0.75);
    }

    #[test]
    fn different_first_name_is_clearly_different() {
        assert!(person_name_similarity("Mary Smith", "John Smith") < 0.5);
        assert!(person_name_similarity("Jane Smith", "John Smith") < 0.65);
        assert!(person_name_similarity("Smith", "John Smith") <= 0.75);
    }

    #[test]
    fn concatenated_tokens() {
        assert_eq!(
            person_name_similarity("Jean-Pierre Dupont", "Jeanpierre Dupont"),
            CONCAT_SIM
        );
        assert_eq!(person_name_similarity("Zhangwei", "Wei Zhang"), CONCAT_SIM);
    }

    #[test]
    fn chinese_exact_and_homophone() {
        assert_eq!(person_name_similarity("张伟", "张 伟"), 1.0);
        assert_eq!(person_name_similarity("张伟", "张玮"), HOMOPHONE_SIM);
        assert!(person_name_similarity("张伟", "李伟") < 0.6);
        assert!(person_name_similarity("张伟", "张伟明") < 0.8);
        // Traditional vs simplified share the reading.
        assert_eq!(person_name_similarity("張偉", "张伟"), HOMOPHONE_SIM);
    }

    #[test]
    fn chinese_vs_pinyin() {
        for latin in ["Zhang Wei", "Wei Zhang", "ZHANG, Wei", "Zhangwei"] {
            let s = name_similarity(&parse_person_name("张伟"), &parse_person_name(latin), false);
            assert_eq!(s.score, PINYIN_SIM, "{latin}");
            assert!(s.via_pinyin);
        }
        assert_eq!(
            person_name_similarity("王小明", "Xiaoming Wang"),
            PINYIN_SIM
        );
        assert_eq!(
            person_name_similarity("王小明", "Wang Xiao Ming"),
            PINYIN_SIM
        );
        assert_eq!(person_name_similarity("曾伟", "Zeng Wei"), PINYIN_SIM);
        assert_eq!(person_name_similarity("吕伟", "Lyu Wei"), PINYIN_SIM);
        assert_eq!(person_name_similarity("吕伟", "Lv Wei"), PINYIN_SIM);
        let typo = person_name_similarity("张伟", "Zhang Wie");
        assert!(typo > 0.85, "{typo}");
        assert!(person_name_similarity("张伟", "Zhang Wen") < 0.8);
        assert!(person_name_similarity("张伟", "Li Wei") < 0.6);
    }

    #[test]
    fn org_similarity() {
        assert_eq!(
            org_name_similarity("Acme Trading Co., Ltd.", "ACME Trading Limited"),
            1.0
        );
        assert_eq!(
            org_name_similarity("华信科技有限公司", "华信科技股份有限公司"),
            1.0
        );
        assert!(org_name_similarity("Acme Trading", "Acme Consulting") < 0.6);
        assert!(org_name_similarity("华信科技", "华信软件") < 0.7);
        assert_eq!(
            org_name_similarity("北京华信科技有限公司", "华信科技有限公司"),
            0.85
        );
    }
}
