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
    (
        "given_name",
        &[
            "given_name",
            "given name",
            "first name",
            "firstname",
            "forename",
            "名",
            "名字",
        ],
    ),
    (
        "family_name",
        &[
            "family_name",
            "family name",
            "last name",
            "lastname",
            "surname",
            "姓",
            "姓氏",
        ],
    ),
    (
        "email_2",
        &[
            "email_2",
            "email 2",
            "e-mail 2",
            "second email",
            "other email",
            "alternate email",
            "secondary email",
            "work email",
            "邮箱2",
            "备用邮箱",
            "其他邮箱",
        ],
    ),
    (
        "phone_2",
        &[
            "phone_2",
            "phone 2",
            "mobile 2",
            "tel 2",
            "second phone",
            "other phone",
            "alternate phone",
            "secondary phone",
            "work phone",
            "landline",
            "电话2",
            "手机2",
            "备用电话",
            "其他电话",
            "座机",
            "固定电话",
        ],
    ),
    (
        "national_id",
        &[
            "national_id",
            "national id",
            "id number",
            "id card",
            "id card number",
            "identity card",
            "身份证",
            "身份证号",
            "身份证号码",
            "证件号码",
        ],
    ),
    (
        "bank_account",
        &[
            "bank_account",
            "bank account",
            "account number",
            "iban",
            "银行账号",
            "银行账户",
            "开户账号",
            "银行卡号",
        ],
    ),
    (
        "address_line_1",
        &[
            "address_line_1",
            "address",
            "address 1",
            "address line 1",
            "street",
            "street address",
            "地址",
            "详细地址",
            "街道",
            "街道地址",
            "联系地址",
        ],
    ),
    (
        "address_line_2",
        &["address_line_2", "address 2", "address line 2", "地址2"],
    ),
    (
        "address_city",
        &["address_city", "city", "town", "城市", "市"],
    ),
    (
        "address_region",
        &[
            "address_region",
            "state",
            "province",
            "county",
            "省",
            "省份",
            "州",
        ],
    ),
    (
        "address_postal_code",
        &[
            "address_postal_code",
            "postal code",
            "postcode",
            "post code",
            "zip",
            "zip code",
            "邮编",
            "邮政编码",
        ],
    ),
    (
        "address_country",
        &["address_country", "country", "国家", "国家/地区"],
    ),
];

/// Fields that are not on the customer message: they become contact points.
pub const CONTACT_FIELDS: &[&str] = &[
    "email_2",
    "phone_2",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
];

/// Trailing words that make a name an organisation's (compared lower-case, dots removed).
/// Narrower than the matcher's legal suffixes (`crm_dedup::names`), which also strip "co",
/// "and", "sa", "as", "se" or "ab" before comparing firm names: as the last word of a name those
/// are too often a person's, and here they would decide the customer's kind.
const LEGAL_FORMS: &[&str] = &[
    "ltd",
    "limited",
    "llc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "company",
    "gmbh",
    "ag",
    "kg",
    "ug",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "oyj",
    "plc",
    "llp",
    "pty",
    "kk",
    "sas",
];

/// Endings of Chinese organisation names.
const HAN_FORMS: &[&str] = &[
    "公司",
    "集团",
    "有限合伙",
    "事务所",
    "合作社",
    "研究所",
    "研究院",
    "银行",
    "大学",
    "学院",
    "医院",
    "工厂",
    "厂",
];

/// Whether a name carries a legal form ("Acme Ltd.", "Müller GmbH & Co. KG", "华信科技有限公司").
pub fn has_legal_form(name: &str) -> bool {
    let t = name.trim();
    if HAN_FORMS.iter().any(|f| t.ends_with(f)) {
        return true;
    }
    let lower = t.to_lowercase().replace('.', "");
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip(1)
        .any(|w| LEGAL_FORMS.contains(&w))
}

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

/// What a row holds besides the customer message: custom field cells (their types come from
/// their definitions) and contact point cells ([`CONTACT_FIELDS`]), by field.
#[derive(Debug, Default)]
pub struct Cells {
    /// Custom field key → text.
    pub custom: HashMap<String, String>,
    /// Contact point field → text.
    pub contacts: HashMap<&'static str, String>,
}

/// A row read into a customer message by `mapping` (column → field), ready for the API's
/// checks. Rows that do not say their kind are organisations when the name carries a legal
/// form, else of `default_kind`, else persons; an external id without a source gets
/// `default_source`. Errors name the field.
pub fn customer_of(
    cells: &[String],
    mapping: &[Option<String>],
    default_kind: Option<customer::Kind>,
    default_source: &str,
) -> Result<(Customer, Cells), (String, String)> {
    let mut c = Customer::default();
    let mut extra = Cells::default();
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
            "given_name" => c.given_name = text,
            "family_name" => c.family_name = text,
            "national_id" => c.national_id = text,
            "bank_account" => c.bank_account = text,
            other => {
                if let Some(key) = other.strip_prefix("custom_fields.") {
                    if !text.is_empty() {
                        extra.custom.insert(key.to_owned(), text);
                    }
                } else if let Some(f) = CONTACT_FIELDS.iter().find(|f| **f == other) {
                    extra.contacts.insert(f, text);
                }
            }
        }
    }
    if c.kind == 0 {
        let name = if c.display_name.trim().is_empty() {
            &c.legal_name
        } else {
            &c.display_name
        };
        c.kind = if has_legal_form(name) || has_legal_form(&c.legal_name) {
            customer::Kind::Organization
        } else {
            default_kind.unwrap_or(customer::Kind::Person)
        } as i32;
    }
    if c.source.trim().is_empty() && !c.external_id.trim().is_empty() {
        c.source = default_source.to_owned();
    }
    Ok((c, extra))
}
