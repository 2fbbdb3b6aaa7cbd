//! Transactions: proto ⇄ domain.
use super::{from_timestamp, invalid, timestamp};
use crate::{
    domain, profile,
    transactions::{Item as TxItem, NewTransaction, TransactionRow},
};
use crm_platform::error::Violations;
use crm_proto::crm::customers::v1::{Transaction, transaction, transaction::Status as TxStatus};
use crm_proto::crm::r#type::v1::Money;
use tonic::Status;

/// Resource name of a transaction: "customers/{customer}/transactions/{id}".
pub fn transaction_name(row: &TransactionRow) -> String {
    format!(
        "{}/transactions/{}",
        domain::name_of(row.customer_id),
        row.id
    )
}

/// Proto representation of a stored transaction.
pub fn transaction_proto(row: &TransactionRow) -> Transaction {
    let money = |amount_minor| Money {
        currency_code: row.currency.clone(),
        amount_minor,
    };
    Transaction {
        name: transaction_name(row),
        id: row.id.to_string(),
        order_reference: row.order_reference.clone(),
        order_time: Some(timestamp(row.order_time)),
        amount: Some(money(row.amount_minor)),
        items: row
            .item_list()
            .into_iter()
            .map(|i| transaction::Item {
                product: i.product,
                quantity: i.quantity,
                unit_price: i.unit_price_minor.map(money),
            })
            .collect(),
        channel: profile::enum_value(row.channel.as_deref(), profile::CHANNELS),
        status: if row.status == "REFUNDED" {
            TxStatus::Refunded
        } else {
            TxStatus::Completed
        } as i32,
        create_time: Some(timestamp(row.created_at)),
    }
}

/// A transaction from the request, every field checked.
pub(super) fn parse_transaction(t: &Transaction) -> Result<NewTransaction, Status> {
    let mut v = Violations::default();
    let reference = t.order_reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        v.add(
            "transaction.order_reference",
            "is required, at most 100 characters",
        );
    }
    let order_time = t.order_time.as_ref().and_then(from_timestamp);
    if order_time.is_none() {
        v.add("transaction.order_time", "is required");
    }
    let currency_ok = |c: &str| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase());
    let (currency, amount_minor) = match &t.amount {
        Some(m) if currency_ok(&m.currency_code) && m.amount_minor >= 0 => {
            (m.currency_code.clone(), m.amount_minor)
        }
        Some(m) if !currency_ok(&m.currency_code) => {
            v.add(
                "transaction.amount.currency_code",
                "must be an ISO 4217 code such as \"CNY\"",
            );
            (String::new(), 0)
        }
        Some(_) => {
            v.add(
                "transaction.amount.amount_minor",
                "must not be negative (record refunds with status REFUNDED)",
            );
            (String::new(), 0)
        }
        None => {
            v.add("transaction.amount", "is required");
            (String::new(), 0)
        }
    };
    let mut items = Vec::new();
    for (i, item) in t.items.iter().enumerate() {
        let product = item.product.trim();
        if product.is_empty() || product.chars().count() > 200 {
            v.add(
                format!("transaction.items[{i}].product"),
                "is required, at most 200 characters",
            );
        }
        if item.quantity < 1 {
            v.add(
                format!("transaction.items[{i}].quantity"),
                "must be at least 1",
            );
        }
        if let Some(price) = &item.unit_price
            && price.currency_code != currency
        {
            v.add(
                format!("transaction.items[{i}].unit_price.currency_code"),
                "must be the transaction's currency",
            );
        }
        items.push(TxItem {
            product: product.to_owned(),
            quantity: item.quantity,
            unit_price_minor: item.unit_price.as_ref().map(|p| p.amount_minor),
        });
    }
    let channel = profile::enum_name(t.channel, profile::CHANNELS).unwrap_or_else(|e| {
        v.add("transaction.channel", e);
        None
    });
    let status = match TxStatus::try_from(t.status) {
        Ok(TxStatus::Refunded) => "REFUNDED",
        Ok(_) => "COMPLETED",
        Err(_) => {
            v.add("transaction.status", "must be COMPLETED or REFUNDED");
            "COMPLETED"
        }
    };
    match order_time {
        Some(order_time) if v.is_empty() => Ok(NewTransaction {
            order_reference: reference.to_owned(),
            order_time,
            amount_minor,
            currency,
            items,
            channel,
            status,
        }),
        _ => Err(invalid(v)),
    }
}
