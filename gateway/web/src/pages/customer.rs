//! One customer ("customer 360"): profile, contact points, contacts, timeline with a two-tap
//! "log a call / visit / note", reminders, lifetime value; and the profile edit with
//! optimistic concurrency (a stale etag shows the conflict instead of overwriting).
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::customers::v1::{
    Consent, Contact, ContactPoint, CreateInteractionRequest, Customer, CustomerHistoryEntry,
    CustomerSummary, GetCustomerOverviewRequest, GetCustomerRequest, Interaction,
    ListInteractionsRequest, Reminder, Transaction, UpdateCustomerRequest, contact_point,
    customer_service_client::CustomerServiceClient, interaction,
};
use http::{HeaderMap, StatusCode};

/// Fields the profile form edits (each also an update-mask path).
pub const EDITABLE: &[(&str, &str)] = &[
    ("display_name", "customer.name"),
    ("email", "customer.email"),
    ("phone", "customer.phone"),
    ("legal_name", "customer.legal_name"),
    ("industry", "customer.industry"),
    ("region", "customer.region"),
    ("notes", "customer.notes"),
];

/// The customer page.
#[derive(Template)]
#[template(path = "customers/detail.html")]
pub struct DetailPage {
    /// The chrome.
    pub c: Chrome,
    /// The customer.
    pub customer: Customer,
    /// Counts and lifetime value.
    pub summary: CustomerSummary,
    /// Emails, phones, addresses.
    pub points: Vec<ContactPoint>,
    /// The timeline.
    pub timeline: TimelinePartial,
    /// Open reminders.
    pub reminders: Vec<Reminder>,
    /// The people at an organisation.
    pub contacts: Vec<Contact>,
    /// Purchases, newest first.
    pub purchases: Vec<Transaction>,
    /// The current decision per purpose.
    pub consents: Vec<Consent>,
    /// Changes, newest first.
    pub history: Vec<CustomerHistoryEntry>,
    /// The sensitive fields, masked.
    pub sensitive: super::reveal::SensitivePartial,
    /// Duplicates, sharing, owner.
    /// Duplicates, sharing, owner: loaded with the page only right after a merge (to offer the
    /// undo); otherwise fetched when scrolled into view, since the duplicate check is the
    /// heaviest call of the page.
    pub actions: Option<super::actions::ActionsPartial>,
}

impl DetailPage {
    /// A contact point shown as text.
    pub fn point_text(&self, p: &ContactPoint) -> String {
        match contact_point::Kind::try_from(p.kind).unwrap_or(contact_point::Kind::Unspecified) {
            contact_point::Kind::Email => p.email.clone(),
            contact_point::Kind::Phone => p.phone.clone(),
            contact_point::Kind::Address => p
                .address
                .as_ref()
                .map(|a| {
                    if a.as_entered.is_empty() {
                        [
                            a.lines.join(", "),
                            a.city.clone(),
                            a.region.clone(),
                            a.postal_code.clone(),
                            a.country.clone(),
                        ]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ")
                    } else {
                        a.as_entered.clone()
                    }
                })
                .unwrap_or_default(),
            contact_point::Kind::Unspecified => String::new(),
        }
    }

    /// The value of a profile field.
    pub fn value_of(&self, name: &str) -> &str {
        profile_value(&self.customer, name)
    }

    /// Catalog key of a contact's role in the buying group.
    pub fn role_key(&self, c: &Contact) -> String {
        use crm_proto::crm::customers::v1::contact::Role;
        format!(
            "role.{}",
            Role::try_from(c.role)
                .unwrap_or(Role::Unspecified)
                .as_str_name()
        )
    }

    /// A purchase's amount.
    pub fn amount(&self, t: &Transaction) -> String {
        t.amount
            .as_ref()
            .map(|m| self.c.tr.money(m.amount_minor, &m.currency_code))
            .unwrap_or_default()
    }

    /// Catalog key of a consent's purpose and of its status.
    pub fn consent_keys(&self, c: &Consent) -> (String, String) {
        use crm_proto::crm::customers::v1::consent::{Purpose, Status};
        (
            format!(
                "consent.{}",
                Purpose::try_from(c.purpose)
                    .unwrap_or(Purpose::Unspecified)
                    .as_str_name()
            ),
            format!(
                "consent.{}",
                Status::try_from(c.status)
                    .unwrap_or(Status::Unspecified)
                    .as_str_name()
            ),
        )
    }

    /// Catalog key of a history entry's action.
    pub fn action_key(&self, e: &CustomerHistoryEntry) -> String {
        use crm_proto::crm::customers::v1::customer_history_entry::Action;
        format!(
            "history.{}",
            Action::try_from(e.action)
                .unwrap_or(Action::Unspecified)
                .as_str_name()
        )
    }

    /// The lifetime value, per currency.
    pub fn lifetime_value(&self) -> String {
        let values: Vec<String> = self
            .summary
            .lifetime_value
            .iter()
            .map(|m| self.c.tr.money(m.amount_minor, &m.currency_code))
            .collect();
        if values.is_empty() {
            self.c.tr.money(0, "CNY")
        } else {
            values.join(" · ")
        }
    }
}

fn profile_value<'c>(customer: &'c Customer, name: &str) -> &'c str {
    match name {
        "display_name" => &customer.display_name,
        "email" => &customer.email,
        "phone" => &customer.phone,
        "legal_name" => &customer.legal_name,
        "industry" => &customer.industry,
        "region" => &customer.region,
        "notes" => &customer.notes,
        _ => "",
    }
}

/// The timeline with the quick "log" form; re-rendered alone after logging.
#[derive(Template)]
#[template(path = "customers/timeline.html")]
pub struct TimelinePartial {
    /// Translations.
    pub tr: crate::i18n::Tr,
    /// The CSRF token for the form.
    pub csrf: String,
    /// The customer's id.
    pub id: String,
    /// Newest first.
    pub interactions: Vec<Interaction>,
    /// Catalog key of a failure to log ("" none).
    pub error: &'static str,
}

impl TimelinePartial {
    /// The timeline of customer `id` for the signed-in user; `error` a catalog key or "".
    fn new(ctx: &Ctx, id: &str, interactions: Vec<Interaction>, error: &'static str) -> Self {
        TimelinePartial {
            tr: ctx.tr,
            csrf: ctx.session.csrf.clone(),
            id: id.to_owned(),
            interactions,
            error,
        }
    }

    /// Catalog key of an interaction's type.
    pub fn kind(&self, i: &Interaction) -> &'static str {
        super::customers::interaction_key(i.r#type)
    }
}

/// Entries shown per section of the customer's page (the timeline included).
const SECTION_PAGE: i32 = 20;

async fn timeline(
    web: &Web,
    ctx: &Ctx,
    id: &str,
    error: &'static str,
) -> Result<TimelinePartial, tonic::Status> {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let request = ListInteractionsRequest {
        parent: format!("customers/{id}"),
        page_size: SECTION_PAGE,
        page_token: String::new(),
    };
    let interactions = client
        .list_interactions(call(ctx, request))
        .await?
        .into_inner()
        .interactions;
    Ok(TimelinePartial::new(ctx, id, interactions, error))
}

/// GET /customers/{id}
pub async fn detail(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>,
) -> Response {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    // One call for the whole page: the service reads every section with the user's rights, and
    // a section the user may not read comes back empty, so the others still show.
    let request = GetCustomerOverviewRequest {
        name: format!("customers/{id}"),
        page_size: SECTION_PAGE,
    };
    let (actions, overview) = tokio::join!(
        async {
            let merged = param(&q, "merged");
            if merged.is_empty() {
                None
            } else {
                Some(super::actions::section(&web, &ctx, &id, merged).await)
            }
        },
        client.get_customer_overview(call(&ctx, request))
    );
    let o = match overview {
        Ok(o) => o.into_inner(),
        // Outside the user's scope the customer is "not found", and nothing else was read.
        Err(status) => return super::error_page(&ctx, &status),
    };
    let customer = o.customer.unwrap_or_default();
    let customer_sensitive = (customer.national_id.clone(), customer.bank_account.clone());
    let timeline = TimelinePartial::new(&ctx, &id, o.interactions, "");
    render(&DetailPage {
        c: Chrome::new(&ctx, "customers"),
        customer,
        summary: o.summary.unwrap_or_default(),
        points: o.contact_points,
        timeline,
        reminders: o.reminders,
        contacts: o.contacts,
        purchases: o.transactions,
        consents: o.consents,
        history: o.history,
        sensitive: super::reveal::SensitivePartial {
            tr: ctx.tr,
            csrf: ctx.session.csrf.clone(),
            id: id.clone(),
            national_id: customer_sensitive.0,
            bank_account: customer_sensitive.1,
            revealed: false,
            can_reveal: ctx.can("customers.sensitive.read"),
        },
        actions,
    })
}

/// The quick "log an interaction" form.
pub async fn log_interaction(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let kind =
        interaction::Type::from_str_name(param(&form, "type")).unwrap_or(interaction::Type::Note);
    let now = chrono::Utc::now();
    let request = CreateInteractionRequest {
        parent: format!("customers/{id}"),
        interaction: Some(Interaction {
            r#type: kind as i32,
            subject: param(&form, "subject").to_owned(),
            body: param(&form, "body").to_owned(),
            occur_time: Some(crm_proto::Timestamp {
                seconds: now.timestamp(),
                nanos: 0,
            }),
            ..Default::default()
        }),
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let result = client.create_interaction(call(&ctx, request)).await;
    if !headers.contains_key("hx-request") {
        return match result {
            Ok(_) => Redirect::to(&format!("/customers/{id}#timeline")).into_response(),
            Err(status) => super::error_page(&ctx, &status),
        };
    }
    let error = match &result {
        Ok(_) => "",
        Err(status) => super::refusal_key(status),
    };
    match timeline(&web, &ctx, &id, error).await {
        Ok(t) => {
            let code = result
                .as_ref()
                .map(|_| StatusCode::OK)
                .unwrap_or_else(super::http_status);
            (code, render(&t)).into_response()
        }
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// The profile edit form.
#[derive(Template)]
#[template(path = "customers/edit.html")]
pub struct EditPage {
    /// The chrome.
    pub c: Chrome,
    /// The customer's id.
    pub id: String,
    /// The etag the form was built from.
    pub etag: String,
    /// The values in the form (what the user typed, after a conflict).
    pub form: Vec<(String, String)>,
    /// Field violations.
    pub errors: Vec<(String, String)>,
    /// The saved values the form is based on (sent back as `was_*`, so only the fields the user
    /// changes are saved).
    pub base: Vec<(String, String)>,
    /// After a conflict: the fields both the user and someone else changed, with the value
    /// saved meanwhile.
    pub conflicts: Vec<(String, String)>,
}

impl EditPage {
    /// The value in the form.
    pub fn value(&self, field: &str) -> &str {
        param(&self.form, field)
    }

    /// The service's message on `field`.
    pub fn error(&self, field: &str) -> &str {
        super::field_error(&self.errors, field)
    }

    /// The saved value the form started from.
    pub fn base_value(&self, field: &str) -> &str {
        param(&self.base, field)
    }

    /// The value someone else saved meanwhile in a field the user changed too.
    pub fn their_value(&self, field: &str) -> Option<&str> {
        self.conflicts
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
    }
}

/// GET /customers/{id}/edit
pub async fn edit_form(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client
        .get_customer(call(
            &ctx,
            GetCustomerRequest {
                name: format!("customers/{id}"),
                mask_sensitive: true,
            },
        ))
        .await
    {
        Ok(customer) => {
            let customer = customer.into_inner();
            let form: Vec<(String, String)> = EDITABLE
                .iter()
                .map(|(f, _)| ((*f).to_owned(), profile_value(&customer, f).to_owned()))
                .collect();
            let page = EditPage {
                c: Chrome::new(&ctx, "customers"),
                id,
                etag: customer.etag,
                base: form.clone(),
                form,
                errors: Vec::new(),
                conflicts: Vec::new(),
            };
            render(&page)
        }
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// POST /customers/{id}/edit: saves the fields that changed, guarded by the etag the form was
/// built from. Someone else's save in between is shown beside the user's input; nothing is
/// overwritten until the user saves again.
pub async fn update(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let original: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("was_").map(|f| (f.to_owned(), v.clone())))
        .collect();
    let changed: Vec<String> = EDITABLE
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| param(&form, f) != param(&original, f))
        .map(str::to_owned)
        .collect();
    if changed.is_empty() {
        return Redirect::to(&format!("/customers/{id}")).into_response();
    }
    let customer = Customer {
        name: format!("customers/{id}"),
        etag: param(&form, "etag").to_owned(),
        display_name: param(&form, "display_name").to_owned(),
        email: param(&form, "email").to_owned(),
        phone: param(&form, "phone").to_owned(),
        legal_name: param(&form, "legal_name").to_owned(),
        industry: param(&form, "industry").to_owned(),
        region: param(&form, "region").to_owned(),
        notes: param(&form, "notes").to_owned(),
        ..Default::default()
    };
    let request = UpdateCustomerRequest {
        customer: Some(customer),
        update_mask: Some(pbjson_types::FieldMask { paths: changed }),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client.update_customer(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(status) => {
            let fields: Vec<(String, String)> = EDITABLE
                .iter()
                .map(|(f, _)| ((*f).to_owned(), param(&form, f).to_owned()))
                .collect();
            let mut page = EditPage {
                c: Chrome::new(&ctx, "customers"),
                id: id.clone(),
                etag: param(&form, "etag").to_owned(),
                form: fields,
                base: original.clone(),
                errors: super::violations(&status),
                conflicts: Vec::new(),
            };
            if status.code() == tonic::Code::Aborted {
                // Show what was saved meanwhile; the next save is against that version.
                let current = client
                    .get_customer(call(
                        &ctx,
                        GetCustomerRequest {
                            name: format!("customers/{id}"),
                            mask_sensitive: true,
                        },
                    ))
                    .await;
                if let Ok(current) = current {
                    let current = current.into_inner();
                    // Fields the user left alone take the saved value; their own edits stay,
                    // with the saved value shown beside them.
                    for (field, value) in page.form.iter_mut() {
                        let theirs = profile_value(&current, field);
                        if param(&form, field) == param(&original, field) {
                            *value = theirs.to_owned();
                        } else if theirs != param(&original, field) {
                            page.conflicts.push((field.clone(), theirs.to_owned()));
                        }
                    }
                    page.base = EDITABLE
                        .iter()
                        .map(|(f, _)| ((*f).to_owned(), profile_value(&current, f).to_owned()))
                        .collect();
                    page.etag = current.etag.clone();
                }
                page.errors
                    .push((String::new(), ctx.tr.t("customers.conflict").to_owned()));
            } else if page.errors.is_empty() {
                page.errors.push((
                    String::new(),
                    ctx.tr.t(super::refusal_key(&status)).to_owned(),
                ));
            }
            (super::http_status(&status), render(&page)).into_response()
        }
    }
}
