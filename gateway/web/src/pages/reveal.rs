//! Sensitive fields on the customer page: shown masked, revealed only by an explicit action
//! that the customers service records in the customer's history.
use super::{Chrome, render};
use crate::{Web, call, guard::Ctx};
use askama::Template;
use axum::{
    Extension,
    extract::{Path, State},
    response::Response,
};
use crm_proto::crm::customers::v1::{
    GetCustomerRequest, customer_service_client::CustomerServiceClient,
};
use http::HeaderMap;

/// The sensitive fields of a customer: masked, or revealed after an explicit, recorded read.
#[derive(Template)]
#[template(path = "customers/sensitive.html")]
pub struct SensitivePartial {
    /// Translations.
    pub tr: crate::i18n::Tr,
    /// The CSRF token of the reveal form.
    pub csrf: String,
    /// The customer's id.
    pub id: String,
    /// National id and bank account, as shown.
    pub national_id: String,
    /// Bank account.
    pub bank_account: String,
    /// Whether the values are in clear.
    pub revealed: bool,
    /// Whether the user may reveal them.
    pub can_reveal: bool,
}

/// The reveal as a page of its own, for a browser without JavaScript.
#[derive(Template)]
#[template(path = "customers/sensitive_page.html")]
pub struct SensitivePage {
    /// The chrome.
    pub c: Chrome,
    /// The values.
    pub values: SensitivePartial,
}

/// POST /customers/{id}/reveal: reads the sensitive values in clear. The customers service
/// records the read in the customer's history; without the permission they stay masked.
pub async fn reveal(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let request = GetCustomerRequest {
        name: format!("customers/{id}"),
        mask_sensitive: false,
    };
    let customer = match client.get_customer(call(&ctx, request)).await {
        Ok(c) => c.into_inner(),
        Err(status) => return super::error_page(&ctx, &status),
    };
    let values = SensitivePartial {
        tr: ctx.tr,
        csrf: ctx.session.csrf.clone(),
        id,
        revealed: ctx.can("customers.sensitive.read"),
        can_reveal: false,
        national_id: customer.national_id,
        bank_account: customer.bank_account,
    };
    if headers.contains_key("hx-request") {
        render(&values)
    } else {
        render(&SensitivePage {
            c: Chrome::new(&ctx, "customers"),
            values,
        })
    }
}
