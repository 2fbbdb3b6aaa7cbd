//! The importable fields of a customer, the header names each is recognised by (Chinese and
//! English, compared after `crm_tabular::header::header_key` normalisation), and the reading
//! of one row into a customer message, so an import is validated exactly like the API.
use crm_proto::crm::customers::v1::{Customer, customer};
use std::collections::HashMap;

/// Field → header names it is recognised by.
pub const ALIASES: &[(&str, &[&str])] = &[
    (
        "display_name",
        &[
            "display_name",
            "name",
            "customer name",
            "customer",
            "full name",
            "company",
            "company name",
            "客户名称",
            "客户名",
            "名称",
            "姓名",
            "客户",
            "公司名称",
            "公司",
        ],
    ),
    (
        "kind",
        &["kind", "type", "customer type", "类型", "客户类型"],
    ),
    (
        "email",
        &[
            "email",
            "e-mail",
            "mail",
            "email address",
            "邮箱",
            "电子邮件",
            "电子邮箱",
            "邮件",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "mobile",
            "telephone",
            "tel",
            "phone number",
            "电话",
            "手机",
            "手机号",
            "手机号码",
            "联系电话",
            "电话号码",
        ],
    ),
    (
        "legal_name",
        &[
            "legal_name",
            "legal name",
            "法定名称",
            "公司全称",
            "注册名称",
            "全称",
        ],
    ),
    ("industry", &["industry", "行业", "所属行业"]),
    ("region", &["region", "area", "地区", "区域", "所在地区"]),
    (
        "company_size",
        &[
            "company_size",
            "company size",
            "size",
            "规模",
            "公司规模",
            "企业规模",
        ],
    ),
    (
        "source_channel",
        &[
            "source_channel",
            "source channel",
            "channel",
            "来源",
            "来源渠道",
            "渠道",
            "客户来源",
        ],
    ),
    ("tags", &["tags", "tag", "labels", "标签"]),
    (
        "external_id",
        &[
            "external_id",
            "external id",
            "customer id",
            "id",
            "外部编号",
            "外部id",
            "客户编号",
            "编号",
        ],
    ),
    (
        "source",
        &["source", "source system", "system", "来源系统", "系统"],
    ),
    (
        "birth_date",
        &[
            "birth_date",
            "birth date",
            "birthday",
            "date of birth",
            "dob",
            "生日",
            "出生日期",
        ],
    ),
    (
        "preferred_language",
        &[
            "preferred_language",
            "preferred language",
            "language",
            "语言",
            "首选语言",
        ],
    ),
    (
        "notes",
        &[
            "notes", "note", "remarks", "comment", "comments", "备注", "说明", "附注",
        ],
    ),
    ("owner_id", &["owner_id", "owner id", "负责人id"]),
];

/// Whether `field` can be imported (a custom field is "custom_fields.<key>").
pub fn importable(field: &str) -> bool {
    ALIASES.iter().any(|(f, _)| *f == field)
        || field
            .strip_prefix("custom_fields.")
            .is_some_and(|k| !k.is_empty())
}

/// A kind as people write it: 个人 / person; 企业, 公司, 组织, 机构 / organization, company.
pub fn kind(text: &str) -> Option<customer::Kind> {
    match text.trim().to_lowercase().as_str() {
        "person" | "individual" | "个人" | "自然人" => Some(customer::Kind::Person),
        "organization" | "organisation" | "company" | "business" | "企业" | "公司" | "组织"
        | "机构" | "单位" => Some(customer::Kind::Organization),
        _ => None,
    }
}

/// An enum value by its name, case-insensitively ("medium" is MEDIUM); 0 when empty.
fn enum_value(text: &str, from_name: impl Fn(&str) -> Option<i32>) -> Result<i32, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    from_name(&t.to_uppercase().replace([' ', '-'], "_"))
        .ok_or_else(|| format!("{t:?} is not one of the allowed values"))
}

/// A row read into a customer message by `mapping` (column → field), ready for the API's
/// checks. Custom field cells are returned apart (their types come from their definitions).
/// Errors name the field.
pub fn customer_of(
    cells: &[String],
    mapping: &[Option<String>],
    default_kind: Option<customer::Kind>,
) -> Result<(Customer, HashMap<String, String>), (String, String)> {
    let mut c = Customer::default();
    let mut custom = HashMap::new();
    for (i, field) in mapping.iter().enumerate() {
        let (Some(field), Some(cell)) = (field, cells.get(i)) else {
            continue;
        };
        let text = cell.clone();
        let bad = |e: String| (field.clone(), e);
        match field.as_str() {
            "display_name" => c.display_name = text,
            "kind" => {
                if !text.trim().is_empty() {
                    c.kind = kind(&text).ok_or_else(|| {
                        bad(format!("{text:?} is neither a person nor an organization"))
                    })? as i32;
                }
            }
            "email" => c.email = text,
            "phone" => c.phone = text,
            "legal_name" => c.legal_name = text,
            "industry" => c.industry = text,
            "region" => c.region = text,
            "company_size" => {
                c.company_size = enum_value(&text, |n| {
                    customer::CompanySize::from_str_name(n).map(|v| v as i32)
                })
                .map_err(bad)?
            }
            "source_channel" => {
                c.source_channel = enum_value(&text, |n| {
                    customer::SourceChannel::from_str_name(n).map(|v| v as i32)
                })
                .map_err(bad)?
            }
            "tags" => {
                c.tags = text
                    .split([';', '；'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "external_id" => c.external_id = text,
            "source" => c.source = text,
            "birth_date" => c.birth_date = text,
            "preferred_language" => c.preferred_language = text,
            "notes" => c.notes = text,
            "owner_id" => c.owner_id = text,
            other => {
                if let Some(key) = other.strip_prefix("custom_fields.")
                    && !text.is_empty()
                {
                    custom.insert(key.to_owned(), text);
                }
            }
        }
    }
    if c.kind == 0
        && let Some(k) = default_kind
    {
        c.kind = k as i32;
    }
    Ok((c, custom))
}
