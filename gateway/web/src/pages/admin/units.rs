//! The org tree: units as nested lists, with create, rename and "move to…" (the control that
//! needs no dragging).
use super::{AdminNav, Outcome, id_of, mask, request_id};
use crate::{
    Web, call,
    guard::Ctx,
    pages::{Chrome, http_status, param, render},
};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::identity::v1::{
    CreateUnitRequest, ListUnitsRequest, MoveUnitRequest, Unit, UpdateUnitRequest,
    directory_service_client::DirectoryServiceClient, unit::Kind,
};
use http::StatusCode;
use std::collections::HashMap;

/// The kinds a new unit can have (only the root is a GROUP): (API name, catalog key).
pub const KINDS: &[(&str, &str)] = &[
    ("COMPANY", "admin.kind_company"),
    ("REGION", "admin.kind_region"),
    ("DEPARTMENT", "admin.kind_department"),
    ("TEAM", "admin.kind_team"),
];

/// The most pages of units read for one tree (a thousand units each).
const MAX_PAGES: usize = 20;

/// Every unit the user may see, in the service's order (by path).
pub async fn all_units(web: &Web, ctx: &Ctx) -> Result<Vec<Unit>, tonic::Status> {
    let mut client = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let mut units = Vec::new();
    let mut page_token = String::new();
    for _ in 0..MAX_PAGES {
        let request = ListUnitsRequest {
            page_size: 1000,
            page_token,
            order_by: "path".into(),
            ..Default::default()
        };
        let page = client.list_units(call(ctx, request)).await?.into_inner();
        units.extend(page.units);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(units)
}

/// One unit as the tree lists it, depth first, each parent before its children.
#[derive(Debug, Clone)]
pub struct TreeRow {
    /// The unit.
    pub unit: Unit,
    /// Levels below the top of the tree.
    pub depth: usize,
    /// Whether children follow (a nested list opens after the unit).
    pub has_children: bool,
    /// For a unit without children: how many nested lists end after it.
    pub closes: usize,
    /// The index of the first row after the unit's subtree.
    pub subtree_end: usize,
}

/// Orders units as a tree: children below their parent, siblings by name. A unit whose parent
/// is not among them (out of sight) starts a tree of its own.
pub fn tree(units: Vec<Unit>) -> Vec<TreeRow> {
    let index: HashMap<String, usize> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.name.clone(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    let mut roots = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        match index.get(&unit.parent) {
            Some(&p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let by_name = |a: &usize, b: &usize| {
        let (a, b) = (&units[*a], &units[*b]);
        (a.display_name.to_lowercase(), &a.code).cmp(&(b.display_name.to_lowercase(), &b.code))
    };
    roots.sort_by(by_name);
    for list in &mut children {
        list.sort_by(by_name);
    }
    // Depth-first, iteratively. Units left over (parent links in a cycle, never valid but data
    // is data) start trees of their own rather than vanish.
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(units.len());
    let mut seen = vec![false; units.len()];
    let starts: Vec<usize> = roots.into_iter().chain(0..units.len()).collect();
    for start in starts {
        let mut stack = vec![(start, 0)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push((i, depth));
            stack.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
        }
    }
    let depths: Vec<usize> = order.iter().map(|(_, d)| *d).collect();
    let mut slots: Vec<Option<Unit>> = units.into_iter().map(Some).collect();
    order
        .iter()
        .enumerate()
        .filter_map(|(k, &(i, depth))| {
            let next = depths.get(k + 1).copied().unwrap_or(0);
            let subtree_end = (k + 1..depths.len())
                .find(|&j| depths[j] <= depth)
                .unwrap_or(depths.len());
            Some(TreeRow {
                unit: slots[i].take()?,
                depth,
                has_children: next > depth,
                closes: depth.saturating_sub(next),
                subtree_end,
            })
        })
        .collect()
}

/// Units as choices of a select, indented by depth: (resource name, label).
pub fn options(rows: &[TreeRow]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            let name = if r.unit.display_name.is_empty() {
                &r.unit.code
            } else {
                &r.unit.display_name
            };
            (
                r.unit.name.clone(),
                format!("{}{name}", "\u{a0}\u{a0}".repeat(r.depth)),
            )
        })
        .collect()
}

/// The catalog key of a unit kind.
pub fn kind_key(kind: i32) -> &'static str {
    match Kind::try_from(kind).unwrap_or(Kind::Unspecified) {
        Kind::Group => "admin.kind_group",
        Kind::Company => "admin.kind_company",
        Kind::Region => "admin.kind_region",
        Kind::Department => "admin.kind_department",
        Kind::Team => "admin.kind_team",
        Kind::Unspecified => "admin.kind_unknown",
    }
}

/// The org tree page.
#[derive(Template)]
#[template(path = "admin/units.html")]
pub struct UnitsPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The tree.
    pub rows: Vec<TreeRow>,
    /// Every unit as a choice.
    pub choices: Vec<(String, String)>,
    /// Whether the user may change the tree.
    pub can_write: bool,
    /// The create form's idempotency key.
    pub request_id: String,
    /// Kinds of a new unit.
    pub kinds: &'static [(&'static str, &'static str)],
    /// SortableJS, loaded by the page script for drag and drop (an enhancement of "move to…").
    pub sortable_js: &'static str,
}

impl UnitsPage {
    /// The parents `row` may move below: every unit outside its own subtree but its parent.
    pub fn targets(&self, k: &usize) -> Vec<&(String, String)> {
        let k = *k;
        let Some(row) = self.rows.get(k) else {
            return Vec::new();
        };
        self.choices
            .iter()
            .enumerate()
            .filter(|(j, (name, _))| (*j < k || *j >= row.subtree_end) && *name != row.unit.parent)
            .map(|(_, choice)| choice)
            .collect()
    }

    /// The catalog key of a unit's kind.
    pub fn kind(&self, unit: &Unit) -> &'static str {
        kind_key(unit.kind)
    }
}

async fn show(web: &Web, ctx: &Ctx, out: Outcome, code: StatusCode) -> Response {
    let units = match all_units(web, ctx).await {
        Ok(units) => units,
        Err(status) => return crate::pages::error_page(ctx, &status),
    };
    let rows = tree(units);
    let page = UnitsPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/units"),
        choices: options(&rows),
        rows,
        can_write: ctx.can("identity.unit.write"),
        request_id: request_id(),
        kinds: KINDS,
        sortable_js: crate::assets::url("sortable.js"),
        out,
    };
    (code, render(&page)).into_response()
}

async fn refused(
    web: &Web,
    ctx: &Ctx,
    status: &tonic::Status,
    form: &str,
    target: &str,
    values: Vec<(String, String)>,
) -> Response {
    let out = Outcome::refused(status, form, target, values);
    show(web, ctx, out, http_status(status)).await
}

/// GET /admin/units
pub async fn page(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let known = [
        ("created", "admin.unit_created"),
        ("renamed", "admin.unit_renamed"),
        ("moved", "admin.unit_moved"),
    ];
    show(&web, &ctx, Outcome::from_query(&q, &known), StatusCode::OK).await
}

/// POST /admin/units: creates a unit below the chosen parent.
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let unit = Unit {
        code: param(&form, "code").trim().to_owned(),
        display_name: param(&form, "display_name").trim().to_owned(),
        kind: Kind::from_str_name(param(&form, "kind")).unwrap_or(Kind::Unspecified) as i32,
        parent: param(&form, "parent").to_owned(),
        ..Default::default()
    };
    let request = CreateUnitRequest {
        unit: Some(unit),
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut client = DirectoryServiceClient::new(web.upstreams().identity.clone());
    match client.create_unit(call(&ctx, request)).await {
        Ok(unit) => {
            let id = unit.into_inner().id;
            Redirect::to(&format!("/admin/units?done=created#unit-{id}")).into_response()
        }
        Err(status) => refused(&web, &ctx, &status, "create", "", form).await,
    }
}

/// POST /admin/units/{id}: renames a unit.
pub async fn rename(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let unit = Unit {
        name: format!("units/{id}"),
        display_name: param(&form, "display_name").trim().to_owned(),
        etag: param(&form, "etag").to_owned(),
        ..Default::default()
    };
    let request = UpdateUnitRequest {
        unit: Some(unit),
        update_mask: mask(&["display_name"]),
    };
    let mut client = DirectoryServiceClient::new(web.upstreams().identity.clone());
    match client.update_unit(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/admin/units?done=renamed#unit-{id}")).into_response(),
        Err(status) => refused(&web, &ctx, &status, "rename", &id, form).await,
    }
}

/// POST /admin/units/{id}/move: moves a unit, with its subtree, below another parent.
pub async fn move_unit(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = MoveUnitRequest {
        name: format!("units/{id}"),
        new_parent: param(&form, "new_parent").to_owned(),
        etag: param(&form, "etag").to_owned(),
        request_id: String::new(),
    };
    let mut client = DirectoryServiceClient::new(web.upstreams().identity.clone());
    match client.move_unit(call(&ctx, request)).await {
        Ok(unit) => {
            let id = id_of(&unit.into_inner().name).to_owned();
            Redirect::to(&format!("/admin/units?done=moved#unit-{id}")).into_response()
        }
        Err(status) => refused(&web, &ctx, &status, "move", &id, form).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, parent: &str, name: &str) -> Unit {
        Unit {
            name: format!("units/{id}"),
            id: id.into(),
            code: id.into(),
            parent: if parent.is_empty() {
                String::new()
            } else {
                format!("units/{parent}")
            },
            display_name: name.into(),
            ..Default::default()
        }
    }

    fn shape(rows: &[TreeRow]) -> Vec<(String, usize, bool, usize, usize)> {
        rows.iter()
            .map(|r| {
                (
                    r.unit.id.clone(),
                    r.depth,
                    r.has_children,
                    r.closes,
                    r.subtree_end,
                )
            })
            .collect()
    }

    #[test]
    fn the_tree_nests_children_below_parents_sorted_by_name() {
        // Given in an order unrelated to the tree.
        let rows = tree(vec![
            unit("t1", "east", "Team One"),
            unit("west", "g", "West"),
            unit("g", "", "Group"),
            unit("east", "g", "East"),
            unit("d1", "east", "Dept"),
        ]);
        let expected = [
            ("g", 0, true, 0, 5),
            ("east", 1, true, 0, 4),
            ("d1", 2, false, 0, 3),
            ("t1", 2, false, 1, 4),
            ("west", 1, false, 1, 5),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(id, d, c, n, e)| ((*id).to_owned(), *d, *c, *n, *e))
            .collect();
        assert_eq!(shape(&rows), expected);
        // Every list opened is closed: the rows' opens and closes balance.
        let opened = rows.iter().filter(|r| r.has_children).count();
        let closed: usize = rows.iter().map(|r| r.closes).sum();
        assert_eq!(opened, closed);
    }

    #[test]
    fn a_unit_whose_parent_is_out_of_sight_starts_its_own_tree() {
        let rows = tree(vec![unit("a", "hidden", "A"), unit("b", "a", "B")]);
        assert_eq!(
            shape(&rows),
            [
                ("a".to_owned(), 0, true, 0, 2),
                ("b".to_owned(), 1, false, 1, 2)
            ]
        );
        // A cycle (never valid, but data is data) neither loops nor loses rows silently.
        let rows = tree(vec![unit("x", "y", "X"), unit("y", "x", "Y")]);
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_unit_moves_anywhere_but_into_its_own_subtree_or_its_parent() {
        let rows = tree(vec![
            unit("g", "", "Group"),
            unit("east", "g", "East"),
            unit("d1", "east", "Dept"),
            unit("west", "g", "West"),
        ]);
        let choices = options(&rows);
        assert_eq!(choices[2].1, "\u{a0}\u{a0}\u{a0}\u{a0}Dept");
        let page = UnitsPage {
            c: Chrome::anonymous(
                crate::i18n::Tr::new(crate::i18n::Locale::En, chrono_tz::Tz::UTC),
                "admin",
            ),
            nav: AdminNav {
                links: Vec::new(),
                active: "",
            },
            out: Outcome::default(),
            rows,
            choices,
            can_write: true,
            request_id: String::new(),
            kinds: KINDS,
            sortable_js: "",
        };
        let names = |k| -> Vec<String> {
            page.targets(&k)
                .iter()
                .map(|(n, _)| id_of(n).to_owned())
                .collect()
        };
        assert_eq!(names(1), ["west"]);
        assert_eq!(names(2), ["g", "west"]);
        assert_eq!(names(3), ["east", "d1"]);
    }
}
