//! Search: one box that finds customers by name (prefix, fuzzy; Latin and Chinese), email,
//! phone in any format, external id, tag, and sensitive identifiers (blind index), ranked and
//! limited to the caller's data scope.
//!
//! Every customer carries a search document (`customers.search_doc`): its tokens, separated by
//! spaces, made here so that both databases index the same thing. Latin text gives lower-case
//! words; Chinese, Japanese and Korean text gives every character and every pair of adjacent
//! characters (so "张三丰" is found by "张三" and "三丰"); phone numbers give their digits with
//! and without the country code. PostgreSQL indexes the tokens with GIN
//! (`array_to_tsvector`) and the lower-cased name with trigrams (typos); SQLite with FTS5.
//! Candidates are scored here, so ranking is the same on both.
use crate::{
    error::Error,
    service::Customers,
    store::{CustomerRow, Store},
};
use crm_platform::{
    auth::Principal,
    db::Db,
    sql::{SqlBuf, SqlValue},
};
use uuid::Uuid;

/// Most results a search returns.
pub const MAX_RESULTS: usize = 100;
/// Candidates fetched from the token index before scoring.
const CANDIDATES: i64 = 100;
/// Names scoring below this are not shown.
const MIN_SCORE: f64 = 0.55;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B-F
}

/// The tokens of a text: lower-case words of letters and digits; CJK runs as characters and
/// adjacent pairs (`pairs_only`: pairs alone for runs of two or more, as queries use them).
fn tokens(text: &str, pairs_only: bool, out: &mut Vec<String>) {
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_word = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if !pairs_only || run.len() == 1 {
            out.extend(run.iter().map(|c| c.to_string()));
        }
        out.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, out);
            run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut run, out);
            // Accents are dropped ("Müller" is found by "muller"): letters are decomposed
            // and their combining marks left out.
            use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
            word.extend(c.to_lowercase().nfd().filter(|c| !is_combining_mark(*c)));
        } else {
            flush_word(&mut word, out);
            flush_run(&mut run, out);
        }
    }
    flush_word(&mut word, out);
    flush_run(&mut run, out);
}

/// The digits of a phone number with and without its country code (1-3 digits), so a number
/// typed in national form finds it by prefix.
fn phone_tokens(e164: &str, out: &mut Vec<String>) {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    for cut in 0..=3.min(digits.len().saturating_sub(6)) {
        out.push(digits[cut..].to_owned());
    }
}

/// The search document of a customer.
pub fn document(row: &CustomerRow) -> String {
    let mut out = Vec::new();
    tokens(&row.display_name, false, &mut out);
    for text in [&row.legal_name, &row.email, &row.external_id]
        .into_iter()
        .flatten()
    {
        tokens(text, false, &mut out);
    }
    if let Some(external) = &row.external_id {
        out.push(compact(external));
    }
    if let Some(phone) = &row.phone {
        phone_tokens(phone, &mut out);
    }
    for tag in row.tag_list() {
        tokens(&tag, false, &mut out);
    }
    out.retain(|t| !t.is_empty());
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out.join(" ")
}

/// Lower-case letters and digits only: how identifiers are compared.
fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// As typed, trimmed.
    pub text: String,
    /// Index tokens, each matched as a prefix.
    pub tokens: Vec<String>,
    /// The query as a normalized email, when it is one.
    pub email: Option<String>,
    /// The digits, when the query looks like a phone number (6 or more digits, nothing else
    /// but separators and "+").
    pub phone_digits: Option<String>,
}

impl Query {
    /// Parses what was typed; `None` when nothing searchable is left.
    pub fn parse(raw: &str) -> Option<Query> {
        let text = raw.trim().to_owned();
        let mut toks = Vec::new();
        tokens(&text, true, &mut toks);
        let email = text
            .contains('@')
            .then(|| crate::domain::Email::parse(&text).ok())
            .flatten()
            .map(|e| e.as_str().to_owned());
        let phone_like = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().\u{a0}".contains(c));
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let phone_digits = (phone_like && digits.len() >= 6).then_some(digits);
        if let Some(d) = &phone_digits {
            // One token for the whole number, however it was split.
            toks = vec![d.trim_start_matches("00").to_owned()];
        }
        let mut seen = std::collections::HashSet::new();
        toks.retain(|t| seen.insert(t.clone()));
        toks.truncate(8);
        (!toks.is_empty()).then_some(Query {
            text,
            tokens: toks,
            email,
            phone_digits,
        })
    }

    /// The same tokens cut to their first two letters (one CJK character): the relaxed query
    /// whose candidates the scoring then sorts by similarity, for typos past the start.
    fn relaxed(&self) -> Vec<String> {
        self.tokens
            .iter()
            .map(|t| {
                let keep = if t.chars().any(is_cjk) { 1 } else { 2 };
                t.chars().take(keep).collect()
            })
            .collect()
    }
}

/// One result.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The customer.
    pub row: CustomerRow,
    /// 0-1, higher is better.
    pub score: f64,
    /// Why it matched: "display_name", "email", "phone", "external_id", "tags", ...
    pub matched: Vec<String>,
}

/// Appends `<index> matches every token as a prefix` for the backend.
fn push_match(db: &Db, buf: &mut SqlBuf, toks: &[String]) {
    match db {
        Db::Pg(_) => {
            let query: Vec<String> = toks.iter().map(|t| format!("'{t}':*")).collect();
            buf.push("search_tsv @@ CAST(");
            buf.push_bind(SqlValue::Text(query.join(" & ")));
            buf.push(" AS tsquery)");
        }
        Db::Sqlite(_) => {
            let query: Vec<String> = toks.iter().map(|t| format!("\"{t}\"*")).collect();
            buf.push(
                "search_key IN (SELECT rowid FROM customer_search WHERE customer_search MATCH ",
            );
            buf.push_bind(SqlValue::Text(query.join(" AND ")));
            buf.push(")");
        }
    }
}

/// How well `name` matches the query: 1 exact, then prefix, all-words-prefix, contained,
/// and fuzzy (Jaro-Winkler over words) below.
fn name_score(query: &Query, name: &str) -> f64 {
    let q = query.tokens.join(" ");
    let mut name_tokens = Vec::new();
    tokens(name, false, &mut name_tokens);
    let n = {
        let mut words = Vec::new();
        tokens(name, true, &mut words);
        words.join(" ")
    };
    if n == q {
        return 1.0;
    }
    if n.starts_with(&q) {
        return 0.95;
    }
    let all_prefix = query
        .tokens
        .iter()
        .all(|t| name_tokens.iter().any(|n| n.starts_with(t.as_str())));
    if all_prefix {
        return 0.9;
    }
    if n.contains(&q) {
        return 0.85;
    }
    // Fuzzy: each query word against its best name word.
    let mut total = 0.0;
    for t in &query.tokens {
        // Characters are not spelling: a CJK pair matches or it does not.
        let similarity = |n: &String| match t.chars().any(is_cjk) {
            true => f64::from(u8::from(n == t)),
            false => strsim::jaro_winkler(t, n),
        };
        let best = name_tokens.iter().map(similarity).fold(0.0, f64::max);
        total += best;
    }
    0.8 * total / query.tokens.len().max(1) as f64
}

fn score(query: &Query, row: &CustomerRow, exact: &[(Uuid, &'static str)]) -> Hit {
    let mut matched = Vec::new();
    let mut best: f64 = 0.0;
    for (_, why) in exact.iter().filter(|(id, _)| *id == row.id) {
        matched.push((*why).to_owned());
        best = 1.0;
    }
    let by_name = name_score(query, &row.display_name);
    if by_name >= MIN_SCORE {
        matched.push("display_name".to_owned());
        best = best.max(by_name);
    }
    let fields: [(&str, Option<&str>); 3] = [
        ("legal_name", row.legal_name.as_deref()),
        ("email", row.email.as_deref()),
        ("external_id", row.external_id.as_deref()),
    ];
    for (field, value) in fields {
        if let Some(v) = value
            && !matched.iter().any(|m| m == field)
        {
            let mut toks = Vec::new();
            tokens(v, false, &mut toks);
            if query
                .tokens
                .iter()
                .all(|t| toks.iter().any(|v| v.starts_with(t.as_str())))
            {
                matched.push(field.to_owned());
                best = best.max(if compact(v) == compact(&query.text) {
                    1.0
                } else {
                    0.7
                });
            }
        }
    }
    if let (Some(digits), Some(phone)) = (&query.phone_digits, &row.phone)
        && !matched.iter().any(|m| m == "phone")
        && phone
            .trim_start_matches('+')
            .ends_with(digits.trim_start_matches('0'))
    {
        matched.push("phone".to_owned());
        best = best.max(1.0);
    }
    let tags = row.tag_list();
    if tags
        .iter()
        .any(|t| t.to_lowercase() == query.text.to_lowercase())
    {
        matched.push("tags".to_owned());
        best = best.max(0.75);
    }
    Hit {
        row: row.clone(),
        score: best,
        matched,
    }
}

impl Customers {
    /// The customers in the caller's scope that best match `raw`, best first, at most `limit`.
    pub async fn search(
        &self,
        principal: &Principal,
        raw: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, Error> {
        let Some(query) = Query::parse(raw) else {
            return Err(Error::field(
                "query",
                "is required: a name, email, phone or id",
            ));
        };
        let db = self.store.db();
        let scope = self.reach(principal, false).await?;
        // Exact identifiers: sensitive fields (blind index), emails and phones of contact points.
        let mut exact: Vec<(Uuid, &'static str)> = Vec::new();
        // Identifiers have digits; names rarely do, and skip the lookup.
        if query.text.chars().filter(char::is_ascii_digit).count() >= 4 {
            for id in self.vault.find(db, None, &query.text).await? {
                exact.push((id, "sensitive"));
            }
        }
        let mut points = Vec::new();
        if let Some(email) = &query.email {
            points.push(email.clone());
        }
        if let Some(digits) = &query.phone_digits {
            points.push(format!("+{}", digits.trim_start_matches("00")));
        }
        for value in &points {
            for id in contact_point_owners(db, value).await? {
                exact.push((id, "contact_points"));
            }
        }

        let mut candidates: Vec<CustomerRow> = Vec::new();
        let ids: Vec<Uuid> = exact.iter().map(|(id, _)| *id).collect();
        if !ids.is_empty() {
            let mut buf = Store::list_query(&scope);
            buf.push(" AND id IN (");
            buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
            buf.push(")");
            candidates.extend(self.store.fetch(buf).await?);
        }
        if query.phone_digits.is_none() {
            // Names that are the query or start with it rank first: from the name index, in
            // its order (shortest, so the exact name, first).
            let mut buf = Store::list_query(&scope);
            push_name_prefix(db, &mut buf, &query.text.to_lowercase(), limit);
            candidates.extend(self.store.fetch(buf).await?);
        }
        let mut buf = Store::list_query(&scope);
        buf.push(" AND ");
        push_match(db, &mut buf, &query.tokens);
        buf.push(" LIMIT ");
        buf.push_bind(SqlValue::Int(CANDIDATES));
        candidates.extend(self.store.fetch(buf).await?);
        let mut hits = scored(&query, candidates, &exact);
        if hits.len() < limit {
            // Few hits: allow typos. On PostgreSQL names with similar trigrams; on SQLite word
            // prefixes of two letters, sorted by the scoring.
            let mut buf = Store::list_query(&scope);
            buf.push(" AND ");
            match db {
                Db::Pg(_) => {
                    buf.push("lower(display_name) % ");
                    buf.push_bind(SqlValue::Text(query.text.to_lowercase()));
                }
                Db::Sqlite(_) => push_match(db, &mut buf, &query.relaxed()),
            }
            buf.push(" LIMIT ");
            buf.push_bind(SqlValue::Int(CANDIDATES));
            let mut more: Vec<CustomerRow> = hits.into_iter().map(|h| h.row).collect();
            more.extend(self.store.fetch(buf).await?);
            hits = scored(&query, more, &exact);
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.row.display_name.len().cmp(&b.row.display_name.len()))
                .then_with(|| a.row.display_name.cmp(&b.row.display_name))
        });
        hits.truncate(limit.clamp(1, MAX_RESULTS));
        Ok(hits)
    }
}

/// Scores candidates (each once) and keeps those that match at all.
fn scored(
    query: &Query,
    mut candidates: Vec<CustomerRow>,
    exact: &[(Uuid, &'static str)],
) -> Vec<Hit> {
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|r| seen.insert(r.id));
    candidates
        .iter()
        .map(|r| score(query, r, exact))
        .filter(|h| !h.matched.is_empty())
        .collect()
}

/// Appends "the lower-cased name starts with `prefix`", as a range the name index serves, in
/// index order, at most `limit` rows.
fn push_name_prefix(db: &Db, buf: &mut SqlBuf, prefix: &str, limit: usize) {
    // Greater than every continuation of the prefix.
    let upper = format!("{prefix}\u{10FFFF}");
    let (ge, lt, order) = match db {
        // The index uses text_pattern_ops: byte order, with its own operators.
        Db::Pg(_) => ("~>=~", "~<~", " ORDER BY lower(display_name) USING ~<~"),
        Db::Sqlite(_) => (">=", "<", " ORDER BY lower(display_name)"),
    };
    buf.push(&format!(" AND lower(display_name) {ge} "));
    buf.push_bind(SqlValue::Text(prefix.to_owned()));
    buf.push(&format!(" AND lower(display_name) {lt} "));
    buf.push_bind(SqlValue::Text(upper));
    buf.push(order);
    buf.push(" LIMIT ");
    buf.push_bind(SqlValue::Int(limit as i64));
}

async fn contact_point_owners(db: &Db, value: &str) -> Result<Vec<Uuid>, Error> {
    let rows: Vec<(Uuid,)> = crm_platform::with_pool!(db, |pool| sqlx::query_as(
        "SELECT customer_id FROM contact_points WHERE value = $1"
    )
    .bind(value)
    .fetch_all(pool)
    .await)
    .map_err(crm_platform::db::DbError::from)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_text_gives_characters_and_pairs() {
        let mut out = Vec::new();
        tokens("张三丰 Acme-GmbH", false, &mut out);
        assert_eq!(out, ["张", "三", "丰", "张三", "三丰", "acme", "gmbh"]);
        let q = Query::parse("张三").unwrap();
        assert_eq!(q.tokens, ["张三"]);
        assert_eq!(Query::parse("王").unwrap().tokens, ["王"]);
    }

    #[test]
    fn phone_queries_become_one_digit_token() {
        let q = Query::parse("+86 138-1234-5678").unwrap();
        assert_eq!(q.tokens, ["8613812345678"]);
        let q = Query::parse("(138) 1234 5678").unwrap();
        assert_eq!(q.phone_digits.as_deref(), Some("13812345678"));
        let mut out = Vec::new();
        phone_tokens("+8613812345678", &mut out);
        assert!(out.contains(&"13812345678".to_owned()));
        assert!(Query::parse("  ").is_none());
    }

    #[test]
    fn names_rank_exact_prefix_then_fuzzy() {
        let q = Query::parse("john smith").unwrap();
        assert_eq!(name_score(&q, "John Smith"), 1.0);
        assert!(name_score(&q, "John Smithers") > name_score(&q, "Jon Smith"));
        assert!(name_score(&q, "Jon Smith") > MIN_SCORE);
        assert!(name_score(&q, "Mary Jones") < MIN_SCORE);
    }
}
