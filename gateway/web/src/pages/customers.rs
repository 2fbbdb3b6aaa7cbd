//! The customers list: filters built by a form, columns, sort, saved views, search, infinite
//! scroll. (The create form is in `create`, one customer's page in `customer`.)
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx, i18n::Tr};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::{
    customers::v1::{
        Customer, ListCustomersRequest, SearchCustomersRequest, customer::Kind,
        customer_service_client::CustomerServiceClient,
    },
    identity::v1::{
        GetUserPreferencesRequest, SavedView, UpdateUserPreferencesRequest, UserPreferences,
        preferences_service_client::PreferencesServiceClient,
    },
};
use http::{HeaderMap, StatusCode};

pub use super::create::{create, duplicates, new_form};
pub use super::customer::{detail, edit_form, log_interaction, update};

/// Columns a list can show: (field, catalog key). The name is always shown.
pub const COLUMNS: &[(&str, &str)] = &[
    ("kind", "customer.kind"),
    ("email", "customer.email"),
    ("phone", "customer.phone"),
    ("lifecycle_stage", "customer.stage"),
    ("value_tier", "customer.tier"),
    ("region", "customer.region"),
    ("industry", "customer.industry"),
    ("source_channel", "customer.source"),
    ("lifetime_value", "customer.lifetime_value"),
    ("update_time", "customer.updated"),
];
const DEFAULT_COLUMNS: &[&str] = &[
    "kind",
    "email",
    "phone",
    "lifecycle_stage",
    "value_tier",
    "update_time",
];
/// Orders offered: (order_by, catalog key).
pub const ORDERS: &[(&str, &str)] = &[
    ("update_time desc", "list.order_updated"),
    ("display_name", "list.order_name"),
    ("create_time desc", "list.order_created"),
    ("lifetime_value desc", "list.order_value"),
];
/// Lifecycle stages, value tiers and kinds as the API names them.
pub const STAGES: &[&str] = &["PROSPECT", "NEW", "ACTIVE", "AT_RISK", "CHURNED"];
/// Value tiers.
pub const TIERS: &[&str] = &["A", "B", "C"];
/// Kinds.
pub const KINDS: &[&str] = &["PERSON", "ORGANIZATION"];

/// The catalog key of an interaction type.
pub fn interaction_key(kind: i32) -> &'static str {
    use crm_proto::crm::customers::v1::interaction::Type;
    match Type::try_from(kind).unwrap_or(Type::Unspecified) {
        Type::Call => "interaction.CALL",
        Type::Email => "interaction.EMAIL",
        Type::Meeting => "interaction.MEETING",
        Type::Visit => "interaction.VISIT",
        Type::Note => "interaction.NOTE",
        Type::Unspecified => "interaction.OTHER",
    }
}

/// What the list shows, from the query string (so a view is a link that can be shared).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    q: String,
    kind: String,
    stage: String,
    tier: String,
    region: String,
    mine: bool,
    filter: String,
    order: String,
    size: i32,
    columns: Vec<String>,
    page_token: String,
}

impl ListQuery {
    fn parse(pairs: &[(String, String)]) -> ListQuery {
        let columns: Vec<String> = pairs
            .iter()
            .filter(|(k, v)| k == "col" && COLUMNS.iter().any(|(c, _)| c == v))
            .map(|(_, v)| v.clone())
            .collect();
        let order = param(pairs, "order");
        ListQuery {
            q: param(pairs, "q").to_owned(),
            kind: pick(param(pairs, "kind"), KINDS),
            stage: pick(param(pairs, "stage"), STAGES),
            tier: pick(param(pairs, "tier"), TIERS),
            region: param(pairs, "region").to_owned(),
            mine: param(pairs, "mine") == "1",
            filter: param(pairs, "filter").to_owned(),
            order: if ORDERS.iter().any(|(o, _)| *o == order) {
                order.to_owned()
            } else {
                ORDERS[0].0.to_owned()
            },
            size: param(pairs, "size")
                .parse::<i32>()
                .ok()
                .filter(|n| [25, 50, 100].contains(n))
                .unwrap_or(25),
            columns: if columns.is_empty() {
                DEFAULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect()
            } else {
                columns
            },
            page_token: param(pairs, "page_token").to_owned(),
        }
    }

    /// The AIP-160 filter the form describes.
    fn aip_filter(&self, me: &str) -> String {
        let mut terms = Vec::new();
        for (field, value) in [
            ("kind", &self.kind),
            ("lifecycle_stage", &self.stage),
            ("value_tier", &self.tier),
        ] {
            if !value.is_empty() {
                terms.push(format!("{field} = {value}"));
            }
        }
        if !self.region.is_empty() {
            terms.push(format!("region = {}", quote(&self.region)));
        }
        if self.mine {
            terms.push(format!("owner_id = {}", quote(me)));
        }
        if !self.filter.trim().is_empty() {
            terms.push(format!("({})", self.filter));
        }
        terms.join(" AND ")
    }

    /// The query string of this list, without the page token.
    pub fn query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.q),
            ("kind", &self.kind),
            ("stage", &self.stage),
            ("tier", &self.tier),
            ("region", &self.region),
            ("filter", &self.filter),
            ("order", &self.order),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        if self.mine {
            s.append_pair("mine", "1");
        }
        s.append_pair("size", &self.size.to_string());
        for c in &self.columns {
            s.append_pair("col", c);
        }
        s.finish()
    }

    /// The form's filters as a query string (kept in a saved view's `filter`).
    fn form_filters(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("kind", &self.kind),
            ("stage", &self.stage),
            ("tier", &self.tier),
            ("region", &self.region),
            ("filter", &self.filter),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        if self.mine {
            s.append_pair("mine", "1");
        }
        s.finish()
    }

    /// The list's parameters as pairs (hidden fields of the "save view" form).
    pub fn pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query_string().as_bytes())
            .into_owned()
            .collect()
    }

    fn shows(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

fn pick(value: &str, allowed: &[&str]) -> String {
    if allowed.contains(&value) {
        value.to_owned()
    } else {
        String::new()
    }
}

/// An AIP-160 string literal.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The filter and order of the list view described by `pairs`, for its export. (A free-text
/// search is not a filter: an export covers the view's filters.)
pub fn export_query(pairs: &[(String, String)], me: &str) -> (String, String) {
    let query = ListQuery::parse(pairs);
    (query.aip_filter(me), query.order.clone())
}

/// One row of the list.
pub struct Row {
    /// The customer's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The shown columns' values, formatted.
    pub cells: Vec<String>,
}

/// The list page.
#[derive(Template)]
#[template(path = "customers/list.html")]
pub struct ListPage {
    /// The chrome.
    pub c: Chrome,
    /// The query.
    pub query: ListQuery,
    /// The rows (the rows template renders them).
    pub rows: RowsPartial,
    /// The user's saved views of this list: (title, query string).
    pub views: Vec<(String, String)>,
    /// Catalog key of a refusal of the filter ("" none), with the service's explanation.
    pub problem: &'static str,
    /// The service's words on a bad filter.
    pub detail: String,
}

/// The rows of one page, plus the trigger loading the next page.
#[derive(Template)]
#[template(path = "customers/rows.html")]
pub struct RowsPartial {
    /// Translations.
    pub tr: Tr,
    /// The rows.
    pub rows: Vec<Row>,
    /// Number of columns (for the "load more" row).
    pub width: usize,
    /// The URL of the next page, "" at the end.
    pub next: String,
}

fn cell(tr: &Tr, customer: &Customer, column: &str) -> String {
    use crm_proto::crm::customers::v1::customer::{LifecycleStage, SourceChannel, ValueTier};
    let key = |k: String| tr.t(&k).to_owned();
    match column {
        "kind" => key(format!(
            "kind.{}",
            Kind::try_from(customer.kind)
                .unwrap_or(Kind::Unspecified)
                .as_str_name()
        )),
        "email" => customer.email.clone(),
        "phone" => customer.phone.clone(),
        "lifecycle_stage" => match LifecycleStage::try_from(customer.lifecycle_stage) {
            Ok(s) if s != LifecycleStage::Unspecified => key(format!("stage.{}", s.as_str_name())),
            _ => String::new(),
        },
        "value_tier" => match ValueTier::try_from(customer.value_tier) {
            Ok(t) if t != ValueTier::Unspecified => t.as_str_name().to_owned(),
            _ => String::new(),
        },
        "region" => customer.region.clone(),
        "industry" => customer.industry.clone(),
        "source_channel" => match SourceChannel::try_from(customer.source_channel) {
            Ok(s) if s != SourceChannel::Unspecified => key(format!("channel.{}", s.as_str_name())),
            _ => String::new(),
        },
        "lifetime_value" => tr.number(customer.lifetime_value_minor / 100),
        "update_time" => tr.datetime(&customer.update_time),
        _ => String::new(),
    }
}

fn rows(tr: &Tr, query: &ListQuery, customers: Vec<Customer>) -> Vec<Row> {
    customers
        .into_iter()
        .map(|customer| Row {
            cells: query
                .columns
                .iter()
                .map(|c| cell(tr, &customer, c))
                .collect(),
            id: customer.id,
            name: customer.display_name,
        })
        .collect()
}

/// GET /customers: the list; an htmx request for a further page gets only its rows.
pub async fn list(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let query = ListQuery::parse(&pairs);
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    // A further page of rows is all an infinite-scroll request gets; a whole page also shows
    // the saved views, asked for at the same time as the rows.
    let rows_only = headers.contains_key("hx-request") && !query.page_token.is_empty();
    let found = async {
        if query.q.trim().is_empty() {
            let request = ListCustomersRequest {
                page_size: query.size,
                page_token: query.page_token.clone(),
                filter: query.aip_filter(&ctx.session.user),
                order_by: query.order.clone(),
            };
            client.list_customers(call(&ctx, request)).await.map(|r| {
                let r = r.into_inner();
                (r.customers, r.next_page_token)
            })
        } else {
            let request = SearchCustomersRequest {
                query: query.q.clone(),
                page_size: query.size,
            };
            client.search_customers(call(&ctx, request)).await.map(|r| {
                let customers = r
                    .into_inner()
                    .results
                    .into_iter()
                    .filter_map(|r| r.customer);
                (customers.collect(), String::new())
            })
        }
    };
    let (found, views) = tokio::join!(found, async {
        if rows_only {
            Vec::new()
        } else {
            saved_views(&web, &ctx).await
        }
    });
    let (customers, next_token) = match found {
        Ok(found) => found,
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return bad_filter(&ctx, query, views, &status);
        }
        Err(status) => return super::error_page(&ctx, &status),
    };
    let next = if next_token.is_empty() {
        String::new()
    } else {
        format!(
            "/customers?{}&page_token={}",
            query.query_string(),
            encode(&next_token)
        )
    };
    let partial = RowsPartial {
        tr: ctx.tr,
        rows: rows(&ctx.tr, &query, customers),
        width: query.columns.len() + 3,
        next,
    };
    if rows_only {
        return render(&partial);
    }
    render(&ListPage {
        c: Chrome::new(&ctx, "customers"),
        query,
        rows: partial,
        views,
        problem: "",
        detail: String::new(),
    })
}

fn bad_filter(
    ctx: &Ctx,
    query: ListQuery,
    views: Vec<(String, String)>,
    status: &tonic::Status,
) -> Response {
    let page = ListPage {
        c: Chrome::new(ctx, "customers"),
        rows: RowsPartial {
            tr: ctx.tr,
            rows: Vec::new(),
            width: query.columns.len() + 3,
            next: String::new(),
        },
        query,
        views,
        problem: "list.bad_filter",
        detail: super::violations(status)
            .into_iter()
            .map(|(_, d)| d)
            .next()
            .unwrap_or_else(|| status.message().to_owned()),
    };
    (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn preferences(web: &Web, ctx: &Ctx) -> Option<UserPreferences> {
    let mut client = PreferencesServiceClient::new(web.upstreams().identity.clone());
    let request = GetUserPreferencesRequest {
        name: "users/me/preferences".into(),
    };
    client
        .get_user_preferences(call(ctx, request))
        .await
        .ok()
        .map(|r| r.into_inner())
}

/// The user's saved views of the customers list: (title, query string).
async fn saved_views(web: &Web, ctx: &Ctx) -> Vec<(String, String)> {
    preferences(web, ctx)
        .await
        .map(|p| p.saved_views)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.list == "customers")
        .map(|v| {
            let mut pairs = form_urlencoded::parse(v.filter.as_bytes())
                .into_owned()
                .collect::<Vec<_>>();
            pairs.push(("order".into(), v.order_by.clone()));
            pairs.push(("size".into(), v.page_size.to_string()));
            pairs.push(("q".into(), v.query.clone()));
            pairs.extend(v.columns.iter().map(|c| ("col".to_owned(), c.clone())));
            (v.title, ListQuery::parse(&pairs).query_string())
        })
        .collect()
}

/// POST /customers/views: saves the current list as a named view in the user's preferences.
pub async fn save_view(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let query = ListQuery::parse(&form);
    let title = param(&form, "title").to_owned();
    let Some(mut prefs) = preferences(&web, &ctx).await else {
        return super::error_page(&ctx, &tonic::Status::unavailable("preferences"));
    };
    // The form's own filters are kept as a query string in the view's filter, so the form can
    // be rebuilt; the service only stores it.
    let form_filter = query.form_filters();
    let id = format!("v{}", chrono::Utc::now().timestamp_millis());
    prefs
        .saved_views
        .retain(|v| !(v.list == "customers" && v.title == title));
    prefs.saved_views.push(SavedView {
        id,
        list: "customers".into(),
        title,
        columns: query.columns.clone(),
        filter: form_filter,
        order_by: query.order.clone(),
        page_size: query.size,
        query: query.q.clone(),
    });
    let mut client = PreferencesServiceClient::new(web.upstreams().identity.clone());
    let request = UpdateUserPreferencesRequest {
        preferences: Some(UserPreferences {
            name: "users/me/preferences".into(),
            saved_views: prefs.saved_views,
            etag: prefs.etag,
            ..Default::default()
        }),
        update_mask: Some(pbjson_types::FieldMask {
            paths: vec!["saved_views".into()],
        }),
    };
    match client.update_user_preferences(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/customers?{}", query.query_string())).into_response(),
        Err(status) => super::error_page(&ctx, &status),
    }
}
