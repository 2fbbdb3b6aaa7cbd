//! The create form, with live duplicate warnings while the user types and a hold on likely
//! duplicates until the user says "create anyway".
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx, i18n::Tr};
use askama::Template;
use axum::{
    Extension, Form,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::customers::v1::{
    CheckDuplicatesRequest, CreateCustomerRequest, Customer, DuplicateCandidate, DuplicatePolicy,
    customer::Kind, customer_service_client::CustomerServiceClient,
    duplicate_service_client::DuplicateServiceClient,
};

/// The create form.
#[derive(Template)]
#[template(path = "customers/new.html")]
pub struct NewPage {
    /// The chrome.
    pub c: Chrome,
    /// What was typed.
    pub form: Vec<(String, String)>,
    /// Field violations: (field, message).
    pub errors: Vec<(String, String)>,
    /// Duplicates found on submit.
    pub dups: DuplicatesPartial,
}

impl NewPage {
    /// The typed value of `field`.
    pub fn value(&self, field: &str) -> &str {
        param(&self.form, field)
    }

    /// The service's message for `field`, "" for none.
    pub fn error(&self, field: &str) -> &str {
        super::field_error(&self.errors, field)
    }
}

/// The duplicate warning shown while typing.
#[derive(Template)]
#[template(path = "customers/duplicates.html")]
pub struct DuplicatesPartial {
    /// Translations.
    pub tr: Tr,
    /// Possible duplicates, best first.
    pub candidates: Vec<DuplicateCandidate>,
    /// Matches the user may not see.
    pub hidden: i32,
}

/// GET /customers/new
pub async fn new_form(Extension(ctx): Extension<Ctx>) -> Response {
    render(&NewPage {
        c: Chrome::new(&ctx, "customers"),
        form: vec![("kind".into(), "PERSON".into())],
        errors: Vec::new(),
        dups: DuplicatesPartial {
            tr: ctx.tr,
            candidates: Vec::new(),
            hidden: 0,
        },
    })
}

fn customer_from(form: &[(String, String)]) -> Customer {
    Customer {
        display_name: param(form, "display_name").to_owned(),
        kind: Kind::from_str_name(param(form, "kind")).unwrap_or(Kind::Unspecified) as i32,
        email: param(form, "email").to_owned(),
        phone: param(form, "phone").to_owned(),
        legal_name: param(form, "legal_name").to_owned(),
        industry: param(form, "industry").to_owned(),
        region: param(form, "region").to_owned(),
        notes: param(form, "notes").to_owned(),
        ..Default::default()
    }
}

/// POST /customers/duplicates: the live duplicate check of the create form (htmx).
pub async fn duplicates(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let customer = customer_from(&form);
    let empty = DuplicatesPartial {
        tr: ctx.tr,
        candidates: Vec::new(),
        hidden: 0,
    };
    if customer.display_name.trim().chars().count() < 2
        && customer.email.is_empty()
        && customer.phone.is_empty()
    {
        return render(&empty);
    }
    let mut client = DuplicateServiceClient::new(web.upstreams().customers.clone());
    match client
        .check_duplicates(call(
            &ctx,
            CheckDuplicatesRequest {
                customer: Some(customer),
            },
        ))
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            render(&DuplicatesPartial {
                tr: ctx.tr,
                candidates: r.candidates,
                hidden: r.hidden_duplicates,
            })
        }
        // A half-typed form is often not yet valid; the warning simply waits.
        Err(_) => render(&empty),
    }
}

/// POST /customers: creates the customer. Likely duplicates are shown and need a second,
/// explicit "create anyway".
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let policy = if param(&form, "anyway") == "1" {
        DuplicatePolicy::AllowDuplicates
    } else {
        DuplicatePolicy::BlockDuplicates
    };
    let request = CreateCustomerRequest {
        customer: Some(customer_from(&form)),
        request_id: param(&form, "request_id").to_owned(),
        duplicate_policy: policy as i32,
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client.create_customer(call(&ctx, request)).await {
        Ok(created) => {
            Redirect::to(&format!("/customers/{}", created.into_inner().id)).into_response()
        }
        Err(status) => {
            let mut dups = DuplicatesPartial {
                tr: ctx.tr,
                candidates: Vec::new(),
                hidden: 0,
            };
            if status.code() == tonic::Code::AlreadyExists {
                // Blocked as a duplicate: show who, and offer "create anyway".
                let mut check = DuplicateServiceClient::new(web.upstreams().customers.clone());
                if let Ok(r) = check
                    .check_duplicates(call(
                        &ctx,
                        CheckDuplicatesRequest {
                            customer: Some(customer_from(&form)),
                        },
                    ))
                    .await
                {
                    let r = r.into_inner();
                    dups.candidates = r.candidates;
                    dups.hidden = r.hidden_duplicates;
                }
            }
            let mut errors = super::violations(&status);
            if errors.is_empty() && status.code() != tonic::Code::AlreadyExists {
                errors.push((
                    String::new(),
                    ctx.tr.t(super::refusal_key(&status)).to_owned(),
                ));
            }
            let page = NewPage {
                c: Chrome::new(&ctx, "customers"),
                form,
                errors,
                dups,
            };
            (super::http_status(&status), render(&page)).into_response()
        }
    }
}
