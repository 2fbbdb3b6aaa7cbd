//! `google.api.http` path templates (`/api/v1/{name=customers/*}/contacts:merge`): parsing, and
//! matching a request path against them. The grammar is Google's `HttpRule` one:
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! Verb     = ":" LITERAL ;
//! ```

/// One segment of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches itself.
    Literal(String),
    /// `*`: any one segment.
    Wildcard,
    /// `**`: the rest of the path (one or more segments); only last.
    Rest,
}

/// A variable: the request field it sets and the segments it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Dotted field path in the request message (`customer.name`).
    pub field_path: String,
    /// Index of its first segment in [`Template::segments`].
    pub start: usize,
    /// One past its last segment.
    pub end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The segments, variables flattened in.
    pub segments: Vec<Segment>,
    /// The variables, in order.
    pub variables: Vec<Variable>,
    /// The custom verb after the last `:`, if any.
    pub verb: Option<String>,
}

impl Template {
    /// Parses a template; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| format!("path template `{text}` must start with /"))?;
        // The verb follows the last ':' outside braces.
        let (body, verb) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('}') && !rest[i..].contains('/') => {
                (&rest[..i], Some(rest[i + 1..].to_owned()))
            }
            _ => (rest, None),
        };
        let mut template = Template {
            segments: Vec::new(),
            variables: Vec::new(),
            verb,
        };
        let mut chars = body;
        while !chars.is_empty() {
            if let Some(after) = chars.strip_prefix('{') {
                let close = after
                    .find('}')
                    .ok_or_else(|| format!("unclosed {{ in `{text}`"))?;
                let inner = &after[..close];
                let (field_path, pattern) = inner.split_once('=').unwrap_or((inner, "*"));
                if field_path.is_empty() {
                    return Err(format!("empty variable in `{text}`"));
                }
                let start = template.segments.len();
                for s in pattern.split('/') {
                    template.segments.push(segment(s, text)?);
                }
                template.variables.push(Variable {
                    field_path: field_path.to_owned(),
                    start,
                    end: template.segments.len(),
                });
                chars = &after[close + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                template.segments.push(segment(&chars[..end], text)?);
                chars = &chars[end..];
            }
            chars = chars.strip_prefix('/').unwrap_or(chars);
        }
        let rest_at = template.segments.iter().position(|s| *s == Segment::Rest);
        if rest_at.is_some_and(|i| i + 1 != template.segments.len()) {
            return Err(format!("** must be the last segment in `{text}`"));
        }
        Ok(template)
    }

    /// Matches a request path (still percent-encoded): the value of each variable, decoded,
    /// in the order of [`Template::variables`].
    pub fn matches(&self, path: &str) -> Option<Vec<String>> {
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        let parts: Vec<&str> = path.split('/').collect();
        let mut spans = Vec::with_capacity(self.segments.len());
        let mut i = 0;
        for s in &self.segments {
            match s {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                    spans.push((i, i + 1));
                    i += 1;
                }
                Segment::Wildcard => {
                    if parts.get(i).is_none_or(|p| p.is_empty()) {
                        return None;
                    }
                    spans.push((i, i + 1));
                    i += 1;
                }
                Segment::Rest => {
                    if i >= parts.len() {
                        return None;
                    }
                    spans.push((i, parts.len()));
                    i = parts.len();
                }
            }
        }
        if i != parts.len() {
            return None;
        }
        let values = self.variables.iter().map(|v| {
            let (from, to) = (spans[v.start].0, spans[v.end - 1].1);
            parts[from..to]
                .iter()
                .map(|p| decode(p))
                .collect::<Vec<_>>()
                .join("/")
        });
        Some(values.collect())
    }

    /// The OpenAPI form of the path: every `*` becomes a parameter named by [`Template::param_names`].
    pub fn openapi_path(&self) -> String {
        let names = self.param_names();
        let mut n = names.iter();
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Wildcard | Segment::Rest => {
                    out.push('{');
                    out.push_str(n.next().map_or("id", String::as_str));
                    out.push('}');
                }
            }
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        out
    }

    /// Names of the wildcard segments as OpenAPI parameters: `id` when the path has one, else the
    /// collection before each (`customersId`, `contactsId`), so names stay unique.
    pub fn param_names(&self) -> Vec<String> {
        let wild = |s: &&Segment| matches!(s, Segment::Wildcard | Segment::Rest);
        if self.segments.iter().filter(wild).count() == 1 {
            return vec!["id".to_owned()];
        }
        let mut names = Vec::new();
        let mut previous = "resource";
        for s in &self.segments {
            match s {
                Segment::Literal(l) => previous = l,
                _ => names.push(format!("{previous}Id")),
            }
        }
        names
    }

    /// The literal prefix a variable's value starts with (`customers/` for `customers/*`), and
    /// the index of each of its wildcards among all of the template's wildcards.
    pub fn variable_shape(&self, v: &Variable) -> (String, Vec<usize>) {
        let mut wild_index = 0;
        let mut prefix = String::new();
        let mut wilds = Vec::new();
        for (i, s) in self.segments.iter().enumerate() {
            let inside = i >= v.start && i < v.end;
            match s {
                Segment::Literal(l) if inside && wilds.is_empty() => {
                    prefix.push_str(l);
                    prefix.push('/');
                }
                Segment::Wildcard | Segment::Rest => {
                    if inside {
                        wilds.push(wild_index);
                    }
                    wild_index += 1;
                }
                Segment::Literal(_) => {}
            }
        }
        (prefix, wilds)
    }
}

fn segment(s: &str, text: &str) -> Result<Segment, String> {
    match s {
        "*" => Ok(Segment::Wildcard),
        "**" => Ok(Segment::Rest),
        "" => Err(format!("empty segment in `{text}`")),
        l if l.contains(['{', '}', '*', '=']) => Err(format!("bad segment `{l}` in `{text}`")),
        l => Ok(Segment::Literal(l.to_owned())),
    }
}

/// Percent-decodes one path segment; an invalid escape is kept as written.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variables_and_verbs() {
        let t = Template::parse("/api/v1/{name=customers/*}/contacts:merge").unwrap();
        assert_eq!(t.verb.as_deref(), Some("merge"));
        assert_eq!(t.segments.len(), 5);
        assert_eq!(
            t.variables,
            [Variable {
                field_path: "name".into(),
                start: 2,
                end: 4
            }]
        );
        let t = Template::parse("/api/v1/customers:upsert").unwrap();
        assert_eq!(t.verb.as_deref(), Some("upsert"));
        assert!(t.variables.is_empty());
        let t = Template::parse("/api/v1/{customer.name=customers/*}").unwrap();
        assert_eq!(t.variables[0].field_path, "customer.name");
        let t = Template::parse("/v1/{id}").unwrap();
        assert_eq!(t.segments[1], Segment::Wildcard);
    }

    #[test]
    fn rejects_malformed_templates() {
        for bad in ["api", "/a/{name", "/a//b", "/a/{=x}", "/a/**/b", "/a/b*c"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_paths_and_decodes_values() {
        let t = Template::parse("/api/v1/{name=customers/*}/contacts").unwrap();
        assert_eq!(
            t.matches("/api/v1/customers/abc/contacts"),
            Some(vec!["customers/abc".to_owned()])
        );
        assert_eq!(t.matches("/api/v1/customers/abc"), None);
        assert_eq!(t.matches("/api/v1/customers//contacts"), None);
        assert_eq!(t.matches("/api/v1/units/abc/contacts"), None);
        assert_eq!(
            t.matches("/api/v1/customers/a%20b/contacts"),
            Some(vec!["customers/a b".to_owned()])
        );
        let verb = Template::parse("/api/v1/{name=users/*}/password:reset").unwrap();
        assert!(verb.matches("/api/v1/users/u1/password:reset").is_some());
        assert!(verb.matches("/api/v1/users/u1/password").is_none());
        let plain = Template::parse("/api/v1/{name=users/*}/password").unwrap();
        assert!(plain.matches("/api/v1/users/u1/password:reset").is_none());
        let rest = Template::parse("/files/{path=**}").unwrap();
        assert_eq!(rest.matches("/files/a/b/c"), Some(vec!["a/b/c".to_owned()]));
    }

    #[test]
    fn openapi_paths_name_their_parameters() {
        let t = Template::parse("/api/v1/{name=customers/*}/summary").unwrap();
        assert_eq!(t.openapi_path(), "/api/v1/customers/{id}/summary");
        let t = Template::parse("/api/v1/{name=customers/*/contacts/*}:undo").unwrap();
        assert_eq!(
            t.openapi_path(),
            "/api/v1/customers/{customersId}/contacts/{contactsId}:undo"
        );
        let (prefix, wilds) = t.variable_shape(&t.variables[0]);
        assert_eq!(prefix, "customers/");
        assert_eq!(wilds, [0, 1]);
    }
}
