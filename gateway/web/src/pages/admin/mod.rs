//! Administration: users, the org tree, roles, API clients, security events and alerts, custom
//! fields and webhooks. Every page calls the services with the administrator's own token, so
//! the services decide what may be seen and changed; the sub-navigation only leaves out what
//! the user's permissions rule out anyway.
//!
//! The pages share one shape: a GET renders the page with an [`Outcome`] read from the query
//! (`?done=…` after a successful write: post, redirect, get), and a refused write renders the
//! same page at once with the refusal, the service's field violations and what was typed.
pub mod clients;
pub mod fields;
pub mod roles;
pub mod security;
pub mod units;
pub mod users;
pub mod webhooks;

pub use users::{assign_roles, users};

use super::param;
use crate::guard::Ctx;

/// The administration pages: (path, catalog key, permissions of which one shows the page).
pub const PAGES: &[(&str, &str, &[&str])] = &[
    ("/admin/users", "admin.users", &["identity.user.read"]),
    ("/admin/units", "admin.units", &["identity.unit.read"]),
    ("/admin/roles", "admin.roles", &["identity.role.read"]),
    (
        "/admin/api-clients",
        "admin.api_clients",
        &["identity.api_client.read"],
    ),
    (
        "/admin/security",
        "admin.security",
        &[
            "identity.security_event.read",
            "identity.security_alert.read",
        ],
    ),
    (
        "/admin/custom-fields",
        "admin.custom_fields",
        &["customers.custom_field.write"],
    ),
    (
        "/admin/webhooks",
        "admin.webhooks",
        &["events.webhook.read"],
    ),
];

/// The first administration page the user may open, if any (the main menu's entry).
pub fn home(ctx: &Ctx) -> Option<&'static str> {
    PAGES
        .iter()
        .find(|(_, _, needs)| needs.iter().any(|p| ctx.can(p)))
        .map(|(path, _, _)| *path)
}

/// The sub-navigation of the administration pages.
pub struct AdminNav {
    /// The pages the user may open: (path, catalog key).
    pub links: Vec<(&'static str, &'static str)>,
    /// The path of the page shown.
    pub active: &'static str,
}

impl AdminNav {
    /// The sub-navigation for `ctx`, with `active` marked as the current page.
    pub fn new(ctx: &Ctx, active: &'static str) -> AdminNav {
        AdminNav {
            links: PAGES
                .iter()
                .filter(|(_, _, needs)| needs.iter().any(|p| ctx.can(p)))
                .map(|(path, key, _)| (*path, *key))
                .collect(),
            active,
        }
    }

    /// The `aria-current` value of a link.
    pub fn current(&self, path: &str) -> &'static str {
        if self.active == path { "page" } else { "false" }
    }
}

/// What the last action did: a catalog message, and for a refused form the service's field
/// violations and the values typed, so the form can be shown again as it was. A form is named
/// by its kind ("create", "rename") and the id of the record it acts on ("" for none).
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Catalog key of the message ("" none).
    pub notice: &'static str,
    /// Whether the message is a refusal.
    pub failed: bool,
    /// Which form the refusal belongs to ("" none).
    pub form: String,
    /// The id of the record that form acts on ("" none).
    pub target: String,
    /// What was typed in that form.
    pub values: Vec<(String, String)>,
    /// The service's field violations: (field path, description).
    pub errors: Vec<(String, String)>,
}

impl Outcome {
    /// The outcome named by `?done=` after a successful write, from the page's own list of
    /// (value, catalog key); anything else shows nothing.
    pub fn from_query(query: &[(String, String)], known: &[(&str, &'static str)]) -> Outcome {
        let done = param(query, "done");
        let notice = known
            .iter()
            .find(|(value, _)| *value == done)
            .map(|(_, key)| *key)
            .unwrap_or("");
        Outcome {
            notice,
            ..Outcome::default()
        }
    }

    /// A refusal of the form `form` on `target` with what was typed in it.
    pub fn refused(
        status: &tonic::Status,
        form: &str,
        target: &str,
        values: Vec<(String, String)>,
    ) -> Outcome {
        Outcome {
            notice: super::refusal_key(status),
            failed: true,
            form: form.to_owned(),
            target: target.to_owned(),
            values,
            errors: super::violations(status),
        }
    }

    /// A refusal with a message of the page's own.
    pub fn failed(notice: &'static str) -> Outcome {
        Outcome {
            notice,
            failed: true,
            ..Outcome::default()
        }
    }

    /// Whether the refusal belongs to `form` on `target`.
    pub fn on(&self, form: &str, target: &str) -> bool {
        self.failed && self.form == form && self.target == target
    }

    /// The value typed in `field` when `form` on `target` was refused, else `default`.
    pub fn value<'a>(&'a self, form: &str, target: &str, field: &str, default: &'a str) -> &'a str {
        if self.on(form, target) {
            param(&self.values, field)
        } else {
            default
        }
    }

    /// Whether `value` was among the values of `field` (checkboxes) of the refused form.
    pub fn picked(&self, form: &str, target: &str, field: &str, value: &str) -> bool {
        self.on(form, target) && self.values.iter().any(|(k, v)| k == field && v == value)
    }

    /// The service's violation of `field` in the refused form ("" none). A violation names
    /// the field by its path in the request ("unit.code"), so the last segment is what counts.
    pub fn error(&self, form: &str, target: &str, field: &str) -> &str {
        if !self.on(form, target) {
            return "";
        }
        super::field_error(&self.errors, field)
    }
}

/// Every value of a repeated form field (checkboxes, multiple selects).
pub fn all(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The entries of a list typed one per line or separated by commas: trimmed, without empty
/// ones and without repeats (first one wins).
pub fn entries(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in text.split(['\n', ',']).map(str::trim) {
        if !entry.is_empty() && !out.iter().any(|e| e == entry) {
            out.push(entry.to_owned());
        }
    }
    out
}

/// A fresh idempotency key for a form, so that posting it twice creates one thing.
pub fn request_id() -> String {
    crate::session::random_token().unwrap_or_default()
}

/// A field mask.
pub fn mask(paths: &[&str]) -> Option<pbjson_types::FieldMask> {
    Some(pbjson_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// The id of a resource name ("units/0190…" → "0190…").
pub fn id_of(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn entries_split_on_lines_and_commas() {
        assert_eq!(
            entries(" a\r\nb, c\n\n,a , 10.0.0.0/8 "),
            ["a", "b", "c", "10.0.0.0/8"]
        );
        assert!(entries(" \n , ").is_empty());
    }

    #[test]
    fn outcome_reads_only_known_done_values() {
        let known = [("created", "admin.unit_created")];
        let q = pairs(&[("done", "created")]);
        assert_eq!(Outcome::from_query(&q, &known).notice, "admin.unit_created");
        let q = pairs(&[("done", "<script>")]);
        assert_eq!(Outcome::from_query(&q, &known).notice, "");
    }

    #[test]
    fn violations_match_the_last_segment_of_their_field_path() {
        let outcome = Outcome {
            failed: true,
            form: "create".into(),
            errors: vec![("user.login_name".into(), "taken".into())],
            values: pairs(&[("login_name", "ann"), ("role", "r1"), ("role", "r2")]),
            ..Outcome::default()
        };
        assert_eq!(outcome.error("create", "", "login_name"), "taken");
        assert_eq!(outcome.error("create", "", "name"), "");
        assert_eq!(outcome.error("create", "u1", "login_name"), "");
        assert_eq!(outcome.error("other", "", "login_name"), "");
        assert_eq!(outcome.value("create", "", "login_name", "x"), "ann");
        assert_eq!(outcome.value("other", "", "login_name", "x"), "x");
        assert!(outcome.picked("create", "", "role", "r2"));
        assert!(!outcome.picked("create", "", "role", "r3"));
        assert_eq!(id_of("units/0190"), "0190");
    }
}
